"""How an asset job runs a graph-backed asset: its ops as flat nodes at
``<asset node>.<op>`` handles, each knowing which assets its own outputs make and its
inputs read; with ``can_subset``, only the ops the selected assets need."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from trellis.config.run_config import config_dict_from_value, deep_merge
from trellis.core.asset_key import AssetKey
from trellis.defs.asset import AssetsDefinition
from trellis.defs.flat_graph import (
    CollectedFrom,
    FlatNode,
    FlatSource,
    FromAsset,
    MappedFrom,
    NodeOutput,
    flatten_into,
)
from trellis.defs.graph import GraphDefinition


def graph_asset_nodes(
    assets_def: AssetsDefinition,
    inputs: Mapping[str, FlatSource],
    after: tuple[str, ...],
) -> list[FlatNode]:
    """The flat nodes of a graph-backed ``assets_def`` (already subset to the selected
    keys), its graph inputs read from ``inputs`` (upstream assets, by graph input name)."""
    graph_def = assets_def.node_def
    assert isinstance(graph_def, GraphDefinition)
    prefix = assets_def.node_name + "."
    nodes: list[FlatNode] = []
    resolved = flatten_into(graph_def, prefix, inputs, nodes, assets_def.hook_defs)
    # Where each selected asset is: the inner op output its graph output maps to.
    places: dict[tuple[str, str], AssetKey] = {}
    for key in assets_def.selected_keys:
        mapping = graph_def.output_mappings[assets_def.output_names_by_key[key]]
        place = resolved[mapping.node_name][mapping.output_name]
        assert isinstance(place, NodeOutput)
        places[(place.handle, place.output_name)] = key
    subset = assets_def.selected_keys != frozenset(assets_def.keys_by_output_name.values())
    if subset:
        nodes = _needed(nodes, {handle for handle, _ in places})
    consumed = _consumed(nodes) if subset else None
    # The asset an input reads: an upstream asset of the graph, or one of its own assets.
    read: dict[Any, AssetKey] = {
        source: assets_def.keys_by_input_name[name]
        for name, source in inputs.items()
        if name in assets_def.keys_by_input_name and source is not None
    }
    read.update({NodeOutput(h, o): key for (h, o), key in places.items()})
    for node in nodes:
        node.assets_def = assets_def
        node.in_graph_asset = True
        node.after = after
        # An output no kept op reads and no selected asset is, is not produced in a run of
        # a subset (None: the plan leaves it out, as Dagster's selected_output_names does).
        made: dict[str, AssetKey | None] = {}
        for o in node.op_def.outs:
            if (node.handle, o) in places:
                made[o] = places[(node.handle, o)]
            elif consumed is not None and (node.handle, o) not in consumed:
                made[o] = None
        node.asset_keys_by_output = made
        keys_in: dict[str, AssetKey] = {}
        for name, source in node.inputs.items():
            if type(source) in (NodeOutput, FromAsset) and source in read:
                keys_in[name] = read[source]
        node.asset_keys_by_input = keys_in
    return nodes


def _needed(nodes: list[FlatNode], targets: set[str]) -> list[FlatNode]:
    """The nodes the ``targets`` need (themselves and everything upstream of them inside
    the graph), in their order."""
    by_handle = {node.handle: node for node in nodes}
    needed: set[str] = set()
    todo = list(targets)
    while todo:
        handle = todo.pop()
        if handle in needed or handle not in by_handle:
            continue
        needed.add(handle)
        for source in by_handle[handle].inputs.values():
            for single in source if isinstance(source, list) else (source,):
                if isinstance(single, (NodeOutput, MappedFrom, CollectedFrom)):
                    todo.append(single.handle)
                    if isinstance(single, CollectedFrom):  # and the dynamic output it ranges
                        todo.extend(n.handle for n in by_handle[single.handle].mapped_over)
    return [node for node in nodes if node.handle in needed]


def _consumed(nodes: list[FlatNode]) -> set[tuple[str, str]]:
    """The ``(handle, output)`` pairs the inputs of ``nodes`` read."""
    found: set[tuple[str, str]] = set()
    for node in nodes:
        for source in node.inputs.values():
            for single in source if isinstance(source, list) else (source,):
                if isinstance(single, (NodeOutput, MappedFrom, CollectedFrom)):
                    found.add((single.handle, single.output_name))
    return found


def with_graph_asset_config(config: Any, assets_defs: Iterable[AssetsDefinition]) -> Any:
    """The job's default run config with each graph-backed asset's ``config=`` (its inner
    ops' config) under ``ops: {<asset node>: {ops: ...}}``; the job's own config wins."""
    defaults: dict[str, Any] = {}
    for assets_def in assets_defs:
        node_def = assets_def.node_def
        if isinstance(node_def, GraphDefinition) and isinstance(node_def.config, Mapping):
            defaults[assets_def.node_name] = {"ops": dict(node_def.config)}
    if not defaults:
        return config
    return deep_merge({"ops": defaults}, config_dict_from_value(config))
