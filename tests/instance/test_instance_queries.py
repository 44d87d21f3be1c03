"""The instance query API (Dagster's ``fetch_materializations``, ``fetch_observations``,
``fetch_run_status_changes``, ``get_event_records``, ``RunsFilter`` with ``get_runs`` /
``get_runs_count`` / ``get_run_records``, ``get_asset_records``), on every back end:
paging with cursors both ways, the filters, the records' Dagster shape, bad input."""

from __future__ import annotations

import logging
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest
from instance_helpers import make_run

from trellis import (
    AssetKey,
    AssetMaterialization,
    AssetObservation,
    AssetRecordsFilter,
    AssetValueLoader,
    DagsterEventType,
    DagsterRunStatus,
    DailyPartitionsDefinition,
    Definitions,
    EventLogEntry,
    EventLogRecord,
    EventRecordsFilter,
    EventRecordsResult,
    IOManager,
    RunRecord,
    RunsFilter,
    RunShardedEventsCursor,
    RunStatusChangeRecordsFilter,
    asset,
    io_manager,
    materialize,
)
from trellis.core import event_factory
from trellis.core.errors import InvalidDefinitionError, InvalidInvocationError
from trellis.instance.daemon_records import TickStatus

T0 = 1_700_000_000.0
ORDERS = AssetKey("orders")
USERS = AssetKey(["raw", "users"])


def _materialize(instance, run, key, partition=None, at=None, value=0):
    mat = AssetMaterialization(key, metadata={"value": value}, partition=partition)
    event = event_factory.asset_materialization(run.run_id, run.job_name, "step", mat)
    if at is not None:
        event.timestamp = at
    instance.handle_new_events([event], run)


def _observe(instance, run, key, at=None):
    event = event_factory.asset_observation(
        run.run_id, run.job_name, "step", AssetObservation(key, metadata={"rows": 3})
    )
    if at is not None:
        event.timestamp = at
    instance.handle_new_events([event], run)


def _values(result_or_records):
    records = getattr(result_or_records, "records", result_or_records)
    return [r.asset_materialization.metadata["value"].value for r in records]


@pytest.fixture
def history(any_instance):
    """Five materializations of ``orders`` (values 0..4, one a second from T0), with
    ``raw/users`` materializations and an ``orders`` observation between them."""
    run = any_instance.add_run(make_run("r1", "etl"))
    for i in range(5):
        _materialize(any_instance, run, ORDERS, partition=f"p{i % 2}", at=T0 + i, value=i)
        _materialize(any_instance, run, USERS, at=T0 + i, value=100 + i)
        if i == 2:
            _observe(any_instance, run, ORDERS, at=T0 + 2.5)
    return any_instance


# -- fetch_materializations / fetch_observations ------------------------------------------


def test_fetch_materializations_pages_newest_first_with_the_cursor(history):
    pages = []
    cursor = None
    while True:
        result = history.fetch_materializations(ORDERS, limit=2, cursor=cursor)
        assert isinstance(result, EventRecordsResult)
        pages.append((_values(result), result.has_more))
        if not result.has_more:
            break
        cursor = result.cursor
    assert pages == [([4, 3], True), ([2, 1], True), ([0], False)]
    # The cursor is the last record's storage id; an empty page hands the cursor back.
    last = history.fetch_materializations(ORDERS, limit=2, cursor=result.cursor)
    assert (last.records, last.cursor, last.has_more) == ([], result.cursor, False)
    assert result.cursor == str(result.records[-1].storage_id)


def test_fetch_materializations_ascending_tails_new_events(history):
    first = history.fetch_materializations(ORDERS, limit=3, ascending=True)
    assert (_values(first), first.has_more) == ([0, 1, 2], True)
    second = history.fetch_materializations(ORDERS, limit=3, cursor=first.cursor, ascending=True)
    assert (_values(second), second.has_more) == ([3, 4], False)
    run = history.get_run("r1")
    _materialize(history, run, ORDERS, value=5)
    third = history.fetch_materializations(ORDERS, limit=3, cursor=second.cursor, ascending=True)
    assert (_values(third), third.has_more) == ([5], False)
    ids = [r.storage_id for r in (*first.records, *second.records, *third.records)]
    assert ids == sorted(ids) and len(set(ids)) == 6


def test_has_more_is_exact_when_the_page_is_full(history):
    result = history.fetch_materializations(ORDERS, limit=5)
    assert (_values(result), result.has_more) == ([4, 3, 2, 1, 0], False)
    assert history.fetch_materializations(AssetKey("never"), limit=5) == EventRecordsResult(
        [], None, False
    )


def test_asset_records_filter_by_partition_time_and_storage_id(history):
    def fetch(limit=10, **kwargs):
        return _values(history.fetch_materializations(AssetRecordsFilter(ORDERS, **kwargs), limit))

    assert fetch(asset_partitions=["p1"]) == [3, 1]
    assert fetch(asset_partitions=["p0", "p1"], limit=3) == [4, 3, 2]
    assert fetch(asset_partitions=[]) == []
    assert fetch(after_timestamp=T0 + 1, before_timestamp=T0 + 4) == [3, 2]  # strict
    assert fetch(after_timestamp=datetime.fromtimestamp(T0 + 3, UTC)) == [4]
    every = history.fetch_materializations(ORDERS, limit=10).records
    ids = {value: r.storage_id for value, r in zip(_values(every), every, strict=True)}
    assert fetch(after_storage_id=ids[1]) == [4, 3, 2]
    assert fetch(before_storage_id=ids[1]) == [0]
    assert fetch(storage_ids=[ids[0], ids[3], every[0].storage_id + 10_000]) == [3, 0]
    # A cursor and a bound of the filter: the tighter one wins.
    bounded = AssetRecordsFilter(ORDERS, before_storage_id=ids[2])
    page = history.fetch_materializations(bounded, limit=10, cursor=str(ids[4]))
    assert _values(page) == [1, 0]
    page = history.fetch_materializations(bounded, limit=10, cursor=str(ids[1]))
    assert _values(page) == [0]


def test_fetch_observations(history):
    result = history.fetch_observations(ORDERS, limit=5)
    assert len(result.records) == 1 and not result.has_more
    record = result.records[0]
    assert record.event_type is DagsterEventType.ASSET_OBSERVATION
    assert record.asset_observation.metadata["rows"].value == 3
    assert record.timestamp == T0 + 2.5
    assert history.fetch_observations(AssetRecordsFilter(USERS), limit=5).records == []


def test_a_wiped_asset_has_no_records(history):
    history.wipe_assets([ORDERS])
    assert history.fetch_materializations(ORDERS, limit=5).records == []
    assert _values(history.fetch_materializations(USERS, limit=1)) == [104]


# -- the record's and the entry's Dagster shape -------------------------------------------


def test_event_log_record_and_entry_have_dagster_shape(history):
    record = history.fetch_materializations(ORDERS, limit=1).records[0]
    assert isinstance(record, EventLogRecord)
    assert (record.run_id, record.asset_key, record.partition_key) == ("r1", ORDERS, "p0")
    assert record.event_type is DagsterEventType.ASSET_MATERIALIZATION
    entry = record.event_log_entry
    assert isinstance(entry, EventLogEntry)
    assert (entry.run_id, entry.job_name, entry.step_key, entry.timestamp) == (
        "r1",
        "etl",
        "step",
        T0 + 4,
    )
    assert (
        entry.is_dagster_event
        and entry.dagster_event_type is DagsterEventType.ASSET_MATERIALIZATION
    )
    assert entry.level == logging.DEBUG and "orders" in entry.user_message
    event = entry.get_dagster_event()
    assert event.event_specific_data.materialization.asset_key == ORDERS
    assert event.asset_key == ORDERS and event.partition == "p0"
    assert entry.asset_materialization.metadata["value"].value == 4
    assert entry.dagster_event.event_type_value == "ASSET_MATERIALIZATION"


def test_a_log_line_is_an_entry_without_a_dagster_event(any_instance):
    run = any_instance.add_run(make_run("r1"))
    line = event_factory.log_message("r1", "job", "step", "hello", logging.INFO)
    any_instance.handle_new_events([line], run)
    entry = any_instance.all_logs("r1")[0]
    assert not entry.is_dagster_event
    assert (entry.dagster_event, entry.dagster_event_type, entry.user_message) == (
        None,
        None,
        "hello",
    )
    with pytest.raises(Exception, match="is_dagster_event"):
        entry.get_dagster_event()


# -- get_event_records ----------------------------------------------------------------------


def test_get_event_records_filters_across_assets_and_runs(history):
    mats = DagsterEventType.ASSET_MATERIALIZATION

    def values(limit=None, ascending=False, **kwargs):
        records = history.get_event_records(
            EventRecordsFilter(event_type=mats, **kwargs), limit=limit, ascending=ascending
        )
        assert all(isinstance(r, EventLogRecord) for r in records)
        return _values(records)

    assert values() == [104, 4, 103, 3, 102, 2, 101, 1, 100, 0]
    assert values(limit=3, ascending=True) == [0, 100, 1]
    assert values(asset_key=USERS, limit=2) == [104, 103]
    assert values(asset_key=ORDERS, asset_partitions=["p0"]) == [4, 2, 0]
    assert values(after_timestamp=T0 + 2.5, before_timestamp=T0 + 4) == [103, 3]
    every = history.get_event_records(EventRecordsFilter(mats, asset_key=ORDERS))
    middle = every[2].storage_id
    assert values(asset_key=ORDERS, after_cursor=middle) == [4, 3]
    assert values(asset_key=ORDERS, before_cursor=middle) == [1, 0]
    sharded = RunShardedEventsCursor(id=middle, run_updated_after=datetime.now(UTC))
    assert values(asset_key=ORDERS, after_cursor=sharded) == [4, 3]
    assert values(asset_key=ORDERS, storage_ids=[middle]) == [2]
    observations = history.get_event_records(EventRecordsFilter("ASSET_OBSERVATION"))
    assert [r.asset_key for r in observations] == [ORDERS]


def test_runless_events_are_found(any_instance):
    any_instance.report_runless_asset_event(AssetMaterialization("external", metadata={"value": 7}))
    [record] = any_instance.fetch_materializations(AssetKey("external"), limit=1).records
    assert (record.run_id, _values([record])) == ("", [7])


# -- fetch_run_status_changes ---------------------------------------------------------------


def _finish(instance, run_id, job, success, at):
    run = instance.add_run(make_run(run_id, job, create_time=at))
    end = (
        event_factory.run_success(run_id, job)
        if success
        else event_factory.run_failure(run_id, job, "boom")
    )
    events = [event_factory.run_start(run_id, job), end]
    for event in events:
        event.timestamp = at
    instance.handle_new_events(events, run)


def test_fetch_run_status_changes(any_instance):
    _finish(any_instance, "a1", "etl", True, T0 + 1)
    _finish(any_instance, "b1", "report", True, T0 + 2)
    _finish(any_instance, "a2", "etl", False, T0 + 3)
    _finish(any_instance, "a3", "etl", True, T0 + 4)

    def run_ids(records_filter, **kwargs):
        result = any_instance.fetch_run_status_changes(records_filter, **kwargs)
        return [r.run_id for r in result.records], result.has_more

    assert run_ids(DagsterEventType.RUN_SUCCESS, limit=10) == (["a3", "b1", "a1"], False)
    assert run_ids("RUN_FAILURE", limit=10) == (["a2"], False)
    assert run_ids(DagsterEventType.RUN_START, limit=2, ascending=True) == (["a1", "b1"], True)
    etl = RunStatusChangeRecordsFilter(DagsterEventType.RUN_SUCCESS, job_names=["etl"])
    assert run_ids(etl, limit=10) == (["a3", "a1"], False)
    timed = RunStatusChangeRecordsFilter(
        DagsterEventType.RUN_SUCCESS, after_timestamp=T0 + 1, before_timestamp=T0 + 4
    )
    assert run_ids(timed, limit=10) == (["b1"], False)
    first = any_instance.fetch_run_status_changes(DagsterEventType.RUN_SUCCESS, limit=1)
    rest = any_instance.fetch_run_status_changes(
        DagsterEventType.RUN_SUCCESS, limit=5, cursor=first.cursor
    )
    assert [r.run_id for r in rest.records] == ["b1", "a1"]
    assert rest.records[0].event_log_entry.dagster_event_type is DagsterEventType.RUN_SUCCESS


# -- runs ----------------------------------------------------------------------------------


@pytest.fixture
def runs(any_instance):
    """Four runs: r1..r4 created a second apart from T0 (jobs, statuses and tags vary)."""
    specs = [
        ("r1", "etl", DagsterRunStatus.SUCCESS, {"team": "a"}),
        ("r2", "etl", DagsterRunStatus.FAILURE, {"team": "b"}),
        ("r3", "report", DagsterRunStatus.SUCCESS, {"team": "a", "env": "prod"}),
        ("r4", "etl", DagsterRunStatus.STARTED, {}),
    ]
    for i, (run_id, job, status, tags) in enumerate(specs):
        any_instance.add_run(make_run(run_id, job, tags=tags, create_time=T0 + i, status=status))
    return any_instance


def _ids(runs_or_records):
    return [getattr(r, "dagster_run", r).run_id for r in runs_or_records]


def test_runs_filter_with_get_runs_and_get_runs_count(runs):
    def check(expected, **kwargs):
        filters = RunsFilter(**kwargs)
        assert _ids(runs.get_runs(filters=filters)) == expected
        assert _ids(runs.get_runs(filters)) == expected  # positional, as in Dagster
        assert runs.get_runs_count(filters) == len(expected)

    check(["r4", "r3", "r2", "r1"])
    check(["r3", "r1"], run_ids=["r1", "r3", "nope"])
    check([], run_ids=[])
    check(["r4", "r2", "r1"], job_name="etl")
    check(["r3", "r1"], statuses=[DagsterRunStatus.SUCCESS])
    check(["r2"], statuses=["FAILURE"], job_name="etl")
    check(["r3", "r2", "r1"], statuses=[DagsterRunStatus.SUCCESS, DagsterRunStatus.FAILURE])
    check(["r3", "r1"], tags={"team": "a"})
    check(["r3", "r2", "r1"], tags={"team": ["a", "b"]})
    check(["r3"], tags={"team": "a", "env": "prod"})
    check(["r3", "r2"], created_after=T0, created_before=T0 + 3)  # strict
    check(["r4"], created_after=datetime.fromtimestamp(T0 + 2, UTC))
    assert runs.get_runs_count() == 4
    # Trellis' keyword filters keep working.
    assert _ids(runs.get_runs(statuses=DagsterRunStatus.SUCCESS, limit=1)) == ["r3"]


def test_runs_filter_by_update_time(runs):
    time.sleep(0.02)
    mark = time.time()
    time.sleep(0.02)
    run = runs.get_run("r2")
    run.tags["seen"] = "yes"
    runs.update_run(run)
    assert _ids(runs.get_runs(RunsFilter(updated_after=mark))) == ["r2"]
    assert _ids(runs.get_runs(RunsFilter(updated_before=mark))) == ["r4", "r3", "r1"]
    assert runs.get_runs_count(RunsFilter(updated_after=datetime.fromtimestamp(mark, UTC))) == 1


def test_get_runs_pages_with_a_run_id_cursor_both_ways(runs):
    assert _ids(runs.get_runs(limit=2)) == ["r4", "r3"]
    assert _ids(runs.get_runs(cursor="r3", limit=2)) == ["r2", "r1"]
    assert _ids(runs.get_runs(cursor="r1")) == []
    assert _ids(runs.get_runs(ascending=True, limit=3)) == ["r1", "r2", "r3"]
    assert _ids(runs.get_runs(cursor="r2", ascending=True)) == ["r3", "r4"]
    etl = RunsFilter(job_name="etl")
    assert _ids(runs.get_runs(etl, cursor="r4", limit=1)) == ["r2"]
    assert runs.get_run_ids(etl, cursor="r4") == ["r2", "r1"]


def test_get_run_records(runs):
    records = runs.get_run_records(limit=2)
    assert all(isinstance(r, RunRecord) for r in records)
    assert _ids(records) == ["r4", "r3"]
    r3 = records[1]
    assert r3.create_timestamp == datetime.fromtimestamp(T0 + 2, UTC)
    assert r3.update_timestamp.tzinfo is not None and r3.update_timestamp.timestamp() > T0
    assert (r3.start_time, r3.end_time) == (None, None)
    assert _ids(runs.get_run_records(RunsFilter(job_name="etl"), cursor="r4")) == ["r2", "r1"]
    assert _ids(runs.get_run_records(ascending=True, cursor="r2")) == ["r3", "r4"]
    by_id = runs.get_run_records(order_by="id", ascending=True)
    assert [r.storage_id for r in by_id] == sorted(r.storage_id for r in by_id)
    assert runs.get_run_record_by_id("r3").dagster_run.job_name == "report"
    assert runs.get_run_record_by_id("missing") is None


def test_get_run_records_ordered_by_end_time(runs):
    for run_id, end in (("r1", T0 + 30), ("r3", T0 + 10), ("r2", T0 + 20)):
        run = runs.get_run(run_id)
        run.end_time = end
        runs.update_run(run)
    newest_end = runs.get_run_records(order_by="end_time")
    assert _ids(newest_end) == ["r1", "r2", "r3", "r4"]  # r4 has not ended: last
    assert newest_end[0].end_time == T0 + 30
    assert _ids(runs.get_run_records(order_by="end_time", cursor="r2")) == ["r3", "r4"]
    assert _ids(runs.get_run_records(order_by="end_time", ascending=True, limit=2)) == ["r4", "r3"]


# -- the asset index ------------------------------------------------------------------------


def test_get_asset_records_and_latest_materialization_events(history):
    records = history.get_asset_records()
    assert [r.asset_entry.asset_key for r in records] == [ORDERS, USERS]
    orders = history.get_asset_records([ORDERS, AssetKey("never")])
    [entry] = [r.asset_entry for r in orders]
    assert entry.last_materialization.asset_materialization.metadata["value"].value == 4
    assert entry.last_materialization_record.storage_id == entry.last_materialization_storage_id
    assert entry.last_run_id == "r1"
    assert entry.last_observation.asset_observation.asset_key == ORDERS
    latest = history.get_latest_materialization_events([ORDERS, "never"])
    assert latest[AssetKey("never")] is None
    assert latest[ORDERS].asset_materialization.metadata["value"].value == 4
    assert history.get_latest_materialization_event(USERS).asset_key == USERS


# -- bad input ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda i: i.fetch_materializations(ORDERS, limit=0), "limit must be an int"),
        (lambda i: i.fetch_materializations(ORDERS, limit="5"), "limit must be an int"),
        (lambda i: i.fetch_materializations(ORDERS, 5, cursor="abc"), "cursor must be"),
        (lambda i: i.fetch_materializations(ORDERS, 5, cursor=12), "cursor must be"),
        (lambda i: i.fetch_materializations("orders", 5), "records_filter must be an AssetKey"),
        (lambda i: i.fetch_observations(ORDERS, limit=-1), "fetch_observations: limit"),
        (lambda i: i.fetch_run_status_changes("RUN_EXPLODED", 5), "event_type must be a Dag"),
        (
            lambda i: i.fetch_run_status_changes(DagsterEventType.STEP_START, 5),
            "must be a run status event type",
        ),
        (lambda i: i.get_event_records(EventRecordsFilter("NOPE")), "event_type must be"),
        (lambda i: i.get_event_records("ASSET_MATERIALIZATION"), "must be an EventRecordsFilter"),
        (
            lambda i: i.get_event_records(EventRecordsFilter("STEP_START"), limit=0),
            "get_event_records: limit",
        ),
        (
            lambda i: EventRecordsFilter("STEP_START", after_cursor="10"),
            "after_cursor must be a storage id",
        ),
        (lambda i: AssetRecordsFilter(ORDERS, after_timestamp="today"), "after_timestamp must"),
        (lambda i: AssetRecordsFilter(ORDERS, tags={"a": "b"}), "tags is not supported"),
        (lambda i: AssetRecordsFilter(ORDERS, storage_ids=[1, None]), "storage_ids must be"),
        (lambda i: RunsFilter(statuses=["DONE"]), "'DONE' in statuses is not a run status"),
        (lambda i: RunsFilter(snapshot_id="abc"), "snapshot_id is not supported"),
        (lambda i: RunsFilter(tags={"a": 1}), "tags"),
        (lambda i: i.get_run_records(order_by="name"), "order_by must be one of"),
        (lambda i: i.get_runs(cursor="no-such-run"), "'no-such-run' is not the id of a stored"),
        (lambda i: i.get_run_records(cursor="nope"), "'nope' is not the id of a stored run"),
        (lambda i: i.get_runs(filters={"job_name": "etl"}), "filters must be a RunsFilter"),
        (lambda i: i.get_runs(RunsFilter(), job_name="etl"), "not both"),
        (lambda i: i.get_runs(limit=0), "get_runs: limit"),
    ],
)
def test_bad_input_is_refused_naming_the_argument(history, call, message):
    with pytest.raises(InvalidInvocationError, match=message):
        call(history)


# -- porting: a sensor written the Dagster way, ticked by the daemon ------------------------


def test_a_dagster_style_sensor_pages_through_materializations_with_its_cursor(any_instance):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "daemon"))
    from daemon_helpers import Harness

    harness = Harness(any_instance, defs_file=str(Path(__file__).with_name("query_sensor_defs.py")))
    orders = harness.location.definitions.get_assets_def("orders")
    made = [materialize([orders], instance=any_instance).run_id for _ in range(3)]

    def tick(seconds):
        harness.at(seconds)
        latest = any_instance.get_ticks("orders_sensor")[0]
        runs = [any_instance.get_run(run_id) for run_id in latest.run_ids]
        return latest, [r.tags["orders_run"] for r in runs], [r.tags["in_flight"] for r in runs]

    first, from_runs, in_flight = tick(0)
    assert (first.status, from_runs, in_flight) == (TickStatus.SUCCESS, made[:2], ["0", "0"])
    second, from_runs, in_flight = tick(30)
    assert (second.status, from_runs, in_flight) == (TickStatus.SUCCESS, made[2:], ["2"])
    third, from_runs, _ = tick(60)
    assert (third.status, from_runs) == (TickStatus.SKIPPED, [])
    newest = materialize([orders], instance=any_instance).run_id
    fourth, from_runs, _ = tick(90)
    assert (fourth.status, from_runs) == (TickStatus.SUCCESS, [newest])
    # The cursor the sensor kept is the storage id of the last materialization it saw.
    stored = any_instance.get_instigator_state("orders_sensor").cursor
    latest = any_instance.fetch_materializations(AssetKey("orders"), limit=1).records[0]
    assert stored == str(latest.storage_id)
    requested = any_instance.get_run_records(RunsFilter(tags={"orders_run": [*made, newest]}))
    assert [r.dagster_run.job_name for r in requested] == ["report_job"] * 4


# -- AssetValueLoader -----------------------------------------------------------------------


def test_asset_value_loader_loads_through_the_io_managers_built_once(instance):
    stored: dict = {}
    lifecycle: list[str] = []

    class DictIOManager(IOManager):
        def handle_output(self, context, obj):
            stored[
                (context.asset_key, context.partition_key if context.has_partition_key else None)
            ] = obj

        def load_input(self, context):
            lifecycle.append(f"load {context.asset_key.to_user_string()} as {context.dagster_type}")
            key = context.asset_partition_key if context.has_asset_partitions else None
            return stored[(context.asset_key, key)]

    @io_manager
    def dict_io_manager(_init_context):
        lifecycle.append("built")
        yield DictIOManager()
        lifecycle.append("torn down")

    daily = DailyPartitionsDefinition(start_date="2024-01-01")

    @asset(io_manager_key="dicts")
    def numbers() -> list[int]:
        return [1, 2, 3]

    @asset(io_manager_key="dicts", partitions_def=daily)
    def day(context) -> str:
        return f"day {context.partition_key}"

    @asset
    def on_disk() -> dict:
        return {"a": 1}

    defs = Definitions(assets=[numbers, day, on_disk], resources={"dicts": dict_io_manager})
    assert materialize([numbers, on_disk], instance=instance, resources=defs.resources).success
    assert materialize(
        [day], instance=instance, partition_key="2024-01-02", resources=defs.resources
    ).success
    lifecycle.clear()
    with defs.get_asset_value_loader(instance) as loader:
        assert isinstance(loader, AssetValueLoader)
        assert loader.load_asset_value("numbers", python_type=list) == [1, 2, 3]
        assert (
            loader.load_asset_value(AssetKey("day"), partition_key="2024-01-02") == "day 2024-01-02"
        )
        assert loader.load_asset_value("on_disk") == {"a": 1}  # the default fs IO manager
        with pytest.raises(InvalidInvocationError, match="pass partition_key"):
            loader.load_asset_value("day")
        with pytest.raises(InvalidDefinitionError, match="not an asset of these definitions"):
            loader.load_asset_value("nope")
        assert lifecycle == [
            "built",
            f"load numbers as {list}",
            "load day as None",
        ]
    assert lifecycle[-1] == "torn down"
    assert defs.load_asset_value("on_disk", instance=instance) == {"a": 1}
