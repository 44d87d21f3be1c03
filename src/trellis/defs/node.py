"""``NodeDefinition``: what ops and graphs share (a name, named inputs and outputs)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from trellis.defs.composition import PendingInvocation


class NodeDefinition:
    """Base of ``OpDefinition`` and ``GraphDefinition``: a named node with inputs and
    outputs that can be used inside a graph."""

    name: str
    description: str | None
    tags: dict[str, str]

    @property
    def input_names(self) -> tuple[str, ...]:
        """The names of the inputs, in declaration order."""
        raise NotImplementedError

    @property
    def output_names(self) -> tuple[str, ...]:
        """The names of the outputs, in declaration order."""
        raise NotImplementedError

    def is_dynamic_output(self, output_name: str) -> bool:
        """Whether output ``output_name`` is dynamic (a ``DynamicOut``, or a graph output
        that is one, or that is mapped over one)."""
        return False

    def alias(self, name: str) -> PendingInvocation:
        """Use this node under another name inside a graph body."""
        return PendingInvocation(self, alias=name)

    def tag(self, tags: Mapping[str, str]) -> PendingInvocation:
        """Use this node with extra tags inside a graph body."""
        return PendingInvocation(self, tags=tags)

    def with_retry_policy(self, retry_policy: Any) -> PendingInvocation:
        """Use this node with its own retry policy inside a graph body."""
        return PendingInvocation(self, retry_policy=retry_policy)

    def with_hooks(self, hook_defs: Any) -> PendingInvocation:
        """Use this node with hooks attached inside a graph body:
        ``my_op.with_hooks({notify})()`` (for a graph, on every op inside it)."""
        return PendingInvocation(self).with_hooks(hook_defs)
