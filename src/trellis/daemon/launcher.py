"""``RunLauncher``: how the run queue starts a run it has claimed, and the default
``SubprocessRunLauncher``.

The interface is three methods, like the executor's four:

- ``launch_run(run, instance)``: start the run (status STARTING) somewhere else and
  return at once. What is started must call ``instance.begin_launched_run(run_id)``
  before it runs anything, and run the run only if that returns it: that is what makes
  a run launched twice (a daemon killed mid-launch relaunches its STARTING runs) run
  once. ``trellis.daemon.run_worker.execute_launched_run`` does it all.
- ``poll()``: the launches that ended since the last call (run id, exit code), so the
  queue can fail a run whose process died before starting it.
- ``dispose()``: let go of what the launcher holds; launched runs go on.
- ``code_changed(instance)`` (optional): the daemon reloaded its code; a launcher that
  keeps the code imported ahead (the forked one) starts afresh.
- ``on_exit`` (an attribute the daemon sets): a launcher that can tell when a launched
  run's process ends calls it then (from any thread), so the queue starts the next run
  at once instead of at its next look.

``SubprocessRunLauncher`` starts ``python -m trellis.daemon.run_worker RUN_ID`` in a new
session (a crashing run cannot take the daemon down, and a killed daemon does not take
its runs with it), its output in ``<home>/logs/runs/<run id>.log``; it keeps one such
process started ahead (``--standby``) and hands it the next run. A warm forked-worker
launcher or a Dask launcher implements the same three methods (and, optionally,
``prepare(instance)``, called when the daemon starts).
"""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any, NamedTuple

from trellis.core.errors import InstanceError
from trellis.core.run import Run

INSTANCE_REF_ENV = "TRELLIS_INSTANCE_REF"
STANDBY_ARG = "--standby"  # run_worker waits for the run id on stdin
"""The environment variable through which a launched run finds its instance (JSON)."""


class LaunchExit(NamedTuple):
    """A launched run's process ended: which run, its exit code, and where its output is."""

    run_id: str
    exit_code: int
    log_file: str | None = None


class RunLauncher(ABC):
    """Starts claimed runs elsewhere (see the module docstring)."""

    on_exit: Callable[[], None] | None = None

    @abstractmethod
    def launch_run(self, run: Run, instance: Any) -> None:
        """Start ``run`` (STARTING, claimed by the queue) and return without waiting."""

    def poll(self) -> list[LaunchExit]:
        """The launches that ended since the last call."""
        return []

    def prepare(self, instance: Any) -> None:  # noqa: B027 - optional hook
        """Get ready to launch runs of ``instance`` (called when the daemon starts)."""

    def code_changed(self, instance: Any) -> None:  # noqa: B027 - optional hook
        """The daemon reloaded its code location (``trellis daemon --reload``): drop
        whatever holds the old code (runs launched from now on load the new code)."""

    def dispose(self) -> None:  # noqa: B027 - optional hook
        """Release the launcher's resources (launched runs keep running)."""


def encode_instance_ref(instance: Any) -> str:
    """The ``TRELLIS_INSTANCE_REF`` value for ``instance`` (a persistent one)."""
    try:
        ref = instance.get_ref()
    except InstanceError as exc:
        raise InstanceError(
            f"Runs are launched in their own processes, which cannot reach an ephemeral "
            f"instance: {exc}"
        ) from None
    return json.dumps(dataclasses.asdict(ref))


class _Standby(NamedTuple):
    """A worker process started ahead, waiting for a run id on its stdin."""

    proc: subprocess.Popen[bytes]
    out: IO[bytes]
    log_file: Path
    env_key: str


class SubprocessRunLauncher(RunLauncher):
    """Launches each run in a new Python process (``trellis.daemon.run_worker``).

    With ``standby`` (the default) it keeps one worker process started ahead, which has
    opened the instance and imported the execution machinery: a launch hands it the run
    id and starts the next spare, so a run starts in the time it takes to load its code,
    not a fresh interpreter's imports. Each process still runs one run."""

    def __init__(
        self, python: str | None = None, env: dict[str, str] | None = None, standby: bool = True
    ) -> None:
        self.python = python or sys.executable
        self.env = dict(env or {})
        self.standby = standby
        self._spare: _Standby | None = None
        self._dropped: list[subprocess.Popen[bytes]] = []  # spares told to exit, to reap
        self._running: dict[str, tuple[subprocess.Popen[bytes], IO[bytes], str]] = {}

    def _env(self, instance: Any) -> dict[str, str]:
        return {**os.environ, **self.env, INSTANCE_REF_ENV: encode_instance_ref(instance)}

    @staticmethod
    def _logs(instance: Any) -> Path:
        logs = Path(instance.root_directory) / "logs" / "runs"
        logs.mkdir(parents=True, exist_ok=True)
        return logs

    def _spawn(
        self, arg: str, env: dict[str, str], log_file: Path
    ) -> tuple[subprocess.Popen[bytes], IO[bytes]]:
        out = open(log_file, "ab")  # noqa: SIM115 - closed when the process is reaped
        try:
            proc = subprocess.Popen(
                [self.python, "-m", "trellis.daemon.run_worker", arg],
                env=env,
                stdin=subprocess.PIPE if arg == STANDBY_ARG else subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        except BaseException:
            out.close()
            raise
        return proc, out

    def prepare(self, instance: Any) -> None:
        """Start the spare worker for ``instance`` now (the daemon does, at start)."""
        if not self.standby:
            return
        env = self._env(instance)
        key = env[INSTANCE_REF_ENV]
        spare = self._spare
        if spare is not None and spare.env_key == key and spare.proc.poll() is None:
            return
        self._drop_spare()
        log_file = self._logs(instance) / f"standby-{os.getpid()}-{time.monotonic_ns()}.log"
        proc, out = self._spawn(STANDBY_ARG, env, log_file)
        self._spare = _Standby(proc, out, log_file, key)

    def _drop_spare(self) -> None:
        spare, self._spare = self._spare, None
        if spare is None:
            return
        try:
            if spare.proc.stdin is not None:
                spare.proc.stdin.close()  # it exits without running anything
        except OSError:
            pass
        self._dropped.append(spare.proc)
        spare.out.close()
        spare.log_file.unlink(missing_ok=True)

    def _hand_to_spare(self, run: Run, instance: Any) -> bool:
        spare = self._spare
        key = encode_instance_ref(instance)
        if spare is None or spare.env_key != key or spare.proc.poll() is not None:
            return False
        self._spare = None
        log_file = self._logs(instance) / f"{run.run_id}.log"
        try:
            assert spare.proc.stdin is not None
            spare.proc.stdin.write(run.run_id.encode() + b"\n")
            spare.proc.stdin.close()
        except OSError:
            spare.out.close()
            return False
        os.replace(spare.log_file, log_file)  # the open file follows the rename
        self._running[run.run_id] = (spare.proc, spare.out, str(log_file))
        self._watch(spare.proc)
        return True

    def launch_run(self, run: Run, instance: Any) -> None:
        """Hand the run to the spare worker (or start a process for it), then start the
        next spare; output goes to ``<home>/logs/runs/<run id>.log``."""
        if not self._hand_to_spare(run, instance):
            log_file = self._logs(instance) / f"{run.run_id}.log"
            proc, out = self._spawn(run.run_id, self._env(instance), log_file)
            self._running[run.run_id] = (proc, out, str(log_file))
            self._watch(proc)
        self.prepare(instance)

    def _watch(self, proc: subprocess.Popen[bytes]) -> None:
        """Call ``on_exit`` when ``proc`` ends (a daemon thread waits for it)."""
        callback = self.on_exit
        if callback is None:
            return

        def wait() -> None:
            proc.wait()
            callback()

        threading.Thread(target=wait, name=f"run-exit-{proc.pid}", daemon=True).start()

    def poll(self) -> list[LaunchExit]:
        """Reap the processes that ended."""
        self._dropped = [proc for proc in self._dropped if proc.poll() is None]
        ended: list[LaunchExit] = []
        for run_id, (proc, out, log_file) in list(self._running.items()):
            code = proc.poll()
            if code is None:
                continue
            out.close()
            del self._running[run_id]
            ended.append(LaunchExit(run_id, code, log_file))
        return ended

    @property
    def running(self) -> int:
        """How many launched processes have not ended (or not been reaped) yet."""
        return len(self._running)

    def dispose(self) -> None:
        """Stop the spare worker and close the log files (launched runs go on)."""
        self._drop_spare()
        for _, out, _ in self._running.values():
            out.close()
        self._running.clear()
