"""Graph composition: recording which node feeds which while a ``@graph`` body runs.

Inside a graph body, calling an op or graph does not run it: it records a
``NodeInvocation`` and returns ``InvokedOutput`` handles that later calls take as inputs.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from trellis.core.errors import InvalidDefinitionError
from trellis.defs.hook import coerce_hooks

if TYPE_CHECKING:
    from trellis.defs.node import NodeDefinition


class InvokedOutput:
    """One output of a node invoked in a graph body: what a downstream call receives.

    Subclasses in ``trellis.defs.dynamic`` mark the dynamic cases: a dynamic output (to
    ``.map()`` or ``.collect()``), one item of it inside ``.map()``, a mapped result, a
    collected list."""

    __slots__ = ("node_name", "output_name")

    # A dynamic output itself: passing it to a node without .map()/.collect() is an error.
    unmapped_dynamic = False
    # How the flattened graph reads it: None (the output), "mapped" (one item of a dynamic
    # output), "collected" (every mapped item, as a list).
    flat_kind: str | None = None
    # Whether a graph output made of it is dynamic (a dynamic output or a mapped result).
    yields_dynamic = False

    def __init__(self, node_name: str, output_name: str) -> None:
        self.node_name = node_name
        self.output_name = output_name

    def __repr__(self) -> str:
        return f"InvokedOutput({self.node_name}.{self.output_name})"


class GraphInputRef:
    """A graph's own input, as seen inside its body."""

    __slots__ = ("graph_name", "input_name")

    def __init__(self, graph_name: str, input_name: str) -> None:
        self.graph_name = graph_name
        self.input_name = input_name

    def __repr__(self) -> str:
        return f"GraphInputRef({self.graph_name}.{self.input_name})"


# What an input of a node in a graph can be wired to.
InputSource = InvokedOutput | GraphInputRef | list[InvokedOutput | GraphInputRef]


class NodeInvocation:
    """A node of a graph: a definition under a unique name, with its inputs wired."""

    __slots__ = ("definition", "hook_defs", "inputs", "name", "retry_policy", "tags")

    def __init__(
        self,
        name: str,
        definition: NodeDefinition,
        inputs: dict[str, InputSource],
        tags: Mapping[str, str] | None = None,
        retry_policy: Any = None,
        hook_defs: frozenset[Any] = frozenset(),
    ) -> None:
        self.name = name
        self.definition = definition
        self.inputs = inputs
        self.tags = dict(tags or {})
        self.retry_policy = retry_policy
        self.hook_defs = hook_defs  # hooks of this use of the node (and, for a graph, its ops)


class MultipleOutputs(tuple[InvokedOutput, ...]):
    """The outputs of a multi-output node: iterate in order, or read by output name."""

    _names: tuple[str, ...]

    def __new__(cls, names: Sequence[str], outputs: Sequence[InvokedOutput]) -> MultipleOutputs:
        obj = super().__new__(cls, outputs)
        obj._names = tuple(names)
        return obj

    def __getattr__(self, name: str) -> InvokedOutput:
        try:
            return self[self._names.index(name)]
        except ValueError:
            raise AttributeError(f"No output named {name!r}; outputs: {self._names}") from None


class CompositionState:
    """The nodes recorded so far while one graph body runs."""

    def __init__(self, graph_name: str) -> None:
        self.graph_name = graph_name
        self.nodes: dict[str, NodeInvocation] = {}
        self._uses: dict[str, int] = {}

    def unique_name(self, name: str, aliased: bool) -> str:
        """The definition's name, suffixed ``_2``, ``_3``... when it is used again."""
        if aliased:
            if name in self.nodes:
                raise InvalidDefinitionError(
                    f"Graph '{self.graph_name}' uses the node name '{name}' twice."
                )
            return name
        count = self._uses.get(name, 0) + 1
        self._uses[name] = count
        candidate = name if count == 1 else f"{name}_{count}"
        while candidate in self.nodes:
            count += 1
            self._uses[name] = count
            candidate = f"{name}_{count}"
        return candidate


_STACK: list[CompositionState] = []


def current_composition() -> CompositionState | None:
    """The graph body being recorded, if any."""
    return _STACK[-1] if _STACK else None


def push_composition(state: CompositionState) -> None:
    """Start recording a graph body."""
    _STACK.append(state)


def pop_composition() -> CompositionState:
    """Stop recording a graph body."""
    return _STACK.pop()


def _unmapped_dynamic_error(value: InvokedOutput, where: str) -> InvalidDefinitionError:
    return InvalidDefinitionError(
        f"{where} received the dynamic output '{value.output_name}' of node "
        f"'{value.node_name}' directly; a dynamic output must be unpacked with .map(fn) "
        "(run fn once per item) or .collect() (a list of every item)."
    )


def _check_source(value: Any, where: str) -> InputSource:
    if isinstance(value, (InvokedOutput, GraphInputRef)):
        if isinstance(value, InvokedOutput) and value.unmapped_dynamic:
            raise _unmapped_dynamic_error(value, where)
        return value
    if isinstance(value, MultipleOutputs):  # a tuple too: check before fan-in lists
        raise InvalidDefinitionError(
            f"{where} received all outputs of a multi-output node; pass one of them by name "
            f"({', '.join(value._names)})."
        )
    if (
        isinstance(value, (list, tuple))
        and value
        and all(isinstance(v, (InvokedOutput, GraphInputRef)) for v in value)
    ):
        for item in value:
            if isinstance(item, InvokedOutput) and (item.unmapped_dynamic or item.flat_kind):
                raise InvalidDefinitionError(
                    f"{where} received a list holding a dynamic output, a mapped item or a "
                    "collected list; pass it to an op of its own (fan-in lists take plain "
                    "outputs)."
                )
        return list(value)
    raise InvalidDefinitionError(
        f"{where} received {value!r}: inside a graph body, inputs must be outputs of other "
        "nodes or the graph's own inputs (pass constants through config instead)."
    )


def record_invocation(
    definition: NodeDefinition,
    args: tuple[Any, ...],
    kwargs: dict[str, Any],
    *,
    alias: str | None = None,
    tags: Mapping[str, str] | None = None,
    retry_policy: Any = None,
    hook_defs: frozenset[Any] = frozenset(),
) -> InvokedOutput | MultipleOutputs | None:
    """Record a call of ``definition`` in the current graph body and return its outputs."""
    state = current_composition()
    assert state is not None
    name = state.unique_name(alias or definition.name, aliased=alias is not None)
    input_names = definition.input_names
    where = f"Node '{name}' in graph '{state.graph_name}'"
    if len(args) > len(input_names):
        raise InvalidDefinitionError(
            f"{where} was called with {len(args)} positional inputs but '{definition.name}' "
            f"has {len(input_names)}: {list(input_names)}."
        )
    inputs: dict[str, InputSource] = {}
    for input_name, value in zip(input_names, args, strict=False):
        inputs[input_name] = _check_source(value, f"{where}, input '{input_name}'")
    for input_name, value in kwargs.items():
        if input_name not in input_names:
            raise InvalidDefinitionError(
                f"{where} has no input named '{input_name}'; its inputs are {list(input_names)}."
            )
        if input_name in inputs:
            raise InvalidDefinitionError(f"{where} got input '{input_name}' twice.")
        inputs[input_name] = _check_source(value, f"{where}, input '{input_name}'")
    state.nodes[name] = NodeInvocation(name, definition, inputs, tags, retry_policy, hook_defs)
    output_names = definition.output_names
    if not output_names:
        return None
    outputs = [_invoked(definition, name, o) for o in output_names]
    if len(output_names) == 1:
        return outputs[0]
    return MultipleOutputs(output_names, outputs)


def _invoked(definition: NodeDefinition, node_name: str, output_name: str) -> InvokedOutput:
    """The handle of one output of an invoked node (a dynamic one can ``.map``)."""
    if definition.is_dynamic_output(output_name):
        from trellis.defs.dynamic import DynamicInvokedOutput  # only jobs with dynamic outputs

        return DynamicInvokedOutput(node_name, output_name)
    return InvokedOutput(node_name, output_name)


class PendingInvocation:
    """``my_op.alias("x")`` / ``.tag({...})`` / ``.with_hooks({...})``: a definition waiting
    to be called in a graph."""

    def __init__(
        self,
        definition: NodeDefinition,
        alias: str | None = None,
        tags: Mapping[str, str] | None = None,
        retry_policy: Any = None,
        hook_defs: frozenset[Any] = frozenset(),
    ) -> None:
        self.definition = definition
        self.given_alias = alias
        self.tags = dict(tags or {})
        self.retry_policy = retry_policy
        self.hook_defs = hook_defs

    @property
    def name(self) -> str:
        """The name this use of the node gets: its alias, else the definition's name."""
        return self.given_alias or self.definition.name

    def alias(self, name: str) -> PendingInvocation:
        """Use the node under another name."""
        return PendingInvocation(
            self.definition, name, self.tags, self.retry_policy, self.hook_defs
        )

    def tag(self, tags: Mapping[str, str]) -> PendingInvocation:
        """Add tags to this use of the node."""
        return PendingInvocation(
            self.definition,
            self.given_alias,
            {**self.tags, **tags},
            self.retry_policy,
            self.hook_defs,
        )

    def with_retry_policy(self, retry_policy: Any) -> PendingInvocation:
        """Give this use of the node its own retry policy."""
        return PendingInvocation(
            self.definition, self.given_alias, self.tags, retry_policy, self.hook_defs
        )

    def with_hooks(self, hook_defs: Any) -> PendingInvocation:
        """Attach hooks to this use of the node (every op inside, for a graph)."""
        added = coerce_hooks(hook_defs, f"'{self.name}'.with_hooks")
        return PendingInvocation(
            self.definition, self.given_alias, self.tags, self.retry_policy, self.hook_defs | added
        )

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        if current_composition() is None:
            raise InvalidDefinitionError(
                f"'{self.definition.name}' with an alias, tags or hooks can only be called "
                "inside a @graph or @job body."
            )
        return record_invocation(
            self.definition,
            args,
            kwargs,
            alias=self.given_alias,
            tags=self.tags,
            retry_policy=self.retry_policy,
            hook_defs=self.hook_defs,
        )
