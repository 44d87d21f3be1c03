"""Run config: the schema a job's run config must match (Dagster's layout) and its
validation, once per run, into a ``ResolvedRunConfig``.

Layout::

    ops:        {<op or asset-op name>: {config: ..., inputs: {<name>: value}},
                 <graph name>: {ops: {...}}}        # nested graphs nest
    resources:  {<key>: {config: ...}}
    execution:  {config: {...}}                     # read by the executor
    loggers:    {<logger key>: {config: ...}}       # the job's loggers (default: console)
"""

from __future__ import annotations

import functools
import weakref
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from trellis.config import types as ct
from trellis.config.validate import validate_config
from trellis.plan.config_mappings import apply_configured_ops, job_run_config

if TYPE_CHECKING:
    from trellis.defs.flat_graph import FlatNode
    from trellis.defs.job import JobDefinition


class ResolvedRunConfig:
    """A run config after validation: defaults applied, env vars resolved.

    ``op_config(handle)`` and ``resource_config(key)`` read the processed values;
    ``raw`` is what the user gave (stored with the run).
    """

    __slots__ = ("_given_loggers", "execution", "loggers", "ops_by_handle", "raw", "resources")

    def __init__(
        self,
        raw: dict[str, Any],
        ops_by_handle: dict[str, dict[str, Any]],
        resources: dict[str, Any],
        execution: dict[str, Any],
        loggers: dict[str, Any],
        given_loggers: Any = None,
    ) -> None:
        self.raw = raw
        # The ``loggers:`` the user gave (after config mappings): None means read ``raw``.
        self._given_loggers = given_loggers
        self.ops_by_handle = ops_by_handle
        self.resources = resources
        self.execution = execution
        self.loggers = loggers

    def op_config(self, handle: str) -> Any:
        """The processed config of one op (None when it takes none)."""
        entry = self.ops_by_handle.get(handle)
        return entry.get("config") if entry else None

    def op_inputs(self, handle: str) -> dict[str, Any]:
        """Input values given in config for one op (``ops.<op>.inputs``)."""
        entry = self.ops_by_handle.get(handle)
        return (entry.get("inputs") or {}) if entry else {}

    def resource_config(self, key: str) -> Any:
        """The processed config of one resource."""
        entry = self.resources.get(key)
        return entry.get("config") if isinstance(entry, Mapping) else None

    @property
    def console_log_level(self) -> str | None:
        """``loggers.console.config.log_level`` when the run config gives it."""
        console = self.given_loggers.get("console") or {}
        return ((console.get("config") or {}) if isinstance(console, Mapping) else {}).get(
            "log_level"
        )

    @property
    def given_loggers(self) -> Mapping[str, Any]:
        """The ``loggers:`` entries as the user gave them (their keys are the loggers the
        run uses; ``loggers`` holds them validated, with defaults)."""
        given = self._given_loggers if self._given_loggers is not None else self.raw.get("loggers")
        return given if isinstance(given, Mapping) else {}


_OPTIONAL_ANY = ct.Field(ct.Any, is_required=False)


_OP_ENTRIES: weakref.WeakKeyDictionary[Any, dict[bool, ct.Field]] = weakref.WeakKeyDictionary()


def _op_entry(node: FlatNode, required: bool) -> ct.Field:
    """The ``ops.<name>`` entry of one op's run config; built once per op definition."""
    cached = _OP_ENTRIES.get(node.op_def)
    if cached is None:
        cached = _OP_ENTRIES[node.op_def] = {}
    entry = cached.get(required)
    if entry is None:
        entry = cached[required] = _build_op_entry(node, required)
    return entry


def _build_op_entry(node: FlatNode, required: bool) -> ct.Field:
    op_def = node.op_def
    fields: dict[str, ct.Field] = {}
    if op_def.config_schema is not None:
        schema: ct.Field = op_def.config_schema
        fields["config"] = schema if required else ct.Field(schema.config_type, is_required=False)
    else:
        fields["config"] = _OPTIONAL_ANY
    if op_def.ins:
        fields["inputs"] = ct.Field(ct.Permissive(), is_required=False)
    fields["outputs"] = _OPTIONAL_ANY
    return ct.Field(ct.Shape(fields))


@functools.lru_cache(maxsize=64)
def _loggers_field(loggers: tuple[tuple[str, Any], ...]) -> ct.Field:
    """The ``loggers:`` section for a job's loggers (by key): each entry optional, its
    ``config`` checked against the logger's schema. Built once per set of loggers."""
    fields: dict[str, ct.Field] = {}
    for key, definition in loggers:
        schema = definition.config_schema
        inner = _OPTIONAL_ANY if schema is None else schema
        fields[key] = ct.Field(ct.Shape({"config": inner}), is_required=False)
    return ct.Field(ct.Shape(fields), is_required=False)


def _ops_shape(entries: dict[str, Any]) -> ct.Shape:
    """Nest ``{"g.inner": Field}`` into ``{g: {ops: {inner: Field}}}``."""
    tree: dict[str, Any] = {}
    for handle, entry in entries.items():
        parts = handle.split(".")
        level = tree
        for part in parts[:-1]:
            level = level.setdefault(part, {}).setdefault("__children__", {})
        level[parts[-1]] = entry

    def build(level: dict[str, Any]) -> ct.Shape:
        fields: dict[str, ct.Field] = {}
        for name, value in level.items():
            if isinstance(value, dict):
                fields[name] = ct.Field(ct.Shape({"ops": ct.Field(build(value["__children__"]))}))
            else:
                fields[name] = value
        return ct.Shape(fields)

    return build(tree)


def _flatten_ops(processed: Mapping[str, Any], prefix: str = "") -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for name, entry in (processed or {}).items():
        if isinstance(entry, Mapping) and "ops" in entry and "config" not in entry:
            out.update(_flatten_ops(entry["ops"], prefix + name + "."))
        else:
            out[prefix + name] = dict(entry or {})
    return out


def _nodes_to_validate(job: JobDefinition, raw: Mapping[str, Any]) -> list[FlatNode]:
    """The ops whose ``ops.<name>`` entry must be checked: those with a config schema and
    those the config mentions. An op with neither has nothing to check, so a 10,000-op
    run without config validates in microseconds; a mistyped op name falls back to every
    op, so the error can suggest the right one."""
    raw_ops = raw.get("ops")
    mentioned = set(raw_ops) if isinstance(raw_ops, Mapping) else set()
    tops = {n.handle.split(".", 1)[0] for n in job.flat_nodes}
    if not mentioned <= tops:
        return list(job.flat_nodes)
    return [
        n
        for n in job.flat_nodes
        if n.op_def.config_schema is not None or n.handle.split(".", 1)[0] in mentioned
    ]


def resolve_run_config(
    job: JobDefinition,
    run_config: Any,
    selected_nodes: Iterable[FlatNode],
    resource_keys: Iterable[str],
) -> ResolvedRunConfig:
    """Validate ``run_config`` (merged over the job's default config, or through its
    config mappings: ``config_mappings.job_run_config``) against the job's schema; config
    is required only for the selected nodes and the resources to build. Raises
    ``InvalidConfigError`` listing every problem with its path."""
    raw, effective = job_run_config(job, run_config)
    selected = {n.handle for n in selected_nodes}
    to_init = set(resource_keys)
    op_entries = {
        n.handle: _op_entry(n, n.handle in selected) for n in _nodes_to_validate(job, effective)
    }
    resource_fields: dict[str, ct.Field] = {}
    for key, definition in job.resource_defs.items():
        schema = definition.config_schema
        if schema is None:
            inner = _OPTIONAL_ANY
        elif key in to_init:
            inner = schema
        else:
            inner = ct.Field(schema.config_type, is_required=False)
        resource_fields[key] = ct.Field(ct.Shape({"config": inner}))
    schema = ct.Shape(
        {
            "ops": ct.Field(_ops_shape(op_entries)),
            "resources": ct.Field(ct.Shape(resource_fields)),
            "execution": _OPTIONAL_ANY,
            "loggers": _loggers_field(tuple(job.loggers.items())),
        }
    )
    processed = validate_config(schema, effective, header=f'Error in config for job "{job.name}"')
    ops_by_handle = _flatten_ops(processed.get("ops") or {})
    apply_configured_ops(job, ops_by_handle)
    return ResolvedRunConfig(
        raw=raw,
        ops_by_handle=ops_by_handle,
        resources=dict(processed.get("resources") or {}),
        execution=dict(processed.get("execution") or {}),
        loggers=dict(processed.get("loggers") or {}),
        given_loggers=effective.get("loggers"),
    )
