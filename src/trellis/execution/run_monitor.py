"""``RunMonitor``: the run's background thread, while the run executes.

Every ``TICK`` seconds it:

- stores the events held back (log lines, inputs, outputs of a running step), so that
  none waits more than ``FLUSH_SECONDS`` for storage: ``trellis run logs --follow``
  shows a running step, and a crash of this process loses at most that much;
- asks the instance every ``POLL_SECONDS`` whether someone canceled the run
  (``trellis run cancel`` sets it CANCELING in storage), and cancels it here;
- stops the run once it has run longer than its ``dagster/max_runtime`` tag (seconds,
  counted from ``RUN_START``): the steps are stopped as for a
  cancel, and the run ends FAILURE saying so (as Dagster's run monitoring does; here it
  needs no daemon);
- once the run is canceled, records why (``RUN_CANCELING``) and interrupts the threads
  still running its user code (``Cancellation.deliver``);
- after SIGTERM, when the grace period is over and the run has not ended, records what
  it can (the running steps terminated, the run canceled) and exits the process with
  status 143. A step that holds the interpreter itself in one long C call (one that
  never releases the GIL) stops every thread, this one included: only the service
  manager's SIGKILL ends that.
"""

from __future__ import annotations

import logging
import os
import select
import signal
import sys
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from trellis.core import event_factory
from trellis.core.run import MAX_RUNTIME_SECONDS_TAG

if TYPE_CHECKING:
    from trellis.execution.cancellation import Cancellation

TICK = 0.1
"""How often the monitor wakes, in seconds."""

FLUSH_SECONDS = 0.5
"""The longest an event waits before it is stored, in seconds (plus one tick): a step's
log lines while it runs (``event_stream.py`` stores step starts and ends at once)."""

POLL_SECONDS = 0.5
"""How often the instance is asked whether the run was canceled, in seconds."""


class RunMonitor:
    """The watch over one run (``start``, ``stop``, then ``close``), kept by the process's
    monitor thread (``_MonitorThread``); see the module docstring.

    One thread serves every run of the process: it is started with the first run and
    waits on a pipe of its own, without a timeout while no run is watched. Starting a
    thread, a pipe and a join per run cost ~0.2 ms a run, as much as a whole tiny run
    (``/tmp``-free measure: 300 one-asset ``materialize_to_memory`` calls in a loop). The
    signal machinery writes to that pipe when the run owns SIGTERM (``wakeup_fd``:
    ``signal.set_wakeup_fd``), so that the grace period starts even while the main thread
    is blocked in a C call that a signal does not interrupt (its Python handler runs only
    once the call returns)."""

    def __init__(self, cancellation: Cancellation, should_cancel: Callable[[], bool]) -> None:
        self.cancellation = cancellation
        self.should_cancel = should_cancel
        self._monitor = _monitor_thread()
        self.wakeup_fd = self._monitor.wakeup_fd
        self.owns_sigterm = False  # set by the signal handlers when they take SIGTERM
        self._lock = threading.Lock()  # held while the monitor looks after this run
        self._watched = False
        now = time.monotonic()
        self.next_flush = self.next_poll = now + FLUSH_SECONDS
        self.max_runtime: float | None = None  # seconds, from the run's tag
        self.runtime_deadline: float | None = None

    def start(self) -> None:
        """Start watching the run."""
        self._watched = True
        self._monitor.watch(self)

    def stop(self) -> None:
        """Stop watching the run; returns once the monitor is done with it."""
        with self._lock:
            self._watched = False
        self._monitor.unwatch(self)

    def close(self) -> None:
        """Nothing to release: the pipe is the process's (kept for the run's lifecycle)."""

    def limit_runtime(self, seconds: float | None) -> None:
        """Stop the run (it ends FAILURE) once it has run ``seconds`` from now (its
        ``dagster/max_runtime`` tag; None: no limit)."""
        self.max_runtime = seconds
        self.runtime_deadline = None if seconds is None else time.monotonic() + seconds

    def on_sigterm(self) -> None:
        """SIGTERM reached the monitor's pipe: the grace period starts now."""
        cancellation = self.cancellation
        if self.owns_sigterm and cancellation.deadline is None:
            cancellation.deadline = time.monotonic() + cancellation.grace_seconds

    def look(self, now: float) -> None:
        """One tick of care for the run: flush, poll for a cancel request, deliver a
        cancellation, expire the grace period."""
        with self._lock:
            if not self._watched:
                return
            cancellation = self.cancellation
            stream = cancellation.stream
            try:
                if now >= self.next_flush and stream.flush_pending(timeout=TICK):
                    self.next_flush = now + FLUSH_SECONDS
                if not cancellation.requested and now >= self.next_poll:
                    self.next_poll = now + POLL_SECONDS
                    if self.should_cancel():
                        cancellation.request("trellis run cancel", stored=True)
                deadline = self.runtime_deadline
                if deadline is not None and now >= deadline and not cancellation.requested:
                    cancellation.request(
                        f"it ran longer than its maximum runtime of {self.max_runtime:g} s "
                        f"(tag {MAX_RUNTIME_SECONDS_TAG})",
                        fails_run=True,
                    )
                if cancellation.requested or cancellation.forced:
                    cancellation.announce()
                    cancellation.deliver(wait=TICK)
            except Exception:  # storage unreachable: the run's own thread reports it
                pass
            if cancellation.deadline is not None and now >= cancellation.deadline:
                self._expire()

    def _expire(self) -> None:
        """The grace period after SIGTERM is over: record what can be recorded within two
        seconds (the running steps terminated, the run canceled), then exit the process."""
        cancellation = self.cancellation
        run = cancellation.run
        stream = cancellation.stream
        cause = cancellation.cause or "SIGTERM received"
        message = (
            f"The run did not end within {cancellation.grace_seconds:g} s of {cause} "
            "(TRELLIS_TERM_GRACE_SECONDS); the process exits without waiting for it"
        )
        steps = [key for key in cancellation.running_steps() if not stream.has_ended(key)]
        if steps:
            message += f" (step(s) {steps} still running)"
        events = [
            event_factory.engine_event(
                run.run_id, run.job_name, message + ".", level=logging.ERROR
            ),
            *(
                event_factory.step_failure(
                    run.run_id,
                    run.job_name,
                    key,
                    f"Step '{key}' was terminated: the run was canceled ({cause}) and the "
                    "step did not stop within the grace period.",
                    error=None,
                    error_source=None,
                    reason="canceled",
                )
                for key in steps
            ),
            event_factory.run_canceled(run.run_id, run.job_name, message + "."),
        ]
        try:
            stream.record_last(events, timeout=2.0)
        except BaseException:
            pass  # the storage is unreachable: exit all the same
        for out in (sys.stdout, sys.stderr):
            try:
                out.flush()
            except Exception:
                pass
        os._exit(128 + (cancellation.signum or signal.SIGTERM))


class _MonitorThread:
    """The one thread that watches every run of this process (made on first use, and
    again in a forked child, which has no thread of its parent's)."""

    def __init__(self) -> None:
        self._read_fd, self.wakeup_fd = os.pipe()
        os.set_blocking(self.wakeup_fd, False)
        self._runs: list[RunMonitor] = []
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._loop, name="trellis-run-monitor", daemon=True)
        self._thread.start()

    def watch(self, monitor: RunMonitor) -> None:
        """Look after ``monitor``'s run every tick until ``unwatch``."""
        with self._lock:
            self._runs.append(monitor)
        self._wake()

    def unwatch(self, monitor: RunMonitor) -> None:
        """Stop looking after ``monitor``'s run."""
        with self._lock:
            if monitor in self._runs:
                self._runs.remove(monitor)

    def _wake(self) -> None:
        try:
            os.write(self.wakeup_fd, b"\0")
        except OSError:
            pass

    def _loop(self) -> None:
        while True:
            with self._lock:
                runs = list(self._runs)
            ready, _, _ = select.select([self._read_fd], [], [], TICK if runs else None)
            if ready:
                received = os.read(self._read_fd, 512)
                if signal.SIGTERM in received:
                    for monitor in runs:
                        monitor.on_sigterm()
            now = time.monotonic()
            for monitor in runs:
                monitor.look(now)


_MONITOR: _MonitorThread | None = None
_MONITOR_LOCK = threading.Lock()


def _monitor_thread() -> _MonitorThread:
    global _MONITOR
    if _MONITOR is None:
        with _MONITOR_LOCK:
            if _MONITOR is None:
                _MONITOR = _MonitorThread()
    return _MONITOR


def _forget_after_fork() -> None:
    global _MONITOR, _MONITOR_LOCK
    _MONITOR, _MONITOR_LOCK = None, threading.Lock()


os.register_at_fork(after_in_child=_forget_after_fork)
