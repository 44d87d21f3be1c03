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


class MappedFrom(NamedTuple):
    """An input that reads one item of a dynamic output: the node runs once per item."""

    handle: str
    output_name: str


class CollectedFrom(NamedTuple):
    """An input that reads every item of a dynamic output, or every result of a node
    mapped over one, as a list (``.collect()``)."""

    handle: str
    output_name: str


# None means "unconnected": filled from input_values, config or a default at plan time.
FlatSource = (
    NodeOutput | list[NodeOutput] | FromAsset | FromGraphInput | MappedFrom | CollectedFrom | None
)


class FlatNode:
    """One op of a job, at its dotted handle, with each input's source resolved.

    ``mapped_over`` lists the dynamic outputs the node runs once per item of (outermost
    first; empty for a node that runs once). ``asset_keys_by_output`` /
    ``asset_keys_by_input`` are the assets the node's own outputs make and its inputs read
    (None for a plain op; for an op inside a graph-backed asset, which has
    ``in_graph_asset`` set, its own share of the graph's; an output mapped to None is not
    produced in this run: a subset that does not need it)."""

    __slots__ = (
        "after",
        "asset_keys_by_input",
        "asset_keys_by_output",
        "assets_def",
        "checks_def",
        "handle",
        "hook_defs",
        "in_graph_asset",
        "inputs",
        "mapped_over",
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
        self.mapped_over: tuple[NodeOutput, ...] = ()
        self.in_graph_asset = False
        self.asset_keys_by_output: Mapping[str, AssetKey | None] | None = (
            assets_def.keys_by_output_name if assets_def is not None else None
        )
        self.asset_keys_by_input: Mapping[str, AssetKey] | None = (
            assets_def.keys_by_input_name if assets_def is not None else None
        )

    def __repr__(self) -> str:
        return f"<FlatNode {self.handle}>"


def flatten_graph(graph_def: GraphDefinition) -> list[FlatNode]:
    """Every op of ``graph_def`` (recursively) in a topological order."""
    return flatten_graph_with_dynamic(graph_def)[0]


def flatten_graph_with_dynamic(graph_def: GraphDefinition) -> tuple[list[FlatNode], bool]:
    """``flatten_graph``, and whether some op yields dynamic outputs (then every node knows
    the dynamic outputs it is mapped over)."""
    nodes: list[FlatNode] = []
    top_inputs: dict[str, FlatSource] = {n: FromGraphInput(n) for n in graph_def.input_names}
    by_handle: dict[str, FlatNode] = {}
    _flatten(graph_def, "", top_inputs, nodes, frozenset(), by_handle)
    dynamic = "" in by_handle  # _flatten marks a dynamic op under the empty handle
    if dynamic:
        del by_handle[""]
        from trellis.defs.dynamic_scope import assign_scopes

        assign_scopes(nodes)
    return nodes, dynamic


def flatten_into(
    graph_def: GraphDefinition,
    prefix: str,
    graph_inputs: Mapping[str, FlatSource],
    out: list[FlatNode],
    outer_hooks: frozenset[Any] = frozenset(),
) -> dict[str, dict[str, FlatSource]]:
    """Append the ops of ``graph_def`` to ``out`` at handles under ``prefix``, its inputs
    read from ``graph_inputs`` and ``outer_hooks`` run after each; return where each
    node's outputs are (by node name)."""
    return _flatten(graph_def, prefix, graph_inputs, out, outer_hooks, {})


def _flatten(
    graph_def: GraphDefinition,
    prefix: str,
    graph_inputs: Mapping[str, FlatSource],
    out: list[FlatNode],
    outer_hooks: frozenset[Any],
    by_handle: dict[str, FlatNode],
) -> dict[str, dict[str, FlatSource]]:
    from trellis.defs.graph import GraphDefinition
    from trellis.defs.op import OpDefinition

    resolved: dict[str, dict[str, FlatSource]] = {}

    def resolve_one(src: InvokedOutput | GraphInputRef) -> FlatSource:
        if isinstance(src, GraphInputRef):
            return graph_inputs.get(src.input_name)
        if src.flat_kind is None:  # a plain output (the common case)
            return resolved[src.node_name][src.output_name]
        flat = resolved[src.node_name][src.output_name]
        if not isinstance(flat, NodeOutput):
            return flat
        if src.flat_kind == "collected":
            return CollectedFrom(flat.handle, flat.output_name)
        if by_handle[flat.handle].op_def.is_dynamic_output(flat.output_name):
            return MappedFrom(flat.handle, flat.output_name)
        return flat  # an item of a graph output that is already mapped: read per item

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
            node = FlatNode(
                handle,
                definition,
                inputs,
                tags=invocation.tags,
                retry_policy=invocation.retry_policy,
                hook_defs=hooks,
            )
            out.append(node)
            by_handle[handle] = node
            if definition.has_dynamic_outputs:
                by_handle[""] = node  # tells flatten_graph_with_dynamic, at no cost per node
            resolved[invocation.name] = {o: NodeOutput(handle, o) for o in definition.output_names}
        elif isinstance(definition, GraphDefinition):
            inner = _flatten(definition, handle + ".", inputs, out, hooks, by_handle)
            resolved[invocation.name] = {
                name: inner[m.node_name][m.output_name]
                for name, m in definition.output_mappings.items()
            }
        else:  # pragma: no cover - guarded by record_invocation
            raise InvalidDefinitionError(f"Unknown node type in graph: {definition!r}")
    outputs: dict[str, dict[str, FlatSource]] = resolved
    return outputs
