"""The storage contract, on every back end (in-memory, SQLite, PostgreSQL): runs, events,
the asset index, deletion and retention."""

from __future__ import annotations

import logging
import time
from datetime import UTC, datetime

import pytest
from instance_helpers import event, make_run

from trellis.core.asset_key import AssetKey
from trellis.core.errors import InstanceError
from trellis.core.events import ErrorInfo, EventType
from trellis.core.metadata import MetadataValue
from trellis.core.outputs import AssetMaterialization
from trellis.core.run import RunStatus
from trellis.core.serialization import event_to_dict, run_to_dict

T0 = 1_700_000_000.0


def _materialize(instance, run, key, partition=None, value=0):
    mat = AssetMaterialization(key, None, {"value": MetadataValue(value, "int")}, partition)
    instance.handle_new_events(
        [
            event(
                run,
                EventType.ASSET_MATERIALIZATION,
                step_key=key.to_python_identifier(),
                asset_key=key,
                partition=partition,
                data={"materialization": mat, "metadata": mat.metadata},
            )
        ],
        run,
    )


# -- runs ---------------------------------------------------------------------------------


def test_run_round_trip(any_instance):
    run = make_run(
        "r1",
        "my_job",
        tags={"team": "data", "trellis/partition": "2024-01-01"},
        run_config={"ops": {"a": {"config": {"x": 1, "nested": [1, 2.5, "s", None]}}}},
        op_selection=["a", "b*"],
        asset_selection=[AssetKey(["raw", "orders"])],
        step_keys_to_execute=["a"],
        parent_run_id="r0",
        root_run_id="r0",
    )
    assert any_instance.add_run(run) is run
    back = any_instance.get_run("r1")
    assert run_to_dict(back) == run_to_dict(run)
    assert back.asset_selection == [AssetKey(["raw", "orders"])]
    assert any_instance.get_run("missing") is None


def test_duplicate_run_id_is_refused(any_instance):
    any_instance.add_run(make_run("r1"))
    with pytest.raises(InstanceError, match="already exists"):
        any_instance.add_run(make_run("r1"))


def test_update_run_stores_status_times_and_tags(any_instance):
    run = any_instance.add_run(make_run("r1", tags={"a": "1"}))
    run.status = RunStatus.CANCELED
    run.end_time = T0
    run.tags = {"a": "2", "b": "3"}
    any_instance.update_run(run)
    back = any_instance.get_run("r1")
    assert (back.status, back.end_time, back.tags) == (RunStatus.CANCELED, T0, {"a": "2", "b": "3"})
    assert any_instance.get_runs(tags={"a": "2"})[0].run_id == "r1"
    assert any_instance.get_runs(tags={"a": "1"}) == []


def test_get_runs_filters_newest_first(any_instance):
    specs = [
        ("r1", "etl", RunStatus.SUCCESS, {"team": "a"}, T0 + 1),
        ("r2", "etl", RunStatus.FAILURE, {"team": "b"}, T0 + 2),
        ("r3", "report", RunStatus.SUCCESS, {"team": "a", "env": "prod"}, T0 + 3),
        ("r4", "etl", RunStatus.STARTED, {}, T0 + 4),
    ]
    for run_id, job, status, tags, created in specs:
        any_instance.add_run(make_run(run_id, job, tags=tags, create_time=created, status=status))

    def ids(**kwargs):
        return [r.run_id for r in any_instance.get_runs(**kwargs)]

    assert ids() == ["r4", "r3", "r2", "r1"]
    assert ids(limit=2) == ["r4", "r3"]
    assert ids(job_name="etl") == ["r4", "r2", "r1"]
    assert ids(statuses=[RunStatus.SUCCESS]) == ["r3", "r1"]
    assert ids(statuses=["SUCCESS", "FAILURE"]) == ["r3", "r2", "r1"]
    assert ids(statuses=RunStatus.FAILURE) == ["r2"]
    assert ids(tags={"team": "a"}) == ["r3", "r1"]
    assert ids(tags={"team": ["a", "b"]}) == ["r3", "r2", "r1"]
    assert ids(tags={"team": "a", "env": "prod"}) == ["r3"]
    assert ids(tags={"team": "zzz"}) == []
    assert ids(created_after=T0 + 2) == ["r4", "r3"]
    assert ids(created_before=T0 + 2) == ["r1"]
    assert ids(created_after=datetime.fromtimestamp(T0 + 1, UTC), created_before=T0 + 4) == [
        "r3",
        "r2",
    ]
    assert ids(job_name="etl", statuses=["SUCCESS"], tags={"team": "a"}, limit=5) == ["r1"]


def test_get_run_tags(any_instance):
    any_instance.add_run(make_run("r1", tags={"team": "b", "env": "prod"}))
    any_instance.add_run(make_run("r2", tags={"team": "a"}))
    any_instance.add_run(make_run("r3", tags={"team": "a"}))
    assert any_instance.get_run_tags() == {"env": ["prod"], "team": ["a", "b"]}


# -- events -------------------------------------------------------------------------------


def test_events_round_trip_exactly_and_in_order(any_instance):
    run = any_instance.add_run(make_run("r1"))
    try:
        raise ValueError("boom")
    except ValueError as exc:
        error = ErrorInfo.from_exception(exc)
    events = [
        event(run, EventType.RUN_START, message="start", level=logging.INFO),
        event(run, EventType.STEP_START, step_key="a"),
        event(
            run,
            EventType.STEP_OUTPUT,
            step_key="a",
            data={"output_name": "result", "metadata": {"rows": MetadataValue(3, "int")}},
        ),
        event(
            run,
            EventType.STEP_FAILURE,
            step_key="b",
            level=logging.ERROR,
            data={"error": error, "metadata": {"weird": {1: "int key"}, "nan": float("inf")}},
        ),
        event(run, EventType.LOG_MESSAGE, message="ünïcödé ✓", level=logging.WARNING),
    ]
    any_instance.handle_new_events(events[:2], run)
    any_instance.handle_new_events(events[2:], run)
    stored = any_instance.all_logs("r1")
    assert [event_to_dict(e) for e in stored] == [event_to_dict(e) for e in events]
    assert stored[3].error.message == "ValueError: boom"
    assert stored[3].error.stack == error.stack


def test_get_records_after_cursor(any_instance):
    run = any_instance.add_run(make_run("r1"))
    other = any_instance.add_run(make_run("r2"))
    for n in range(10):
        any_instance.handle_new_events([event(run, EventType.LOG_MESSAGE, message=str(n))], run)
        any_instance.handle_new_events([event(other, EventType.LOG_MESSAGE)], other)
    records = any_instance.get_records("r1")
    assert [r.event.message for r in records] == [str(n) for n in range(10)]
    ids = [r.storage_id for r in records]
    assert ids == sorted(ids) and len(set(ids)) == 10
    tail = any_instance.get_records("r1", after_cursor=ids[6])
    assert [r.event.message for r in tail] == ["7", "8", "9"]
    page = any_instance.get_records("r1", after_cursor=ids[1], limit=3)
    assert [r.event.message for r in page] == ["2", "3", "4"]
    assert any_instance.get_records("r1", after_cursor=ids[-1]) == []
    assert records[0].run_id == "r1" and records[0].timestamp == records[0].event.timestamp
    assert any_instance.get_records("missing") == []


def test_run_status_follows_run_events(any_instance):
    run = any_instance.add_run(make_run("r1"))
    start = event(run, EventType.RUN_START, timestamp=T0)
    any_instance.handle_new_events([start, event(run, EventType.STEP_START)], run)
    stored = any_instance.get_run("r1")
    assert (stored.status, stored.start_time, stored.end_time) == (RunStatus.STARTED, T0, None)
    any_instance.handle_new_events([event(run, EventType.RUN_SUCCESS, timestamp=T0 + 5)], run)
    stored = any_instance.get_run("r1")
    assert (stored.status, stored.end_time) == (RunStatus.SUCCESS, T0 + 5)
    assert any_instance.get_runs(statuses=["SUCCESS"])[0].run_id == "r1"
    for kind, status in [
        (EventType.RUN_FAILURE, RunStatus.FAILURE),
        (EventType.RUN_CANCELED, RunStatus.CANCELED),
    ]:
        other = any_instance.add_run(make_run(f"run-{kind}"))
        batch = [event(other, EventType.RUN_START), event(other, kind)]
        any_instance.handle_new_events(batch, other)
        assert any_instance.get_run(other.run_id).status is status


def test_persistent_run_records_its_process(instance):
    import os

    from trellis.core.run import HOST_TAG, PID_TAG

    run = instance.add_run(make_run("r1"))
    instance.handle_new_events([event(run, EventType.RUN_START)], run)
    tags = instance.get_run("r1").tags
    assert tags[PID_TAG] == str(os.getpid()) and tags[HOST_TAG]
    assert instance.get_runs(tags={PID_TAG: str(os.getpid())})[0].run_id == "r1"


# -- asset index --------------------------------------------------------------------------


def test_materialization_index_newest_first_paginated(any_instance):
    key, other = AssetKey(["warehouse", "orders"]), AssetKey("customers")
    assert any_instance.get_latest_materialization_event(key) is None
    assert any_instance.get_materialization_records(key) == []
    assert any_instance.get_asset_keys() == []
    runs = [any_instance.add_run(make_run(f"r{n}")) for n in range(3)]
    for n in range(7):
        _materialize(any_instance, runs[n % 3], key, value=n)
    _materialize(any_instance, runs[0], other, value=99)
    records = any_instance.get_materialization_records(key)
    values = [r.event.metadata["value"].value for r in records]
    assert values == [6, 5, 4, 3, 2, 1, 0]
    assert [r.storage_id for r in records] == sorted((r.storage_id for r in records), reverse=True)
    first = any_instance.get_materialization_records(key, limit=3)
    second = any_instance.get_materialization_records(
        key, limit=3, before_cursor=first[-1].storage_id
    )
    third = any_instance.get_materialization_records(
        key, limit=3, before_cursor=second[-1].storage_id
    )
    assert [r.event.metadata["value"].value for r in first + second + third] == values
    latest = any_instance.get_latest_materialization_event(key)
    assert latest.metadata["value"].value == 6 and latest.run_id == "r0"
    assert latest.materialization.asset_key == key
    assert any_instance.get_latest_materialization_event(other).metadata["value"].value == 99
    assert any_instance.get_latest_materialization_event("warehouse/orders") is not None
    assert any_instance.get_asset_keys() == [AssetKey("customers"), key]


def test_latest_materialization_by_partition(any_instance):
    key = AssetKey("daily")
    run = any_instance.add_run(make_run("r1"))
    for n, partition in enumerate(["2024-01-01", "2024-01-02", "2024-01-01", None, "2024-01-03"]):
        _materialize(any_instance, run, key, partition=partition, value=n)
    by_partition = any_instance.get_latest_materializations_by_partition(key)
    assert {p: r.event.metadata["value"].value for p, r in by_partition.items()} == {
        "2024-01-01": 2,
        "2024-01-02": 1,
        None: 3,
        "2024-01-03": 4,
    }
    assert by_partition["2024-01-01"].event.partition == "2024-01-01"
    assert any_instance.get_latest_materializations_by_partition(AssetKey("nope")) == {}


def test_observations_register_the_asset_key_only(any_instance):
    run = any_instance.add_run(make_run("r1"))
    key = AssetKey("observed")
    any_instance.handle_new_events([event(run, EventType.ASSET_OBSERVATION, asset_key=key)], run)
    assert any_instance.get_asset_keys() == [key]
    assert any_instance.get_latest_materialization_event(key) is None


# -- deletion and retention ---------------------------------------------------------------


def test_delete_run_removes_events_tags_and_index_entries(any_instance):
    key = AssetKey("a")
    old = any_instance.add_run(make_run("old", tags={"t": "old"}))
    new = any_instance.add_run(make_run("new", tags={"t": "new"}))
    only = AssetKey("only_in_new")
    _materialize(any_instance, old, key, value=1)
    _materialize(any_instance, new, key, value=2)
    _materialize(any_instance, new, only, value=3)
    assert any_instance.delete_run("new") is True
    assert any_instance.get_run("new") is None
    assert any_instance.get_records("new") == []
    assert any_instance.get_run_tags() == {"t": ["old"]}
    assert any_instance.get_latest_materialization_event(key).metadata["value"].value == 1
    assert [r.run_id for r in any_instance.get_materialization_records(key)] == ["old"]
    assert any_instance.get_asset_keys() == [key]
    assert any_instance.get_latest_materialization_event(only) is None
    assert any_instance.delete_run("new") is False
    assert any_instance.delete_run("old") is True
    assert any_instance.get_asset_keys() == []


def test_retention_deletes_old_finished_runs(any_instance):
    now = time.time()
    for run_id, age_days, status in [
        ("ancient", 40, RunStatus.SUCCESS),
        ("old", 31, RunStatus.FAILURE),
        ("old-but-running", 31, RunStatus.STARTED),
        ("recent", 1, RunStatus.SUCCESS),
    ]:
        run = any_instance.add_run(
            make_run(run_id, create_time=now - age_days * 86400, status=status)
        )
        any_instance.handle_new_events([event(run, EventType.LOG_MESSAGE)], run)
    assert any_instance.delete_runs_older_than(30 * 86400) == 2
    assert sorted(r.run_id for r in any_instance.get_runs()) == ["old-but-running", "recent"]
    assert any_instance.all_logs("ancient") == []
    assert len(any_instance.all_logs("recent")) == 1
    assert any_instance.delete_runs_older_than(30 * 86400) == 0


def test_info_counts(any_instance):
    run = any_instance.add_run(make_run("r1"))
    _materialize(any_instance, run, AssetKey("a"))
    info = any_instance.info()
    assert (info["runs"], info["events"], info["asset_keys"]) == (1, 1, 1)
    assert info["is_ephemeral"] is any_instance.is_ephemeral
    if not any_instance.is_ephemeral:
        assert info["backend"] in ("sqlite", "postgres")
        assert info["schema_revision"] == info["head_revision"]
        assert info["home"] == str(any_instance.root_directory)
        assert info["storage_directory"] == str(any_instance.root_directory / "storage")
