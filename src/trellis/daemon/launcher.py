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

``SubprocessRunLauncher`` starts ``python -m trellis.daemon.run_worker RUN_ID`` in a new
session (a crashing run cannot take the daemon down, and a killed daemon does not take
its runs with it), its output in ``<home>/logs/runs/<run id>.log``. A warm forked-worker
launcher or a Dask launcher implements the same three methods.
"""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
from abc import ABC, abstractmethod
from pathlib import Path
from typing import IO, Any, NamedTuple

from trellis.core.errors import InstanceError
from trellis.core.run import Run

INSTANCE_REF_ENV = "TRELLIS_INSTANCE_REF"
"""The environment variable through which a launched run finds its instance (JSON)."""


class LaunchExit(NamedTuple):
    """A launched run's process ended: which run, its exit code, and where its output is."""

    run_id: str
    exit_code: int
    log_file: str | None = None


class RunLauncher(ABC):
    """Starts claimed runs elsewhere (see the module docstring)."""

    @abstractmethod
    def launch_run(self, run: Run, instance: Any) -> None:
        """Start ``run`` (STARTING, claimed by the queue) and return without waiting."""

    def poll(self) -> list[LaunchExit]:
        """The launches that ended since the last call."""
        return []

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


class SubprocessRunLauncher(RunLauncher):
    """Launches each run in a new Python process (``trellis.daemon.run_worker``)."""

    def __init__(self, python: str | None = None, env: dict[str, str] | None = None) -> None:
        self.python = python or sys.executable
        self.env = dict(env or {})
        self._running: dict[str, tuple[subprocess.Popen[bytes], IO[bytes], str]] = {}

    def launch_run(self, run: Run, instance: Any) -> None:
        """Start the run's process; its output goes to ``<home>/logs/runs/<id>.log``."""
        env = {**os.environ, **self.env, INSTANCE_REF_ENV: encode_instance_ref(instance)}
        logs = Path(instance.root_directory) / "logs" / "runs"
        logs.mkdir(parents=True, exist_ok=True)
        log_file = logs / f"{run.run_id}.log"
        out = open(log_file, "ab")  # noqa: SIM115 - closed when the process is reaped
        try:
            proc = subprocess.Popen(
                [self.python, "-m", "trellis.daemon.run_worker", run.run_id],
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        except BaseException:
            out.close()
            raise
        self._running[run.run_id] = (proc, out, str(log_file))

    def poll(self) -> list[LaunchExit]:
        """Reap the processes that ended."""
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
        """Close the log files (the processes go on)."""
        for _, out, _ in self._running.values():
            out.close()
        self._running.clear()
