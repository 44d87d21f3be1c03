"""The asset check index on every back end (in-memory, SQLite, PostgreSQL): the latest
evaluation of each check, a check's history newest first in pages, what deleting a run
and wiping an asset do to it, runs that record their checks, and the upgrade of a
database made before the index existed."""

from __future__ import annotations

import sqlalchemy as sa
from instance_helpers import make_run

from trellis import (
    AssetCheckKey,
    AssetCheckResult,
    AssetKey,
    AssetSelection,
    Definitions,
    asset,
    asset_check,
    materialize,
)
from trellis.core import event_factory
from trellis.core.asset_checks import AssetCheckEvaluation
from trellis.instance.config import StorageSpec
from trellis.instance.instance import Instance
from trellis.instance.sql import migrate as migrations
from trellis.instance.sql.database import Database

ORDERS = AssetKey(["shop", "orders"])
HAS_ROWS = AssetCheckKey(ORDERS, "has_rows")
FRESH = AssetCheckKey(ORDERS, "fresh")
OTHER = AssetCheckKey(AssetKey("revenue"), "positive")


def _evaluate(instance, run, *outcomes):
    """Store one batch with an evaluation per ``(check key, passed)`` in ``outcomes``."""
    events = [
        event_factory.asset_check_evaluation(
            run.run_id,
            run.job_name,
            "step",
            AssetCheckEvaluation(key.asset_key, key.name, passed, {"n": i}),
        )
        for i, (key, passed) in enumerate(outcomes)
    ]
    instance.handle_new_events(events, run)


def _run(instance, run_id):
    return instance.add_run(make_run(run_id))


def test_latest_evaluation_of_each_check_and_checks_that_never_ran(any_instance):
    first, second = _run(any_instance, "r1"), _run(any_instance, "r2")
    _evaluate(any_instance, first, (HAS_ROWS, False), (FRESH, True), (OTHER, True))
    _evaluate(any_instance, second, (HAS_ROWS, True))
    never = AssetCheckKey(ORDERS, "never_ran")
    latest = any_instance.get_latest_asset_check_evaluations([HAS_ROWS, FRESH, never])
    assert set(latest) == {HAS_ROWS, FRESH}
    assert latest[HAS_ROWS].passed is True and latest[FRESH].passed is True
    record = any_instance.get_latest_asset_check_evaluation_record(HAS_ROWS)
    assert record.run_id == "r2" and record.asset_check_evaluation.check_name == "has_rows"
    assert any_instance.get_latest_asset_check_evaluation_record(never) is None


def test_history_is_newest_first_in_pages_and_points_at_the_stored_events(any_instance):
    runs = [_run(any_instance, f"r{i}") for i in range(5)]
    for i, run in enumerate(runs):
        # two evaluations of one asset's checks in one batch: each indexed on its own event
        _evaluate(any_instance, run, (FRESH, True), (HAS_ROWS, i % 2 == 0))
    history = any_instance.get_asset_check_evaluation_records(HAS_ROWS)
    assert [r.run_id for r in history] == ["r4", "r3", "r2", "r1", "r0"]
    assert [r.asset_check_evaluation.passed for r in history] == [True, False, True, False, True]
    for record in history:  # the record is the evaluation event stored in the run's log
        stored = {r.storage_id: r.event for r in any_instance.get_records(record.run_id)}
        assert stored[record.storage_id].data.evaluation.check_name == "has_rows"
    page = any_instance.get_asset_check_evaluation_records(HAS_ROWS, limit=2)
    assert [r.run_id for r in page] == ["r4", "r3"]
    rest = any_instance.get_asset_check_evaluation_records(
        HAS_ROWS, limit=10, before_cursor=page[-1].storage_id
    )
    assert [r.run_id for r in rest] == ["r2", "r1", "r0"]
    assert len(any_instance.get_asset_check_evaluation_records(FRESH)) == 5


def test_deleting_a_run_drops_its_evaluations_and_wiping_drops_the_history(any_instance):
    old, new = _run(any_instance, "old"), _run(any_instance, "new")
    _evaluate(any_instance, old, (HAS_ROWS, True), (OTHER, False))
    _evaluate(any_instance, new, (HAS_ROWS, False))
    for run in (old, new):
        any_instance.handle_new_events([event_factory.run_success(run.run_id, "job")], run)
    assert any_instance.delete_run("new")
    assert [r.run_id for r in any_instance.get_asset_check_evaluation_records(HAS_ROWS)] == ["old"]
    assert any_instance.get_latest_asset_check_evaluations([HAS_ROWS])[HAS_ROWS].passed is True
    any_instance.wipe_assets([ORDERS])
    assert any_instance.get_asset_check_evaluation_records(HAS_ROWS) == []
    assert set(any_instance.get_latest_asset_check_evaluations([HAS_ROWS, OTHER])) == {OTHER}


@asset(key=ORDERS)
def orders() -> list[int]:
    return [1, 2, 3]


@asset_check(asset=orders, blocking=True)
def has_rows(orders: list[int]) -> AssetCheckResult:
    return AssetCheckResult(passed=len(orders) > 0, metadata={"rows": len(orders)})


def test_runs_record_their_evaluations_and_a_reopened_instance_reads_them(instance, tmp_path):
    first = materialize([orders, has_rows], instance=instance)
    defs = Definitions(assets=[orders], asset_checks=[has_rows])
    second = defs.get_implicit_global_asset_job_def().execute_in_process(
        instance=instance, asset_selection=AssetSelection.checks_for_assets(orders)
    )
    assert [e.step_key for e in second.get_step_success_events()] == ["shop__orders_has_rows"]
    assert second.run.asset_selection == []
    assert second.run.asset_check_selection == ["shop/orders:has_rows"]
    instance.dispose()
    with Instance.from_ref(instance.get_ref()) as reopened:
        history = reopened.get_asset_check_evaluation_records(HAS_ROWS)
        assert [r.run_id for r in history] == [second.run_id, first.run_id]
        # both evaluated the materialization of the first run, the latest one stored
        materialization = reopened.get_latest_materialization_record(ORDERS)
        for record in history:
            target = record.asset_check_evaluation.target_materialization_data
            assert target.run_id == first.run_id
            assert target.storage_id == materialization.storage_id
        assert reopened.get_run(second.run_id).asset_check_selection == ["shop/orders:has_rows"]


def test_a_database_made_before_the_check_index_is_upgraded_and_indexes_new_evaluations(
    instance,
):
    run = _run(instance, "before")
    if instance.storage.backend == "sqlite":  # migrations go through SQLAlchemy
        db = Database(StorageSpec("sqlite", path=instance.storage.db.path))
    else:
        db = Database(instance.settings.storage)
    try:
        db.write(lambda conn: migrations.downgrade(conn, "0003"))
        tables = db.read(lambda conn: set(sa.inspect(conn).get_table_names()))
    finally:
        db.dispose()
    assert "asset_check_evaluations" not in tables
    instance.dispose()
    with Instance.from_ref(instance.get_ref()) as reopened:
        assert reopened.storage.opened["from_revision"] == "0003"
        assert reopened.info()["schema_revision"] == migrations.head_revision()
        _evaluate(reopened, run, (HAS_ROWS, True))
        (record,) = reopened.get_asset_check_evaluation_records(HAS_ROWS)
        assert record.run_id == "before"
