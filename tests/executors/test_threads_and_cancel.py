"""The multithread executor, tag concurrency limits, executor config, and cancellation
(``instance.request_cancel`` / ``trellis run cancel`` and Ctrl-C)."""

import asyncio
import threading
import time

import pytest

from trellis import (
    EventType,
    Instance,
    InvalidConfigError,
    RunStatus,
    job,
    multithread_executor,
    op,
)


def _threads(**config):
    return multithread_executor.configured(config)


def test_steps_run_concurrently_on_threads():
    # Both steps must be inside the barrier at once: impossible one at a time.
    barrier = threading.Barrier(2, timeout=10)

    @op
    def left():
        barrier.wait()
        return threading.current_thread().name

    @op
    def right():
        barrier.wait()
        return threading.current_thread().name

    @op
    def both(a, b):
        return {a, b}

    @job(executor_def=_threads(max_concurrent=2))
    def parallel():
        both(left(), right())

    result = parallel.execute_in_process()
    assert result.success
    names = result.output_for_node("both")
    assert len(names) == 2 and all(n.startswith("trellis-step") for n in names)


def test_async_ops_run_on_threads_and_feed_downstream():
    @op
    async def fetch_a():
        await asyncio.sleep(0.01)
        return 1

    @op
    async def fetch_b():
        await asyncio.sleep(0.01)
        return 2

    @op
    def add(a, b):
        return a + b

    @job(executor_def=_threads(max_concurrent=2))
    def fetches():
        add(fetch_a(), fetch_b())

    assert fetches.execute_in_process().output_for_node("add") == 3


def test_tag_concurrency_limit_keeps_tagged_steps_apart():
    lock = threading.Lock()
    state = {"now": 0, "max": 0}

    def track():
        with lock:
            state["now"] += 1
            state["max"] = max(state["max"], state["now"])
        time.sleep(0.05)
        with lock:
            state["now"] -= 1

    @op(tags={"database": "warehouse"})
    def q1():
        track()

    @op(tags={"database": "warehouse"})
    def q2():
        track()

    @op(tags={"database": "warehouse"})
    def q3():
        track()

    limits = [{"key": "database", "value": "warehouse", "limit": 1}]

    @job(executor_def=_threads(max_concurrent=3, tag_concurrency_limits=limits))
    def queries():
        q1()
        q2()
        q3()

    assert queries.execute_in_process().success
    assert state["max"] == 1


def test_run_config_overrides_executor_config_and_bad_config_is_reported_with_its_path():
    @op
    def noop():
        return 1

    @job(executor_def=multithread_executor)
    def single():
        noop()

    ok = single.execute_in_process(run_config={"execution": {"config": {"max_concurrent": 1}}})
    assert ok.success
    with pytest.raises(InvalidConfigError) as info:
        single.execute_in_process(run_config={"execution": {"config": {"max_concurent": 2}}})
    assert "max_concurent" in str(info.value) and "max_concurrent" in str(info.value)
    assert "root:execution:config" in str(info.value)


@pytest.mark.parametrize("executor_def", [None, _threads(max_concurrent=2)])
def test_request_cancel_stops_launching_steps_and_ends_the_run_canceled(executor_def):
    ran = []

    @op
    def first(context):
        ran.append("first")
        assert context.instance.request_cancel(context.run_id)
        time.sleep(0.6)  # the orchestrator looks for a cancellation every half second
        return 1

    @op
    def second(x):
        ran.append("second")
        return x

    @job(executor_def=executor_def)
    def cancellable():
        second(first())

    instance = Instance.ephemeral()
    result = cancellable.execute_in_process(instance=instance, raise_on_error=False)
    assert not result.success
    assert ran == ["first"]
    assert result.run.status is RunStatus.CANCELED
    assert instance.get_run(result.run_id).status is RunStatus.CANCELED
    types = [e.event_type for e in result.all_events]
    assert types[-1] is EventType.RUN_CANCELED
    assert EventType.RUN_CANCELING in [e.event_type for e in instance.all_logs(result.run_id)]
    (skip,) = result.get_step_skipped_events()
    assert skip.step_key == "second" and "canceled" in skip.message


def test_cancel_of_a_finished_run_is_refused():
    @op
    def quick():
        return 1

    @job
    def done():
        quick()

    instance = Instance.ephemeral()
    result = done.execute_in_process(instance=instance)
    assert not instance.request_cancel(result.run_id)
    assert instance.get_run(result.run_id).status is RunStatus.SUCCESS


def test_ctrl_c_cancels_the_run_tears_down_and_is_re_raised():
    torn_down = []

    from trellis import resource

    @resource
    def conn(_):
        yield "c"
        torn_down.append(True)

    @op(required_resource_keys={"conn"})
    def interrupted(context):
        raise KeyboardInterrupt

    @op
    def later(x):
        return x

    @job(resource_defs={"conn": conn})
    def pipeline():
        later(interrupted())

    instance = Instance.ephemeral()
    with pytest.raises(KeyboardInterrupt):
        pipeline.execute_in_process(instance=instance)
    (run,) = instance.get_runs()
    assert run.status is RunStatus.CANCELED
    assert torn_down == [True]
    events = [e.event_type for e in instance.all_logs(run.run_id)]
    assert events[-1] is EventType.RUN_CANCELED
    assert EventType.STEP_SKIPPED in events
