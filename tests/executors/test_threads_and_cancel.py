"""The multithread executor (steps at once on its threads, its config from run config), and
cancellation outside the executors: a finished run cannot be canceled, Ctrl-C cancels the
run, a step blocked in a C call never succeeds after a cancellation (and is woken on the
main thread), a terminated step's late events are dropped. Async ops, tag concurrency
limits and ``instance.request_cancel`` on every executor are in
``test_executor_suite.py``."""

import threading
import time

import pytest
import suite_jobs
from executor_helpers import marked_pids, tokens

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


# -- steps blocked in a C call ------------------------------------------------------------------
def _cancelled_config(tmp_path, executor: dict, wait: str, seconds: float) -> dict:
    base = {"config": {"base_dir": str(tmp_path)}}
    return {
        "execution": {"config": executor},
        "resources": {"io_manager": base, "io_manager_dir": base, "tracked": base},
        "ops": {"long_step": {"config": {"seconds": seconds, "wait": wait}}},
    }


@pytest.mark.slow
def test_a_step_blocked_in_a_c_call_on_a_thread_never_succeeds_after_the_cancel(tmp_path):
    # A thread cannot be interrupted inside time.sleep: the interruption is raised when
    # the call returns, before the step could store its output or succeed.
    instance = Instance.from_config(tmp_path / "home", {})
    config = _cancelled_config(tmp_path, {"multithread": {"max_concurrent": 2}}, "one_sleep", 2.0)
    began = time.monotonic()
    result = suite_jobs.cancelled.execute_in_process(
        run_config=config, instance=instance, raise_on_error=False
    )
    assert result.run.status is RunStatus.CANCELED
    assert time.monotonic() - began < 8  # the sleep, then the interruption
    assert marked_pids(tmp_path, "long-interrupted") and not marked_pids(tmp_path, "long-finished")
    time.sleep(0.5)
    stored = [e for e in instance.all_logs(result.run_id) if e.step_key == "long_step"]
    assert stored[-1].event_type is EventType.STEP_FAILURE
    assert EventType.STEP_SUCCESS not in [e.event_type for e in stored]
    assert not [p for p in tmp_path.rglob("*") if p.is_file() and "long_step" in p.parts]
    assert tokens(tmp_path, "teardown") == tokens(tmp_path, "setup")


@pytest.mark.slow
def test_a_step_blocked_in_a_c_call_on_the_main_thread_is_woken_by_the_cancel(tmp_path):
    # In process, the step runs on the main thread: the run owns SIGINT there, and its
    # monitor wakes the thread with it, so the 30 s sleep ends at once.
    assert threading.current_thread() is threading.main_thread()
    instance = Instance.from_config(tmp_path / "home", {})
    config = _cancelled_config(tmp_path, {"in_process": {}}, "one_sleep", 30.0)
    began = time.monotonic()
    result = suite_jobs.cancelled.execute_in_process(
        run_config=config, instance=instance, raise_on_error=False
    )
    assert time.monotonic() - began < 10
    assert result.run.status is RunStatus.CANCELED
    assert marked_pids(tmp_path, "long-interrupted") and not marked_pids(tmp_path, "long-finished")
    import signal

    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler  # given back


def test_events_of_a_terminated_step_are_dropped():
    from trellis.core import event_factory
    from trellis.core.run import Run
    from trellis.execution.event_stream import RunEventStream

    instance = Instance.ephemeral()
    run = instance.add_run(Run(run_id="r", job_name="j", run_config={}, tags={}))
    stream = RunEventStream(run, instance, None)
    stream.emit(event_factory.step_start("r", "j", "s", 0, "OpExecutionContext"))
    failure = event_factory.step_failure(
        "r", "j", "s", "terminated", error=None, error_source=None, reason="canceled"
    )
    stream.end_step(failure)
    stream.emit(event_factory.step_success("r", "j", "s", 1.0))  # too late: dropped
    stream.emit(event_factory.step_start("r", "j", "other", 0, "OpExecutionContext"))
    assert [(e.event_type, e.step_key) for e in instance.all_logs("r")] == [
        (EventType.STEP_START, "s"),
        (EventType.STEP_FAILURE, "s"),
    ]
    stream.flush()
    assert len(instance.all_logs("r")) == 3 and len(stream.events) == 3
