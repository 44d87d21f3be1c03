"""What a real ``trellis job execute`` does when production signals it mid-step, on each
executor: SIGTERM (systemd, ``docker stop``, Kubernetes) and Ctrl-C in a terminal (SIGINT
to the whole process group) cancel the run: its steps really stop, its resources are torn
down, it ends CANCELED, and the command exits 143 or 130, within seconds. A second Ctrl-C
stops waiting; after SIGTERM, ``TRELLIS_TERM_GRACE_SECONDS`` bounds the wait.

Each test runs the command in a process group of its own, on ``fixtures/signal_defs.py``,
whose steps and resource leave files saying what happened in which process."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from cli_fixture_paths import FIXTURES

from trellis import EventType, Instance, RunStatus

pytestmark = pytest.mark.slow

SIGNAL_DEFS = str(FIXTURES / "signal_defs.py")
SCRIPT = shutil.which("trellis", path=str(Path(sys.executable).parent))
TRELLIS = [SCRIPT] if SCRIPT else [sys.executable, "-m", "trellis"]

EXECUTION = {
    "in_process": {},
    "multithread": {"multithread": {"max_concurrent": 2}},
    "multiprocess": {"multiprocess": {"max_concurrent": 2}},
    "dask": {"dask": {"cluster": {"local": {"n_workers": 2, "threads_per_worker": 1}}}},
}
IN_PROCESS = ("in_process",)  # runs the steps one after the other: only long_a starts


class Run:
    """A ``trellis job execute`` of ``two_long_steps`` in a process group of its own."""

    def __init__(
        self,
        tmp_path: Path,
        executor: str,
        wait: str = "small_sleeps",
        teardown_seconds: float = 0.0,
        **env: str,
    ):
        self.executor = executor
        self.files = tmp_path / "files"
        self.files.mkdir()
        self.home = tmp_path / "home"
        step = {"config": {"wait": wait, "seconds": 30.0}}
        config: dict = {
            "ops": {"long_a": step, "long_b": step},
            "resources": {"tracked": {"config": {"teardown_seconds": teardown_seconds}}},
        }
        if EXECUTION[executor]:
            config["execution"] = {"config": EXECUTION[executor]}
        config_file = tmp_path / "run.yaml"
        config_file.write_text(json.dumps(config))  # JSON is YAML
        self.log = tmp_path / "output.log"
        command = [*TRELLIS, "job", "execute", "-f", SIGNAL_DEFS, "-j", "two_long_steps"]
        with self.log.open("w") as out:
            self.process = subprocess.Popen(
                [*command, "-c", str(config_file)],
                env={
                    **os.environ,
                    "TRELLIS_HOME": str(self.home),
                    "SIGNAL_TEST_DIR": str(self.files),
                    **env,
                },
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self.steps = ["long_a"] if executor in IN_PROCESS else ["long_a", "long_b"]

    def marks(self, what: str) -> list[Path]:
        return sorted(self.files.glob(f"{what}-*"))

    def wait_for_steps(self, timeout: float = 60) -> None:
        """Until every step that can run at once has started."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if all(self.marks(f"{step}-started") for step in self.steps):
                time.sleep(0.3)  # well inside the steps
                return
            assert self.process.poll() is None, self.log.read_text()
            time.sleep(0.05)
        pytest.fail(f"the steps did not start:\n{self.log.read_text()}")

    def signal(self, signum: int, group: bool = False) -> float:
        """Send ``signum`` (to the whole process group: a terminal's Ctrl-C); return when."""
        if group:
            os.killpg(self.process.pid, signum)
        else:
            self.process.send_signal(signum)
        return time.monotonic()

    def exit_code(self, timeout: float = 60) -> int:
        try:
            return self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(10)
            pytest.fail(f"the command did not exit within {timeout} s:\n{self.log.read_text()}")

    def stored(self):
        with Instance.from_config(self.home, {}) as instance:
            (run,) = instance.get_runs()
            return run, instance.all_logs(run.run_id)

    def cleanup(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(10)


@pytest.fixture
def start(tmp_path):
    runs: list[Run] = []

    def make(
        executor: str, wait: str = "small_sleeps", teardown_seconds: float = 0.0, **env: str
    ) -> Run:
        run = Run(tmp_path, executor, wait, teardown_seconds, **env)
        runs.append(run)
        return run

    yield make
    for run in runs:
        run.cleanup()


def _assert_canceled(run: Run, cause: str) -> list:
    stored, events = run.stored()
    assert stored.status is RunStatus.CANCELED, run.log.read_text()
    kinds = [e.event_type for e in events]
    assert kinds[-1] is EventType.RUN_CANCELED and cause in events[-1].message
    (canceling,) = [e for e in events if e.event_type is EventType.RUN_CANCELING]
    assert cause in canceling.message
    for step in run.steps:
        of_step = [e for e in events if e.step_key == step]
        assert of_step[-1].event_type is EventType.STEP_FAILURE
        assert "terminated" in of_step[-1].message
        assert not {EventType.STEP_SUCCESS, EventType.HANDLED_OUTPUT} & {
            e.event_type for e in of_step
        }
    return events


@pytest.mark.parametrize("executor", list(EXECUTION))
def test_sigterm_cancels_the_run_tears_down_and_exits_143(start, executor):
    run = start(executor)
    run.wait_for_steps()
    sent = run.signal(signal.SIGTERM)
    assert run.exit_code() == 143, run.log.read_text()
    took = time.monotonic() - sent
    assert took < 15, f"{took:.1f}s"  # the steps would have taken 30 s
    _assert_canceled(run, "SIGTERM")
    # The steps were interrupted where they ran, every resource set up was torn down
    # (in this process, or in each pool or Dask worker), and no step finished.
    for step in run.steps:
        assert len(run.marks(f"{step}-interrupted")) == 1, step
    assert len(run.marks("teardown")) == len(run.marks("setup")) >= 1
    assert not run.marks("long_a-finished") and not run.marks("long_b-finished")
    assert "CANCELED" in run.log.read_text()  # the summary was printed


@pytest.mark.parametrize("executor", list(EXECUTION))
def test_ctrl_c_to_the_process_group_cancels_promptly_and_the_steps_stop(start, executor):
    # Steps blocked in one C call: interrupted on the main thread (the signal wakes it),
    # ended with their workers on the run's own Dask cluster and in the pool; on threads,
    # interrupted when the call returns (the run waits 5 s for them, then ends).
    run = start(executor, wait="one_sleep")
    run.wait_for_steps()
    sent = run.signal(signal.SIGINT, group=True)
    assert run.exit_code() == 130, run.log.read_text()
    took = time.monotonic() - sent
    assert took < 15, f"{took:.1f}s"  # the Dask executor took 30 s before
    _assert_canceled(run, "SIGINT")
    assert len(run.marks("teardown")) == len(run.marks("setup")) >= 1
    if executor != "multithread":
        for step in run.steps:
            assert len(run.marks(f"{step}-interrupted")) == 1 or executor == "dask", step
    # No step runs on to its end: none finishes, nothing is stored for it later.
    time.sleep(2)
    assert not run.marks("long_a-finished") and not run.marks("long_b-finished")
    assert not list((run.files / "outputs").rglob("result"))
    _assert_canceled(run, "SIGINT")


def test_a_second_ctrl_c_stops_waiting_for_steps_that_do_not_stop(start):
    # Threads blocked in a C call cannot be interrupted before it returns; the first
    # Ctrl-C would wait up to 5 s for them, the second one ends the wait.
    run = start("multithread", wait="one_sleep")
    run.wait_for_steps()
    run.signal(signal.SIGINT, group=True)
    time.sleep(1.0)
    second = run.signal(signal.SIGINT, group=True)
    assert run.exit_code() == 130, run.log.read_text()
    assert time.monotonic() - second < 3  # not the 4 s left of the wait
    events = _assert_canceled(run, "SIGINT")
    assert any("second signal" in (e.message or "") for e in events)
    assert len(run.marks("teardown")) == len(run.marks("setup")) == 1
    # The abandoned threads ended with the process: no step finished, nothing stored.
    time.sleep(1)
    assert not run.marks("long_a-finished") and not run.marks("long_b-finished")
    _assert_canceled(run, "SIGINT")


def test_a_second_ctrl_c_interrupts_a_teardown_that_hangs_and_the_run_still_ends(start):
    run = start("in_process", teardown_seconds=60.0)
    run.wait_for_steps()
    run.signal(signal.SIGINT, group=True)
    time.sleep(1.5)  # the step is interrupted at once; the teardown hangs
    assert run.process.poll() is None and not run.marks("teardown")
    second = run.signal(signal.SIGINT, group=True)
    assert run.exit_code() == 130, run.log.read_text()
    assert time.monotonic() - second < 5  # not the teardown's 60 s
    events = _assert_canceled(run, "SIGINT")
    (failure,) = [e for e in events if e.event_type is EventType.RESOURCE_TEARDOWN_FAILURE]
    assert "KeyboardInterrupt" in failure.data.error.cls_name


@pytest.mark.parametrize("wait", ["stubborn", "masked"])
def test_the_grace_period_bounds_a_step_that_does_not_stop_on_sigterm(start, wait):
    # stubborn: the step catches the interruption and sleeps on; masked: the step blocks
    # SIGTERM in its thread and sleeps in one C call, so no handler runs in it at all.
    run = start("in_process", wait=wait, TRELLIS_TERM_GRACE_SECONDS="2")
    run.wait_for_steps()
    sent = run.signal(signal.SIGTERM)
    assert run.exit_code() == 143, run.log.read_text()
    took = time.monotonic() - sent
    assert 1.5 < took < 12, f"{took:.1f}s"  # the grace period, not the step's 30 s
    stored, events = run.stored()
    assert stored.status is RunStatus.CANCELED
    assert "did not end within 2 s of SIGTERM" in events[-1].message
    (failure,) = [e for e in events if e.event_type is EventType.STEP_FAILURE]
    assert failure.step_key == "long_a" and "grace period" in failure.message
    if wait == "stubborn":
        assert run.marks("long_a-refused")
    assert not run.marks("long_a-finished")


def test_a_bad_grace_period_is_refused_before_the_run(tmp_path):
    env = {
        **os.environ,
        "TRELLIS_HOME": str(tmp_path),
        "SIGNAL_TEST_DIR": str(tmp_path),
        "TRELLIS_TERM_GRACE_SECONDS": "soon",
    }
    done = subprocess.run(
        [*TRELLIS, "job", "execute", "-f", SIGNAL_DEFS, "-j", "two_long_steps"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    assert "TRELLIS_TERM_GRACE_SECONDS" in done.stderr and "'soon'" in done.stderr
    with Instance.from_config(tmp_path, {}) as instance:
        assert instance.get_runs() == []
