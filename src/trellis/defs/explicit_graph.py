"""Graphs built from explicit dependencies, Dagster's older form, for code that builds
graphs programmatically:

    GraphDefinition(
        name="calc",
        node_defs=[return_one, add],
        dependencies={
            "add": {"a": DependencyDefinition("return_one")},
            NodeInvocation("add", alias="add_again"): {"a": DependencyDefinition("add")},
        },
        input_mappings=[InputMapping("x", "add", "b")],   # the graph's input x: add.b
        output_mappings=[OutputMapping("result", "add_again", "result")],
    )

A node is a definition of ``node_defs`` under its name, or under the ``alias`` of a
``NodeInvocation`` key (with its tags, hooks and retry policy); definitions no key names
are nodes under their own names. ``MultiDependencyDefinition([...])`` fans several outputs
into one list input. The result is the same ``GraphDefinition`` a ``@graph`` body
records, so everything downstream (jobs, nesting, graph-backed assets) treats both alike.
Dependencies that name unknown nodes, inputs or outputs, or that form a cycle, are
refused naming them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, NamedTuple

from trellis.core.errors import InvalidDefinitionError
from trellis.core.topological import topological_order
from trellis.defs.composition import (
    GraphInputRef,
    InputSource,
    InvokedOutput,
    NodeInvocation,
    _invoked,
)
from trellis.defs.hook import coerce_hooks


class DependencyDefinition(NamedTuple):
    """An input fed by output ``output`` of node ``node``."""

    node: str
    output: str = "result"
    description: str | None = None


class MultiDependencyDefinition(NamedTuple):
    """An input fed by several outputs, as a list (fan-in), in order."""

    dependencies: Sequence[DependencyDefinition]


class NodeUse:
    """A key of ``dependencies`` (Dagster's ``NodeInvocation``): definition ``name`` used
    under ``alias`` (default: ``name``), with its tags, hooks and retry policy. Keys are
    equal when their name and alias are."""

    __slots__ = ("alias", "hook_defs", "name", "retry_policy", "tags")

    def __init__(
        self,
        name: str,
        alias: str | None = None,
        tags: Mapping[str, str] | None = None,
        hook_defs: Any = None,
        retry_policy: Any = None,
    ) -> None:
        self.name = name
        self.alias = alias
        self.tags = dict(tags or {})
        self.hook_defs = hook_defs
        self.retry_policy = retry_policy

    def __eq__(self, other: object) -> bool:
        return isinstance(other, NodeUse) and (self.name, self.alias) == (other.name, other.alias)

    def __hash__(self) -> int:
        return hash((self.name, self.alias))

    def __repr__(self) -> str:
        return f"NodeInvocation(name={self.name!r}, alias={self.alias!r})"


class InputMapping(NamedTuple):
    """The graph's input ``graph_input_name`` feeds input ``mapped_node_input_name`` of
    node ``mapped_node_name``."""

    graph_input_name: str
    mapped_node_name: str
    mapped_node_input_name: str
    fan_in_index: int | None = None
    graph_input_description: str | None = None
    dagster_type: Any = None


class OutputMapping(NamedTuple):
    """The graph's output ``graph_output_name`` is output ``mapped_node_output_name`` of
    node ``mapped_node_name``."""

    graph_output_name: str
    mapped_node_name: str
    mapped_node_output_name: str = "result"
    graph_output_description: str | None = None
    dagster_type: Any = None
    from_dynamic_mapping: bool = False


class GraphIn(NamedTuple):
    """Declares a graph input in ``@graph(ins={...})`` (its description)."""

    description: str | None = None


def _source(owner: str, node_defs: Mapping[str, Any], dependency: Any, where: str) -> InvokedOutput:
    if not isinstance(dependency, DependencyDefinition):
        raise InvalidDefinitionError(
            f"{owner}: {where} takes a DependencyDefinition or MultiDependencyDefinition, "
            f"got {dependency!r}."
        )
    upstream = node_defs.get(dependency.node)
    if upstream is None:
        raise InvalidDefinitionError(
            f"{owner}: {where} depends on node '{dependency.node}', which is not in the graph "
            f"(nodes: {sorted(node_defs)})."
        )
    if dependency.output not in upstream.output_names:
        raise InvalidDefinitionError(
            f"{owner}: {where} depends on output '{dependency.output}' of node "
            f"'{dependency.node}', which has outputs {list(upstream.output_names)}."
        )
    return _invoked(upstream, dependency.node, dependency.output)


def build_explicit_graph(
    name: str,
    node_defs: Sequence[Any],
    dependencies: Mapping[Any, Mapping[str, Any]] | None,
    input_mappings: Sequence[InputMapping] | None,
    output_mappings: Sequence[OutputMapping] | None,
) -> tuple[dict[str, NodeInvocation], tuple[str, ...], dict[str, InvokedOutput]]:
    """``(nodes in topological order, input names, output mappings)`` for a graph given
    by explicit dependencies (see the module docstring)."""
    owner = f"Graph '{name}'"
    by_def_name: dict[str, Any] = {}
    for definition in node_defs:
        def_name = getattr(definition, "name", None)
        if not isinstance(def_name, str) or not hasattr(definition, "input_names"):
            raise InvalidDefinitionError(
                f"{owner}: node_defs holds {definition!r}, not an op or graph."
            )
        if def_name in by_def_name and by_def_name[def_name] is not definition:
            raise InvalidDefinitionError(f"{owner}: two node definitions are named '{def_name}'.")
        by_def_name[def_name] = definition
    uses: dict[str, tuple[Any, NodeUse]] = {}  # node name -> (definition, use)
    wiring: dict[str, Mapping[str, Any]] = {}
    for key, inputs in (dependencies or {}).items():
        use = NodeUse(key) if isinstance(key, str) else key
        if not isinstance(use, NodeUse):
            raise InvalidDefinitionError(
                f"{owner}: dependencies keys are node names or NodeInvocation, got {key!r}."
            )
        definition = by_def_name.get(use.name)
        if definition is None:
            raise InvalidDefinitionError(
                f"{owner}: dependencies name '{use.name}', which is not in node_defs "
                f"({sorted(by_def_name)})."
            )
        node_name = use.alias or use.name
        if node_name in uses:
            raise InvalidDefinitionError(f"{owner}: node '{node_name}' is declared twice.")
        uses[node_name] = (definition, use)
        wiring[node_name] = inputs
    used_defs = {use.name for _, use in uses.values()}
    for def_name, definition in by_def_name.items():
        if def_name not in used_defs and def_name not in uses:
            uses[def_name] = (definition, NodeUse(def_name))
            wiring[def_name] = {}
    node_defs_by_node = {node: definition for node, (definition, _) in uses.items()}

    sources: dict[str, dict[str, InputSource]] = {node: {} for node in uses}
    for node, inputs in wiring.items():
        definition = node_defs_by_node[node]
        for input_name, dependency in inputs.items():
            where = f"input '{input_name}' of node '{node}'"
            if input_name not in definition.input_names:
                raise InvalidDefinitionError(
                    f"{owner}: node '{node}' has no input '{input_name}'; its inputs are "
                    f"{list(definition.input_names)}."
                )
            if isinstance(dependency, MultiDependencyDefinition):
                sources[node][input_name] = [
                    _source(owner, node_defs_by_node, d, where) for d in dependency.dependencies
                ]
            else:
                sources[node][input_name] = _source(owner, node_defs_by_node, dependency, where)

    input_names: list[str] = []
    for mapping in input_mappings or ():
        target = node_defs_by_node.get(mapping.mapped_node_name)
        if target is None or mapping.mapped_node_input_name not in target.input_names:
            raise InvalidDefinitionError(
                f"{owner}: input mapping '{mapping.graph_input_name}' names input "
                f"'{mapping.mapped_node_input_name}' of node '{mapping.mapped_node_name}', which "
                "does not exist."
            )
        ref = GraphInputRef(name, mapping.graph_input_name)
        sources[mapping.mapped_node_name][mapping.mapped_node_input_name] = ref
        if mapping.graph_input_name not in input_names:
            input_names.append(mapping.graph_input_name)

    outputs: dict[str, InvokedOutput] = {}
    for out_mapping in output_mappings or ():
        where = f"output mapping '{out_mapping.graph_output_name}'"
        dependency = DependencyDefinition(
            out_mapping.mapped_node_name, out_mapping.mapped_node_output_name
        )
        outputs[out_mapping.graph_output_name] = _source(
            owner, node_defs_by_node, dependency, where
        )

    ordered = _topological(owner, sources)
    nodes: dict[str, NodeInvocation] = {}
    for node in ordered:
        definition, use = uses[node]
        hooks = coerce_hooks(use.hook_defs, f"Node '{node}'") if use.hook_defs else frozenset()
        nodes[node] = NodeInvocation(
            node, definition, sources[node], use.tags, use.retry_policy, hooks
        )
    return nodes, tuple(input_names), outputs


def _upstream_nodes(source: InputSource) -> list[str]:
    items = source if isinstance(source, list) else [source]
    return [s.node_name for s in items if isinstance(s, InvokedOutput)]


def _topological(owner: str, sources: Mapping[str, Mapping[str, InputSource]]) -> list[str]:
    """The nodes, each after the nodes it reads (declaration order otherwise)."""
    return topological_order(
        list(sources),
        lambda node, _path: [u for s in sources[node].values() for u in _upstream_nodes(s)],
        lambda cycle: InvalidDefinitionError(f"{owner}: dependencies form a cycle: {cycle}."),
    )
