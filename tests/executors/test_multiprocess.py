"""What only the warm process-pool executor (``multiprocess_executor``) does: its config,
steps on a pool of reused worker processes, the other start methods, and workers that stop
their step when the orchestrator dies. What every executor does is in
``test_executor_suite.py``; the jobs are in ``suite_jobs.py``, so workers load them by
reference."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest
import suite_jobs
from executor_helpers import marked_pids, step_pids

from trellis import multiprocess_executor
from trellis.execution.executors.processes import MultiprocessExecutor
from trellis.execution.executors.registry import create_executor


def _files(directory: Path) -> dict:
    """Run config that points the suite jobs' files at ``directory``."""
    base = {"config": {"base_dir": str(directory)}}
    return {"resources": {"io_manager": base, "io_manager_dir": base, "tracked": base}}


def test_registry_builds_the_pool_from_validated_config():
    executor = create_executor(
        multiprocess_executor,
        {"max_concurrent": 3, "start_method": "forkserver", "tag_concurrency_limits": []},
    )
    assert isinstance(executor, MultiprocessExecutor)
    assert executor.crosses_processes and executor.max_concurrent == 3
    with pytest.raises(ValueError, match="start_method"):
        MultiprocessExecutor(2, start_method="thread")


def test_steps_run_in_worker_processes_that_are_reused(tmp_path):
    # a job with an executor of its own: a pool of two
    result = suite_jobs.pooled.execute_in_process(run_config=_files(tmp_path))
    assert result.success and result.output_for_node("combine", "total") == 23
    pids = step_pids(result)
    assert len(pids) == 7
    assert os.getpid() not in pids.values()
    # seven steps on a pool of two: workers run several steps each
    assert len(set(pids.values())) <= 2
    assert max(Counter(pids.values()).values()) >= 2


@pytest.mark.parametrize("start_method", ["fork", "forkserver"])
def test_other_start_methods(start_method, tmp_path):
    run_config = {"execution": {"config": {"start_method": start_method}}, **_files(tmp_path)}
    result = suite_jobs.pooled.execute_in_process(run_config=run_config)
    assert result.success
    assert result.output_for_node("combine", "total") == 23
    assert os.getpid() not in step_pids(result).values()


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
import suite_jobs
base = {{"config": {{"base_dir": {files!r}}}}}
suite_jobs.cancelled.execute_in_process(
    run_config={{
        "execution": {{"config": {{"multiprocess": {{"max_concurrent": 2}}}}}},
        "resources": {{"io_manager": base, "io_manager_dir": base, "tracked": base}},
        "ops": {{"long_step": {{"config": {{"seconds": 60.0, "cancel": False}}}}}},
    }}
)
"""


def test_workers_stop_their_step_when_the_orchestrator_dies(tmp_path):
    code = ORCHESTRATOR.format(here=str(Path(__file__).parent), files=str(tmp_path))
    orchestrator = subprocess.Popen(
        [sys.executable, "-c", code], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        started = lambda: list(tmp_path.glob("long-started-*"))  # noqa: E731
        assert _wait_for(started, 20), "the step never started"
        (worker_pid,) = marked_pids(tmp_path, "setup")
        orchestrator.kill()
        orchestrator.wait(10)
        # the worker notices, interrupts the 60 s step, tears down and exits
        assert _wait_for(lambda: _gone(worker_pid), 10)
        assert marked_pids(tmp_path, "long-interrupted") == [worker_pid]
        assert marked_pids(tmp_path, "teardown") == [worker_pid]
    finally:
        if orchestrator.poll() is None:
            orchestrator.kill()
            orchestrator.wait(10)
