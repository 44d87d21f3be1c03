"""Dagster's op selection syntax: ``"op"``, ``"*op"`` (op and everything upstream),
``"op*"`` (downstream), ``"+op"`` / ``"op+"`` (one level per ``+``)."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from trellis.core.errors import InvalidDefinitionError

if TYPE_CHECKING:
    from trellis.defs.job import JobDefinition

_CLAUSE = re.compile(r"^(\*|\+*)([^*+]+)(\*|\+*)$")


def _edges(job: JobDefinition) -> tuple[dict[str, set[str]], dict[str, set[str]]]:
    from trellis.defs.flat_graph import CollectedFrom, MappedFrom, NodeOutput

    up: dict[str, set[str]] = {n.handle: set(n.after) for n in job.flat_nodes}
    down: dict[str, set[str]] = {n.handle: set() for n in job.flat_nodes}
    for node in job.flat_nodes:
        for source in node.inputs.values():
            for src in source if isinstance(source, list) else [source]:
                if isinstance(src, (NodeOutput, MappedFrom, CollectedFrom)):
                    up[node.handle].add(src.handle)
        for u in up[node.handle]:
            down[u].add(node.handle)
    return up, down


def _walk(start: str, edges: dict[str, set[str]], depth: int | None) -> set[str]:
    found = {start}
    frontier = {start}
    hops = 0
    while frontier and (depth is None or hops < depth):
        frontier = {n for f in frontier for n in edges[f]} - found
        found |= frontier
        hops += 1
    return found


def parse_op_selection(job: JobDefinition, clauses: list[str]) -> set[str]:
    """The node handles that ``clauses`` select in ``job``."""
    up, down = _edges(job)
    handles = set(up)
    by_name: dict[str, list[str]] = {}
    for handle in handles:
        by_name.setdefault(handle.rsplit(".", 1)[-1], []).append(handle)
    selected: set[str] = set()
    for clause in clauses:
        match = _CLAUSE.match(clause.strip())
        if not match:
            raise InvalidDefinitionError(
                f"Bad op selection clause {clause!r} for job '{job.name}'."
            )
        before, name, after = match.groups()
        targets = [name] if name in handles else by_name.get(name, [])
        if not targets:
            import difflib  # lazily: only this path needs it

            close = difflib.get_close_matches(name, sorted(handles | set(by_name)), n=1)
            hint = f" Did you mean '{close[0]}'?" if close else ""
            raise InvalidDefinitionError(
                f"Op selection names '{name}', which is not an op of job '{job.name}'.{hint}"
            )
        for target in targets:
            selected.add(target)
            if before:
                selected |= _walk(target, up, None if before == "*" else len(before))
            if after:
                selected |= _walk(target, down, None if after == "*" else len(after))
    return selected
