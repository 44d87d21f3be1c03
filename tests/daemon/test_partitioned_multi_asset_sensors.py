"""Partitioned ``@multi_asset_sensor``s (``multi_sensor_defs.py``): ticked by the daemon's
sensors loop with a manual clock, and called directly with
``build_multi_asset_sensor_context``. Daily upstreams start a downstream run per
partition; a day passed over stays visible to later ticks; the per-asset cursor survives
a daemon restart; a multi-asset sensor's ``SensorResult`` adds dynamic partitions and
records asset events."""

from __future__ import annotations

import json

import pytest
from daemon_helpers import HERE, Harness

from trellis import (
    AssetCheckKey,
    AssetKey,
    AssetSelection,
    RunRequest,
    SensorResult,
    build_multi_asset_sensor_context,
    build_sensor_context,
    materialize,
    multi_asset_sensor,
)
from trellis.core.errors import InvalidInvocationError, InvariantViolationError
from trellis.core.events import EventType
from trellis.core.run import PARTITION_TAG
from trellis.instance.daemon_records import InstigatorStatus, InstigatorType, TickStatus

DEFS = str(HERE / "multi_sensor_defs.py")
SENSOR = InstigatorType.SENSOR
FIRST, SECOND = AssetKey("first_feed"), AssetKey("second_feed")


@pytest.fixture
def h(harness):
    """A daemon over ``multi_sensor_defs.py`` on the parametrised instance."""
    return Harness(harness.instance, defs_file=DEFS)


def _start(h, *names):
    for name in names:
        h.instance.set_instigator_status(name, SENSOR, InstigatorStatus.RUNNING, now=0)


def _feed(h, key, *days):
    assets_def = h.location.definitions.get_assets_def(key)
    for day in days:
        materialize([assets_def], instance=h.instance, partition_key=day)


def _last_tick(h, name):
    return h.instance.get_ticks(name, limit=1)[0]


def _requested(h, name):
    """The partitions of the runs the newest tick of ``name`` requested, and their job."""
    tick = _last_tick(h, name)
    runs = [h.instance.get_run(run_id) for run_id in tick.run_ids]
    return sorted(run.tags[PARTITION_TAG] for run in runs), {run.job_name for run in runs}


def test_and_a_day_runs_once_both_feeds_have_it_and_a_passed_over_day_is_kept(h):
    _start(h, "when_both_days_are_in")
    h.at(0)
    assert _last_tick(h, "when_both_days_are_in").status is TickStatus.SKIPPED
    _feed(h, FIRST, "2024-02-27", "2024-02-28")
    _feed(h, SECOND, "2024-02-28")
    h.at(30)
    assert _requested(h, "when_both_days_are_in") == (["2024-02-28"], {"daily_summary_job"})
    # first_feed's 2024-02-27 is older than the record consumed: kept as unconsumed.
    cursor = json.loads(_last_tick(h, "when_both_days_are_in").cursor)
    partition, _newest, trailing = cursor["first_feed"]
    assert partition == "2024-02-28" and list(trailing) == ["2024-02-27"]
    h.at(60)
    assert _last_tick(h, "when_both_days_are_in").status is TickStatus.SKIPPED
    _feed(h, SECOND, "2024-02-27")
    h.at(90)
    assert _requested(h, "when_both_days_are_in") == (["2024-02-27"], {"daily_summary_job"})
    cursor = json.loads(_last_tick(h, "when_both_days_are_in").cursor)
    assert cursor["first_feed"][2] == {} and cursor["second_feed"][0] == "2024-02-27"
    h.at(120)  # everything consumed
    assert _last_tick(h, "when_both_days_are_in").status is TickStatus.SKIPPED
    _feed(h, FIRST, "2024-02-28")  # a new materialization of a day alone: AND waits
    h.at(150)
    assert _last_tick(h, "when_both_days_are_in").status is TickStatus.SKIPPED


def test_the_cursor_per_asset_survives_a_daemon_restart(harness, tmp_path):
    instance = harness.instance
    first = Harness(instance, defs_file=DEFS)
    _start(first, "when_both_days_are_in")
    _feed(first, FIRST, "2024-02-26", "2024-02-27")
    _feed(first, SECOND, "2024-02-27")
    first.at(0)
    assert _requested(first, "when_both_days_are_in")[0] == ["2024-02-27"]
    stored = instance.get_instigator_state("when_both_days_are_in").cursor
    # A new daemon (a new code location, a new process's worth of state) on the instance.
    second = Harness(instance, defs_file=DEFS)
    assert instance.get_instigator_state("when_both_days_are_in").cursor == stored
    second.at(30)
    assert _last_tick(second, "when_both_days_are_in").status is TickStatus.SKIPPED
    _feed(second, SECOND, "2024-02-26")
    second.at(60)
    assert _requested(second, "when_both_days_are_in")[0] == ["2024-02-26"]
    second.at(90)
    assert _last_tick(second, "when_both_days_are_in").status is TickStatus.SKIPPED
    every = [
        r.tags[PARTITION_TAG] for r in instance.get_runs() if r.job_name == "daily_summary_job"
    ]
    assert sorted(every) == ["2024-02-26", "2024-02-27"]  # each day once


def test_or_any_new_materialization_reruns_a_day_both_feeds_have(h):
    _start(h, "when_either_day_is_updated")
    _feed(h, FIRST, "2024-02-27")
    h.at(0)
    assert _last_tick(h, "when_either_day_is_updated").status is TickStatus.SKIPPED
    _feed(h, SECOND, "2024-02-27")
    h.at(30)
    assert _requested(h, "when_either_day_is_updated")[0] == ["2024-02-27"]
    _feed(h, FIRST, "2024-02-27")  # an update of one feed is enough now
    h.at(60)
    assert _requested(h, "when_either_day_is_updated")[0] == ["2024-02-27"]
    h.at(90)
    assert _last_tick(h, "when_either_day_is_updated").status is TickStatus.SKIPPED


def test_a_week_runs_when_its_last_day_arrives(h):
    _start(h, "when_the_week_is_complete")
    week = ["2024-02-11", "2024-02-12", "2024-02-13", "2024-02-14", "2024-02-15", "2024-02-16"]
    _feed(h, FIRST, *week)
    h.at(0)
    assert _last_tick(h, "when_the_week_is_complete").status is TickStatus.SKIPPED
    _feed(h, FIRST, "2024-02-17")  # Saturday: the week of Sunday 2024-02-11 is complete
    h.at(30)
    assert _requested(h, "when_the_week_is_complete") == (["2024-02-11"], {"weekly_summary_job"})
    h.at(60)
    assert _last_tick(h, "when_the_week_is_complete").status is TickStatus.SKIPPED


def test_a_sensor_result_adds_partitions_and_records_asset_events(h):
    _start(h, "catalogue_new_days")
    _feed(h, FIRST, "2024-02-27", "2024-02-28")
    h.at(0)
    tick = _last_tick(h, "catalogue_new_days")
    assert tick.status is TickStatus.SUCCESS
    assert h.instance.get_dynamic_partitions("reports") == ["2024-02-27", "2024-02-28"]
    assert _requested(h, "catalogue_new_days") == (
        ["2024-02-27", "2024-02-28"],
        {"day_report_job"},
    )
    observation = h.instance.get_latest_observation_record("audit_log")
    assert observation is not None and observation.run_id == ""
    assert observation.event.metadata["days"].value == 2
    check = h.instance.get_latest_asset_check_evaluation_record(AssetCheckKey(FIRST, "day_arrived"))
    assert check is not None and check.asset_check_evaluation.passed
    assert check.event.event_type is EventType.ASSET_CHECK_EVALUATION
    h.at(30)
    assert _last_tick(h, "catalogue_new_days").skip_reason == "no new day of first_feed"
    assert h.instance.get_latest_observation_record("audit_log").storage_id == (
        observation.storage_id
    )


def test_an_asset_selection_is_monitored_and_assets_are_requested(h):
    _start(h, "refresh_selected")
    _feed(h, FIRST, "2024-02-27")
    _feed(h, SECOND, "2024-02-28")
    h.at(0)
    tick = _last_tick(h, "refresh_selected")
    runs = [h.instance.get_run(run_id) for run_id in tick.run_ids]
    assert sorted(r.tags[PARTITION_TAG] for r in runs) == ["2024-02-27", "2024-02-28"]
    assert all(r.asset_selection == ["daily_summary"] for r in runs)
    assert set(json.loads(tick.cursor)) == {"first_feed", "second_feed"}


# -- called directly --------------------------------------------------------------------


def _defs(h):
    return h.location.definitions


def test_called_directly_with_a_test_context(h):
    defs = _defs(h)
    sensor = defs.get_sensor_def("when_both_days_are_in")
    _feed(h, FIRST, "2024-02-27", "2024-02-28")
    _feed(h, SECOND, "2024-02-28")
    context = build_multi_asset_sensor_context(
        monitored_assets=[FIRST, SECOND], instance=h.instance, definitions=defs
    )
    requests = sensor(context)
    assert [r.partition_key for r in requests] == ["2024-02-28"]
    assert context.get_cursor_partition(FIRST) == "2024-02-28"
    [unconsumed] = context.get_trailing_unconsumed_events(FIRST)
    assert unconsumed.partition_key == "2024-02-27"
    # The next evaluation starts from the cursor the first one left.
    again = build_multi_asset_sensor_context(
        monitored_assets=[FIRST, SECOND],
        instance=h.instance,
        definitions=defs,
        cursor=context.cursor,
    )
    assert sensor(again) == []
    assert list(again.latest_materialization_records_by_partition(FIRST)) == ["2024-02-27"]
    assert (
        again.latest_materialization_records_by_partition(FIRST, after_cursor_partition=True) == {}
    )


def test_the_partition_readers_follow_the_order_of_materializations(h):
    defs = _defs(h)
    _feed(h, FIRST, "2024-02-28", "2024-02-27", "2024-02-28")
    context = build_multi_asset_sensor_context(
        monitored_assets=AssetSelection.assets("first_feed"), instance=h.instance, definitions=defs
    )
    assert context.asset_keys == [FIRST]
    by_day = context.latest_materialization_records_by_partition(FIRST)
    assert list(by_day) == ["2024-02-27", "2024-02-28"]  # 02-28's newest is the latest
    assert len(context.materialization_records_for_key(FIRST)) == 3
    assert len(context.materialization_records_for_key(FIRST, limit=2)) == 2
    assert context.all_partitions_materialized(FIRST, ["2024-02-27", "2024-02-28"])
    assert not context.all_partitions_materialized(FIRST, ["2024-02-26", "2024-02-27"])
    assert not context.all_partitions_materialized(FIRST)  # every day since 2024-01-01
    assert context.get_downstream_partition_keys(
        "2024-02-28", from_asset_key=FIRST, to_asset_key="daily_summary"
    ) == ["2024-02-28"]
    assert context.get_downstream_partition_keys(
        "2024-02-11", from_asset_key="weekly_summary", to_asset_key=FIRST
    ) == [f"2024-02-{d}" for d in range(11, 18)]
    assert set(context.assets_defs_by_key) == {FIRST}
    assert context.assets_defs_by_key[FIRST].key == FIRST
    # Consuming the older 02-28 record's partition with the newest record consumes both.
    context.advance_cursor({FIRST: by_day["2024-02-28"]})
    context.update_cursor_after_evaluation()
    assert list(context.latest_materialization_records_by_partition(FIRST)) == ["2024-02-27"]
    context.advance_all_cursors()
    context.update_cursor_after_evaluation()
    assert context.latest_materialization_records_by_partition(FIRST) == {}
    assert context.get_trailing_unconsumed_events(FIRST) == []


def test_an_earlier_cursor_of_bare_storage_ids_keeps_working(h):
    defs = _defs(h)
    _feed(h, FIRST, "2024-02-26")
    seen = h.instance.get_latest_materialization_record(FIRST).storage_id
    _feed(h, FIRST, "2024-02-27")
    context = build_multi_asset_sensor_context(
        monitored_assets=[FIRST],
        instance=h.instance,
        definitions=defs,
        cursor=json.dumps({"first_feed": seen}),  # what earlier versions stored
    )
    assert list(context.latest_materialization_records_by_partition(FIRST)) == ["2024-02-27"]
    assert context.get_cursor_partition() is None


def test_cursor_from_latest_materializations(h):
    _feed(h, FIRST, "2024-02-26")
    context = build_multi_asset_sensor_context(
        monitored_assets=[FIRST],
        instance=h.instance,
        definitions=_defs(h),
        cursor_from_latest_materializations=True,
    )
    assert context.get_cursor_partition(FIRST) == "2024-02-26"
    assert context.latest_materialization_records_by_key() == {FIRST: None}
    with pytest.raises(InvalidInvocationError, match="not both"):
        build_multi_asset_sensor_context(
            monitored_assets=[FIRST],
            instance=h.instance,
            cursor="{}",
            cursor_from_latest_materializations=True,
        )


# -- mistakes ---------------------------------------------------------------------------


def test_bad_calls_name_what_is_wrong(h):
    defs = _defs(h)
    context = build_multi_asset_sensor_context(
        monitored_assets=[FIRST, SECOND], instance=h.instance, definitions=defs
    )
    with pytest.raises(InvalidInvocationError, match="needs an asset key"):
        context.get_cursor_partition()
    with pytest.raises(InvalidInvocationError, match="partitions is empty"):
        context.all_partitions_materialized(FIRST, [])
    with pytest.raises(InvalidInvocationError, match="'someday' is not a partition"):
        context.get_downstream_partition_keys("someday", FIRST, "daily_summary")
    with pytest.raises(InvalidInvocationError, match="'audit_log' is not monitored"):
        context.latest_materialization_records_by_partition("audit_log")
    external = build_multi_asset_sensor_context(
        monitored_assets=[FIRST, "audit_log"], instance=h.instance, definitions=defs
    )
    with pytest.raises(InvariantViolationError, match="'audit_log' is not partitioned"):
        external.latest_materialization_records_by_partition("audit_log")
    with pytest.raises(InvariantViolationError, match="'audit_log' is not partitioned"):
        external.latest_materialization_records_by_partition_and_asset()
    mixed = build_multi_asset_sensor_context(
        monitored_assets=[FIRST, "weekly_summary"], instance=h.instance, definitions=defs
    )
    with pytest.raises(InvalidInvocationError, match="partitioned the same way"):
        mixed.latest_materialization_records_by_partition_and_asset()
    bare = build_multi_asset_sensor_context(monitored_assets=[FIRST], instance=h.instance)
    with pytest.raises(InvalidInvocationError, match="needs the sensor's definitions"):
        bare.latest_materialization_records_by_partition(FIRST)
    with pytest.raises(InvalidInvocationError, match="is not one it wrote"):
        build_multi_asset_sensor_context(monitored_assets=[FIRST], cursor='{"first_feed": "x"}')
    with pytest.raises(InvalidInvocationError, match="needs the sensor's definitions"):
        build_multi_asset_sensor_context(monitored_assets=AssetSelection.all())


def test_requesting_runs_without_advancing_or_setting_the_cursor_fails_the_tick(h):
    @multi_asset_sensor(monitored_assets=[FIRST], job_name="daily_summary_job")
    def forgetful(context):
        return [
            RunRequest(partition_key=d)
            for d in context.latest_materialization_records_by_partition(FIRST)
        ]

    @multi_asset_sensor(monitored_assets=[FIRST], job_name="daily_summary_job")
    def meddling(context):
        context.advance_all_cursors()
        return SensorResult(cursor="42")

    _feed(h, FIRST, "2024-02-27")
    with pytest.raises(InvariantViolationError, match="without advancing its cursor"):
        forgetful.evaluate_tick(build_sensor_context(instance=h.instance, definitions=_defs(h)))
    with pytest.raises(
        InvariantViolationError, match=r"SensorResult\(cursor=...\), but its cursor is kept"
    ):
        meddling.evaluate_tick(build_sensor_context(instance=h.instance, definitions=_defs(h)))


def test_an_asset_sensor_may_not_set_its_cursor_either(h):
    from trellis import asset_sensor

    @asset_sensor(FIRST, job_name="daily_summary_job")
    def sets_its_own(context, asset_event):
        return SensorResult([RunRequest(partition_key=asset_event.partition)], cursor="0")

    _feed(h, FIRST, "2024-02-27")
    context = build_sensor_context(instance=h.instance, definitions=_defs(h))
    with pytest.raises(InvariantViolationError, match="its cursor is kept for it"):
        sets_its_own.evaluate_tick(context)


def test_run_request_for_partition_is_the_deprecated_spelling_of_a_partition_request():
    from multi_sensor_defs import daily_summary_job

    with pytest.warns(DeprecationWarning, match=r"RunRequest\(partition_key=...\)"):
        request = daily_summary_job.run_request_for_partition("2024-02-27", run_key="k")
    assert request == RunRequest(
        run_key="k", job_name="daily_summary_job", partition_key="2024-02-27"
    )
    with (
        pytest.warns(DeprecationWarning),
        pytest.raises(InvalidInvocationError, match="has no partition '2023-12-31'"),
    ):
        daily_summary_job.run_request_for_partition("2023-12-31")


def test_the_tick_history_reaches_the_multi_asset_context(h):
    from trellis import SkipReason

    @multi_asset_sensor(monitored_assets=[FIRST], job_name="daily_summary_job")
    def remembers(context):
        return SkipReason(f"{context.last_run_key} {context.last_tick_completion_time}")

    context = build_sensor_context(
        instance=h.instance, last_run_key="day-1", last_tick_completion_time=12.5
    )
    assert remembers.evaluate_tick(context).skip_message == "day-1 12.5"
