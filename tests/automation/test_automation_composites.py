"""The composites (eager, on_cron, on_missing) as Dagster defines them, tick by tick
against a fake state, for unpartitioned, static and time-partitioned assets; and how
requests become runs."""

from __future__ import annotations

from datetime import UTC, datetime

from automation_helpers import Scenario

from trellis import (
    AssetKey,
    AssetOut,
    AutomationCondition,
    DailyPartitionsDefinition,
    StaticPartitionsDefinition,
    asset,
    multi_asset,
)
from trellis.automation.run_requests import build_run_requests

AC = AutomationCondition
ABC = StaticPartitionsDefinition(["a", "b", "c"])
DAILY = DailyPartitionsDefinition(start_date="2024-01-01")


def chain(condition=None, **kwargs):
    @asset(**kwargs)
    def up(): ...

    @asset(deps=[up], automation_condition=condition or AC.eager(), **kwargs)
    def down(): ...

    return up, down


def test_eager_runs_after_each_upstream_update_once():
    s = Scenario(*chain())
    s.evaluate()
    assert s.requested("down") is False  # up is missing
    s.materialize("up").evaluate()
    assert s.requested("down") is True
    s.evaluate()
    assert s.requested("down") is False  # already requested
    # down's run ends, then up is updated again, both before the next evaluation: the
    # update came after down's, so down is requested again
    s.materialize("down").advance(seconds=5).materialize("up").evaluate()
    assert s.requested("down") is True
    s.evaluate()
    # up is updated, then down (which read it), both before the next evaluation: handled
    s.materialize("up").advance(seconds=5).materialize("down").evaluate()
    assert s.requested("down") is False


def test_eager_waits_while_upstream_or_itself_is_in_progress():
    s = Scenario(*chain())
    up_key, down_key = AssetKey("up"), AssetKey("down")
    s.materialize("up").evaluate()
    s.materialize("down").evaluate()
    s.state.progress[up_key] = {None}
    s.materialize("up").evaluate()
    assert s.requested("down") is False
    s.state.progress = {down_key: {None}}
    s.evaluate()
    assert s.requested("down") is False
    s.state.progress = {}
    s.evaluate()
    assert s.requested("down") is True  # the update is remembered until handled


def test_eager_does_not_request_a_missing_asset_on_the_first_evaluation():
    @asset(automation_condition=AC.eager())
    def alone(): ...

    s = Scenario(alone)
    s.evaluate()
    s.evaluate()
    assert s.requested("alone") is False  # missing since before the condition applied


def test_eager_along_a_chain_requests_both_in_one_run():
    @asset
    def source(): ...

    @asset(deps=[source], automation_condition=AC.eager())
    def middle(): ...

    @asset(deps=[middle], automation_condition=AC.eager())
    def last(): ...

    s = Scenario(source, middle, last)
    s.materialize("source").materialize("middle").materialize("last").evaluate()
    s.materialize("source").evaluate()
    assert s.requested() == {"middle": True, "last": True}  # last: middle will be requested
    requests = build_run_requests(s.last.requested, s.defs.asset_graph)
    assert [r.asset_selection for r in requests] == [[AssetKey("last"), AssetKey("middle")]]


def test_eager_on_daily_partitions_requests_new_latest_partitions():
    s = Scenario(
        *chain(AC.eager(), partitions_def=DAILY), start=datetime(2024, 1, 5, 1, tzinfo=UTC)
    )
    s.state.materialize("up", "2024-01-04", at=s.now)
    s.evaluate()
    # up's 01-04 updated again: down's latest partition (01-04) is requested, no other
    s.materialize("up", "2024-01-04").materialize("up", "2024-01-02").evaluate()
    assert s.requested("down") == {"2024-01-04"}


def test_eager_root_and_child_on_a_new_day():
    @asset(partitions_def=DAILY, automation_condition=AC.eager())
    def root(): ...

    @asset(deps=[root], partitions_def=DAILY, automation_condition=AC.eager())
    def child(): ...

    s = Scenario(root, child, start=datetime(2024, 1, 5, 1, tzinfo=UTC))
    s.evaluate()
    s.advance(days=1).evaluate()  # 2024-01-05 is a new, missing partition
    assert s.requested() == {"root": {"2024-01-05"}, "child": {"2024-01-05"}}
    requests = build_run_requests(s.last.requested, s.defs.asset_graph)
    assert [(r.partition_key, r.asset_selection) for r in requests] == [
        ("2024-01-05", [AssetKey("child"), AssetKey("root")])
    ]


def test_on_cron_after_the_tick_once_every_dependency_updated():
    s = Scenario(*chain(AC.on_cron("0 * * * *")), start=datetime(2024, 1, 1, 0, 55))
    s.evaluate()
    s.advance(minutes=10).evaluate()  # 01:05: the tick passed, up not updated since
    assert s.requested("down") is False
    s.advance(minutes=5).materialize("up").advance(minutes=1).evaluate()  # 01:11
    assert s.requested("down") is True
    s.advance(minutes=1).evaluate()
    assert s.requested("down") is False  # once per tick
    s.materialize("up").advance(minutes=5).evaluate()
    assert s.requested("down") is False  # same tick, already handled
    s.advance(hours=1).evaluate()  # the 02:00 tick: up not updated since
    assert s.requested("down") is False
    s.materialize("up").advance(minutes=1).evaluate()
    assert s.requested("down") is True


def test_on_cron_without_dependencies_runs_on_each_tick():
    @asset(automation_condition=AC.on_cron("0 9 * * *", "Europe/Paris"))
    def report(): ...

    s = Scenario(report, start=datetime(2024, 3, 1, 7, 0, tzinfo=UTC))
    s.evaluate()
    s.advance(minutes=30).evaluate()  # 07:30 UTC is 08:30 in Paris
    assert s.requested("report") is False
    s.advance(minutes=31).evaluate()  # 09:01 in Paris
    assert s.requested("report") is True
    s.advance(hours=1).evaluate()
    assert s.requested("report") is False
    s.advance(days=1).evaluate()
    assert s.requested("report") is True


def test_on_cron_on_daily_partitions_requests_the_latest_partition():
    s = Scenario(
        *chain(AC.on_cron("0 1 * * *"), partitions_def=DAILY),
        start=datetime(2024, 1, 5, 0, 30, tzinfo=UTC),
    )
    s.evaluate()
    s.materialize("up", "2024-01-04").advance(hours=1).evaluate()  # 01:30, tick at 01:00
    assert s.requested("down") == set()  # updated before the tick
    s.materialize("up", "2024-01-04").advance(minutes=1).evaluate()
    assert s.requested("down") == {"2024-01-04"}


def test_on_missing_requests_partitions_that_appear():
    @asset(partitions_def=DAILY, automation_condition=AC.on_missing())
    def daily(): ...

    s = Scenario(daily, start=datetime(2024, 1, 3, 5, tzinfo=UTC))
    s.evaluate()
    assert s.requested("daily") == set()  # missing since before: not requested
    s.advance(days=1).evaluate()
    assert s.requested("daily") == {"2024-01-03"}
    s.advance(minutes=5).evaluate()
    assert s.requested("daily") == set()


def test_on_missing_waits_for_missing_dependencies():
    s = Scenario(*chain(AC.on_missing(), partitions_def=ABC))
    s.evaluate()
    s.evaluate()
    assert s.requested("down") == set()


def test_a_requested_asset_of_a_multi_asset_that_cannot_be_subset_takes_its_siblings():
    @asset
    def source(): ...

    @multi_asset(
        outs={"left": AssetOut(automation_condition=AC.eager()), "right": AssetOut()},
        deps=[source],
    )
    def both(): ...

    s = Scenario(source, both)
    s.materialize("source").evaluate()
    s.materialize("source").evaluate()
    assert s.requested() == {"left": True, "right": True}


def test_run_requests_group_by_partitions_definition_and_key():
    @asset(automation_condition=AC.missing())
    def plain(): ...

    @asset(partitions_def=ABC, automation_condition=AC.missing())
    def lettered(): ...

    @asset(partitions_def=ABC, automation_condition=AC.missing())
    def lettered_too(): ...

    s = Scenario(plain, lettered, lettered_too)
    s.materialize("lettered", "a").evaluate()
    requests = build_run_requests(
        s.last.requested, s.defs.asset_graph, run_tags={"team": "x"}, evaluation_id=7
    )
    shown = [(r.partition_key, [k.to_user_string() for k in r.asset_selection]) for r in requests]
    assert shown == [
        (None, ["plain"]),
        ("a", ["lettered_too"]),
        ("b", ["lettered", "lettered_too"]),
        ("c", ["lettered", "lettered_too"]),
    ]
    assert all(r.tags["team"] == "x" for r in requests)
    assert all(r.tags["trellis/from_automation_condition"] == "true" for r in requests)
    assert len({r.run_key for r in requests}) == 4
    again = build_run_requests(s.last.requested, s.defs.asset_graph, evaluation_id=7)
    assert [r.run_key for r in again] == [r.run_key for r in requests]  # deterministic
