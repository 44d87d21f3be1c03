"""Runs launched from the UI never execute in the server's process.

While the daemon of ``trellis dev`` runs (``dev_daemon.py``), a launch enters the run
queue: the run is created here, QUEUED, with the id chosen here (so the page knows it at
once), its job or asset selection, config, tags, partition and the code location, and
the daemon, woken at once, starts it within the queue's limits with its launcher.
Without the daemon (``trellis dev --no-daemon``), and for re-executions, a child process
runs the ``trellis`` command's own launch path (``trellis job execute``, ``trellis asset
materialize``, ``trellis run reexecute``) with the chosen run id. Each child's output
goes to a log file under the instance's folder (``ui_launches/<run id>.log``); a child
that exits without having recorded its run is reported with the tail of that file."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from trellis.cli.code_target import CodeTarget
from trellis.core.run import new_run_id
from trellis.web.launch_checks import CheckedLaunch

LOG_TAIL = 4000


class _Enqueued:
    """The stand-in process of a queued launch: the run is stored before the launch
    returns, so there is no child to wait for."""

    def poll(self) -> int:
        return 0

    def wait(self, timeout: float | None = None) -> int:
        return 0


@dataclass
class Launch:
    """A child process started for a run (or, for a run put in the queue, a stand-in)."""

    run_id: str
    process: subprocess.Popen[bytes] | _Enqueued
    log_path: Path
    reported: bool = False

    def log_tail(self) -> str:
        """The end of the child's output."""
        try:
            text = self.log_path.read_text(encoding="utf-8", errors="replace")
        except OSError:
            return ""
        return text[-LOG_TAIL:]


def code_arguments(target: CodeTarget) -> list[str]:
    """The ``-f``/``-m``/``-a`` options that load ``target`` (none for a target read from
    pyproject.toml: the child runs in the same working directory and reads it again)."""
    if target.source:
        args: list[str] = []
    elif target.file is not None:
        args = ["-f", str(target.file.resolve())]
    else:
        assert target.module is not None
        args = ["-m", target.module]
    if target.attribute:
        args += ["-a", target.attribute]
    return args


class Launcher:
    """Starts the child processes of runs and remembers them until they are reaped."""

    def __init__(self, target: CodeTarget, log_dir: Path) -> None:
        self.target = target
        self.log_dir = log_dir
        self._lock = threading.Lock()
        self._launches: dict[str, Launch] = {}
        self.enqueue: Callable[[CheckedLaunch, str], bool] | None = None
        """Set by the daemon of ``trellis dev``: puts a checked launch in the run queue
        under the given run id, or says False (None: launches start child processes)."""

    def _start(self, run_id: str, command: list[str]) -> Launch:
        self.log_dir.mkdir(parents=True, exist_ok=True)
        log_path = self.log_dir / f"{run_id}.log"
        env = {**os.environ, "NO_COLOR": "1", "TERM": "dumb", "PYTHONUNBUFFERED": "1"}
        with open(log_path, "wb") as log:
            process = subprocess.Popen(
                [sys.executable, "-m", "trellis", *command, "--run-id", run_id],
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                env=env,
                start_new_session=True,  # Ctrl-C on the server does not cancel its runs
            )
        launch = Launch(run_id, process, log_path)
        with self._lock:
            self._launches[run_id] = launch
        return launch

    def launch(self, checked: CheckedLaunch) -> Launch:
        """Start the run a checked request describes: queued when the daemon runs, else
        in a child process."""
        run_id = new_run_id()
        if self.enqueue is not None and self.enqueue(checked, run_id):
            return Launch(run_id, _Enqueued(), self.log_dir / f"{run_id}.log", reported=True)
        code = code_arguments(self.target)
        common = [
            "--config-json",
            json.dumps(checked.run_config),
            "--tags",
            json.dumps(checked.tags),
        ]
        if checked.partition is not None:
            common += ["--partition", checked.partition]
        if checked.kind == "job":
            command = ["job", "execute", *code, "-j", checked.job_name, *common]
        else:
            assert checked.selection is not None
            command = ["asset", "materialize", *code, "--select", checked.selection, *common]
        return self._start(run_id, command)

    def reexecute(self, parent_run_id: str, mode: str, steps: list[str]) -> Launch:
        """Start a re-execution of ``parent_run_id``: ``all``, ``from_failure`` or
        ``selected`` (``steps``)."""
        run_id = new_run_id()
        command = ["run", "reexecute", parent_run_id, *code_arguments(self.target)]
        if mode == "from_failure":
            command.append("--from-failure")
        elif mode == "selected":
            for step in steps:
                command += ["--step", step]
        return self._start(run_id, command)

    def finished_without_run(self, instance: Any) -> list[Launch]:
        """The children that exited without recording their run (bad input found by the
        command, a crash before the run started); each reported once."""
        with self._lock:
            launches = list(self._launches.values())
        failed = []
        for launch in launches:
            if launch.process.poll() is None:
                continue
            with self._lock:
                self._launches.pop(launch.run_id, None)
            if instance.get_run(launch.run_id) is None and not launch.reported:
                launch.reported = True
                failed.append(launch)
        return failed

    def wait_all(self, timeout: float = 30.0) -> None:
        """Wait for every child still running (tests and shutdown)."""
        with self._lock:
            launches = list(self._launches.values())
        for launch in launches:
            try:
                launch.process.wait(timeout)
            except subprocess.TimeoutExpired:
                pass
