"""Declarative-automation evaluation records in the instance (table
``asset_automation_evaluations``) on every back end, what the automation loop stores there
on SQLite and PostgreSQL, and the migration that adds the table."""

from __future__ import annotations

from contextlib import contextmanager

import sqlalchemy as sa

from trellis import AutomationCondition, Definitions, StaticPartitionsDefinition, asset, materialize
from trellis.automation.loop import AutomationLoop
from trellis.core.asset_key import AssetKey
from trellis.instance.automation_records import AutomationEvaluationRecord
from trellis.instance.config import StorageSpec
from trellis.instance.instance import Instance
from trellis.instance.sql import migrate as migrations
from trellis.instance.sql.database import Database
from trellis.instance.sqlite.schema import SCHEMA_REVISION

ORDERS = AssetKey(["warehouse", "orders"])


def _record(evaluation_id: int, requested: int = 0, key: AssetKey = ORDERS, note: str = "x"):
    body = {
        "tree": {"name": "eager", "note": note},
        "partitioned": False,
        "requested": bool(requested),
    }
    return AutomationEvaluationRecord(key, evaluation_id, 1000.0 + evaluation_id, requested, body)


def test_records_are_stored_and_read_newest_first(any_instance):
    assert any_instance.get_automation_evaluations(ORDERS) == []
    assert any_instance.get_max_automation_evaluation_id() is None
    any_instance.add_automation_evaluations([_record(1), _record(2, 1), _record(5)])
    any_instance.add_automation_evaluations([_record(3, key=AssetKey("other"))])
    found = any_instance.get_automation_evaluations(ORDERS)
    assert [r.evaluation_id for r in found] == [5, 2, 1]
    assert found[1] == _record(2, 1)
    assert [r.evaluation_id for r in any_instance.get_automation_evaluations(ORDERS, limit=2)] == [
        5,
        2,
    ]
    older = any_instance.get_automation_evaluations("warehouse/orders", before_evaluation_id=5)
    assert [r.evaluation_id for r in older] == [2, 1]
    assert any_instance.get_max_automation_evaluation_id() == 5


def test_a_record_stored_again_replaces_the_first(any_instance):
    any_instance.add_automation_evaluations([_record(7, note="first try")])
    any_instance.add_automation_evaluations([_record(7, 1, note="retried")])
    found = any_instance.get_automation_evaluations(ORDERS)
    assert len(found) == 1
    assert found[0].body["tree"]["note"] == "retried" and found[0].num_requested == 1


LETTERS = StaticPartitionsDefinition(["a", "b", "c"])


@asset(partitions_def=LETTERS)
def raw(): ...


@asset(partitions_def=LETTERS, automation_condition=AutomationCondition.eager())
def clean(raw): ...


def test_the_loop_records_each_changed_evaluation_with_its_tree(instance):
    defs = Definitions(assets=[raw, clean])
    loop = AutomationLoop()
    first = loop.run_once(instance, defs, 1_700_000_000.0, None)
    materialize([raw], instance=instance, partition_key="b", resources={})
    second = loop.run_once(instance, defs, 1_700_000_060.0, first.cursor)
    third = loop.run_once(instance, defs, 1_700_000_120.0, second.cursor)
    fourth = loop.run_once(instance, defs, 1_700_000_180.0, third.cursor)
    fifth = loop.run_once(instance, defs, 1_700_000_240.0, fourth.cursor)
    ticks = (first, second, third, fourth, fifth)
    assert [len(t.run_requests) for t in ticks] == [0, 1, 0, 0, 0]
    assert second.run_requests[0].partition_key == "b"
    assert [len(t.evaluations) for t in ticks] == [1, 1, 1, 1, 0]
    records = instance.get_automation_evaluations("clean")
    # the fifth evaluation's tree equals the fourth's: not recorded again
    assert [r.evaluation_id for r in records] == [4, 3, 2, 1]
    latest_requested = records[2]
    assert latest_requested.num_requested == 1
    assert latest_requested.body["requested"] == ["b"]
    tree = latest_requested.body["tree"]
    assert (tree["label"], tree["name"], tree["true"], tree["num_candidates"]) == (
        "eager",
        "AND",
        ["b"],
        3,
    )
    assert [c["name"] for c in tree["children"]][:2] == ["in_latest_time_window", "SINCE"]
    assert latest_requested.timestamp == 1_700_000_060.0


def test_a_tick_repeated_from_the_same_cursor_replaces_its_records(instance):
    defs = Definitions(assets=[raw, clean])
    loop = AutomationLoop()
    first = loop.run_once(instance, defs, 1_700_000_000.0, None)
    materialize([raw], instance=instance, partition_key="a")
    crashed = loop.run_once(instance, defs, 1_700_000_060.0, first.cursor)
    again = loop.run_once(instance, defs, 1_700_000_061.0, first.cursor)  # cursor not stored
    assert again.evaluation_id == crashed.evaluation_id == 2
    assert [r.run_key for r in again.run_requests] == [r.run_key for r in crashed.run_requests]
    assert [r.evaluation_id for r in instance.get_automation_evaluations("clean")] == [2, 1]


def test_a_sensor_without_a_cursor_continues_the_instances_evaluation_ids(instance):
    defs = Definitions(assets=[raw, clean])
    loop = AutomationLoop()
    loop.run_once(instance, defs, 1_700_000_000.0, None)
    fresh = loop.run_once(instance, defs, 1_700_000_060.0, None)  # the cursor was reset
    assert fresh.evaluation_id == 2
    assert [r.evaluation_id for r in instance.get_automation_evaluations("clean")] == [2, 1]


@contextmanager
def _through_sqlalchemy(instance: Instance):
    if instance.storage.backend != "sqlite":
        yield instance.storage.db
        return
    db = Database(StorageSpec("sqlite", path=instance.storage.db.path))
    try:
        yield db
    finally:
        db.dispose()


def test_a_database_at_revision_0003_gets_the_table_on_open(instance):
    with _through_sqlalchemy(instance) as db:
        db.write(lambda conn: migrations.downgrade(conn, "0003"))
        tables = db.read(lambda conn: set(sa.inspect(conn).get_table_names()))
    assert "asset_automation_evaluations" not in tables
    instance.dispose()
    with Instance.from_ref(instance.get_ref()) as reopened:
        assert reopened.storage.opened["from_revision"] == "0003"
        assert reopened.info()["schema_revision"] == SCHEMA_REVISION  # the head
        reopened.add_automation_evaluations([_record(1)])
        assert len(reopened.get_automation_evaluations(ORDERS)) == 1
