"""The multithread executor (steps at once on its threads, its config from run config), and
cancellation outside the executors: a finished run cannot be canceled, Ctrl-C cancels the
run. Async ops, tag concurrency limits and ``instance.request_cancel`` on every executor
are in ``test_executor_suite.py``."""

import threading

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
