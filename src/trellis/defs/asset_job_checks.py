"""The asset checks of an asset job: which checks a selection runs, the subsets of the
definitions that evaluate them, and the job's nodes for ``@asset_check`` definitions.

Dagster's rules: selecting an asset selects its checks (unless the selection says
otherwise); a check declared in an asset's ``check_specs`` runs in the asset's own step,
so such an asset that cannot be subset must be selected with all its checks or none of
either; an ``@asset_check`` runs as a step of its own after the asset it checks (and its
``additional_deps``), reading the asset through its IO manager when it takes it as input;
the assets downstream of an asset with a **blocking** check wait for that check.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from trellis.core.asset_checks import AssetCheckKey
from trellis.core.asset_key import AssetKey
from trellis.core.errors import InvalidDefinitionError
from trellis.defs.check_graph import check_unknown_checks, checks_of_assets
from trellis.defs.flat_graph import FlatNode, FlatSource, FromAsset, NodeOutput

if TYPE_CHECKING:
    from trellis.defs.asset import AssetsDefinition
    from trellis.defs.asset_graph import AssetGraph


def selected_checks(
    graph: AssetGraph,
    selected: set[AssetKey],
    selected_check_keys: Iterable[AssetCheckKey] | None,
    job_name: str,
) -> set[AssetCheckKey]:
    """The checks a job over ``selected`` runs: ``selected_check_keys`` when given (each
    must exist), else the checks of the selected assets."""
    if selected_check_keys is None:
        return checks_of_assets(graph, selected)
    checks = set(selected_check_keys)
    check_unknown_checks(graph, checks, job_name)
    return checks


def asset_subsets(
    graph: AssetGraph, selected: set[AssetKey], checks: set[AssetCheckKey]
) -> list[AssetsDefinition]:
    """The asset definitions a job runs, in dependency order, each restricted to its
    selected assets and checks: those with a selected asset, or a selected check of
    their ``check_specs`` (``InvalidSubsetError`` for one that cannot be subset so)."""
    check_owners = {id(graph.check_owner[k]) for k in checks}
    chosen: dict[int, AssetsDefinition] = {}
    for key in graph.toposorted_keys:
        producer = graph.producer.get(key)
        if producer is not None and (key in selected or id(producer) in check_owners):
            chosen.setdefault(id(producer), producer)
    return [
        a.subset_for(
            [k for k in a.keys_by_output_name.values() if k in selected],
            [k for k in a.check_specs_by_key if k in checks],
        )
        for a in chosen.values()
    ]


def _sources(node: FlatNode) -> set[str]:
    """The handles a node waits for: its data inputs and its ordering deps."""
    found = set(node.after)
    for source in node.inputs.values():
        if isinstance(source, NodeOutput):
            found.add(source.handle)
        elif isinstance(source, list):
            found.update(s.handle for s in source)
    return found


def _check_node(
    checks_def: Any, handle_of_key: dict[AssetKey, tuple[str, str]]
) -> tuple[FlatNode, set[AssetKey]]:
    """The node of an ``@asset_check`` definition and the assets it runs after."""
    inputs: dict[str, FlatSource] = {}
    for input_name, key in checks_def.keys_by_input_name.items():
        inputs[input_name] = (
            NodeOutput(*handle_of_key[key]) if key in handle_of_key else FromAsset(key)
        )
    deps: set[AssetKey] = set(checks_def.keys_by_input_name.values())
    for spec in checks_def.check_specs:
        deps.add(spec.asset_key)
        deps.update(spec.additional_deps)
    after = tuple(sorted({handle_of_key[d][0] for d in deps if d in handle_of_key}))
    node = FlatNode(
        checks_def.node_name,
        checks_def.op,
        inputs,
        retry_policy=None,
        after=after,
        checks_def=checks_def,
    )
    return node, deps


def with_check_nodes(
    graph: AssetGraph,
    job_name: str,
    nodes: list[FlatNode],
    checks: set[AssetCheckKey],
    handle_of_key: dict[AssetKey, tuple[str, str]],
) -> list[FlatNode]:
    """``nodes`` (the job's asset nodes) with a node for each ``@asset_check`` definition
    that has a selected check, the assets downstream of a blocking check made to wait for
    it, in a dependency order (each check right after what it checks)."""
    check_nodes: list[FlatNode] = []
    blocking: dict[AssetKey, set[str]] = {}
    for checks_def in graph.checks_defs:
        wanted = [k for k in checks_def.check_specs_by_key if k in checks]
        if not wanted:
            continue
        node, _deps = _check_node(checks_def.subset_for_checks(wanted), handle_of_key)
        check_nodes.append(node)
        for key in wanted:
            if checks_def.check_specs_by_key[key].blocking:
                blocking.setdefault(key.asset_key, set()).add(node.handle)
    if not check_nodes:
        return nodes
    if blocking:
        for node in nodes:
            assets_def = node.assets_def
            if assets_def is None:
                continue
            upstream: set[AssetKey] = set(assets_def.keys_by_input_name.values())
            for key in assets_def.selected_keys:
                upstream.update(assets_def.specs_by_key[key].deps)
            waits = {h for up in upstream for h in blocking.get(up, ())}
            if waits:
                node.after = tuple(sorted(set(node.after) | waits))
    # Each check comes right after the last asset node it waits for.
    position = {node.handle: i for i, node in enumerate(nodes)}
    priority: dict[str, tuple[int, int]] = {h: (i, 0) for h, i in position.items()}
    for j, node in enumerate(check_nodes):
        after = [position[h] for h in _sources(node) if h in position]
        priority[node.handle] = (max(after, default=-1), j + 1)
    return _ordered([*nodes, *check_nodes], priority, job_name)


def _ordered(
    nodes: list[FlatNode], priority: dict[str, tuple[int, int]], job_name: str
) -> list[FlatNode]:
    """``nodes`` in a dependency order, by ``priority`` among those ready; a cycle (a
    blocking check that depends on an asset that waits for it) is an error naming the
    nodes."""
    index = {node.handle: i for i, node in enumerate(nodes)}
    waiting: dict[str, int] = {}
    downstream: dict[str, list[str]] = {node.handle: [] for node in nodes}
    for node in nodes:
        sources = {h for h in _sources(node) if h in index}
        waiting[node.handle] = len(sources)
        for source in sources:
            downstream[source].append(node.handle)
    ready = [(priority[h], h) for h, count in waiting.items() if count == 0]
    heapq.heapify(ready)
    ordered: list[FlatNode] = []
    while ready:
        _, handle = heapq.heappop(ready)
        ordered.append(nodes[index[handle]])
        for down in downstream[handle]:
            waiting[down] -= 1
            if waiting[down] == 0:
                heapq.heappush(ready, (priority[down], down))
    if len(ordered) != len(nodes):
        stuck = sorted(h for h, count in waiting.items() if count > 0)
        raise InvalidDefinitionError(
            f"Job '{job_name}' cannot run: its steps {stuck} wait for each other. A blocking "
            "asset check makes the assets downstream of the asset it checks wait for it; it "
            "cannot also depend on one of them (additional_deps or an input)."
        )
    return ordered
