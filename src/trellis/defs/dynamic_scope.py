"""Which nodes of a flattened job run once per item of a dynamic output.

A node's scope (``FlatNode.mapped_over``) is the list of dynamic outputs it is mapped
over, outermost first. It follows from its inputs: an input reading one item of a
dynamic output (``MappedFrom``) puts the node in that output's scope, one level deeper
than the node that yields it; an input reading the output of a mapped node keeps that
node's scope; ``.collect()`` (``CollectedFrom``) leaves the innermost level. The scopes of
a node's inputs must nest (each a prefix of the longest): a node cannot run per item of
two unrelated dynamic outputs.

Dagster allows one level; Trellis also maps inside a mapped node (a mapped op with a
``DynamicOut`` of its own, mapped again), whose steps are keyed ``op[outer,inner]``.
"""

from __future__ import annotations

from collections.abc import Iterable

from trellis.core.errors import InvalidDefinitionError
from trellis.defs.flat_graph import CollectedFrom, FlatNode, FlatSource, MappedFrom, NodeOutput

Scope = tuple[NodeOutput, ...]


def assign_scopes(nodes: Iterable[FlatNode]) -> None:
    """Set ``mapped_over`` on every node (in topological order); raise
    ``InvalidDefinitionError`` for a node downstream of two unrelated dynamic outputs or
    a ``.collect()`` of something that is not mapped."""
    by_handle: dict[str, FlatNode] = {}
    for node in nodes:
        by_handle[node.handle] = node
        scope: Scope = ()
        for input_name, source in node.inputs.items():
            for single in source if isinstance(source, list) else (source,):
                found = _input_scope(by_handle, node, input_name, single)
                scope = _nested(scope, found, node)
        node.mapped_over = scope


def _input_scope(
    by_handle: dict[str, FlatNode], node: FlatNode, input_name: str, source: FlatSource
) -> Scope:
    if isinstance(source, NodeOutput):
        return by_handle[source.handle].mapped_over
    if isinstance(source, MappedFrom):
        upstream = by_handle[source.handle]
        return (*upstream.mapped_over, NodeOutput(source.handle, source.output_name))
    if isinstance(source, CollectedFrom):
        upstream = by_handle[source.handle]
        if upstream.op_def.is_dynamic_output(source.output_name):
            return upstream.mapped_over  # every item of the dynamic output itself
        if not upstream.mapped_over:
            raise InvalidDefinitionError(
                f"Input '{input_name}' of {node.op_def.kind} '{node.handle}' collects output "
                f"'{source.output_name}' of '{source.handle}', which is not mapped over a "
                "dynamic output; .collect() gathers a dynamic output or a .map() result."
            )
        return upstream.mapped_over[:-1]
    return ()


def _nested(current: Scope, found: Scope, node: FlatNode) -> Scope:
    """The longer of two scopes when one is a prefix of the other."""
    if len(found) > len(current):
        current, found = found, current
    if current[: len(found)] == found:
        return current
    ours, theirs = current[-1], found[-1]
    raise InvalidDefinitionError(
        f"{node.op_def.kind.capitalize()} '{node.handle}' is downstream of two dynamic "
        f"outputs, '{ours.handle}:{ours.output_name}' and '{theirs.handle}:"
        f"{theirs.output_name}'; a node can run per item of one dynamic output (or of one "
        "mapped inside another). Collect one of them first."
    )


def step_key_for(handle: str, mapping_keys: tuple[str, ...]) -> str:
    """The step key of a node run for ``mapping_keys`` (one per level of its scope):
    ``handle`` itself when it runs once, else ``handle[k1,k2]``."""
    if not mapping_keys:
        return handle
    return f"{handle}[{','.join(mapping_keys)}]"


def parse_step_key(step_key: str) -> tuple[str, tuple[str, ...]]:
    """``(handle, mapping keys)`` of a step key (the inverse of ``step_key_for``; a mapping
    key never contains ``[``, ``,`` or ``]``). A template's ``?`` keys come back as ``?``."""
    if not step_key.endswith("]"):
        return step_key, ()
    handle, bracket, keys = step_key.rpartition("[")
    if not bracket or not handle:
        return step_key, ()
    return handle, tuple(keys[:-1].split(","))
