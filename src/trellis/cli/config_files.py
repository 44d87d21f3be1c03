"""Run config from ``-c`` YAML files (read, checked to be a mapping, merged in order) and
``--config-json`` (merged over them last)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from trellis.cli.errors import CliError
from trellis.config.run_config import deep_merge


def read_config_file(path: str | Path) -> dict[str, Any]:
    """One YAML file as a mapping; a syntax error names the file, line and column, and a
    file that would expand beyond a config file's bounds (alias bombs, self-referencing
    aliases, deep nesting: ``trellis.config.yaml_loader``) is refused the same way."""
    import yaml

    from trellis.config.yaml_loader import load_yaml

    path = Path(path)
    try:
        text = path.read_text()
    except OSError as exc:
        raise CliError(f"Cannot read config file {path}: {exc.strerror or exc}") from None
    try:
        data = load_yaml(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{path}, line {mark.line + 1}, column {mark.column + 1}" if mark else str(path)
        problem = getattr(exc, "problem", None) or str(exc)
        context = getattr(exc, "context", None)
        detail = f"{context}; {problem}" if context else problem
        raise CliError(f"Invalid YAML in config file {where}: {detail}") from None
    if data is None:
        return {}
    if not isinstance(data, Mapping):
        raise CliError(
            f"Config file {path} must hold a mapping (ops:, resources:, ...), "
            f"not a {type(data).__name__}."
        )
    return dict(data)


def parse_config_json(text: str) -> dict[str, Any]:
    """The run config of ``--config-json``: a JSON object; an error names the position."""
    import json

    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise CliError(
            f"--config-json is not valid JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})."
        ) from None
    if not isinstance(data, Mapping):
        raise CliError(
            f"--config-json must be a JSON object (ops, resources, ...), not {type(data).__name__}."
        )
    return dict(data)


def load_run_config(
    paths: Sequence[str | Path], config_json: str | None = None
) -> dict[str, Any] | None:
    """The run config of several files merged in order (later files win), then the
    ``--config-json`` object merged over them; None when there is neither."""
    if not paths and config_json is None:
        return None
    merged: dict[str, Any] = {}
    for path in paths:
        merged = deep_merge(merged, read_config_file(path))
    if config_json is not None:
        merged = deep_merge(merged, parse_config_json(config_json))
    return merged
