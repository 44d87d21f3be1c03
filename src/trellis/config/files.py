"""Run config read from YAML files, strings or package data (``config_from_files``,
``config_from_yaml_strings``, ``config_from_pkg_resources``), and ``file_relative_path``."""

from __future__ import annotations

import glob
import os
from collections.abc import Sequence
from typing import Any

from trellis.config.run_config import deep_merge
from trellis.core.errors import InvalidConfigError


def file_relative_path(dunderfile: str, relative_path: str) -> str:
    """The path of ``relative_path`` next to the file ``dunderfile`` (pass ``__file__``):
    ``file_relative_path(__file__, "data/orders.csv")``."""
    return os.path.join(os.path.dirname(dunderfile), relative_path)


def _merge(base: dict[str, Any], update: Any, source: str) -> dict[str, Any]:
    if update is None:
        return base
    if not isinstance(update, dict):
        raise InvalidConfigError(
            f"Run config in {source} must be a mapping at the top level", [f"got {update!r}"]
        )
    return deep_merge(base, update)


def _parse(text: str, source: str) -> Any:
    import yaml

    from trellis.config.yaml_loader import load_yaml

    try:
        return load_yaml(text)
    except yaml.YAMLError as exc:
        raise InvalidConfigError(f"Could not parse YAML in {source}", [str(exc)]) from None


def config_from_files(config_files: Sequence[str]) -> dict[str, Any]:
    """The run config made by deep-merging the YAML files (glob patterns allowed), later
    files winning; a pattern that matches nothing is an error naming it."""
    merged: dict[str, Any] = {}
    for pattern in config_files:
        paths = sorted(glob.glob(pattern)) if glob.has_magic(pattern) else [pattern]
        if not paths or not all(os.path.isfile(p) for p in paths):
            raise InvalidConfigError("Run config files not found", [f"no file matches {pattern!r}"])
        for path in paths:
            with open(path, encoding="utf-8") as handle:
                merged = _merge(merged, _parse(handle.read(), path), path)
    return merged


def config_from_yaml_strings(yaml_strings: Sequence[str]) -> dict[str, Any]:
    """The run config made by deep-merging YAML documents given as strings."""
    merged: dict[str, Any] = {}
    for index, text in enumerate(yaml_strings):
        source = f"YAML string {index}"
        merged = _merge(merged, _parse(text, source), source)
    return merged


def config_from_pkg_resources(pkg_resource_defs: Sequence[tuple[str, str]]) -> dict[str, Any]:
    """The run config made by deep-merging YAML files shipped in packages, each given as
    ``(package, path inside it)``."""
    from importlib import resources

    merged: dict[str, Any] = {}
    for package, path in pkg_resource_defs:
        source = f"{package}:{path}"
        try:
            text = resources.files(package).joinpath(path).read_text(encoding="utf-8")
        except (FileNotFoundError, ModuleNotFoundError) as exc:
            raise InvalidConfigError(
                "Run config resource not found", [f"{source}: {exc}"]
            ) from None
        merged = _merge(merged, _parse(text, source), source)
    return merged
