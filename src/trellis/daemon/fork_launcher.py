"""``ForkRunLauncher``: launches each run in a child forked from a warm zygote process
(``zygote.py``) that has already imported Trellis and the daemon's code location, so a
run's process starts in the time a ``fork`` takes (POSIX only; the zygote stays
single-threaded, which makes forking it safe).

Each run still gets its own process, in its own session, its output in
``<home>/logs/runs/<run id>.log``, and runs only if it takes its run
(``begin_launched_run``), like the subprocess launcher's. The children are the zygote's,
not the daemon's: the launcher follows them by pid (``pidfd`` where Linux has it, for
``on_exit``), and does not learn their exit codes (a child gone while its run is still
STARTING is reported with exit code -1, and the queue fails the run). A zygote that died
is started again at the next launch, and after ``trellis daemon --reload`` reloaded the
code (``code_changed``) the zygote is replaced by one that imported the new code.
"""

from __future__ import annotations

import os
import select
import subprocess
import sys
import threading
from pathlib import Path
from typing import IO, Any, NamedTuple

from trellis.core.errors import InstanceError
from trellis.core.run import Run
from trellis.daemon.launcher import INSTANCE_REF_ENV, LaunchExit, RunLauncher, encode_instance_ref
from trellis.instance.liveness import process_is_alive


class _Zygote(NamedTuple):
    proc: subprocess.Popen[str]
    log: IO[bytes]
    key: str


class ForkRunLauncher(RunLauncher):
    """Forks each run from a warm zygote (see the module docstring). ``code_location_tag``
    names the code the zygote imports ahead (the daemon passes its own)."""

    def __init__(self, code_location_tag: str | None = None, python: str | None = None) -> None:
        if not hasattr(os, "fork"):
            raise InstanceError("ForkRunLauncher needs os.fork (a POSIX system).")
        self.code_location_tag = code_location_tag
        self.python = python or sys.executable
        self._zygote: _Zygote | None = None
        self._running: dict[str, tuple[int, str]] = {}
        self._lock = threading.Lock()

    @staticmethod
    def _logs(instance: Any) -> Path:
        logs = Path(instance.root_directory) / "logs" / "runs"
        logs.mkdir(parents=True, exist_ok=True)
        return logs

    def prepare(self, instance: Any) -> None:
        """Start the zygote for ``instance`` (and wait until it is ready), unless the one
        running already serves it."""
        key = encode_instance_ref(instance)
        zygote = self._zygote
        if zygote is not None and zygote.key == key and zygote.proc.poll() is None:
            return
        self._stop_zygote()
        log = open(self._logs(instance) / f"zygote-{os.getpid()}.log", "ab")  # noqa: SIM115
        proc = subprocess.Popen(
            [self.python, "-m", "trellis.daemon.zygote", self.code_location_tag or ""],
            env={**os.environ, INSTANCE_REF_ENV: key},
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=log,
            text=True,
            start_new_session=True,
        )
        assert proc.stdout is not None
        if proc.stdout.readline().strip() != "ready":
            proc.kill()
            proc.wait()
            log.close()
            raise InstanceError(f"The run launcher's zygote process did not start; see {log.name}.")
        self._zygote = _Zygote(proc, log, key)

    def _stop_zygote(self) -> None:
        zygote, self._zygote = self._zygote, None
        if zygote is None:
            return
        try:
            if zygote.proc.stdin is not None:
                zygote.proc.stdin.close()  # it exits; its children go on
        except OSError:
            pass
        try:
            zygote.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            zygote.proc.kill()
            zygote.proc.wait()
        zygote.log.close()

    def code_changed(self, instance: Any) -> None:
        """Start a new zygote, which imports the reloaded code (the old one's spare
        child exits; runs it forked before go on with the old code until they end)."""
        self._stop_zygote()
        self.prepare(instance)

    def launch_run(self, run: Run, instance: Any) -> None:
        """Fork the run's process from the zygote and return."""
        log_file = str(self._logs(instance) / f"{run.run_id}.log")
        for _attempt in (1, 2):
            self.prepare(instance)
            zygote = self._zygote
            assert zygote is not None and zygote.proc.stdin and zygote.proc.stdout
            try:
                zygote.proc.stdin.write(f"{run.run_id}\t{log_file}\n")
                zygote.proc.stdin.flush()
                answer = zygote.proc.stdout.readline().strip()
            except OSError:
                answer = ""
            if answer.isdigit():
                pid = int(answer)
                with self._lock:
                    self._running[run.run_id] = (pid, log_file)
                self._watch(pid)
                return
            self._stop_zygote()  # it died: start it again, once
        raise InstanceError(f"The run launcher's zygote could not fork run {run.run_id}.")

    def _watch(self, pid: int) -> None:
        callback = self.on_exit
        if callback is None or not hasattr(os, "pidfd_open"):
            return
        try:
            fd = os.pidfd_open(pid)
        except OSError:
            callback()  # already gone
            return

        def wait() -> None:
            try:
                select.select([fd], [], [])
            finally:
                os.close(fd)
            callback()

        threading.Thread(target=wait, name=f"run-exit-{pid}", daemon=True).start()

    def poll(self) -> list[LaunchExit]:
        """The forked run processes that are gone (exit code -1: not known)."""
        ended: list[LaunchExit] = []
        with self._lock:
            for run_id, (pid, log_file) in list(self._running.items()):
                if not process_is_alive(pid):
                    del self._running[run_id]
                    ended.append(LaunchExit(run_id, -1, log_file))
        return ended

    def dispose(self) -> None:
        """Stop the zygote (launched runs go on)."""
        self._stop_zygote()
        self._running.clear()
