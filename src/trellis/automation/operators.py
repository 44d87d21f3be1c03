"""The operators: ``&`` (AND), ``|`` (OR), ``~`` (NOT), ``since`` and ``newly_true``.

AND evaluates its operands in order, each over the partitions still true (so a cheap,
narrowing operand first saves the others work); OR evaluates each over all candidates;
NOT is the candidates minus its operand. ``since`` and ``newly_true`` evaluate their
operands over the whole asset, so that no change of state is missed while the parent
asks about fewer partitions, and keep state between evaluations.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Sequence
from typing import ClassVar

from trellis.automation.condition import AutomationCondition, BuiltinAutomationCondition
from trellis.automation.context import AutomationContext, AutomationResult, Timing
from trellis.automation.subset import AssetSubset
from trellis.core.errors import InvalidDefinitionError


def merge_timing(results: Iterable[AutomationResult], within: AssetSubset) -> Timing | None:
    """The operands' timing, joined and limited to ``within`` (None: none known)."""
    merged: Timing = {}
    for result in results:
        for ts, part in (result.timing or {}).items():
            part = part & within
            if part.is_empty:
                continue
            merged[ts] = merged[ts] | part if ts in merged else part
    return merged or None


@dataclasses.dataclass(frozen=True)
class AndAutomationCondition(BuiltinAutomationCondition):
    """True where every operand is true."""

    operands: tuple[AutomationCondition, ...] = ()

    @property
    def name(self) -> str:
        """``AND``."""
        return "AND"

    @property
    def description(self) -> str:
        """In words."""
        return "All of"

    @property
    def children(self) -> Sequence[AutomationCondition]:
        """The operands."""
        return self.operands

    def with_children(self, children: Sequence[AutomationCondition]) -> AndAutomationCondition:
        """A copy with other operands."""
        return dataclasses.replace(self, operands=tuple(children))

    def without(self, condition: AutomationCondition) -> AndAutomationCondition:
        """This AND without the operand ``condition`` (equal to one of the operands)."""
        if condition not in self.operands:
            names = ", ".join(o.get_label() or o.name for o in self.operands)
            raise InvalidDefinitionError(
                f"{(condition.get_label() or condition.name)!r} is not an operand of this "
                f"AND (its operands: {names})."
            )
        operands = tuple(o for o in self.operands if o != condition)
        if len(operands) < 2:
            raise InvalidDefinitionError("An AND needs at least two operands.")
        return AndAutomationCondition(operands=operands)

    def evaluate(self, context: AutomationContext) -> AutomationResult:
        """Operands in order, each over what is still true."""
        true_subset = context.candidate_subset
        results = []
        for i, child in enumerate(self.operands):
            result = context.for_child_condition(child, i, true_subset).evaluate()
            results.append(result)
            true_subset = true_subset & result.true_subset
        timing = merge_timing(results, true_subset)
        return AutomationResult(context, true_subset, child_results=results, timing=timing)


@dataclasses.dataclass(frozen=True)
class OrAutomationCondition(BuiltinAutomationCondition):
    """True where any operand is true."""

    operands: tuple[AutomationCondition, ...] = ()

    @property
    def name(self) -> str:
        """``OR``."""
        return "OR"

    @property
    def description(self) -> str:
        """In words."""
        return "Any of"

    @property
    def children(self) -> Sequence[AutomationCondition]:
        """The operands."""
        return self.operands

    def with_children(self, children: Sequence[AutomationCondition]) -> OrAutomationCondition:
        """A copy with other operands."""
        return dataclasses.replace(self, operands=tuple(children))

    def evaluate(self, context: AutomationContext) -> AutomationResult:
        """Every operand over the candidates; their union."""
        true_subset = context.get_empty_subset()
        results = []
        for i, child in enumerate(self.operands):
            result = context.for_child_condition(child, i, context.candidate_subset).evaluate()
            results.append(result)
            true_subset = true_subset | result.true_subset
        timing = merge_timing(results, true_subset)
        return AutomationResult(context, true_subset, child_results=results, timing=timing)


@dataclasses.dataclass(frozen=True)
class NotAutomationCondition(BuiltinAutomationCondition):
    """True where the operand is not."""

    operand: AutomationCondition | None = None

    @property
    def name(self) -> str:
        """``NOT``."""
        return "NOT"

    @property
    def description(self) -> str:
        """In words."""
        return "Not"

    @property
    def children(self) -> Sequence[AutomationCondition]:
        """The operand."""
        return (self.operand,) if self.operand is not None else ()

    def with_children(self, children: Sequence[AutomationCondition]) -> NotAutomationCondition:
        """A copy with another operand."""
        return dataclasses.replace(self, operand=children[0])

    def evaluate(self, context: AutomationContext) -> AutomationResult:
        """The candidates where the operand is false."""
        assert self.operand is not None
        result = context.for_child_condition(self.operand, 0, context.candidate_subset).evaluate()
        true_subset = context.candidate_subset - result.true_subset
        return AutomationResult(context, true_subset, child_results=[result])


@dataclasses.dataclass(frozen=True)
class SinceCondition(BuiltinAutomationCondition):
    """True for a partition from when ``trigger_condition`` is true for it until
    ``reset_condition`` is.

    When both become true for a partition in one evaluation, the reset wins, unless both
    know when they happened (``newly_updated``, ``newly_requested``, ``cron_tick_passed``
    and what is built from them with AND and OR) and the trigger's happened later."""

    trigger_condition: AutomationCondition | None = None
    reset_condition: AutomationCondition | None = None

    stable_state: ClassVar[bool] = True
    keeps_true_subset: ClassVar[bool] = True

    @property
    def name(self) -> str:
        """``SINCE``."""
        return "SINCE"

    @property
    def description(self) -> str:
        """In words."""
        return "Trigger true since the last reset"

    @property
    def children(self) -> Sequence[AutomationCondition]:
        """The trigger, then the reset."""
        found = (self.trigger_condition, self.reset_condition)
        return tuple(c for c in found if c is not None)

    def with_children(self, children: Sequence[AutomationCondition]) -> SinceCondition:
        """A copy with another trigger and reset."""
        return dataclasses.replace(self, trigger_condition=children[0], reset_condition=children[1])

    def evaluate(self, context: AutomationContext) -> AutomationResult:
        """The previous true subset, plus where the trigger fired, minus where the reset
        fired (the trigger wins back where it fired after the reset)."""
        assert self.trigger_condition is not None and self.reset_condition is not None
        everything = context.get_full_subset()
        trigger = context.for_child_condition(self.trigger_condition, 0, everything).evaluate()
        reset = context.for_child_condition(self.reset_condition, 1, everything).evaluate()
        true_subset = context.previous_true_subset or context.get_empty_subset()
        true_subset = (true_subset | trigger.true_subset) - reset.true_subset
        both = trigger.true_subset & reset.true_subset
        if not both.is_empty and trigger.timing and reset.timing:
            true_subset = true_subset | (_later(trigger.timing, reset.timing, both))
        return AutomationResult(
            context, true_subset, child_results=[trigger, reset], timing=trigger.timing
        )


def _later(trigger: Timing, reset: Timing, within: AssetSubset) -> AssetSubset:
    """The partitions of ``within`` where the trigger happened after every reset."""
    found = within - within
    for ts, part in trigger.items():
        for reset_ts, reset_part in reset.items():
            if reset_ts >= ts:
                part = part - reset_part
        found = found | (part & within)
    return found


@dataclasses.dataclass(frozen=True)
class NewlyTrueCondition(BuiltinAutomationCondition):
    """True for a partition on the evaluation where the operand became true for it."""

    operand: AutomationCondition | None = None

    stable_state: ClassVar[bool] = True

    @property
    def name(self) -> str:
        """``NEWLY_TRUE``."""
        return "NEWLY_TRUE"

    @property
    def description(self) -> str:
        """In words."""
        return "Became true this evaluation"

    @property
    def children(self) -> Sequence[AutomationCondition]:
        """The operand."""
        return (self.operand,) if self.operand is not None else ()

    def with_children(self, children: Sequence[AutomationCondition]) -> NewlyTrueCondition:
        """A copy with another operand."""
        return dataclasses.replace(self, operand=children[0])

    def evaluate(self, context: AutomationContext) -> AutomationResult:
        """The candidates where the operand is true now and was not on the previous
        evaluation (whose operand subset is this node's cursor)."""
        assert self.operand is not None
        view = context.asset_graph_view
        child = context.for_child_condition(self.operand, 0, context.get_full_subset()).evaluate()
        previous = context.cursor
        before = view.decode(context.key, previous) if previous is not None else None
        newly = child.true_subset - (before or context.get_empty_subset())
        return AutomationResult(
            context,
            context.candidate_subset & newly,
            child_results=[child],
            cursor=view.encode(child.true_subset),
        )
