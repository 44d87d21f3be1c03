"""``RunConfig``: a typed builder for the run-config dict, and ``config_dict_from_value``.

Neither imports pydantic: a ``Config`` instance can only exist once
``trellis.config.pythonic`` has been imported, and ``detect`` checks for that first.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from trellis.config.detect import is_config_instance
from trellis.core.errors import InvalidInvocationError


def _entry(value: Any) -> Any:
    """A ``Config`` instance becomes ``{"config": {...}}``; a dict is taken as the whole
    entry (``{"config": ..., "inputs": ...}``) and copied."""
    if is_config_instance(value):
        from trellis.config.pythonic import config_to_dict

        return {"config": config_to_dict(value)}
    if isinstance(value, Mapping):
        return dict(value)
    raise InvalidInvocationError(
        "RunConfig entries must be Config instances or dicts such as {'config': {...}}, "
        f"got {value!r}."
    )


@dataclass(frozen=True)
class RunConfig:
    """The config of one run, built from typed pieces instead of a nested dict.

    ``ops`` and ``resources`` map a name to a ``Config`` instance (its fields become that
    entry's ``config``) or to a plain dict entry; ``execution`` and ``loggers`` are dicts.
    ``to_config_dict()`` gives the dict ``{"ops": {name: {"config": ...}}, ...}``.
    """

    ops: Mapping[str, Any] | None = None
    resources: Mapping[str, Any] | None = None
    execution: Mapping[str, Any] | None = None
    loggers: Mapping[str, Any] | None = None

    def to_config_dict(self) -> dict[str, Any]:
        """The plain run-config dict; sections left as None are omitted."""
        out: dict[str, Any] = {}
        if self.ops is not None:
            out["ops"] = {name: _entry(value) for name, value in self.ops.items()}
        if self.resources is not None:
            out["resources"] = {key: _entry(value) for key, value in self.resources.items()}
        if self.execution is not None:
            out["execution"] = dict(self.execution)
        if self.loggers is not None:
            out["loggers"] = dict(self.loggers)
        return out


def deep_merge(base: Mapping[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    """``override`` laid over ``base``: mappings merge key by key, recursively; anything
    else replaces. Neither argument is changed."""
    merged = dict(base)
    for key, value in override.items():
        current = merged.get(key)
        if isinstance(value, Mapping) and isinstance(current, Mapping):
            merged[key] = deep_merge(current, value)
        else:
            merged[key] = value
    return merged


def config_dict_from_value(value: RunConfig | Mapping[str, Any] | None) -> dict[str, Any]:
    """Accept what users pass as ``run_config`` (None, a dict or a ``RunConfig``) and
    return a plain dict (a shallow copy; never the caller's object)."""
    if value is None:
        return {}
    if isinstance(value, RunConfig):
        return value.to_config_dict()
    if isinstance(value, Mapping):
        return dict(value)
    raise InvalidInvocationError(
        f"run_config must be a dict or a RunConfig, got {value!r} "
        f"(Python type '{type(value).__name__}')."
    )
