"""A running step is visible in storage while it runs, and what it did so far survives a
SIGKILL of the orchestrator: ``STEP_START`` is stored before the step's code runs, and
its log lines within about half a second (the run's monitor flushes held-back events),
whichever executor runs it. Read from another process, as ``trellis run logs --follow``
or an operator would.

The runs are real ``trellis job execute`` processes on ``fixtures/signal_defs.py``: each
step logs five progress lines, then waits for a ``release`` file the test writes."""

from __future__ import annotations

import os
import signal
import subprocess
import time

import pytest
from test_cli_signals import TRELLIS, Run

from trellis import EventType, Instance, RunStatus

pytestmark = pytest.mark.slow

LINES = [f"progress {i}" for i in range(1, 6)]


@pytest.fixture
def start(tmp_path):
    runs: list[Run] = []

    def make(executor: str) -> Run:
        run = Run(tmp_path, executor, wait="release")
        runs.append(run)
        return run

    yield make
    for run in runs:
        run.cleanup()


def _stored(run: Run) -> list:
    """The run's events in storage, read by this (another) process; [] before it exists."""
    with Instance.from_config(run.home, {}) as instance:
        runs = instance.get_runs()
        return instance.all_logs(runs[0].run_id) if runs else []


def _visible(events: list, step: str) -> tuple[bool, list[str]]:
    started = any(e.event_type is EventType.STEP_START and e.step_key == step for e in events)
    lines = [
        e.message for e in events if e.event_type is EventType.LOG_MESSAGE and e.step_key == step
    ]
    return started, lines


def _wait_for_mark(run: Run, what: str, timeout: float = 60) -> float:
    deadline = time.monotonic() + timeout
    while not run.marks(what):
        assert time.monotonic() < deadline, run.log.read_text()
        assert run.process.poll() is None, run.log.read_text()
        time.sleep(0.02)
    return time.monotonic()


@pytest.mark.parametrize("executor", ["in_process", "multithread", "multiprocess", "dask"])
def test_a_running_steps_start_and_log_lines_are_stored_while_it_runs(start, executor):
    run = start(executor)
    logged = _wait_for_mark(run, "long_a-logged")  # the step has logged, and now waits
    deadline = logged + 5
    while True:
        started, lines = _visible(_stored(run), "long_a")
        if started and lines == LINES:
            break
        assert time.monotonic() < deadline, (started, lines)  # was: nothing until the end
        time.sleep(0.05)
    seen_after = time.monotonic() - logged
    # Still running: nothing released it, it has not finished.
    assert not run.marks("long_a-finished") and run.process.poll() is None
    assert seen_after < 5, f"{seen_after:.2f}s"
    (run.files / "release").touch()
    assert run.exit_code() == 0, run.log.read_text()
    stored, _ = run.stored()
    assert stored.status is RunStatus.SUCCESS


def test_run_logs_follow_prints_a_running_steps_lines(start):
    run = start("in_process")
    _wait_for_mark(run, "long_a-logged")
    (stored_run, _) = run.stored()
    follow = subprocess.Popen(
        [*TRELLIS, "run", "logs", stored_run.run_id, "--follow"],
        env={**os.environ, "TRELLIS_HOME": str(run.home)},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        printed: list[str] = []
        assert follow.stdout is not None
        while not any(LINES[-1] in line for line in printed):
            line = follow.stdout.readline()
            assert line, "".join(printed)  # --follow ended before the step's lines came
            printed.append(line)
        assert any("STEP_START" in line and "long_a" in line for line in printed)
        assert not run.marks("long_a-finished")  # the step is still waiting
        (run.files / "release").touch()
        rest, _ = follow.communicate(timeout=60)
        assert "RUN_SUCCESS" in rest
    finally:
        if follow.poll() is None:
            follow.kill()
            follow.wait(10)
    assert run.exit_code() == 0


@pytest.mark.parametrize("executor", ["in_process", "multithread"])
def test_a_sigkill_as_the_step_starts_leaves_its_start_stored(start, executor):
    # The step's first line of code has run: its STEP_START was stored before.
    run = start(executor)
    _wait_for_mark(run, "long_a-started")
    os.killpg(run.process.pid, signal.SIGKILL)
    run.process.wait(10)
    started, _ = _visible(_stored(run), "long_a")
    assert started


@pytest.mark.parametrize("executor", ["in_process", "multithread", "multiprocess"])
def test_a_sigkill_mid_step_leaves_the_steps_start_and_log_lines(start, executor):
    run = start(executor)
    _wait_for_mark(run, "long_a-logged")
    time.sleep(1.5)  # the monitor flushes held-back events every half second
    run.process.kill()  # SIGKILL, the orchestrator only (pool workers notice it)
    run.process.wait(10)
    events = _stored(run)
    started, lines = _visible(events, "long_a")
    assert started and lines == LINES
    assert events[-1].event_type is not EventType.RUN_SUCCESS
