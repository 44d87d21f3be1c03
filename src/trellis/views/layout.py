"""Layered layout of a directed acyclic graph, shared by the job's call diagram
(``diagram.py``) and the web UI's asset graph.

A node's *layer* is the length of the longest path to it from a node without upstream
(so every edge points to a later layer); its *row* is its rank within the layer, ordered
once by the mean row of its upstream nodes (the barycenter heuristic, one sweep: few
crossings at a cost linear in the edges) and then by the order given.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Mapping, Sequence
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
