"""Backfill records kept by every back end (memory, SQLite, PostgreSQL): stored whole,
updated in place, listed newest first by status, their stamps (id, status, update time)
read without their plans, kept across reopening."""

from __future__ import annotations

from trellis.instance.backfills import BackfillChunk, BackfillRecord, BackfillStatus
from trellis.instance.instance import Instance


def _record(backfill_id: str, created: float, **changes) -> BackfillRecord:
    record = BackfillRecord(
        backfill_id,
        BackfillStatus.REQUESTED,
        ["daily"],
        ["2024-01-01", "2024-01-02", "2024-01-03"],
        [
            BackfillChunk(["daily"], ["2024-01-01", "2024-01-02"], [], True),
            BackfillChunk(["daily"], ["2024-01-03"], [0], False),
        ],
        max_partitions_per_run=2,
        tags={"team": "x"},
        create_timestamp=created,
        update_timestamp=created,
    )
    for name, value in changes.items():
        setattr(record, name, value)
    return record


def test_a_record_is_stored_whole_and_updated_in_place(any_instance):
    record = _record("abcdefgh", 100.0, counts={"pending": 3})
    any_instance.add_backfill(record)
    assert any_instance.get_backfill("abcdefgh") == record
    record.launched = {0: "run-0", 1: "run-1"}
    record.counts = {"materialized": 2, "failed": 1}
    record.status = BackfillStatus.FAILED
    record.end_timestamp = record.update_timestamp = 160.5
    any_instance.update_backfill(record)
    stored = any_instance.get_backfill("abcdefgh")
    assert stored == record
    assert stored.run_ids == ["run-0", "run-1"]
    assert stored.chunks[1].after == [0] and stored.chunks[0].range_run
    assert any_instance.get_backfill("nope") is None


def test_backfills_are_listed_newest_first_by_status(any_instance):
    any_instance.add_backfill(_record("first", 1.0))
    any_instance.add_backfill(_record("second", 2.0, status=BackfillStatus.CANCELING))
    any_instance.add_backfill(_record("third", 3.0, status=BackfillStatus.COMPLETED))
    assert [r.backfill_id for r in any_instance.get_backfills()] == ["third", "second", "first"]
    active = any_instance.get_backfills(
        statuses=(BackfillStatus.REQUESTED, BackfillStatus.CANCELING)
    )
    assert [r.backfill_id for r in active] == ["second", "first"]
    assert [r.backfill_id for r in any_instance.get_backfills(limit=1)] == ["third"]


def test_stamps_show_what_changed_without_the_plans(any_instance):
    any_instance.add_backfill(_record("first", 1.0))
    any_instance.add_backfill(_record("second", 2.0))
    assert any_instance.get_backfill_stamps(5) == [
        ("second", "REQUESTED", 2.0),
        ("first", "REQUESTED", 1.0),
    ]
    changed = _record("first", 1.0, status=BackfillStatus.CANCELING, update_timestamp=7.5)
    any_instance.update_backfill(changed)
    assert any_instance.get_backfill_stamps(1) == [("second", "REQUESTED", 2.0)]
    assert any_instance.get_backfill_stamps(5)[1] == ("first", "CANCELING", 7.5)


def test_records_outlive_the_process_that_wrote_them(instance, tmp_path):
    instance.add_backfill(_record("kept1234", 5.0, parent_backfill_id="parent12"))
    ref = instance.get_ref()
    instance.dispose()
    again = Instance.from_ref(ref)
    try:
        assert again.get_backfill("kept1234").parent_backfill_id == "parent12"
    finally:
        again.dispose()
