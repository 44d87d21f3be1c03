"""Dynamic outputs in definitions: ``DynamicOut``, and what a graph body does with one.

An op declares ``out=DynamicOut()`` and yields ``DynamicOutput(value, mapping_key=...)``
any number of times. In a graph body its output is a ``DynamicInvokedOutput``:

- ``.map(fn)`` calls ``fn`` (an op, a graph, or a function that calls ops) with one item
  of the output; every node ``fn`` wires to that item runs once per item, as the step
  ``node[mapping_key]``. Its result can be mapped again (``.map(a).map(b)``) or gathered.
- ``.collect()`` gathers every item (or every mapped result) into one list input.

Only the wiring is recorded here; the flattened graph (``flat_graph.py``) reads the refs'
``flat_kind`` and ``dynamic_scope.py`` works out which nodes run per item.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from trellis.core.errors import InvalidDefinitionError
from trellis.defs.composition import InvokedOutput, MultipleOutputs, current_composition
from trellis.defs.ins_outs import Out


class DynamicOut(Out):
    """Declares an output that yields any number of ``DynamicOutput``s, each under its own
    mapping key: ``@op(out=DynamicOut())`` or ``out={"items": DynamicOut(), ...}``."""

    __slots__ = ()

    is_dynamic = True


class DynamicInvokedOutput(InvokedOutput):
    """A node's dynamic output inside a graph body: ``.map(fn)`` or ``.collect()`` it."""

    __slots__ = ()

    unmapped_dynamic = True
    yields_dynamic = True

    def map(self, fn: Callable[..., Any]) -> Any:
        """Run ``fn`` once per item of this output; returns what ``fn`` returns, mapped
        (chain ``.map`` or ``.collect()`` on it)."""
        return _map_over(MappedItem(self.node_name, self.output_name), fn, self)

    def collect(self) -> CollectedOutput:
        """Every item of this output, as one list input (in the order they were yielded)."""
        return CollectedOutput(self.node_name, self.output_name)

    def __repr__(self) -> str:
        return f"DynamicInvokedOutput({self.node_name}.{self.output_name})"


class MappedItem(InvokedOutput):
    """One item of a dynamic output, as the function passed to ``.map()`` receives it."""

    __slots__ = ()

    flat_kind = "mapped"

    def __repr__(self) -> str:
        return f"MappedItem({self.node_name}.{self.output_name})"


class MappedResult(InvokedOutput):
    """An output of a node that runs once per item (the result of ``.map(fn)``)."""

    __slots__ = ()

    yields_dynamic = True

    def map(self, fn: Callable[..., Any]) -> Any:
        """Run ``fn`` on each mapped result (the chained ``.map(a).map(b)``)."""
        return _map_over(InvokedOutput(self.node_name, self.output_name), fn, self)

    def collect(self) -> CollectedOutput:
        """Every mapped result, as one list input, in the order of the mapping keys."""
        return CollectedOutput(self.node_name, self.output_name)

    def __repr__(self) -> str:
        return f"MappedResult({self.node_name}.{self.output_name})"


class CollectedOutput(InvokedOutput):
    """A dynamic output or mapped result gathered into one list (``.collect()``)."""

    __slots__ = ()

    flat_kind = "collected"

    def __repr__(self) -> str:
        return f"CollectedOutput({self.node_name}.{self.output_name})"


def _map_over(item: InvokedOutput, fn: Callable[..., Any], source: InvokedOutput) -> Any:
    if current_composition() is None:
        raise InvalidDefinitionError(
            f"map() of output '{source.output_name}' of node '{source.node_name}' can only "
            "be called inside a @graph or @job body."
        )
    if not callable(fn):
        raise InvalidDefinitionError(
            f".map() takes an op, a graph or a function of one argument, got {fn!r}."
        )
    return _as_mapped(fn(item), fn)


def _node_output(value: Any) -> bool:
    """Whether ``value`` is an output of a node (not an item or a collected list)."""
    return isinstance(value, InvokedOutput) and value.flat_kind is None


def _as_mapped(result: Any, fn: Any) -> Any:
    """What ``fn`` returned, with each node output marked as mapped."""
    if result is None:
        return None
    if isinstance(result, MultipleOutputs):
        names = result._names
        return MultipleOutputs(names, [MappedResult(o.node_name, o.output_name) for o in result])
    if _node_output(result):
        return MappedResult(result.node_name, result.output_name)
    if isinstance(result, tuple) and all(_node_output(r) for r in result):
        return tuple(MappedResult(r.node_name, r.output_name) for r in result)
    if isinstance(result, Mapping) and all(_node_output(r) for r in result.values()):
        return {k: MappedResult(r.node_name, r.output_name) for k, r in result.items()}
    name = getattr(fn, "name", None) or getattr(fn, "__name__", repr(fn))
    raise InvalidDefinitionError(
        f"The function passed to .map() ({name}) returned {result!r}; it must return the "
        "output(s) of the nodes it calls, or nothing."
    )
