"""``AutoMaterializeRule``: the rules of Dagster's older auto-materialize policies, each
mapped onto the ``AutomationCondition`` building blocks (``to_automation_condition()``),
so that the automation daemon evaluates them like any condition.

- ``materialize_on_missing()``: ``missing().newly_true()`` since requested or updated;
- ``materialize_on_parent_updated()``: ``any_deps_updated()`` since last handled (with
  an ``updated_parent_filter``'s tags, updates by runs with those tags only);
- ``materialize_on_cron(cron, tz)``: ``cron_tick_passed`` since last handled;
- ``materialize_on_required_for_freshness()``: never true (Dagster 1.13 no longer
  schedules runs for freshness policies);
- ``skip_on_parent_missing()``: ``any_deps_missing()``;
- ``skip_on_parent_outdated()``: ``any_deps_in_progress()`` (a parent being updated);
- ``skip_on_not_all_parents_updated(...)``: not every parent updated since the asset
  partition's latest materialization;
- ``skip_on_not_all_parents_updated_since_cron(cron, tz)``: ``~all_deps_updated_since_cron``;
- ``skip_on_required_but_nonexistent_parents()``: a parent partition it needs does not
  exist;
- ``skip_on_backfill_in_progress()``: ``backfill_in_progress()``;
- ``skip_on_run_in_progress()``: ``run_in_progress()``.

The materialize rules (``materialize_on_cron(all_partitions=True)`` excepted) hold in the
latest time window only: the legacy policies requested the latest partition of a
time-partitioned asset.
What does not map raises ``InvalidDefinitionError`` naming the rule and what to use.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from enum import Enum
from typing import Any, ClassVar

from trellis.automation.condition import AutomationCondition, BuiltinAutomationCondition
from trellis.automation.context import AutomationContext, AutomationResult
from trellis.automation.operands import CronTickPassedCondition, SubsetAutomationCondition
from trellis.automation.subset import AssetSubset
from trellis.core.errors import InvalidDefinitionError

AC = AutomationCondition


class AutoMaterializeDecisionType(Enum):
    """What a rule decides: request the asset partition, or skip it."""

    MATERIALIZE = "MATERIALIZE"
    SKIP = "SKIP"


class AutoMaterializeAssetPartitionsFilter:
    """Which parent updates ``materialize_on_parent_updated`` counts: with
    ``latest_run_required_tags``, only a parent partition whose newest materialization
    came from a run with all these tags (None or empty: every update)."""

    def __init__(self, latest_run_required_tags: Mapping[str, str] | None = None) -> None:
        if latest_run_required_tags is not None and not (
            isinstance(latest_run_required_tags, Mapping)
            and all(
                isinstance(k, str) and isinstance(v, str)
                for k, v in latest_run_required_tags.items()
            )
        ):
            raise InvalidDefinitionError(
                "AutoMaterializeAssetPartitionsFilter: latest_run_required_tags must map "
                f"strings to strings, got {latest_run_required_tags!r}."
            )
        self.latest_run_required_tags = (
            dict(latest_run_required_tags) if latest_run_required_tags is not None else None
        )

    def _frozen(self) -> tuple[tuple[str, str], ...] | None:
        tags = self.latest_run_required_tags
        return None if tags is None else tuple(sorted(tags.items()))

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, AutoMaterializeAssetPartitionsFilter):
            return NotImplemented
        return self._frozen() == other._frozen()

    def __hash__(self) -> int:
        return hash(("AutoMaterializeAssetPartitionsFilter", self._frozen()))

    def __repr__(self) -> str:
        tags = self.latest_run_required_tags
        return f"AutoMaterializeAssetPartitionsFilter(latest_run_required_tags={tags!r})"


def _window(
    condition: BuiltinAutomationCondition, all_partitions: bool = False
) -> BuiltinAutomationCondition:
    """``condition`` limited to the latest time window (Dagster's legacy policies request
    the latest partition of a time-partitioned asset), unless ``all_partitions``."""
    return condition if all_partitions else AC.in_latest_time_window() & condition


class AutoMaterializeRule:
    """A rule of an ``AutoMaterializePolicy``: one that requests an asset partition
    (``materialize_on_*``) or one that skips it (``skip_on_*``). Build them with the static
    methods; ``to_automation_condition()`` is the condition it maps to."""

    decision_type: ClassVar[AutoMaterializeDecisionType] = AutoMaterializeDecisionType.SKIP
    # The position of the rule's kind in a policy's condition (stable across processes).
    order: ClassVar[int] = 99

    @property
    def name(self) -> str:
        """The rule's constructor name, e.g. ``materialize_on_missing``."""
        return type(self).rule_name

    rule_name: ClassVar[str] = "rule"

    @property
    def description(self) -> str:
        """The rule in words."""
        return self.name.replace("_", " ")

    def __repr__(self) -> str:
        fields: tuple[dataclasses.Field[Any], ...] = ()
        if dataclasses.is_dataclass(self):
            fields = dataclasses.fields(self)
        args = ", ".join(f"{f.name}={getattr(self, f.name)!r}" for f in fields)
        return f"AutoMaterializeRule.{self.name}({args})"

    def to_automation_condition(self) -> BuiltinAutomationCondition:
        """The condition the rule maps to (for a skip rule: true where it skips)."""
        raise InvalidDefinitionError(
            f"{self!r} cannot be converted to an AutomationCondition: write the condition "
            "with AutomationCondition's operands instead."
        )

    # -- materialize rules --------------------------------------------------------------
    @staticmethod
    def materialize_on_missing() -> MaterializeOnMissingRule:
        """Request a partition that has never been materialized (once, until it is
        requested or updated)."""
        return MaterializeOnMissingRule()

    @staticmethod
    def materialize_on_parent_updated(
        updated_parent_filter: AutoMaterializeAssetPartitionsFilter | None = None,
    ) -> MaterializeOnParentUpdatedRule:
        """Request a partition when a parent was updated since it was last requested or
        updated (``updated_parent_filter``: which updates count)."""
        if updated_parent_filter is not None and not isinstance(
            updated_parent_filter, AutoMaterializeAssetPartitionsFilter
        ):
            raise InvalidDefinitionError(
                "AutoMaterializeRule.materialize_on_parent_updated: updated_parent_filter must "
                f"be an AutoMaterializeAssetPartitionsFilter, got {updated_parent_filter!r}."
            )
        return MaterializeOnParentUpdatedRule(updated_parent_filter=updated_parent_filter)

    @staticmethod
    def materialize_on_cron(
        cron_schedule: str, timezone: str = "UTC", all_partitions: bool = False
    ) -> MaterializeOnCronRule:
        """Request the asset once per tick of ``cron_schedule`` (the latest partition, or
        every partition with ``all_partitions=True``)."""
        CronTickPassedCondition.checked(cron_schedule, timezone)  # refuses bad input here
        return MaterializeOnCronRule(cron_schedule, timezone, all_partitions)

    @staticmethod
    def materialize_on_required_for_freshness() -> MaterializeOnRequiredForFreshnessRule:
        """Request the asset when a legacy freshness policy needs it: never true, as in
        Dagster 1.13, which no longer schedules runs for freshness policies."""
        return MaterializeOnRequiredForFreshnessRule()

    # -- skip rules ---------------------------------------------------------------------
    @staticmethod
    def skip_on_parent_missing() -> SkipOnParentMissingRule:
        """Skip while a parent is missing (and not requested in the same evaluation)."""
        return SkipOnParentMissingRule()

    @staticmethod
    def skip_on_parent_outdated() -> SkipOnParentOutdatedRule:
        """Skip while a parent is being updated (a run in progress targets it)."""
        return SkipOnParentOutdatedRule()

    @staticmethod
    def skip_on_not_all_parents_updated(
        require_update_for_all_parent_partitions: bool = False,
    ) -> SkipOnNotAllParentsUpdatedRule:
        """Skip unless every parent was updated since the partition's latest
        materialization (with ``require_update_for_all_parent_partitions``, every parent
        partition it depends on; else at least one of each parent's)."""
        return SkipOnNotAllParentsUpdatedRule(bool(require_update_for_all_parent_partitions))

    @staticmethod
    def skip_on_not_all_parents_updated_since_cron(
        cron_schedule: str, timezone: str = "UTC"
    ) -> SkipOnNotAllParentsUpdatedSinceCronRule:
        """Skip unless every parent was updated since the latest tick of
        ``cron_schedule``."""
        CronTickPassedCondition.checked(cron_schedule, timezone)
        return SkipOnNotAllParentsUpdatedSinceCronRule(cron_schedule, timezone)

    @staticmethod
    def skip_on_required_but_nonexistent_parents() -> SkipOnRequiredButNonexistentParentsRule:
        """Skip a partition that depends on parent partitions that do not exist."""
        return SkipOnRequiredButNonexistentParentsRule()

    @staticmethod
    def skip_on_backfill_in_progress(
        all_partitions: bool = False,
    ) -> SkipOnBackfillInProgressRule:
        """Skip partitions a backfill in progress targets (``all_partitions=True``: every
        partition while any is; not convertible in Trellis)."""
        return SkipOnBackfillInProgressRule(bool(all_partitions))

    @staticmethod
    def skip_on_run_in_progress() -> SkipOnRunInProgressRule:
        """Skip partitions a queued or running run targets."""
        return SkipOnRunInProgressRule()


@dataclasses.dataclass(frozen=True, repr=False)
class MaterializeOnMissingRule(AutoMaterializeRule):
    """``AutoMaterializeRule.materialize_on_missing()``."""

    rule_name: ClassVar[str] = "materialize_on_missing"
    order: ClassVar[int] = 0
    decision_type: ClassVar[AutoMaterializeDecisionType] = AutoMaterializeDecisionType.MATERIALIZE

    def to_automation_condition(self) -> BuiltinAutomationCondition:
        """Missing (newly, once) since last requested or updated, in the latest window."""
        handled = AC.newly_requested() | AC.newly_updated()
        missing = AC.missing().newly_true().since(handled.with_label("requested_or_updated"))
        return _window(missing).with_label(self.name)


@dataclasses.dataclass(frozen=True, repr=False)
class MaterializeOnParentUpdatedRule(AutoMaterializeRule):
    """``AutoMaterializeRule.materialize_on_parent_updated(...)``."""

    rule_name: ClassVar[str] = "materialize_on_parent_updated"
    order: ClassVar[int] = 1
    decision_type: ClassVar[AutoMaterializeDecisionType] = AutoMaterializeDecisionType.MATERIALIZE

    updated_parent_filter: AutoMaterializeAssetPartitionsFilter | None = None

    def to_automation_condition(self) -> BuiltinAutomationCondition:
        """A parent updated since last handled, in the latest window; with required tags,
        updated by a run that has them (a parent requested in the same evaluation does
        not count then: its run's tags are not known yet)."""
        found = self.updated_parent_filter
        tags = found.latest_run_required_tags if found is not None else None
        if not tags:
            return _window(AC.any_deps_updated().since_last_handled()).with_label(self.name)
        updated = (
            AC.newly_updated()
            & ~AC.executed_with_root_target()
            & LatestRunTagsCondition(tags=tuple(sorted(tags.items())))
        ).with_label("newly_updated_with_required_tags")
        deps = AC.any_deps_match(updated).with_label("any_deps_updated_with_required_tags")
        return _window(deps.since_last_handled()).with_label(self.name)


@dataclasses.dataclass(frozen=True)
class LatestRunTagsCondition(SubsetAutomationCondition):
    """Partitions whose newest materialization came from a run with all of ``tags``."""

    tags: tuple[tuple[str, str], ...] = ()

    @property
    def name(self) -> str:
        """``latest_run_has_tags(...)``."""
        return f"latest_run_has_tags({dict(self.tags)})"

    @property
    def description(self) -> str:
        """In words."""
        return f"Latest materialized by a run tagged {dict(self.tags)}"

    def compute_subset(self, context: AutomationContext) -> AssetSubset:
        """The partitions whose newest update's run has the tags."""
        view, key = context.asset_graph_view, context.key
        found = []
        for partition, update in view.updates(key).items():
            run_tags = view.state.run_tags(update.run_id)
            if run_tags is not None and all(run_tags.get(k) == v for k, v in self.tags):
                found.append(partition)
        if view.space(key) is None:
            return AssetSubset(key, bool(found))
        return view.subset(key, [p for p in found if p is not None])


@dataclasses.dataclass(frozen=True, repr=False)
class MaterializeOnCronRule(AutoMaterializeRule):
    """``AutoMaterializeRule.materialize_on_cron(...)``."""

    rule_name: ClassVar[str] = "materialize_on_cron"
    order: ClassVar[int] = 2
    decision_type: ClassVar[AutoMaterializeDecisionType] = AutoMaterializeDecisionType.MATERIALIZE

    cron_schedule: str = "@daily"
    timezone: str = "UTC"
    all_partitions: bool = False

    def to_automation_condition(self) -> BuiltinAutomationCondition:
        """A cron tick passed since last handled (latest window unless all partitions)."""
        tick = AC.cron_tick_passed(self.cron_schedule, self.timezone).since_last_handled()
        label = f"{self.name}({self.cron_schedule}, {self.timezone})"
        return _window(tick, self.all_partitions).with_label(label)


@dataclasses.dataclass(frozen=True)
class NeverCondition(SubsetAutomationCondition):
    """A condition that is never true (what a rule Trellis does not act on maps to)."""

    reason: str = ""

    @property
    def name(self) -> str:
        """``never``."""
        return "never"

    @property
    def description(self) -> str:
        """Why it is never true."""
        return self.reason or "Never true"

    def compute_subset(self, context: AutomationContext) -> AssetSubset:
        """Nothing."""
        return context.get_empty_subset()


@dataclasses.dataclass(frozen=True, repr=False)
class MaterializeOnRequiredForFreshnessRule(AutoMaterializeRule):
    """``AutoMaterializeRule.materialize_on_required_for_freshness()``."""

    rule_name: ClassVar[str] = "materialize_on_required_for_freshness"
    order: ClassVar[int] = 3
    decision_type: ClassVar[AutoMaterializeDecisionType] = AutoMaterializeDecisionType.MATERIALIZE

    def to_automation_condition(self) -> BuiltinAutomationCondition:
        """Never true (see ``materialize_on_required_for_freshness``)."""
        reason = "Runs are not scheduled for freshness policies (as in Dagster 1.13)"
        return NeverCondition(reason=reason).with_label(self.name)


@dataclasses.dataclass(frozen=True, repr=False)
class SkipOnParentMissingRule(AutoMaterializeRule):
    """``AutoMaterializeRule.skip_on_parent_missing()``."""

    rule_name: ClassVar[str] = "skip_on_parent_missing"
    order: ClassVar[int] = 10

    def to_automation_condition(self) -> BuiltinAutomationCondition:
        """``any_deps_missing()``."""
        return AC.any_deps_missing().with_label(self.name)


@dataclasses.dataclass(frozen=True, repr=False)
class SkipOnParentOutdatedRule(AutoMaterializeRule):
    """``AutoMaterializeRule.skip_on_parent_outdated()``."""

    rule_name: ClassVar[str] = "skip_on_parent_outdated"
    order: ClassVar[int] = 11

    def to_automation_condition(self) -> BuiltinAutomationCondition:
        """``any_deps_in_progress()``: a parent that a run is updating."""
        return AC.any_deps_in_progress().with_label(self.name)


@dataclasses.dataclass(frozen=True)
class AllParentsUpdatedCondition(BuiltinAutomationCondition):
    """Partitions whose every parent was updated after the partition's latest
    materialization (or will be requested with it): at least one of the parent partitions
    it depends on, or all of them with ``require_all_partitions``."""

    require_all_partitions: bool = False

    @property
    def name(self) -> str:
        """``all_parents_updated``."""
        return "all_parents_updated" + ("(all partitions)" if self.require_all_partitions else "")

    @property
    def description(self) -> str:
        """In words."""
        return "Every parent updated since the latest materialization"

    def evaluate(self, context: AutomationContext) -> AutomationResult:
        """Each candidate partition checked against each parent's newest updates."""
        view, key = context.asset_graph_view, context.key
        parents = sorted(view.asset_graph.upstream.get(key, ()))
        candidates = context.candidate_subset
        own = view.updates(key)
        partitions: list[str | None] = (
            [*sorted(candidates.partition_keys)] if candidates.is_partitioned else [None]
        )
        true: list[str | None] = []
        for partition in partitions:
            if candidates.is_empty:
                break
            own_update = own.get(partition)
            since = own_update.storage_id if own_update is not None else 0
            one = view.subset(key, [partition]) if partition is not None else candidates
            if all(self._updated(context, one, parent, since) for parent in parents):
                true.append(partition)
        if not candidates.is_partitioned:
            return AutomationResult(context, AssetSubset(key, bool(true)))
        return AutomationResult(context, view.subset(key, true))

    def _updated(
        self, context: AutomationContext, one: AssetSubset, parent: Any, since: int
    ) -> bool:
        view = context.asset_graph_view
        mapped = view.map_subset(one, parent)
        if mapped.is_empty:
            return True
        keys: list[str | None] = (
            [*sorted(mapped.partition_keys)] if mapped.is_partitioned else [None]
        )
        requested = context.request_subsets_by_key.get(parent)
        if requested is not None and view.executable_in_same_run(context.root_key, parent):
            if requested.is_partitioned:
                keys = [k for k in keys if k not in requested.partition_keys]
            elif not requested.is_empty:
                return True
        updates = view.updates(parent)
        newer = [k for k in keys if (u := updates.get(k)) is not None and u.storage_id > since]
        if self.require_all_partitions:
            return len(newer) == len(keys)
        return bool(newer) or not keys


@dataclasses.dataclass(frozen=True, repr=False)
class SkipOnNotAllParentsUpdatedRule(AutoMaterializeRule):
    """``AutoMaterializeRule.skip_on_not_all_parents_updated(...)``."""

    rule_name: ClassVar[str] = "skip_on_not_all_parents_updated"
    order: ClassVar[int] = 12

    require_update_for_all_parent_partitions: bool = False

    def to_automation_condition(self) -> BuiltinAutomationCondition:
        """Not every parent updated since the latest materialization."""
        updated = AllParentsUpdatedCondition(
            require_all_partitions=self.require_update_for_all_parent_partitions
        )
        return (~updated).with_label(self.name)


@dataclasses.dataclass(frozen=True, repr=False)
class SkipOnNotAllParentsUpdatedSinceCronRule(AutoMaterializeRule):
    """``AutoMaterializeRule.skip_on_not_all_parents_updated_since_cron(...)``."""

    rule_name: ClassVar[str] = "skip_on_not_all_parents_updated_since_cron"
    order: ClassVar[int] = 13

    cron_schedule: str = "@daily"
    timezone: str = "UTC"

    def to_automation_condition(self) -> BuiltinAutomationCondition:
        """``~all_deps_updated_since_cron(cron, tz)``."""
        since = AC.all_deps_updated_since_cron(self.cron_schedule, self.timezone)
        return (~since).with_label(f"{self.name}({self.cron_schedule}, {self.timezone})")


@dataclasses.dataclass(frozen=True)
class NonexistentParentsCondition(SubsetAutomationCondition):
    """Partitions that depend on partitions of a parent that do not exist."""

    @property
    def name(self) -> str:
        """``required_but_nonexistent_parents``."""
        return "required_but_nonexistent_parents"

    @property
    def description(self) -> str:
        """In words."""
        return "Depends on parent partitions that do not exist"

    def compute_subset(self, context: AutomationContext) -> AssetSubset:
        """The candidates with a nonexistent parent partition."""
        view, key = context.asset_graph_view, context.key
        candidates = context.candidate_subset
        if not candidates.is_partitioned:
            return context.get_empty_subset()
        parents = sorted(view.asset_graph.upstream.get(key, ()))
        found = [
            p
            for p in sorted(candidates.partition_keys)
            if any(view.has_nonexistent_upstream(view.subset(key, [p]), up) for up in parents)
        ]
        return view.subset(key, found)


@dataclasses.dataclass(frozen=True, repr=False)
class SkipOnRequiredButNonexistentParentsRule(AutoMaterializeRule):
    """``AutoMaterializeRule.skip_on_required_but_nonexistent_parents()``."""

    rule_name: ClassVar[str] = "skip_on_required_but_nonexistent_parents"
    order: ClassVar[int] = 14

    def to_automation_condition(self) -> BuiltinAutomationCondition:
        """A parent partition it depends on does not exist."""
        return NonexistentParentsCondition().with_label(self.name)


@dataclasses.dataclass(frozen=True, repr=False)
class SkipOnBackfillInProgressRule(AutoMaterializeRule):
    """``AutoMaterializeRule.skip_on_backfill_in_progress(...)``."""

    rule_name: ClassVar[str] = "skip_on_backfill_in_progress"
    order: ClassVar[int] = 15

    all_partitions: bool = False

    def to_automation_condition(self) -> BuiltinAutomationCondition:
        """``backfill_in_progress()`` (per partition only)."""
        if self.all_partitions:
            raise InvalidDefinitionError(
                f"{self!r} cannot be converted: Trellis' conditions skip per partition, not "
                "every partition of the asset while one is in a backfill. Use "
                "AutoMaterializeRule.skip_on_backfill_in_progress() (all_partitions=False)."
            )
        return AC.backfill_in_progress().with_label(self.name)


@dataclasses.dataclass(frozen=True, repr=False)
class SkipOnRunInProgressRule(AutoMaterializeRule):
    """``AutoMaterializeRule.skip_on_run_in_progress()``."""

    rule_name: ClassVar[str] = "skip_on_run_in_progress"
    order: ClassVar[int] = 16

    def to_automation_condition(self) -> BuiltinAutomationCondition:
        """``run_in_progress()``."""
        return AC.run_in_progress().with_label(self.name)
