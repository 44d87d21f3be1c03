"""``validate_run_config``: check a run config against a job without running it."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from trellis.core.errors import InvalidInvocationError
from trellis.defs.job import JobDefinition
from trellis.plan.plan import resource_keys_to_init
from trellis.plan.run_config import resolve_run_config


def _nest(ops_by_handle: Mapping[str, Any]) -> dict[str, Any]:
    """``{"g.op": entry}`` back to the run-config shape ``{"g": {"ops": {"op": entry}}}``."""
    nested: dict[str, Any] = {}
    for handle, entry in ops_by_handle.items():
        *graphs, name = handle.split(".")
        level = nested
        for graph in graphs:
            level = level.setdefault(graph, {}).setdefault("ops", {})
        level[name] = entry
    return nested


def validate_run_config(job_def: JobDefinition, run_config: Any = None) -> dict[str, Any]:
    """Validate ``run_config`` (a dict or a ``RunConfig``, merged over the job's default
    config) for a run of the whole job, and return it processed: defaults filled in,
    environment variables read. Raises ``InvalidConfigError`` listing every problem, each
    with its path."""
    if not isinstance(job_def, JobDefinition):
        raise InvalidInvocationError(
            f"validate_run_config needs a JobDefinition (resolve an asset job first with "
            f"defs.resolve_job_def(name)), got {job_def!r}."
        )
    nodes = list(job_def.flat_nodes)
    resolved = resolve_run_config(job_def, run_config, nodes, resource_keys_to_init(job_def, nodes))
    return {
        "ops": _nest(resolved.ops_by_handle),
        "resources": resolved.resources,
        "execution": resolved.execution,
        "loggers": resolved.loggers,
    }
