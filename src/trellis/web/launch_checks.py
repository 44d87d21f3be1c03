"""What a launch request must pass before any process starts: the job or the asset
selection exists in the loaded definitions, the run config (YAML text or an object) is
valid for it (every error with its config path), the tags are strings, the partition is
one of the job's. A failure is a ``LaunchError`` with a message and, for config, the
list of ``{path, message}`` errors the launchpad shows inline."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import yaml

from trellis.cli.errors import CliError
from trellis.core.errors import InvalidConfigError, TrellisError

MAX_TAGS = 100
MAX_TAG_LENGTH = 4096


class LaunchError(Exception):
    """A launch request that cannot run: ``message``, and config ``errors`` with paths."""

    def __init__(self, message: str, errors: list[dict[str, str]] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.errors = errors or []


@dataclass
class CheckedLaunch:
    """A launch request that passed every check: what the subprocess is told to run."""

    kind: str  # "job" or "assets"
    job_name: str
    selection: str | None
    run_config: dict[str, Any]
    tags: dict[str, str] = field(default_factory=dict)
    partition: str | None = None


def parse_run_config(body: dict[str, Any]) -> dict[str, Any]:
    """The run config of a request: ``run_config`` (an object) or ``config_yaml`` (text)."""
    if "config_yaml" in body and body["config_yaml"] is not None:
        text = body["config_yaml"]
        if not isinstance(text, str):
            raise LaunchError("config_yaml must be a string of YAML.")
        try:
            value = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            where = f" (line {mark.line + 1}, column {mark.column + 1})" if mark else ""
            problem = getattr(exc, "problem", None) or str(exc)
            raise LaunchError(
                f"The run config is not valid YAML{where}: {problem}",
                [{"path": "root", "message": f"not valid YAML{where}: {problem}"}],
            ) from None
        value = {} if value is None else value
    else:
        value = body.get("run_config") or {}
    if not isinstance(value, dict):
        raise LaunchError(
            "The run config must be a mapping (ops:, resources:, ...).",
            [{"path": "root", "message": f"expected a mapping, got {type(value).__name__}"}],
        )
    return value


def parse_tags(value: Any) -> dict[str, str]:
    """Tags: an object of string keys and string values, within size limits."""
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise LaunchError("tags must be an object of strings.")
    if len(value) > MAX_TAGS:
        raise LaunchError(f"At most {MAX_TAGS} tags.")
    tags: dict[str, str] = {}
    for key, tag in value.items():
        if not isinstance(tag, str) or not key or len(key) > 256 or len(tag) > MAX_TAG_LENGTH:
            raise LaunchError(f"Tag '{str(key)[:40]}' must be a non-empty key and a string value.")
        if key.startswith("trellis/"):
            raise LaunchError(f"Tag '{key}': tags starting with 'trellis/' are set by Trellis.")
        tags[key] = tag
    return tags


def config_errors(exc: InvalidConfigError) -> list[dict[str, str]]:
    """The errors of a failed validation as ``{path, message}``."""
    found = []
    for err in exc.errors:
        path = getattr(err, "path_str", None)
        found.append({"path": path or "root", "message": getattr(err, "message", str(err))})
    return found


def _validate(job: Any, run_config: dict[str, Any]) -> None:
    from trellis.api.validate_config import validate_run_config

    try:
        validate_run_config(job, run_config)
    except InvalidConfigError as exc:
        errors = config_errors(exc)
        raise LaunchError(f"Invalid run config: {len(errors)} error(s).", errors) from None


def check_launch(defs: Any, target: Any, body: dict[str, Any]) -> CheckedLaunch:
    """Check a launch request (``job`` or ``selection``, ``run_config``/``config_yaml``,
    ``tags``, ``partition``) against the definitions; raises ``LaunchError``."""
    from trellis.cli.job_commands import user_jobs
    from trellis.cli.partition_choice import choose_partitions, selection_partitions_def
    from trellis.cli.selection import selected_asset_job
    from trellis.cli.suggest import unknown_name_message
    from trellis.defs.asset_job import IMPLICIT_ASSET_JOB_NAME

    job_name, selection = body.get("job"), body.get("selection")
    if (job_name is None) == (selection is None):
        raise LaunchError("Give either 'job' (a job name) or 'selection' (an asset selection).")
    partition = body.get("partition")
    if partition is not None and (not isinstance(partition, str) or not partition):
        raise LaunchError("partition must be a non-empty string.")
    run_config = parse_run_config(body)
    tags = parse_tags(body.get("tags"))
    try:
        if job_name is not None:
            if not isinstance(job_name, str):
                raise LaunchError("job must be a string.")
            jobs = user_jobs(defs)
            if job_name not in jobs:
                raise LaunchError(unknown_name_message("job", job_name, jobs))
            job = jobs[job_name]
            choose_partitions(job.partitions_def, f"Job '{job_name}'", partition, None)
            _validate(job, run_config)
            return CheckedLaunch("job", job_name, None, run_config, tags, partition)
        if not isinstance(selection, str) or not selection.strip():
            raise LaunchError("selection must be a non-empty selection string.")
        subset, keys = selected_asset_job(defs, selection, target)
        partitions_def = selection_partitions_def(defs.asset_graph, keys)
        choose_partitions(partitions_def, f"The selection '{selection}'", partition, None)
        _validate(subset, run_config)
        return CheckedLaunch(
            "assets", IMPLICIT_ASSET_JOB_NAME, selection, run_config, tags, partition
        )
    except CliError as exc:
        raise LaunchError(str(exc).replace("--select", "selection")) from None
    except TrellisError as exc:
        raise LaunchError(str(exc)) from None
