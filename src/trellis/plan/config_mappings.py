"""Applying config mappings to a run's config (``defs/config_mapping.py`` says what they
are): the job's own mapping turns the run config given into the job's; then each graph
with a mapping, outermost first, has its node's ``config`` entry turned into its inner
ops' config (``ops: {<graph>: {config: ...}}`` becomes ``ops: {<graph>: {ops: ...}}``).
What has no mapping is only merged, as before: a job's default config under the run
config given. The graphs with mappings are found once per job and remembered."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any, NamedTuple

from trellis.config.run_config import config_dict_from_value, deep_merge

if TYPE_CHECKING:
    from trellis.defs.config_mapping import ConfigMapping
    from trellis.defs.graph import GraphDefinition
    from trellis.defs.job import JobDefinition

_MAPPED_GRAPHS = "_config_mapped_graphs"  # cached in the job's __dict__
_CONFIGURED_OPS = "_configured_op_nodes"  # likewise


class MappedRunConfig(NamedTuple):
    """A run config already put through ``job_run_config`` (so that a caller that needs
    the effective config before building the plan, as ``execute_job_in_process`` does
    for the executor, hands it on and the mapping functions run once per run)."""

    recorded: dict[str, Any]
    effective: dict[str, Any]


def job_run_config(job: JobDefinition, run_config: Any) -> MappedRunConfig:
    """``(recorded, effective)`` for a run of ``job`` with ``run_config``: the config the
    run records (what was given, over the job's default config; before any mapping, so
    that rebuilding the run from it, as a worker or a re-execution does, maps it again)
    and the config the job's schema validates (after the mappings)."""
    if isinstance(run_config, MappedRunConfig):
        return run_config
    given = config_dict_from_value(run_config)
    mapping: ConfigMapping | None = getattr(job, "config_mapping", None)
    if mapping is not None:
        recorded = given
        effective = mapping.resolve_from_unvalidated_config(given, owner=f"job '{job.name}'")
    else:
        recorded = effective = deep_merge(config_dict_from_value(job.config), given)
    graphs = job.__dict__.get(_MAPPED_GRAPHS)
    if graphs is None:
        graphs = job.__dict__[_MAPPED_GRAPHS] = sorted(_graphs_with_mappings(job), key=len)
    for path in graphs:
        effective = _apply_graph_mapping(effective, path)
    return MappedRunConfig(recorded, effective)


GraphPath = tuple[tuple[str, "GraphDefinition"], ...]


def _graphs_with_mappings(job: JobDefinition) -> Iterator[GraphPath]:
    """The paths (node name, graph) from the job to each graph whose config is a mapping."""
    from trellis.defs.graph import GraphDefinition

    def walk(graph: GraphDefinition, path: GraphPath) -> Iterator[GraphPath]:
        for invocation in graph.nodes.values():
            definition = invocation.definition
            if isinstance(definition, GraphDefinition):
                inner = (*path, (invocation.name, definition))
                if _mapping_of(definition) is not None:
                    yield inner
                yield from walk(definition, inner)

    if job.graph_def is not None:
        yield from walk(job.graph_def, ())
    seen: set[str] = set()
    for node in job.flat_nodes:  # graph-backed assets: their node is the asset's graph
        assets_def = node.assets_def
        if assets_def is None or not node.in_graph_asset or assets_def.node_name in seen:
            continue
        seen.add(assets_def.node_name)
        graph = assets_def.node_def
        if isinstance(graph, GraphDefinition):
            top: GraphPath = ((assets_def.node_name, graph),)
            if _mapping_of(graph) is not None:
                yield top
            yield from walk(graph, top)


def _mapping_of(graph: GraphDefinition) -> ConfigMapping | None:
    from trellis.defs.config_mapping import ConfigMapping

    return graph.config if isinstance(graph.config, ConfigMapping) else None


def _apply_graph_mapping(raw: dict[str, Any], path: GraphPath) -> dict[str, Any]:
    """``raw`` with the graph at ``path``'s ``config`` entry mapped to its inner ops'
    config (copied along the path; the caller's dicts are never changed)."""
    graph = path[-1][1]
    mapping = _mapping_of(graph)
    assert mapping is not None
    out = dict(raw)
    level = out
    for depth, (name, _) in enumerate(path):
        ops = dict(level.get("ops") or {}) if isinstance(level.get("ops"), Mapping) else {}
        level["ops"] = ops
        entry = ops.get(name)
        entry = dict(entry) if isinstance(entry, Mapping) else {}
        ops[name] = entry
        level = entry
        if depth == len(path) - 1:
            where = "ops:" + ":ops:".join(n for n, _ in path)
            mapped = mapping.resolve_from_unvalidated_config(
                entry.pop("config", None), owner=f"graph '{graph.name}' (run config {where})"
            )
            inner = entry.get("ops")
            entry["ops"] = deep_merge(mapped, inner if isinstance(inner, Mapping) else {})
    return out


def apply_configured_ops(job: JobDefinition, ops_by_handle: dict[str, dict[str, Any]]) -> None:
    """Give each ``configured`` op of ``job`` its original config: fixed, or computed from
    the copy's processed config (``defs/configured.py``), in ``ops_by_handle``."""
    nodes = job.__dict__.get(_CONFIGURED_OPS)
    if nodes is None:
        nodes = job.__dict__[_CONFIGURED_OPS] = [
            n for n in job.flat_nodes if getattr(n.op_def, "configured_config", None) is not None
        ]
    for node in nodes:
        entry = ops_by_handle.setdefault(node.handle, {})
        entry["config"] = node.op_def.configured_config.resolve(entry.get("config"), node.handle)
