"""``topological_order``: nodes ordered so that each comes after the nodes it depends on,
by a depth-first walk that names the cycle it finds (resources, explicit graphs)."""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable
from typing import TypeVar

N = TypeVar("N", bound=Hashable)


def topological_order(
    roots: Iterable[N],
    upstream: Callable[[N, list[N]], Iterable[N]],
    cycle_error: Callable[[str], Exception],
) -> list[N]:
    """``roots`` and everything ``upstream(node, path)`` leads to (``path``: the nodes
    that led to ``node``), each after its upstream nodes, otherwise in the order met.
    A cycle raises ``cycle_error("a -> b -> a")``."""
    order: list[N] = []
    state: dict[N, int] = {}  # 1: being visited, 2: done

    def visit(node: N, path: list[N]) -> None:
        if state.get(node) == 2:
            return
        if state.get(node) == 1:
            raise cycle_error(" -> ".join(str(n) for n in [*path[path.index(node) :], node]))
        state[node] = 1
        for before in upstream(node, path):
            visit(before, [*path, node])
        state[node] = 2
        order.append(node)

    for root in roots:
        visit(root, [])
    return order
