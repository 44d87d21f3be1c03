"""Layered layout of a directed acyclic graph, shared by the job's call diagram
(``diagram.py``) and the web UI's asset graph.

A node's *layer* is the length of the longest path to it from a node without upstream
(so every edge points to a later layer); its *row* is its rank within the layer, ordered
once by the mean row of its upstream nodes (the barycenter heuristic, one sweep: few
crossings at a cost linear in the edges) and then by the order given.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable, Mapping, Sequence
from typing import TypeVar

K = TypeVar("K", bound=Hashable)


def longest_path_layers(order: Sequence[K], upstream: Mapping[K, Iterable[K]]) -> dict[K, int]:
    """Each node's layer; ``order`` must be topological (upstream nodes first). Upstream
    nodes that are not in ``order`` are ignored."""
    layer: dict[K, int] = {}
    for node in order:
        ups = [layer[u] for u in upstream.get(node, ()) if u in layer]
        layer[node] = (max(ups) + 1) if ups else 0
    return layer


def layered_positions(
    order: Sequence[K],
    upstream: Mapping[K, Iterable[K]],
    cluster: Mapping[K, str] | None = None,
) -> dict[K, tuple[int, int]]:
    """``(layer, row)`` for each node of ``order`` (topological). Within a layer, nodes of
    the same ``cluster`` (a group name) stay together, clusters in order of first
    appearance, then by the barycenter of their upstream rows."""
    layers = longest_path_layers(order, upstream)
    by_layer: dict[int, list[K]] = {}
    for node in order:
        by_layer.setdefault(layers[node], []).append(node)
    position = {node: i for i, node in enumerate(order)}
    cluster_rank: dict[str, int] = {}
    if cluster is not None:
        for node in order:
            cluster_rank.setdefault(cluster.get(node, ""), len(cluster_rank))
    rows: dict[K, int] = {}
    for layer in sorted(by_layer):

        def sort_key(node: K) -> tuple[int, float, int]:
            ups = [rows[u] for u in upstream.get(node, ()) if u in rows]
            center = sum(ups) / len(ups) if ups else float(position[node])
            group = cluster_rank.get(cluster.get(node, ""), 0) if cluster is not None else 0
            return (group, center, position[node])

        for row, node in enumerate(sorted(by_layer[layer], key=sort_key)):
            rows[node] = row
    return {node: (layers[node], rows[node]) for node in order}


def collapse_clusters(
    order: Sequence[K],
    upstream: Mapping[K, Iterable[K]],
    cluster: Mapping[K, str],
    expanded: Callable[[K], bool],
) -> tuple[list[Hashable], dict[Hashable, dict[Hashable, int]]]:
    """The graph with each cluster's nodes that are not ``expanded`` drawn as one node
    ``("cluster", name)`` (an expanded node stays itself): the new nodes in order of the
    first appearance of their members in ``order``, and each node's upstream nodes with
    the number of edges between them (edges inside one cluster node are dropped). Laid
    out by ``layered_positions``, an edge that goes against this order (clusters that
    feed each other both ways) is drawn backwards rather than breaking the layering."""
    node_of: dict[K, Hashable] = {
        key: key if expanded(key) else ("cluster", cluster.get(key, "")) for key in order
    }
    nodes: dict[Hashable, None] = {}
    ups: dict[Hashable, dict[Hashable, int]] = {}
    for key in order:
        node = node_of[key]
        nodes.setdefault(node, None)
        into = ups.setdefault(node, {})
        for up in upstream.get(key, ()):
            source = node_of.get(up)
            if source is None or source == node:
                continue
            into[source] = into.get(source, 0) + 1
    return list(nodes), ups
