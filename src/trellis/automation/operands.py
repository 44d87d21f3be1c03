"""The operands: conditions about one asset's own state (missing, updated, requested, in
progress, failed, a cron tick, the latest time window, the code version).

Each is evaluated over its candidate subset and true for part of it; ``newly_updated``,
``newly_requested`` and ``cron_tick_passed`` also say *when* each partition became true
(``timing``), which ``since`` uses when its trigger and reset fire in one evaluation.
"""

from __future__ import annotations

import dataclasses
from datetime import timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from trellis.automation.condition import BuiltinAutomationCondition
from trellis.automation.context import AutomationContext, AutomationResult, Timing
from trellis.automation.subset import AssetSubset
from trellis.core.errors import InvalidDefinitionError
from trellis.defs.cron import check_cron_schedule


@dataclasses.dataclass(frozen=True)
class SubsetAutomationCondition(BuiltinAutomationCondition):
    """An operand computed as a subset of the asset, then limited to the candidates."""

    def compute_subset(self, context: AutomationContext) -> AssetSubset:
        """The partitions the operand holds for (candidates or not)."""
        raise NotImplementedError

    def compute_timed_subset(self, context: AutomationContext) -> tuple[AssetSubset, Timing | None]:
        """The subset and, where known, when its partitions became true."""
        return self.compute_subset(context), None

    def evaluate(self, context: AutomationContext) -> AutomationResult:
        """The computed subset within the candidates (nothing is read when there are no
        candidates)."""
        candidates = context.candidate_subset
        if candidates.is_empty:
            return AutomationResult(context, candidates)
        subset, timing = self.compute_timed_subset(context)
        true_subset = candidates & subset
        if timing:
            timing = {ts: part & true_subset for ts, part in timing.items()}
            timing = {ts: part for ts, part in timing.items() if not part.is_empty} or None
        return AutomationResult(context, true_subset, timing=timing)


@dataclasses.dataclass(frozen=True)
class MissingAutomationCondition(SubsetAutomationCondition):
    """Partitions never materialized (an external asset: never materialized nor
    observed)."""

    @property
    def name(self) -> str:
        """``missing``."""
        return "missing"

    @property
    def description(self) -> str:
        """In words."""
        return "Never materialized"

    def compute_subset(self, context: AutomationContext) -> AssetSubset:
        """The candidates without a materialization."""
        view = context.asset_graph_view
        return context.candidate_subset - view.materialized(context.key)


@dataclasses.dataclass(frozen=True)
class RunInProgressAutomationCondition(SubsetAutomationCondition):
    """Partitions that a queued or running run targets."""

    @property
    def name(self) -> str:
        """``run_in_progress``."""
        return "run_in_progress"

    @property
    def description(self) -> str:
        """In words."""
        return "Targeted by a run in progress"

    def compute_subset(self, context: AutomationContext) -> AssetSubset:
        """The partitions of queued and running runs."""
        return context.asset_graph_view.in_progress(context.key)


@dataclasses.dataclass(frozen=True)
class BackfillInProgressAutomationCondition(SubsetAutomationCondition):
    """Partitions of a backfill in progress: none, Trellis has no backfills yet."""

    @property
    def name(self) -> str:
        """``backfill_in_progress``."""
        return "backfill_in_progress"

    @property
    def description(self) -> str:
        """In words."""
        return "Targeted by a backfill in progress (Trellis has no backfills: never)"

    def compute_subset(self, context: AutomationContext) -> AssetSubset:
        """Nothing."""
        return context.get_empty_subset()


@dataclasses.dataclass(frozen=True)
class ExecutionFailedAutomationCondition(SubsetAutomationCondition):
    """Partitions whose latest run failed without materializing them."""

    @property
    def name(self) -> str:
        """``execution_failed``."""
        return "execution_failed"

    @property
    def description(self) -> str:
        """In words."""
        return "Latest run failed"

    def compute_subset(self, context: AutomationContext) -> AssetSubset:
        """The failed partitions."""
        return context.asset_graph_view.failed(context.key)


@dataclasses.dataclass(frozen=True)
class InitialEvaluationCondition(SubsetAutomationCondition):
    """The first evaluation of the asset's condition, or the first since the asset became
    (un)partitioned."""

    @property
    def name(self) -> str:
        """``initial_evaluation``."""
        return "initial_evaluation"

    @property
    def description(self) -> str:
        """In words."""
        return "First evaluation"

    def compute_subset(self, context: AutomationContext) -> AssetSubset:
        """Every candidate on the first evaluation, else nothing."""
        initial = context._evaluator.is_initial_evaluation(context.root_key)
        return context.candidate_subset if initial else context.get_empty_subset()


@dataclasses.dataclass(frozen=True)
class InLatestTimeWindowCondition(SubsetAutomationCondition):
    """The latest partition of a time-partitioned asset (or those within
    ``lookback_seconds`` of the end of its window); all of any other asset."""

    lookback_seconds: float | None = None

    @staticmethod
    def from_lookback_delta(lookback_delta: timedelta | None) -> InLatestTimeWindowCondition:
        """The condition for a ``timedelta`` lookback (None: the latest partition only)."""
        seconds = lookback_delta.total_seconds() if lookback_delta else None
        return InLatestTimeWindowCondition(lookback_seconds=seconds)

    @property
    def lookback_delta(self) -> timedelta | None:
        """The lookback as a ``timedelta``."""
        return timedelta(seconds=self.lookback_seconds) if self.lookback_seconds else None

    @property
    def name(self) -> str:
        """``in_latest_time_window`` (with its lookback)."""
        delta = self.lookback_delta
        return "in_latest_time_window" + (f"(lookback_delta={delta})" if delta else "")

    @property
    def description(self) -> str:
        """In words."""
        delta = self.lookback_delta
        if delta:
            return f"Within {delta} of the end of the latest time window"
        return "Within the latest time window"

    def compute_subset(self, context: AutomationContext) -> AssetSubset:
        """The latest time window's partitions."""
        return context.asset_graph_view.latest_time_window(context.key, self.lookback_delta)


@dataclasses.dataclass(frozen=True)
class WillBeRequestedCondition(SubsetAutomationCondition):
    """What this evaluation requests of the asset, when it can run in the same run as
    the asset being evaluated (both materializable, one partitions definition)."""

    @property
    def name(self) -> str:
        """``will_be_requested``."""
        return "will_be_requested"

    @property
    def description(self) -> str:
        """In words."""
        return "Will be requested this evaluation"

    def compute_subset(self, context: AutomationContext) -> AssetSubset:
        """This evaluation's request of ``context.key``."""
        requested = context.request_subsets_by_key.get(context.key)
        view = context.asset_graph_view
        if requested is None or not view.executable_in_same_run(context.root_key, context.key):
            return context.get_empty_subset()
        return requested


@dataclasses.dataclass(frozen=True)
class NewlyUpdatedCondition(SubsetAutomationCondition):
    """Partitions materialized since the previous evaluation (none on the first)."""

    @property
    def name(self) -> str:
        """``newly_updated``."""
        return "newly_updated"

    @property
    def description(self) -> str:
        """In words."""
        return "Materialized since the previous evaluation"

    def compute_timed_subset(self, context: AutomationContext) -> tuple[AssetSubset, Timing | None]:
        """The partitions with a materialization newer than the previous evaluation saw,
        by when they were materialized."""
        evaluator = context._evaluator
        previous = evaluator.previous_storage_id(context.root_key, context.key)
        if previous is None:
            return context.get_empty_subset(), None
        subset, timing = context.asset_graph_view.updated_since(context.key, previous)
        return subset, timing or None


@dataclasses.dataclass(frozen=True)
class NewlyRequestedCondition(SubsetAutomationCondition):
    """Partitions the previous evaluation requested."""

    @property
    def name(self) -> str:
        """``newly_requested``."""
        return "newly_requested"

    @property
    def description(self) -> str:
        """In words."""
        return "Requested by the previous evaluation"

    def compute_timed_subset(self, context: AutomationContext) -> tuple[AssetSubset, Timing | None]:
        """The previous request, requested at the previous evaluation's time."""
        subset = context.get_previous_requested_subset(context.key) or context.get_empty_subset()
        previous_time = context.previous_evaluation_time
        if subset.is_empty or previous_time is None:
            return subset, None
        return subset, {previous_time.timestamp(): subset}


@dataclasses.dataclass(frozen=True)
class LatestRunExecutedWithRootTargetCondition(SubsetAutomationCondition):
    """Partitions whose newest materialization came from a run that also targeted the
    asset being evaluated."""

    @property
    def name(self) -> str:
        """``executed_with_root_target``."""
        return "executed_with_root_target"

    @property
    def description(self) -> str:
        """In words."""
        return "Latest materialization's run also targeted the asset being evaluated"

    def compute_subset(self, context: AutomationContext) -> AssetSubset:
        """The candidates whose latest run targeted the root asset."""
        view = context.asset_graph_view
        root = context.root_key
        matching: set[str | None] = set()
        candidates = context.candidate_subset
        for partition, update in view.updates(context.key).items():
            if candidates.is_partitioned and partition not in candidates.partition_keys:
                continue
            targets = view.state.run_targets(update.run_id)
            if targets is not None and root in targets:
                matching.add(partition)
        return _exact(context, matching)


@dataclasses.dataclass(frozen=True)
class CodeVersionChangedCondition(BuiltinAutomationCondition):
    """The asset's code version differs from the one the previous evaluation saw."""

    @property
    def name(self) -> str:
        """``code_version_changed``."""
        return "code_version_changed"

    @property
    def description(self) -> str:
        """In words."""
        return "Code version changed since the previous evaluation"

    def evaluate(self, context: AutomationContext) -> AutomationResult:
        """Every candidate when the code version changed (as Dagster: not when there was
        no previous version to compare with)."""
        previous = context.cursor
        current = context.asset_graph_view.code_version(context.key)
        changed = previous is not None and previous != current
        true_subset = context.candidate_subset if changed else context.get_empty_subset()
        return AutomationResult(context, true_subset, cursor=current)


@dataclasses.dataclass(frozen=True)
class CronTickPassedCondition(SubsetAutomationCondition):
    """A tick of ``cron_schedule`` (in ``cron_timezone``) passed since the previous
    evaluation."""

    cron_schedule: str = "@daily"
    cron_timezone: str = "UTC"

    @staticmethod
    def checked(cron_schedule: str, cron_timezone: str) -> CronTickPassedCondition:
        """The condition, once the schedule and the timezone are known to be valid."""
        owner = "AutomationCondition.cron_tick_passed"
        check_cron_schedule(cron_schedule, owner)
        try:
            ZoneInfo(cron_timezone)
        except (ZoneInfoNotFoundError, ValueError, TypeError):
            raise InvalidDefinitionError(
                f"Unknown timezone {cron_timezone!r} for {owner}; use an IANA name such as "
                "'UTC' or 'America/New_York'."
            ) from None
        return CronTickPassedCondition(cron_schedule=cron_schedule, cron_timezone=cron_timezone)

    @property
    def name(self) -> str:
        """``cron_tick_passed(...)`` with the schedule."""
        return (
            f"cron_tick_passed(cron_schedule={self.cron_schedule}, "
            f"cron_timezone={self.cron_timezone})"
        )

    @property
    def description(self) -> str:
        """In words."""
        return f"A tick of '{self.cron_schedule}' ({self.cron_timezone}) passed"

    def compute_timed_subset(self, context: AutomationContext) -> tuple[AssetSubset, Timing | None]:
        """Every candidate when the latest tick is at or after the previous evaluation."""
        previous = context.previous_evaluation_time
        tick = context.asset_graph_view.previous_cron_tick(self.cron_schedule, self.cron_timezone)
        if previous is None or tick.timestamp() < previous.timestamp():
            return context.get_empty_subset(), None
        return context.candidate_subset, {tick.timestamp(): context.candidate_subset}


def _exact(context: AutomationContext, partitions: set[str | None]) -> AssetSubset:
    """Exactly ``partitions`` of ``context.key`` (None: the unpartitioned asset)."""
    view = context.asset_graph_view
    if not context.candidate_subset.is_partitioned:
        return AssetSubset(context.key, bool(partitions))
    return view.subset(context.key, (p for p in partitions if p is not None))
