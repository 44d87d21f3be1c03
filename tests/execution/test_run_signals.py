"""Signals and ``execute_in_process`` in a program of the user's: on the main thread, with
Python's default handlers, SIGTERM cancels the run (steps stopped, resources torn down,
CANCELED) and then ends the program with status 143 (``RunTerminated``, a
``SystemExit``); a program that installed its own SIGTERM handler keeps it, and the run
goes on. Each case is a real Python process sent a real signal."""

from __future__ import annotations

import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from trellis import Instance, RunStatus

PROGRAM = """
import os, signal, sys, time
from pathlib import Path
from trellis import Instance, job, op, resource

out = Path(sys.argv[1])

@resource
def tracked(_):
    yield "r"
    (out / "teardown").touch()

@op(required_resource_keys={"tracked"})
def slow():
    (out / "started").touch()
    time.sleep(float(sys.argv[2]))

@job(resource_defs={"tracked": tracked})
def sleeper():
    slow()

HANDLER
try:
    result = sleeper.execute_in_process(instance=Instance.from_config(out / "home", {}))
    print("returned", result.run.status.value, flush=True)
except SystemExit as exc:
    print("SystemExit", type(exc).__name__, exc.code, flush=True)
    raise
"""

USER_HANDLER = """
def on_term(signum, frame):
    (out / "user-handler").touch()
signal.signal(signal.SIGTERM, on_term)
"""


def _run(
    tmp_path: Path, handler: str = "", sleep: float = 30
) -> tuple[subprocess.CompletedProcess[str], float]:
    code = textwrap.dedent(PROGRAM).replace("HANDLER", handler)
    process = subprocess.Popen(
        [sys.executable, "-c", code, str(tmp_path), str(sleep)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 30
    while not (tmp_path / "started").exists():
        assert time.monotonic() < deadline and process.poll() is None, process.stderr.read()
        time.sleep(0.02)
    sent = time.monotonic()
    process.send_signal(signal.SIGTERM)
    out, err = process.communicate(timeout=60)
    return subprocess.CompletedProcess(process.args, process.returncode, out, err), sent


@pytest.mark.slow
def test_sigterm_during_execute_in_process_cancels_the_run_then_exits_143(tmp_path):
    done, sent = _run(tmp_path)
    assert done.returncode == 143, done.stderr
    assert time.monotonic() - sent < 10  # not the step's 30 s
    assert "SystemExit RunTerminated 143" in done.stdout
    assert (tmp_path / "teardown").exists()
    with Instance.from_config(tmp_path / "home", {}) as instance:
        (run,) = instance.get_runs()
        assert run.status is RunStatus.CANCELED


@pytest.mark.slow
def test_a_sigterm_handler_of_the_program_is_left_alone(tmp_path):
    done, _ = _run(tmp_path, USER_HANDLER, sleep=2)
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "user-handler").exists()
    assert "returned SUCCESS" in done.stdout


def test_a_process_forked_during_a_run_gets_the_handlers_back(tmp_path):
    # A pool worker started with "fork", or a step's own os.fork(): the child is not the
    # run's orchestrator, and must not write its signals into the run monitor's pipe.
    import os

    from trellis import job, op

    @op
    def forks() -> list:
        in_run = [signal.getsignal(signal.SIGTERM) != signal.SIG_DFL]
        pid = os.fork()
        if pid == 0:
            child = [
                signal.set_wakeup_fd(-1) == -1,
                signal.getsignal(signal.SIGTERM) == signal.SIG_DFL,
                signal.getsignal(signal.SIGINT) is signal.default_int_handler,
            ]
            (tmp_path / "child").write_text(repr(child))
            os._exit(0)
        os.waitpid(pid, 0)
        return in_run

    @job
    def forking():
        forks()

    result = forking.execute_in_process()
    assert result.output_for_node("forks") == [True]  # the run handles SIGTERM itself
    assert (tmp_path / "child").read_text() == "[True, True, True]"
    assert signal.getsignal(signal.SIGTERM) == signal.SIG_DFL  # and gives it back
