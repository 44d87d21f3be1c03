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
  status 128 + the signal's number (143).
"""

from __future__ import annotations

import logging
import os
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
    """The background thread of one run (``start``, ``stop``); see the module docstring."""

    def __init__(self, cancellation: Cancellation, should_cancel: Callable[[], bool]) -> None:
        self.cancellation = cancellation
        self.should_cancel = should_cancel
        self._stopped = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        """Start the thread (a daemon: it never keeps the process alive)."""
        name = f"trellis-run-monitor-{self.cancellation.run.run_id[:8]}"
        self._thread = threading.Thread(target=self._loop, name=name, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop the thread and wait for it."""
        self._stopped.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join()
        self._thread = None

    def _loop(self) -> None:
        cancellation = self.cancellation
        stream = cancellation.stream
        next_flush = next_poll = time.monotonic() + FLUSH_SECONDS
        while not self._stopped.wait(TICK):
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
                    if cancellation.deadline is not None and now >= cancellation.deadline:
                        self._expire()
            except Exception:  # storage unreachable: the run's own thread reports it
                continue

    def _expire(self) -> None:
        """The grace period after SIGTERM is over: record what can be recorded within two
        seconds (the running steps terminated, the run canceled), then exit the process."""
        cancellation = self.cancellation
        run = cancellation.run
        stream = cancellation.stream
        message = (
            f"The run did not end within {cancellation.grace_seconds:g} s of "
            f"{cancellation.cause} (TRELLIS_TERM_GRACE_SECONDS); the process exits without "
            "waiting for it"
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
                    f"Step '{key}' was terminated: the run was canceled ({cancellation.cause}) "
                    "and the step did not stop within the grace period.",
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
        os._exit(128 + (cancellation.signum or 15))
