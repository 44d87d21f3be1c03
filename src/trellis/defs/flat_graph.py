"""The flat view of a job: one ``FlatNode`` per op, nested graphs flattened to dotted
handles, every input resolved to where its value comes from."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, NamedTuple

from trellis.core.asset_key import AssetKey
from trellis.core.errors import InvalidDefinitionError
from trellis.defs.composition import GraphInputRef, InvokedOutput

if TYPE_CHECKING:
    from trellis.defs.asset import AssetsDefinition
    from trellis.defs.graph import GraphDefinition
    from trellis.defs.op import OpDefinition


class NodeOutput(NamedTuple):
    """An output of a flat node: where an input's value comes from."""

    handle: str
    output_name: str


class FromAsset(NamedTuple):
    """An input read from an asset that this job does not materialize."""

    asset_key: AssetKey


class FromGraphInput(NamedTuple):
    """An input wired to one of the job's own top-level inputs."""

    input_name: str


# None means "unconnected": filled from input_values, config or a default at plan time.
FlatSource = NodeOutput | list[NodeOutput] | FromAsset | FromGraphInput | None


class FlatNode:
    """One op of a job, at its dotted handle, with each input's source resolved."""

    __slots__ = (
        "after",
        "assets_def",
        "checks_def",
        "handle",
        "hook_defs",
        "inputs",
        "op_def",
        "retry_policy",
        "tags",
    )

    def __init__(
        self,
        handle: str,
        op_def: OpDefinition,
        inputs: dict[str, FlatSource],
        *,
        tags: Mapping[str, str] | None = None,
        retry_policy: Any = None,
        assets_def: AssetsDefinition | None = None,
        after: tuple[str, ...] = (),
        hook_defs: frozenset[Any] = frozenset(),
        checks_def: Any = None,
    ) -> None:
        self.handle = handle
        self.op_def = op_def
        self.inputs = inputs
        self.tags = {**op_def.tags, **(tags or {})}
        self.retry_policy = retry_policy
        self.assets_def = assets_def
        self.after = after  # handles that must finish first without passing data
        # Hooks of this node: its own use, the graphs around it, its asset (not the job's).
        self.hook_defs = hook_defs
        self.checks_def = checks_def  # the AssetChecksDefinition of an @asset_check's op

    def __repr__(self) -> str:
        return f"<FlatNode {self.handle}>"


def flatten_graph(graph_def: GraphDefinition) -> list[FlatNode]:
    """Every op of ``graph_def`` (recursively) in a topological order."""
    nodes: list[FlatNode] = []
    top_inputs: dict[str, FlatSource] = {n: FromGraphInput(n) for n in graph_def.input_names}
    _flatten(graph_def, "", top_inputs, nodes, frozenset())
    return nodes


def _flatten(
    graph_def: GraphDefinition,
    prefix: str,
    graph_inputs: Mapping[str, FlatSource],
    out: list[FlatNode],
    outer_hooks: frozenset[Any],
) -> dict[str, dict[str, FlatSource]]:
    from trellis.defs.graph import GraphDefinition
    from trellis.defs.op import OpDefinition

    resolved: dict[str, dict[str, FlatSource]] = {}

    def resolve_one(src: InvokedOutput | GraphInputRef) -> FlatSource:
        if isinstance(src, GraphInputRef):
            return graph_inputs.get(src.input_name)
        return resolved[src.node_name][src.output_name]

    for invocation in graph_def.nodes.values():
        inputs: dict[str, FlatSource] = {}
        for input_name, src in invocation.inputs.items():
            if isinstance(src, list):
                parts = [resolve_one(s) for s in src]
                inputs[input_name] = [p for p in parts if isinstance(p, NodeOutput)]
            else:
                inputs[input_name] = resolve_one(src)
        handle = prefix + invocation.name
        definition = invocation.definition
        hooks = outer_hooks | invocation.hook_defs if invocation.hook_defs else outer_hooks
        if isinstance(definition, OpDefinition):
            for name in definition.input_names:
                inputs.setdefault(name, None)
            out.append(
                FlatNode(
                    handle,
                    definition,
                    inputs,
                    tags=invocation.tags,
                    retry_policy=invocation.retry_policy,
                    hook_defs=hooks,
                )
            )
            resolved[invocation.name] = {o: NodeOutput(handle, o) for o in definition.output_names}
        elif isinstance(definition, GraphDefinition):
            inner = _flatten(definition, handle + ".", inputs, out, hooks)
            resolved[invocation.name] = {
                name: inner[m.node_name][m.output_name]
                for name, m in definition.output_mappings.items()
            }
        else:  # pragma: no cover - guarded by record_invocation
            raise InvalidDefinitionError(f"Unknown node type in graph: {definition!r}")
    outputs: dict[str, dict[str, FlatSource]] = resolved
    return outputs
