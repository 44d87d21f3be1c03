"""The warm process-pool executor (``multiprocess_executor``): results and events as in
process, steps on reused worker processes, failures, retries, crashed workers, resources
once per worker, cross-process checks, cancellation and tag concurrency limits.

The jobs live in ``mp_jobs.py`` so the workers can load them by reference.
"""

from __future__ import annotations

import itertools
import os
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from pathlib import Path

import mp_jobs
import pytest

from trellis import (
    EventType,
    Instance,
    InvalidInvocationError,
    RunStatus,
    job,
    op,
)
from trellis.api.execute import execute_job_in_process
from trellis.core.errors import StepWorkerCrashedError
from trellis.execution.executors.processes import MultiprocessExecutor
from trellis.execution.executors.registry import create_executor

STEP_EVENTS = {
    EventType.STEP_START,
    EventType.STEP_RESTARTED,
    EventType.LOADED_INPUT,
    EventType.STEP_OUTPUT,
    EventType.HANDLED_OUTPUT,
    EventType.ASSET_MATERIALIZATION,
    EventType.STEP_SUCCESS,
    EventType.STEP_FAILURE,
    EventType.STEP_UP_FOR_RETRY,
}


def _types_by_step(result) -> dict[str, list[EventType]]:
    by_step: dict[str, list[EventType]] = {}
    for event in result.all_events:
        if event.step_key is not None and event.event_type in STEP_EVENTS:
            by_step.setdefault(event.step_key, []).append(event.event_type)
    return by_step


def _step_pids(result) -> dict[str, int]:
    return {e.step_key: e.pid for e in result.all_events if e.event_type is EventType.STEP_START}


def _dir_config(op_names, directory) -> dict:
    return {"ops": {name: {"config": {"dir": str(directory)}} for name in op_names}}


def _pids_of(directory: Path, prefix: str) -> Counter:
    return Counter(int(p.read_text()) for p in directory.glob(f"{prefix}-*"))


def test_registry_builds_the_pool_from_validated_config():
    executor = create_executor(
        mp_jobs.pool(start_method="forkserver"),
        {"max_concurrent": 3, "start_method": "forkserver", "tag_concurrency_limits": []},
    )
    assert isinstance(executor, MultiprocessExecutor)
    assert executor.crosses_processes and executor.max_concurrent == 3
    with pytest.raises(ValueError, match="start_method"):
        MultiprocessExecutor(2, start_method="thread")


def test_results_and_per_step_events_equal_the_in_process_run():
    local = mp_jobs.arithmetic_in_process.execute_in_process()
    pooled = mp_jobs.arithmetic_pool.execute_in_process()
    assert local.success and pooled.success
    for node in ("source", "square", "plus_one", "async_double"):
        assert pooled.output_for_node(node) == local.output_for_node(node)
    assert pooled.output_for_node("combine")["sum"] == local.output_for_node("combine")["sum"]
    assert _types_by_step(pooled) == _types_by_step(local)
    for types in _types_by_step(pooled).values():
        assert types[0] is EventType.STEP_START and types[-1] is EventType.STEP_SUCCESS
    run_types = [e.event_type for e in pooled.all_events]
    assert run_types[0] is EventType.RUN_START and run_types[-1] is EventType.RUN_SUCCESS
    # context.log lines written in the worker reach the run too
    assert any(e.message == "combining" for e in pooled.event_log)


def test_steps_run_in_worker_processes_that_are_reused():
    result = mp_jobs.arithmetic_pool.execute_in_process()
    pids = _step_pids(result)
    assert len(pids) == 5
    assert os.getpid() not in pids.values()
    assert result.output_for_node("combine")["pid"] == pids["combine"]
    # five steps on a pool of two: workers run several steps each
    assert len(set(pids.values())) <= 2
    assert max(Counter(pids.values()).values()) >= 2
    # step events carry the worker's pid, run events the orchestrator's
    run_start = result.all_events[0]
    assert run_start.pid == os.getpid()


@pytest.mark.parametrize("job_name", ["arithmetic_fork", "arithmetic_forkserver"])
def test_other_start_methods(job_name):
    result = getattr(mp_jobs, job_name).execute_in_process()
    assert result.success
    assert result.output_for_node("combine")["sum"] == 9 + 4
    assert os.getpid() not in _step_pids(result).values()


def test_events_arrive_while_the_run_goes():
    arrivals: list[tuple[float, EventType, str | None]] = []

    def on_event(event):
        arrivals.append((time.monotonic(), event.event_type, event.step_key))

    result = execute_job_in_process(mp_jobs.live_chain, on_event=on_event)
    assert result.success and result.output_for_node("c3") == 10
    seen = {(t, k): at for at, t, k in arrivals}
    # STEP_START of the slow step was delivered before it ended, not at the end of the run
    slow_start = seen[(EventType.STEP_START, "slow_value")]
    slow_end = seen[(EventType.STEP_SUCCESS, "slow_value")]
    assert slow_end - slow_start >= 0.3
    assert [t for _, t, _ in arrivals].count(EventType.STEP_SUCCESS) == 4


def test_failure_is_reported_with_the_users_exception():
    result = mp_jobs.failing.execute_in_process(raise_on_error=False)
    assert not result.success
    (failure,) = result.get_step_failure_events()
    assert failure.step_key == "broken" and "boom from a worker" in failure.message
    assert failure.data.error.cls_name == "ExecutionStepExecutionError"
    assert "ValueError" in failure.data.error.to_string()
    assert result.is_node_skipped("after_broken")
    assert result.is_node_success("independent")
    with pytest.raises(ValueError, match="boom from a worker"):
        mp_jobs.failing.execute_in_process()


def test_retry_policy_retries_in_the_pool(tmp_path):
    result = mp_jobs.retrying.execute_in_process(run_config=_dir_config(["flaky"], tmp_path))
    assert result.success
    assert result.output_for_node("chained") == 3
    types = _types_by_step(result)["flaky"]
    assert types.count(EventType.STEP_UP_FOR_RETRY) == 2
    assert types.count(EventType.STEP_RESTARTED) == 2
    assert types[-1] is EventType.STEP_SUCCESS


def test_a_step_that_kills_its_worker_fails_as_crashed_and_the_run_goes_on(tmp_path):
    result = mp_jobs.crashing.execute_in_process(
        run_config=_dir_config(["kills_itself"], tmp_path), raise_on_error=False
    )
    assert not result.success
    assert result.run.status is RunStatus.FAILURE
    (failure,) = result.get_step_failure_events()
    assert failure.step_key == "kills_itself"
    assert "worker process" in failure.message and "died" in failure.message
    assert "SIGKILL" in failure.message
    assert failure.data.exit_code == -9
    assert failure.data.error.cls_name == "StepWorkerCrashedError"
    assert result.is_node_skipped("chained")
    assert result.is_node_success("slowly_independent")
    with pytest.raises(StepWorkerCrashedError, match="died unexpectedly"):
        mp_jobs.crashing.execute_in_process(run_config=_dir_config(["kills_itself"], tmp_path))


def test_a_crashed_step_keeps_its_retry_budget(tmp_path):
    result = mp_jobs.crashing_once.execute_in_process(
        run_config=_dir_config(["kills_itself_once"], tmp_path)
    )
    assert result.success
    assert result.output_for_node("chained") == 42
    events = result.events_for_node("kills_itself_once")
    retry = next(e for e in events if e.event_type is EventType.STEP_UP_FOR_RETRY)
    assert "died" in retry.message and "SIGKILL" in retry.message
    starts = [e for e in events if e.event_type in (EventType.STEP_START, EventType.STEP_RESTARTED)]
    assert len(starts) == 2
    assert starts[0].pid != starts[1].pid  # the retry ran on a replacement worker
    assert _pids_of(tmp_path, "killer") == Counter({starts[0].pid: 1})


def test_resources_are_set_up_and_torn_down_once_per_worker(tmp_path):
    result = mp_jobs.with_resources.execute_in_process(
        run_config={"resources": {"counted": {"config": {"dir": str(tmp_path)}}}}
    )
    assert result.success
    step_pids = set(_step_pids(result).values())
    assert len(step_pids) == 2  # two steps launched at once go to two workers
    assert {result.output_for_node(f"uses_{i}") for i in range(6)} == step_pids
    # torn down by the time the run has returned
    assert _pids_of(tmp_path, "setup") == Counter(dict.fromkeys(step_pids, 1))
    assert _pids_of(tmp_path, "teardown") == Counter(dict.fromkeys(step_pids, 1))
    # the orchestrator builds none of them
    assert os.getpid() not in _pids_of(tmp_path, "setup")


def test_the_in_memory_io_manager_is_refused_before_any_step_runs():
    events = []
    with pytest.raises(InvalidInvocationError) as info:
        execute_job_in_process(mp_jobs.in_memory, on_event=events.append)
    message = str(info.value)
    assert "'result'" in message and "'source'" in message and "in-memory" in message
    assert "FilesystemIOManager" in message
    assert events == []


def test_a_job_not_defined_at_module_level_is_refused():
    @op
    def local_op():
        return 1

    @job(resource_defs=mp_jobs.IO, executor_def=mp_jobs.pool())
    def local_job():
        local_op()

    with pytest.raises(InvalidInvocationError, match="module level"):
        local_job.execute_in_process()


def test_cancel_terminates_the_running_step_and_its_worker(tmp_path):
    instance = Instance.ephemeral()
    run_id = str(uuid.uuid4())
    started = threading.Event()
    long_pids: list[int] = []

    def on_event(event):
        if event.event_type is EventType.STEP_START and event.step_key == "long_step":
            long_pids.append(event.pid)
            started.set()

    def cancel_when_started():
        if started.wait(30):
            instance.request_cancel(run_id)

    canceller = threading.Thread(target=cancel_when_started)
    canceller.start()
    began = time.monotonic()
    try:
        result = execute_job_in_process(
            mp_jobs.cancellable,
            instance=instance,
            run_id=run_id,
            raise_on_error=False,
            on_event=on_event,
            run_config={"resources": {"counted": {"config": {"dir": str(tmp_path)}}}},
        )
    finally:
        started.set()
        canceller.join()
    assert time.monotonic() - began < 20  # not the step's 60 s
    assert result.run.status is RunStatus.CANCELED
    assert instance.get_run(run_id).status is RunStatus.CANCELED
    assert result.all_events[-1].event_type is EventType.RUN_CANCELED
    (failure,) = result.get_step_failure_events()
    assert failure.step_key == "long_step" and "canceled" in failure.message
    assert result.is_node_skipped("chained")
    (pid,) = long_pids
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)
    # the terminated worker still tore its resources down
    assert _pids_of(tmp_path, "teardown") == Counter({pid: 1})


def _gone(pid: int) -> bool:
    """Whether a process has exited (a zombie left to init counts as exited)."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except FileNotFoundError:
        return True
    return "\nState:\tZ" in status


def _wait_for(predicate, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return predicate()


ORCHESTRATOR = """
import sys
sys.path.insert(0, {here!r})
import mp_jobs
mp_jobs.cancellable.execute_in_process(
    run_config={{"resources": {{"counted": {{"config": {{"dir": {marks!r}}}}}}}}}
)
"""


def test_workers_stop_their_step_when_the_orchestrator_dies(tmp_path):
    code = ORCHESTRATOR.format(here=str(Path(__file__).parent), marks=str(tmp_path))
    orchestrator = subprocess.Popen(
        [sys.executable, "-c", code], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        assert _wait_for(lambda: list(tmp_path.glob("setup-*")), 20), "the step never started"
        (worker_pid,) = _pids_of(tmp_path, "setup")
        orchestrator.kill()
        orchestrator.wait(10)
        # the worker notices, interrupts the 60 s step, tears down and exits
        assert _wait_for(lambda: _gone(worker_pid), 10)
        assert _pids_of(tmp_path, "teardown") == Counter({worker_pid: 1})
    finally:
        if orchestrator.poll() is None:
            orchestrator.kill()
            orchestrator.wait(10)


def test_tag_concurrency_limits_hold_across_workers():
    result = mp_jobs.tag_limited.execute_in_process()
    assert result.success
    spans = []
    for key in (f"query_{i}" for i in range(3)):
        events = result.events_for_node(key)
        start = next(e for e in events if e.event_type is EventType.STEP_START).timestamp
        end = next(e for e in events if e.event_type is EventType.STEP_SUCCESS).timestamp
        spans.append((start, end))
    spans.sort()
    for (_, end), (next_start, _) in itertools.pairwise(spans):
        assert next_start >= end
