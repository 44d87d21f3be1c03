"""Each operand against a fake state view: what it is true for, tick by tick."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from automation_helpers import Scenario

from trellis import (
    AssetSpec,
    AutomationCondition,
    DailyPartitionsDefinition,
    StaticPartitionsDefinition,
    asset,
)
from trellis.core.errors import InvalidDefinitionError

AC = AutomationCondition
ABC = StaticPartitionsDefinition(["a", "b", "c"])


def single(condition, **asset_kwargs):
    @asset(automation_condition=condition, **asset_kwargs)
    def target(): ...

    return target


def test_missing_until_materialized():
    s = Scenario(single(AC.missing()))
    s.evaluate()
    assert s.true_of("target") is True
    s.materialize("target").evaluate()
    assert s.true_of("target") is False


def test_missing_per_partition():
    s = Scenario(single(AC.missing(), partitions_def=ABC))
    s.materialize("target", "b").evaluate()
    assert s.true_of("target") == {"a", "c"}


def test_an_external_upstream_is_not_missing_once_observed():
    source = AssetSpec("source")

    @asset(deps=[source], automation_condition=AC.any_deps_match(AC.missing()))
    def target(): ...

    s = Scenario(source, target)
    s.evaluate()
    assert s.true_of("target") is True
    s.state.observed_keys.add(source.key)
    s.evaluate()
    assert s.true_of("target") is False


def test_run_in_progress_and_in_progress():
    s = Scenario(single(AC.in_progress(), partitions_def=ABC))
    s.evaluate()
    assert s.true_of("target") == set()
    s.state.progress[s.defs.get_assets_def("target").key] = {"a"}
    s.evaluate()
    assert s.true_of("target") == {"a"}
    # a run without a partition tag covers every partition
    s.state.progress[s.defs.get_assets_def("target").key] = {None}
    s.evaluate()
    assert s.true_of("target") == {"a", "b", "c"}
    tree = s.last.trees[s.defs.get_assets_def("target").key]
    assert tree["label"] == "in_progress"
    assert [c["name"] for c in tree["children"]] == ["run_in_progress", "backfill_in_progress"]
    assert tree["children"][1]["num_true"] == 0  # no backfills in Trellis


def test_execution_failed():
    s = Scenario(single(AC.execution_failed()))
    s.evaluate()
    assert s.true_of("target") is False
    s.state.failures[s.defs.get_assets_def("target").key] = {None}
    s.evaluate()
    assert s.true_of("target") is True


def test_newly_updated_is_true_once_per_materialization_and_never_on_the_first_evaluation():
    s = Scenario(single(AC.newly_updated()))
    s.materialize("target").evaluate()
    assert s.true_of("target") is False  # first evaluation: nothing to compare with
    s.advance(minutes=1).evaluate()
    assert s.true_of("target") is False
    s.materialize("target").advance(minutes=1).evaluate()
    assert s.true_of("target") is True
    s.advance(minutes=1).evaluate()
    assert s.true_of("target") is False


def test_newly_updated_per_partition():
    s = Scenario(single(AC.newly_updated(), partitions_def=ABC))
    s.evaluate()
    s.materialize("target", "a").materialize("target", "c").evaluate()
    assert s.true_of("target") == {"a", "c"}
    s.materialize("target", "a").evaluate()
    assert s.true_of("target") == {"a"}


def test_newly_requested_is_the_previous_request():
    s = Scenario(single(AC.missing() & ~AC.newly_requested()))
    s.evaluate()
    assert s.requested("target") is True
    s.evaluate()  # requested last time: not again
    assert s.requested("target") is False
    s.evaluate()  # still missing, not requested last time: again
    assert s.requested("target") is True


def test_will_be_requested_sees_the_upstream_request_of_this_evaluation():
    @asset(automation_condition=AC.missing())
    def up(): ...

    @asset(deps=[up], automation_condition=AC.any_deps_match(AC.will_be_requested()))
    def down(): ...

    s = Scenario(up, down)
    s.evaluate()
    assert s.requested() == {"up": True, "down": True}


def test_will_be_requested_only_across_one_partitions_definition():
    @asset(automation_condition=AC.missing())
    def up(): ...

    @asset(
        deps=[up],
        partitions_def=ABC,
        automation_condition=AC.any_deps_match(AC.will_be_requested()),
    )
    def down(): ...

    s = Scenario(up, down)
    s.evaluate()
    assert s.requested() == {"up": True}  # they cannot run in one run


def test_initial_evaluation_is_true_once():
    s = Scenario(single(AC.initial_evaluation()))
    s.evaluate()
    assert s.true_of("target") is True
    s.evaluate()
    assert s.true_of("target") is False


def test_initial_evaluation_again_when_the_asset_becomes_partitioned():
    s = Scenario(single(AC.initial_evaluation()))
    s.evaluate()
    s.defs = Scenario(single(AC.initial_evaluation(), partitions_def=ABC)).defs
    s.evaluate()
    assert s.true_of("target") == {"a", "b", "c"}


def test_code_version_changed_compares_with_the_previous_evaluation():
    s = Scenario(single(AC.code_version_changed(), code_version="1"))
    s.evaluate()
    assert s.true_of("target") is False  # nothing to compare with
    s.evaluate()
    assert s.true_of("target") is False
    s.defs = Scenario(single(AC.code_version_changed(), code_version="2")).defs
    s.evaluate()
    assert s.true_of("target") is True
    s.evaluate()
    assert s.true_of("target") is False


def test_cron_tick_passed_is_true_on_the_first_evaluation_after_a_tick():
    s = Scenario(single(AC.cron_tick_passed("0 * * * *")), start=datetime(2024, 1, 1, 0, 55))
    s.evaluate()
    assert s.true_of("target") is False  # no previous evaluation
    s.advance(minutes=4).evaluate()
    assert s.true_of("target") is False  # 00:59: no tick since 00:55
    s.advance(minutes=2).evaluate()
    assert s.true_of("target") is True  # 01:01: the 01:00 tick passed
    s.advance(minutes=2).evaluate()
    assert s.true_of("target") is False


def test_cron_tick_passed_in_a_timezone():
    condition = AC.cron_tick_passed("0 9 * * *", "America/New_York")
    s = Scenario(single(condition), start=datetime(2024, 7, 1, 12, 55, tzinfo=UTC))
    s.evaluate()
    s.advance(minutes=10).evaluate()  # 13:05 UTC is 09:05 in New York (EDT)
    assert s.true_of("target") is True


def test_invalid_cron_and_timezone_are_definition_errors():
    with pytest.raises(InvalidDefinitionError, match="Invalid cron schedule 'every day'"):
        AC.cron_tick_passed("every day")
    with pytest.raises(InvalidDefinitionError, match="Unknown timezone 'Mars/Olympus'"):
        AC.on_cron("@daily", "Mars/Olympus")


DAILY = DailyPartitionsDefinition(start_date="2024-01-01")


def test_in_latest_time_window():
    s = Scenario(
        single(AC.in_latest_time_window(), partitions_def=DAILY),
        start=datetime(2024, 1, 10, 3, tzinfo=UTC),
    )
    s.evaluate()
    assert s.true_of("target") == {"2024-01-09"}


def test_in_latest_time_window_with_a_lookback():
    lookback = AC.in_latest_time_window(timedelta(days=3))
    s = Scenario(single(lookback, partitions_def=DAILY), start=datetime(2024, 1, 10, 3, tzinfo=UTC))
    s.evaluate()
    assert s.true_of("target") == {"2024-01-07", "2024-01-08", "2024-01-09"}
    assert lookback.name == "in_latest_time_window(lookback_delta=3 days, 0:00:00)"


def test_in_latest_time_window_is_everything_for_other_assets():
    s = Scenario(single(AC.in_latest_time_window(), partitions_def=ABC))
    s.evaluate()
    assert s.true_of("target") == {"a", "b", "c"}
    s = Scenario(single(AC.in_latest_time_window()))
    s.evaluate()
    assert s.true_of("target") is True


def test_in_latest_time_window_before_the_first_partition_is_empty():
    s = Scenario(
        single(AC.in_latest_time_window(), partitions_def=DAILY),
        start=datetime(2023, 12, 1, tzinfo=UTC),
    )
    s.evaluate()
    assert s.true_of("target") == set()


def test_executed_with_root_target():
    @asset
    def up(): ...

    @asset(deps=[up], automation_condition=AC.any_deps_match(AC.executed_with_root_target()))
    def down(): ...

    s = Scenario(up, down)
    s.materialize("up", run_id="alone").evaluate()
    assert s.true_of("down") is False
    s.materialize("up", run_id="both", targets=["down"]).evaluate()
    assert s.true_of("down") is True


def test_data_version_changed_and_checks_say_they_are_not_there_yet():
    with pytest.raises(InvalidDefinitionError, match="data versions arrive in a later release"):
        AC.data_version_changed()
    with pytest.raises(InvalidDefinitionError, match="asset checks arrive in a later release"):
        AC.any_checks_match(AC.missing())


def test_naive_evaluation_times_are_utc():
    s = Scenario(single(AC.cron_tick_passed("0 1 * * *")), start=datetime(2024, 1, 1, 0, 59))
    s.evaluate()
    s.advance(minutes=2).evaluate()
    assert s.true_of("target") is True
    assert s.last.evaluation_time == datetime(2024, 1, 1, 1, 1, tzinfo=UTC)
