"""The launchpad's starting point: a run config for a job with every field that has a
default set to it and every required field given an example value (``example_value``),
as YAML the user edits. Fields that are optional without a default are left out."""

from __future__ import annotations

from typing import Any

import yaml

from trellis.config.printer import example_value
from trellis.config.types import ConfigTypeKind, Field, Shape


def _value(field: Field) -> Any:
    config_type = field.config_type
    if config_type.kind in (ConfigTypeKind.SHAPE, ConfigTypeKind.PERMISSIVE):
        return _shape_value(config_type)  # type: ignore[arg-type]
    if field.default_provided:
        return field.default_value
    return example_value(config_type)


def _shape_value(shape: Shape) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name in sorted(shape.fields):
        field = shape.fields[name]
        if field.is_required or field.default_provided:
            out[name] = _value(field)
    return out


def config_scaffold(job: Any) -> dict[str, Any]:
    """The scaffold of ``job``'s run config: ``ops`` (nested by graph) and
    ``resources`` entries for what has config; for a job with a config mapping, the
    mapping's own schema (that is the run config it takes)."""
    mapping = getattr(job, "config_mapping", None)
    if mapping is not None:
        value = _value(mapping.config_schema) if mapping.config_schema is not None else {}
        return value if isinstance(value, dict) else {}
    ops: dict[str, Any] = {}
    for node in job.flat_nodes:
        schema = node.op_def.config_schema
        if schema is None:
            continue
        *graphs, name = node.handle.split(".")
        level = ops
        for graph in graphs:
            level = level.setdefault(graph, {}).setdefault("ops", {})
        level[name] = {"config": _value(schema)}
    resources: dict[str, Any] = {}
    for key in sorted(job.resource_defs):
        schema = getattr(job.resource_defs[key], "config_schema", None)
        if schema is None or not isinstance(schema, Field):
            continue
        value = _value(schema)
        if value not in ({}, None):
            resources[key] = {"config": value}
    scaffold: dict[str, Any] = {}
    if ops:
        scaffold["ops"] = ops
    if resources:
        scaffold["resources"] = resources
    return scaffold


def scaffold_yaml(job: Any) -> str:
    """The scaffold as YAML text (empty for a job without config)."""
    scaffold = config_scaffold(job)
    return yaml.safe_dump(scaffold, sort_keys=False) if scaffold else ""
