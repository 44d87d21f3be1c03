"""Concurrency pools in one process: which pool a step belongs to (``pool=`` on ops,
assets, multi-assets and checks, or Dagster's ``dagster/concurrency_key`` op tag), a step
that waits for a slot (an ``ENGINE_EVENT`` saying so, the slot it gets once the limit is
raised), a run canceled while its step waits, and definitions that name a pool wrongly."""

from __future__ import annotations

import threading
import time

import pytest

from trellis import (
    AssetCheckResult,
    AssetOut,
    Definitions,
    EventType,
    Instance,
    InvalidDefinitionError,
    RunStatus,
    asset,
    asset_check,
    define_asset_job,
    job,
    multi_asset,
    op,
)
from trellis.plan.plan import build_execution_plan


def _wait_for(predicate, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


def test_each_kind_of_definition_puts_its_step_in_its_pool():
    @asset(pool="warehouse")
    def orders() -> int:
        return 1

    @multi_asset(outs={"a": AssetOut(), "b": AssetOut()}, pool="api")
    def both():
        return 1, 2

    @asset_check(asset=orders, pool="checks")
    def orders_positive(orders: int) -> AssetCheckResult:
        return AssetCheckResult(passed=orders > 0)

    @asset(op_tags={"dagster/concurrency_key": "legacy"})
    def tagged() -> int:
        return 1

    @asset
    def free() -> int:
        return 1

    defs = Definitions(
        assets=[orders, both, tagged, free],
        asset_checks=[orders_positive],
        jobs=[define_asset_job("everything")],
    )
    plan = build_execution_plan(defs.get_job_def("everything"))
    pools = {key: step.pool for key, step in plan.steps.items()}
    assert pools == {
        "orders": "warehouse",
        "both": "api",
        "orders_orders_positive": "checks",
        "tagged": "legacy",
        "free": None,
    }


def test_a_concurrency_key_tag_given_where_an_op_is_used_names_its_pool():
    @op
    def load() -> int:
        return 1

    @job
    def tagged_use():
        load.tag({"dagster/concurrency_key": "db"})()

    assert build_execution_plan(tagged_use).steps["load"].pool == "db"


def test_pool_and_a_different_concurrency_key_tag_are_refused():
    with pytest.raises(InvalidDefinitionError) as info:

        @op(pool="a", tags={"dagster/concurrency_key": "b"})
        def both() -> None: ...

    message = str(info.value)
    assert "op 'both'" in message and "pool='a'" in message and "'b'" in message

    @op(pool="same", tags={"dagster/concurrency_key": "same"})
    def agreeing() -> None: ...

    assert agreeing.pool == "same"


@pytest.mark.parametrize("bad", ["", "  ", 3])
def test_a_pool_that_is_not_a_name_is_refused(bad):
    with pytest.raises(InvalidDefinitionError, match=r"asset 'thing': pool= must name"):

        @asset(pool=bad)
        def thing() -> None: ...


def test_a_step_waits_while_its_pool_is_full_and_runs_once_a_slot_is_free():
    instance = Instance.ephemeral()
    instance.set_concurrency_limit("db", 0)
    ran = []

    @op(pool="db")
    def query() -> None:
        ran.append(time.time())

    @op
    def unpooled() -> None:
        ran.append("unpooled")

    @job
    def waiting_job():
        query()
        unpooled()

    results = []
    worker = threading.Thread(
        target=lambda: results.append(waiting_job.execute_in_process(instance=instance))
    )
    worker.start()
    _wait_for(lambda: ran == ["unpooled"])  # the step outside the pool is not held
    time.sleep(0.3)
    assert ran == ["unpooled"]  # the pool's step is still waiting
    raised_at = time.time()
    instance.set_concurrency_limit("db", 1)
    worker.join(10)
    result = results[0]
    assert result.success and ran[1] >= raised_at
    notes = [e for e in result.all_events if e.event_type is EventType.ENGINE_EVENT]
    waiting, got = notes
    assert waiting.step_key == "query" and waiting.data.waiting and waiting.data.pool == "db"
    assert waiting.message == (
        "Step 'query' is waiting for a slot in concurrency pool 'db' (its limit is 0)."
    )
    assert got.step_key == "query" and not got.data.waiting
    assert "got a slot in concurrency pool 'db' after waiting" in got.message
    assert instance.get_concurrency_limit("db").in_use == 0


def test_a_run_canceled_while_its_step_waits_ends_canceled_without_a_slot(tmp_path):
    instance = Instance.from_config(tmp_path / "home", {})
    instance.set_concurrency_limit("db", 0)

    @op(pool="db")
    def never() -> None:
        raise AssertionError("ran without a slot")

    @job
    def held():
        never()

    results = []
    worker = threading.Thread(
        target=lambda: results.append(
            held.execute_in_process(instance=instance, raise_on_error=False)
        )
    )
    worker.start()
    _wait_for(lambda: instance.get_runs() and instance.get_runs()[0].status is RunStatus.STARTED)
    run_id = instance.get_runs()[0].run_id
    assert instance.request_cancel(run_id)
    worker.join(10)
    assert not worker.is_alive()
    assert instance.get_run(run_id).status is RunStatus.CANCELED
    skipped = instance.all_logs(run_id, of_type=EventType.STEP_SKIPPED)
    assert [e.step_key for e in skipped] == ["never"]
    assert instance.get_concurrency_limit("db").in_use == 0
    instance.dispose()


def test_a_retried_step_gives_its_slot_back_between_attempts():
    instance = Instance.ephemeral()
    instance.set_concurrency_limit("db", 1)
    held_during_attempt = []

    from trellis import RetryPolicy

    @op(pool="db", retry_policy=RetryPolicy(max_retries=1))
    def flaky(context) -> None:
        held_during_attempt.append(instance.get_concurrency_limit("db").in_use)
        if context.retry_number == 0:
            raise RuntimeError("first attempt fails")

    @job
    def retried():
        flaky()

    result = retried.execute_in_process(instance=instance)
    assert result.success
    assert held_during_attempt == [1, 1]
    assert instance.get_concurrency_limit("db").in_use == 0


def test_pool_metadata_is_stored_and_read_back_as_a_pool(tmp_path):
    from trellis import MaterializeResult, MetadataValue, PoolMetadataValue, materialize

    @asset(pool="warehouse")
    def loaded() -> MaterializeResult:
        return MaterializeResult(metadata={"pool": MetadataValue.pool("warehouse")})

    with Instance.from_config(tmp_path / "home", {}) as instance:
        assert materialize([loaded], instance=instance).success
        event = instance.get_latest_materialization_event(loaded.key)
    value = event.data.metadata["pool"]
    assert isinstance(value, PoolMetadataValue)
    assert (value.value, value.type_name) == ("warehouse", "pool")
