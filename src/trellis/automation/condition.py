"""``AutomationCondition``: a tree of conditions, evaluated per asset partition, that says
when an asset should be requested; the operators (``&``, ``|``, ``~``, ``since``,
``newly_true``) and Dagster's constructors of operands and composites.

Built-in conditions are frozen dataclasses (``BuiltinAutomationCondition``): equal when
built alike, hashable, labelled with ``with_label``. A custom condition subclasses
``AutomationCondition`` and implements ``evaluate(context) -> AutomationResult``. The
operands live in ``operands.py``, the operators in ``operators.py`` and ``deps.py``, the
composites (``eager``, ``on_cron``, ``on_missing``, ...) in ``composites.py``.
"""

from __future__ import annotations

import dataclasses
from abc import ABC, abstractmethod
from collections.abc import Sequence
from datetime import timedelta
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar

from trellis.core.asset_key import AssetKey, CoercibleToAssetKey

if TYPE_CHECKING:
    from trellis.automation.context import AutomationContext, AutomationResult
    from trellis.automation.deps import DepsAutomationCondition
    from trellis.automation.operators import AndAutomationCondition, SinceCondition

T = TypeVar("T", bound="AutomationCondition")


class AutomationCondition(ABC):
    """A condition on an asset (on each partition of a partitioned asset) that, when
    true, requests it: ``@asset(automation_condition=AutomationCondition.eager())``.

    Combine conditions with ``&``, ``|`` and ``~``, ``a.since(b)``, ``a.newly_true()``
    and ``AutomationCondition.any_deps_match(...)``; label a part with ``with_label``.
    Subclass it and implement ``evaluate`` for a condition of your own.
    """

    # Whether the node's state is kept under an id that does not depend on its position.
    stable_state: ClassVar[bool] = False
    # Whether the node's true subset is kept for the next evaluation
    # (``context.previous_true_subset``): custom conditions get it.
    keeps_true_subset: ClassVar[bool] = True

    @abstractmethod
    def evaluate(self, context: AutomationContext) -> AutomationResult:
        """The partitions of ``context.candidate_subset`` the condition is true for."""

    # -- description ----------------------------------------------------------------------
    @property
    def name(self) -> str:
        """The formal name of the condition (its constructor's, for built-ins)."""
        return type(self).__name__

    @property
    def description(self) -> str:
        """When the condition is true, in words."""
        return ""

    @property
    def children(self) -> Sequence[AutomationCondition]:
        """The operands of an operator (none for an operand)."""
        return ()

    def get_label(self) -> str | None:
        """The label given with ``with_label`` (None: none)."""
        return None

    def fingerprint(self) -> str:
        """The condition's structure as text: equal for conditions built alike, stable
        across processes (it names node state in cursors). Computed once per condition."""
        cached = getattr(self, "_fingerprint", None)
        if cached is not None:
            return str(cached)
        label = self.get_label()
        inner = ",".join(child.fingerprint() for child in self.children)
        found = f"{self.name}{f'[{label}]' if label else ''}({inner})"
        try:
            object.__setattr__(self, "_fingerprint", found)  # built-ins are frozen
        except AttributeError:  # a custom condition with __slots__: not kept
            pass
        return found

    def node_facts(self) -> tuple[str, str | None, str]:
        """The name, label and description evaluation trees show (computed once)."""
        cached = getattr(self, "_node_facts", None)
        if cached is not None:
            return cached  # type: ignore[no-any-return]
        found = (self.name, self.get_label(), self.description)
        try:
            object.__setattr__(self, "_node_facts", found)
        except AttributeError:
            pass
        return found

    # -- operators ------------------------------------------------------------------------
    def __and__(self, other: AutomationCondition) -> AndAutomationCondition:
        from trellis.automation.operators import AndAutomationCondition

        return AndAutomationCondition(
            operands=(
                *_flattened(self, AndAutomationCondition),
                *_flattened(other, AndAutomationCondition),
            )
        )

    def __or__(self, other: AutomationCondition) -> BuiltinAutomationCondition:
        from trellis.automation.operators import OrAutomationCondition

        return OrAutomationCondition(
            operands=(
                *_flattened(self, OrAutomationCondition),
                *_flattened(other, OrAutomationCondition),
            )
        )

    def __invert__(self) -> BuiltinAutomationCondition:
        from trellis.automation.operators import NotAutomationCondition

        return NotAutomationCondition(operand=self)

    def since(self, reset_condition: AutomationCondition) -> SinceCondition:
        """True for a partition once this condition has been true for it, until
        ``reset_condition`` becomes true for it (when both become true in one evaluation,
        the later event wins where both say when; otherwise the reset)."""
        from trellis.automation.operators import SinceCondition

        return SinceCondition(trigger_condition=self, reset_condition=reset_condition)

    def newly_true(self) -> BuiltinAutomationCondition:
        """True for a partition on the evaluation where this condition went from false
        to true for it."""
        from trellis.automation.operators import NewlyTrueCondition

        return NewlyTrueCondition(operand=self)

    def since_last_handled(self) -> SinceCondition:
        """True once this condition has become true since the asset partition was last
        requested or updated (or since the condition was first evaluated)."""
        handled = (
            AutomationCondition.newly_requested()
            | AutomationCondition.newly_updated()
            | AutomationCondition.initial_evaluation()
        ).with_label("handled")
        return self.since(handled)

    # -- rewriting ------------------------------------------------------------------------
    def with_children(self: T, children: Sequence[AutomationCondition]) -> T:
        """A copy with other operands (operands have none: themselves)."""
        return self

    def matches(self, old: AutomationCondition | str) -> bool:
        """Whether ``old`` names this condition: the condition itself (or an equal one),
        or a string equal to its label or its name."""
        if isinstance(old, str):
            return old in (self.get_label(), self.name)
        return old is self or old == self

    def replace(
        self, old: AutomationCondition | str, new: AutomationCondition
    ) -> AutomationCondition:
        """This condition with every part that ``old`` names (a condition, or a label or
        name) replaced by ``new``."""
        if self.matches(old):
            return new
        if not self.children:
            return self
        return self.with_children([child.replace(old, new) for child in self.children])

    def allow(self, selection: Any) -> AutomationCondition:
        """Only the dependencies in ``selection`` count, in every ``any_deps_match`` /
        ``all_deps_match`` inside this condition."""
        if not self.children:
            return self
        return self.with_children([child.allow(selection) for child in self.children])

    def ignore(self, selection: Any) -> AutomationCondition:
        """The dependencies in ``selection`` do not count, in every ``any_deps_match`` /
        ``all_deps_match`` inside this condition."""
        if not self.children:
            return self
        return self.with_children([child.ignore(selection) for child in self.children])

    # -- operands ---------------------------------------------------------------------------
    @staticmethod
    def missing() -> BuiltinAutomationCondition:
        """True for partitions that have never been materialized."""
        from trellis.automation.operands import MissingAutomationCondition

        return MissingAutomationCondition()

    @staticmethod
    def run_in_progress() -> BuiltinAutomationCondition:
        """True for partitions that a queued or running run targets."""
        from trellis.automation.operands import RunInProgressAutomationCondition

        return RunInProgressAutomationCondition()

    @staticmethod
    def backfill_in_progress() -> BuiltinAutomationCondition:
        """True for partitions of a backfill in progress (Trellis has no backfills yet:
        never)."""
        from trellis.automation.operands import BackfillInProgressAutomationCondition

        return BackfillInProgressAutomationCondition()

    @staticmethod
    def in_progress() -> BuiltinAutomationCondition:
        """True for partitions that a run (or backfill) in progress targets."""
        return (
            AutomationCondition.run_in_progress() | AutomationCondition.backfill_in_progress()
        ).with_label("in_progress")

    @staticmethod
    def execution_failed() -> BuiltinAutomationCondition:
        """True for partitions whose latest run failed without materializing them."""
        from trellis.automation.operands import ExecutionFailedAutomationCondition

        return ExecutionFailedAutomationCondition()

    @staticmethod
    def initial_evaluation() -> BuiltinAutomationCondition:
        """True on the first evaluation of the asset's condition (and when the asset
        becomes partitioned or stops being so)."""
        from trellis.automation.operands import InitialEvaluationCondition

        return InitialEvaluationCondition()

    @staticmethod
    def in_latest_time_window(
        lookback_delta: timedelta | None = None,
    ) -> BuiltinAutomationCondition:
        """True for the last partition of a time-partitioned asset (with
        ``lookback_delta``, the partitions within that long of the end of the last
        window); always true for other assets."""
        from trellis.automation.operands import InLatestTimeWindowCondition

        return InLatestTimeWindowCondition.from_lookback_delta(lookback_delta)

    @staticmethod
    def will_be_requested() -> BuiltinAutomationCondition:
        """True for partitions this evaluation requests (of an upstream asset that can run
        in the same run as the asset being evaluated)."""
        from trellis.automation.operands import WillBeRequestedCondition

        return WillBeRequestedCondition()

    @staticmethod
    def newly_updated() -> BuiltinAutomationCondition:
        """True for partitions materialized since the previous evaluation."""
        from trellis.automation.operands import NewlyUpdatedCondition

        return NewlyUpdatedCondition()

    @staticmethod
    def newly_requested() -> BuiltinAutomationCondition:
        """True for partitions the previous evaluation requested."""
        from trellis.automation.operands import NewlyRequestedCondition

        return NewlyRequestedCondition()

    @staticmethod
    def executed_with_root_target() -> BuiltinAutomationCondition:
        """True for partitions whose latest materialization came from a run that also
        targeted the asset being evaluated."""
        from trellis.automation.operands import LatestRunExecutedWithRootTargetCondition

        return LatestRunExecutedWithRootTargetCondition()

    @staticmethod
    def code_version_changed() -> BuiltinAutomationCondition:
        """True when the asset's code version differs from the previous evaluation's."""
        from trellis.automation.operands import CodeVersionChangedCondition

        return CodeVersionChangedCondition()

    @staticmethod
    def cron_tick_passed(
        cron_schedule: str, cron_timezone: str = "UTC"
    ) -> BuiltinAutomationCondition:
        """True on the first evaluation after a tick of ``cron_schedule`` (in
        ``cron_timezone``)."""
        from trellis.automation.operands import CronTickPassedCondition

        return CronTickPassedCondition.checked(cron_schedule, cron_timezone)

    @staticmethod
    def data_version_changed() -> BuiltinAutomationCondition:
        """Not available yet: data versions arrive in a later release."""
        from trellis.core.errors import InvalidDefinitionError

        raise InvalidDefinitionError(
            "AutomationCondition.data_version_changed(): data versions arrive in a later "
            "release of Trellis; use newly_updated() meanwhile."
        )

    # -- operators on dependencies ----------------------------------------------------------
    @staticmethod
    def any_deps_match(condition: AutomationCondition) -> DepsAutomationCondition:
        """True for partitions where ``condition`` is true for at least one partition of
        at least one dependency (narrow the dependencies with ``.allow`` / ``.ignore``)."""
        from trellis.automation.deps import AnyDepsCondition

        return AnyDepsCondition(operand=condition)

    @staticmethod
    def all_deps_match(condition: AutomationCondition) -> DepsAutomationCondition:
        """True for partitions where ``condition`` is true for at least one partition of
        every dependency."""
        from trellis.automation.deps import AllDepsCondition

        return AllDepsCondition(operand=condition)

    @staticmethod
    def asset_matches(
        key: CoercibleToAssetKey, condition: AutomationCondition
    ) -> BuiltinAutomationCondition:
        """True where ``condition``, evaluated for the asset ``key``, is true (mapped onto
        the asset being evaluated)."""
        from trellis.automation.deps import EntityMatchesCondition

        return EntityMatchesCondition(key=AssetKey.from_coercible(key), operand=condition)

    @staticmethod
    def any_downstream_conditions() -> BuiltinAutomationCondition:
        """True where any condition of an asset downstream of this one is true."""
        from trellis.automation.deps import AnyDownstreamConditionsCondition

        return AnyDownstreamConditionsCondition()

    @staticmethod
    def any_checks_match(
        condition: AutomationCondition, blocking_only: bool = False
    ) -> BuiltinAutomationCondition:
        """Not available yet: asset checks arrive in a later release."""
        return _needs_checks("any_checks_match")

    @staticmethod
    def all_checks_match(
        condition: AutomationCondition, blocking_only: bool = False
    ) -> BuiltinAutomationCondition:
        """Not available yet: asset checks arrive in a later release."""
        return _needs_checks("all_checks_match")

    # -- composites -------------------------------------------------------------------------
    @staticmethod
    def newly_missing() -> BuiltinAutomationCondition:
        """True on the evaluation where a partition becomes missing."""
        return AutomationCondition.missing().newly_true().with_label("newly_missing")

    @staticmethod
    def any_deps_updated() -> DepsAutomationCondition:
        """True where a dependency was updated since the previous evaluation (not by a run
        that also targeted this asset) or will be requested by this one."""
        from trellis.automation.composites import any_deps_updated

        return any_deps_updated()

    @staticmethod
    def any_deps_missing() -> DepsAutomationCondition:
        """True where a dependency is missing and will not be requested now."""
        from trellis.automation.composites import any_deps_missing

        return any_deps_missing()

    @staticmethod
    def any_deps_in_progress() -> DepsAutomationCondition:
        """True where a dependency is in progress."""
        return AutomationCondition.any_deps_match(AutomationCondition.in_progress()).with_label(
            "any_deps_in_progress"
        )

    @staticmethod
    def all_deps_updated_since_cron(
        cron_schedule: str, cron_timezone: str = "UTC"
    ) -> DepsAutomationCondition:
        """True where every dependency has been updated since the latest tick of
        ``cron_schedule`` (or will be requested now)."""
        from trellis.automation.composites import all_deps_updated_since_cron

        return all_deps_updated_since_cron(cron_schedule, cron_timezone)

    @staticmethod
    def eager() -> AndAutomationCondition:
        """Request the asset whenever a dependency updates, and partitions that become
        missing; never while a dependency is missing or in progress, or while the asset
        is in progress. Time-partitioned assets: the latest partition only."""
        from trellis.automation.composites import eager

        return eager()

    @staticmethod
    def on_cron(cron_schedule: str, cron_timezone: str = "UTC") -> AndAutomationCondition:
        """Request the asset once per tick of ``cron_schedule``, as soon as every
        dependency has been updated since that tick. Time-partitioned assets: the latest
        partition only."""
        from trellis.automation.composites import on_cron

        return on_cron(cron_schedule, cron_timezone)

    @staticmethod
    def on_missing() -> AndAutomationCondition:
        """Request partitions that become missing after the condition is first evaluated,
        once no dependency is missing. Time-partitioned assets: the latest partition."""
        from trellis.automation.composites import on_missing

        return on_missing()


def _needs_checks(name: str) -> BuiltinAutomationCondition:
    from trellis.core.errors import InvalidDefinitionError

    raise InvalidDefinitionError(
        f"AutomationCondition.{name}(): asset checks arrive in a later release of Trellis."
    )


def _flattened(condition: AutomationCondition, kind: type[Any]) -> tuple[AutomationCondition, ...]:
    """The operands of an unlabelled ``kind`` operator, else the condition itself: ``a & b
    & c`` is one AND of three."""
    if isinstance(condition, kind) and condition.get_label() is None:
        return tuple(condition.children)
    return (condition,)


@dataclasses.dataclass(frozen=True)
class BuiltinAutomationCondition(AutomationCondition):
    """The base of the conditions Trellis provides: frozen, equal when built alike, with
    an optional ``label``."""

    label: str | None = dataclasses.field(default=None, kw_only=True)

    keeps_true_subset: ClassVar[bool] = False

    def get_label(self) -> str | None:
        """The condition's label."""
        return self.label

    def with_label(self: T, label: str | None) -> T:
        """A copy of this condition with a human-readable ``label``."""
        return dataclasses.replace(self, label=label)  # type: ignore[type-var]
