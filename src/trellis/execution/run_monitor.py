"""``RunMonitor``: the run's background thread, while the run executes.

Every ``TICK`` seconds it:

- stores the events held back (log lines, inputs, outputs of a running step), so that
  none waits more than ``FLUSH_SECONDS`` for storage: ``trellis run logs --follow``
  shows a running step, and a crash of this process loses at most that much;
- asks the instance every ``POLL_SECONDS`` whether someone canceled the run
  (``trellis run cancel`` sets it CANCELING in storage), and cancels it here;
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
    """The background thread of one run (``start``, ``stop``, then ``close``); see the
    module docstring.

    It waits on a pipe of its own: ``stop`` writes to it, and so does the signal machinery
    when the run owns SIGTERM (``wakeup_fd``: ``signal.set_wakeup_fd``), so that the grace
    period starts even while the main thread is blocked in a C call that a signal does not
    interrupt (its Python handler runs only once the call returns)."""

    def __init__(self, cancellation: Cancellation, should_cancel: Callable[[], bool]) -> None:
        self.cancellation = cancellation
        self.should_cancel = should_cancel
        self._read_fd, self.wakeup_fd = os.pipe()
        os.set_blocking(self.wakeup_fd, False)
        self._stopping = False
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        """Start the thread (a daemon: it never keeps the process alive)."""
        name = f"trellis-run-monitor-{self.cancellation.run.run_id[:8]}"
        self._thread = threading.Thread(target=self._loop, name=name, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop the thread and wait for it (the pipe stays open until ``close``)."""
        self._stopping = True
        try:
            os.write(self.wakeup_fd, b"\0")
        except OSError:
            pass
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join()
        self._thread = None

    def close(self) -> None:
        """Close the pipe (once nothing writes to it: the wakeup fd was reset)."""
        for fd in (self._read_fd, self.wakeup_fd):
            try:
                os.close(fd)
            except OSError:
                pass

    def _wait(self) -> None:
        """Wait a tick, or less if the pipe is written to; note a SIGTERM that arrived."""
        ready, _, _ = select.select([self._read_fd], [], [], TICK)
        if ready:
            received = os.read(self._read_fd, 512)
            cancellation = self.cancellation
            if signal.SIGTERM in received and cancellation.deadline is None:
                cancellation.deadline = time.monotonic() + cancellation.grace_seconds

    def _loop(self) -> None:
        cancellation = self.cancellation
        stream = cancellation.stream
        next_flush = next_poll = time.monotonic() + FLUSH_SECONDS
        while True:
            self._wait()
            if self._stopping:
                return
            now = time.monotonic()
            try:
                if now >= next_flush and stream.flush_pending(timeout=TICK):
                    next_flush = now + FLUSH_SECONDS
                if not cancellation.requested and now >= next_poll:
                    next_poll = now + POLL_SECONDS
                    if self.should_cancel():
                        cancellation.request("trellis run cancel", stored=True)
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
