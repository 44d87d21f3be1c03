"""The asset graph as the page draws it past ``COLLAPSE_AT`` assets: each group's assets
collapsed into one node with their count, except the assets drawn one by one (the
groups the user expanded, and a search's selection when it is small enough), laid out
by the same layered layout as the whole graph (``views/layout.py``), with the edges
between groups aggregated (how many asset edges each one stands for)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Hashable, Iterable
from typing import Any

from trellis.core.asset_key import AssetKey
from trellis.views.layout import collapse_clusters, layered_positions

COLLAPSE_AT = 1500  # more assets than this in the drawn selection: groups collapse


def node_id(node: Hashable) -> str:
    """The id of a node of the collapsed graph: ``group:NAME`` or ``asset:KEY``."""
    if isinstance(node, tuple) and node[:1] == ("cluster",):
        return f"group:{node[1]}"
    assert isinstance(node, AssetKey)
    return f"asset:{node.to_user_string()}"


def collapsed_graph(
    graph: Any,
    expand_groups: Iterable[str] = (),
    selected: set[AssetKey] | None = None,
    collapse_at: int = COLLAPSE_AT,
) -> dict[str, Any]:
    """Nodes (``kind`` asset or group, ``layer``, ``row``; a group's ``count`` of the
    assets it stands for) and edges (``from``, ``to``, ``count``) of the graph with the
    assets of ``expand_groups`` and, when there are at most ``collapse_at`` of them, the
    ``selected`` assets drawn one by one; every other asset collapsed into its group.
    With neither, every asset is drawn one by one when there are at most
    ``collapse_at``."""
    order = list(graph.toposorted_keys)
    groups = {key: graph.group_of(key) for key in order}
    wanted = set(expand_groups)
    if selected is not None:
        shown = selected if len(selected) <= collapse_at else set()
    else:
        shown = set(order) if len(order) <= collapse_at and not wanted else set()
    nodes, upstream = collapse_clusters(
        order, graph.upstream, groups, lambda key: key in shown or groups[key] in wanted
    )
    cluster = {
        node: node[1] if isinstance(node, tuple) else groups[node]  # type: ignore[index]
        for node in nodes
    }
    positions = layered_positions(nodes, upstream, cluster)
    counts = Counter(groups[key] for key in order if not (key in shown or groups[key] in wanted))
    out_nodes = []
    for node in nodes:
        layer, row = positions[node]
        item: dict[str, Any] = {"id": node_id(node), "layer": layer, "row": row}
        if isinstance(node, AssetKey):
            item.update(kind="asset", key=node.to_user_string(), group=groups[node])
        else:
            assert isinstance(node, tuple)
            item.update(kind="group", group=node[1], count=counts[node[1]])
        out_nodes.append(item)
    edges = [
        {"from": node_id(up), "to": node_id(node), "count": n}
        for node in nodes
        for up, n in upstream[node].items()
    ]
    return {
        "collapse_at": collapse_at,
        "collapsed": any(item["kind"] == "group" for item in out_nodes),
        "nodes": out_nodes,
        "edges": edges,
    }
