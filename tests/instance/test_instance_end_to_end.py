"""A real run into a durable instance, read back by a fresh ``Instance.get()``; and the
cost of storing a step's events."""

from __future__ import annotations

import pytest
from instance_helpers import event, make_run

from trellis import AssetKey, asset, job, materialize, op
from trellis.core.events import EventType
from trellis.core.run import RunStatus
from trellis.core.serialization import event_to_dict
from trellis.instance.instance import Instance


@op
def make_numbers():
    """Numbers."""
    return [1, 2, 3]


@op
def add_up(numbers):
    """Their sum."""
    return sum(numbers)


@job(tags={"team": "data"})
def numbers_job():
    """A two-step job."""
    add_up(make_numbers())


@asset
def raw_orders():
    """An upstream asset."""
    return [1, 2]


@asset
def order_count(raw_orders):
    """A downstream asset."""
    return len(raw_orders)


@pytest.fixture
def home(tmp_path, monkeypatch):
    """``$TRELLIS_HOME`` in a temporary directory."""
    monkeypatch.setenv("TRELLIS_HOME", str(tmp_path / "home"))
    return tmp_path / "home"


def test_job_run_is_stored_and_read_back_by_a_fresh_instance(home):
    with Instance.get() as instance:
        result = numbers_job.execute_in_process(instance=instance)
    assert result.success
    with Instance.get() as fresh:
        run = fresh.get_run(result.run_id)
        assert run.job_name == "numbers_job" and run.status is RunStatus.SUCCESS
        assert run.tags["team"] == "data"
        assert run.start_time <= run.end_time
        stored = fresh.all_logs(result.run_id)
        assert [event_to_dict(e) for e in stored] == [event_to_dict(e) for e in result.all_events]
        assert stored[0].event_type is EventType.RUN_START
        assert stored[-1].event_type is EventType.RUN_SUCCESS
        assert [r.run_id for r in fresh.get_runs(job_name="numbers_job")] == [result.run_id]


def test_failed_run_is_stored_as_failed(home):
    @op
    def explode():
        """Fails."""
        raise RuntimeError("kaboom")

    @job
    def failing_job():
        """Fails."""
        explode()

    with Instance.get() as instance:
        result = failing_job.execute_in_process(instance=instance, raise_on_error=False)
    assert not result.success
    with Instance.get() as fresh:
        assert fresh.get_run(result.run_id).status is RunStatus.FAILURE
        failures = [e for e in fresh.all_logs(result.run_id) if e.is_step_failure]
        assert "kaboom" in failures[0].error.to_string()


def test_materialize_fills_the_asset_index(home):
    with Instance.get() as instance:
        first = materialize([raw_orders, order_count], instance=instance)
        second = materialize([raw_orders, order_count], instance=instance)
        assert (instance.storage_directory() / "order_count").exists()
    with Instance.get() as fresh:
        assert fresh.get_asset_keys() == [AssetKey("order_count"), AssetKey("raw_orders")]
        latest = fresh.get_latest_materialization_event(AssetKey("order_count"))
        assert latest.run_id == second.run_id
        records = fresh.get_materialization_records(AssetKey("raw_orders"))
        assert [r.run_id for r in records] == [second.run_id, first.run_id]


def test_a_step_batch_is_a_fixed_number_of_statements_not_one_per_event(tmp_path):
    """A step's batch of 6 events (one with a materialization) is written with the same
    few statements however many events it holds: no query per event. (Speed itself is
    measured by the benchmark, not here.)"""
    with Instance.from_config(tmp_path, {}) as instance:
        run = instance.add_run(make_run("r1"))
        key = AssetKey("a")

        def batch(size: int) -> list:
            middle = [event(run, EventType.LOG_MESSAGE, step_key="s") for _ in range(size)]
            return [
                event(run, EventType.STEP_START, step_key="s"),
                *middle,
                event(run, EventType.ASSET_MATERIALIZATION, step_key="s", asset_key=key),
                event(run, EventType.STEP_SUCCESS, step_key="s", data={"duration_ms": 1.0}),
            ]

        statements: list[str] = []
        instance.storage.db.trace(statements.append)  # every statement SQLite runs
        try:
            instance.handle_new_events(batch(3), run)
            small = len(statements)
            statements.clear()
            instance.handle_new_events(batch(300), run)
            large = len(statements)
        finally:
            instance.storage.db.trace(None)
        assert small == large
        assert sum(s.startswith("INSERT INTO event_logs") for s in statements) == 1
        assert len(instance.all_logs("r1")) == 3 + 300 + 6
