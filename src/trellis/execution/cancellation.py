"""``Cancellation``: how a run stops early, in the process that orchestrates it.

A run is canceled by ``trellis run cancel`` (status CANCELING in storage, which the run's
monitor polls: ``run_monitor.py``), by SIGINT or SIGTERM (``signals.py``), or by
``KeyboardInterrupt`` raised in the run. Whatever the cause, ``request``:

- marks the in-memory run CANCELING at once, so no step of this process can store an
  output or succeed any more (``execution/step.py`` checks before each), and the
  orchestration loop stops launching steps and terminates the running ones;
- has ``StepTerminated`` raised in every thread running user code of the run in this
  process (registered with ``enter`` / ``leave``), at its next Python instruction
  (``deliver``). A thread blocked in a C call (a long ``time.sleep``, a socket read)
  stops when the call returns; the main thread, when the run owns SIGINT, is woken by a
  signal, so its sleeps and reads are interrupted too. An interruption is raised only
  while the thread holds no lock of the run's event stream, so the event log never
  loses a batch half-written.

A second signal ``forces``: the main thread is interrupted wherever it waits (for steps
that do not stop, for a teardown), and the run ends CANCELED without waiting further.
"""

from __future__ import annotations

import ctypes
import signal
import threading
import time
from types import CodeType, FrameType
from typing import TYPE_CHECKING

from trellis.core import event_factory
from trellis.core.errors import StepTerminated
from trellis.core.run import RunStatus

if TYPE_CHECKING:
    from collections.abc import Callable

    from trellis.core.events import Event
    from trellis.core.run import Run
    from trellis.execution.event_stream import RunEventStream

CAUSES: dict[int, str] = {
    signal.SIGINT: "SIGINT (Ctrl-C) received",
    signal.SIGTERM: "SIGTERM received",
}
"""How a signal that canceled a run is named in its events."""


def set_async_exception(ident: int, exc_type: type[BaseException] | None) -> None:
    """Raise ``exc_type`` in thread ``ident`` at its next Python instruction (None: forget
    one that has not been raised yet)."""
    target = ctypes.py_object(exc_type) if exc_type is not None else None
    ctypes.pythonapi.PyThreadState_SetAsyncExc(ctypes.c_ulong(ident), target)


class Cancellation:
    """Whether and why a run was canceled, and the threads of this process running its
    user code (``enter`` / ``leave``), which ``deliver`` interrupts.

    ``signum``: the signal that canceled the run, if one did (the caller re-raises it once
    the run has ended); ``deadline``: the monotonic time after which the process exits
    anyway (SIGTERM's grace period); ``forced``: a second signal arrived."""

    def __init__(self, run: Run, stream: RunEventStream, grace_seconds: float = 30.0) -> None:
        self.run = run
        self.stream = stream
        self.grace_seconds = grace_seconds  # after SIGTERM
        self.requested = False
        self.cause = ""
        self.signum: int | None = None
        self.interrupted = False  # a KeyboardInterrupt raised in the run itself
        self.forced = False
        self.fails_run = False  # the run ends FAILURE, not CANCELED (its max runtime passed)
        self.deadline: float | None = None
        self.announced = False  # RUN_CANCELING emitted for a cancellation from a signal
        # Set by ``signals.py`` when the run owns SIGINT: wakes the main thread with it.
        self.wake_main: Callable[[], None] | None = None
        self.waking_main = False  # the next SIGINT is ``wake_main``'s, not the user's
        self.main_pending = False  # the main thread must be interrupted when it can be
        self._main: int = threading.main_thread().ident or 0
        self._steps: dict[int, str] = {}  # thread ident -> what it runs (a step key)
        self._interrupted: set[int] = set()  # threads with a StepTerminated pending
        self._lock = threading.Lock()

    # -- asking ------------------------------------------------------------------------
    def request(
        self,
        cause: str,
        signum: int | None = None,
        *,
        stored: bool = False,
        fails_run: bool = False,
    ) -> bool:
        """Cancel the run (only attribute writes: safe in a signal handler); ``stored``:
        the ``RUN_CANCELING`` event is in storage already (``trellis run cancel``);
        ``fails_run``: the run is stopped the same way but ends FAILURE (its
        ``dagster/max_runtime`` passed). False if the run was already canceled."""
        if self.requested:
            return False
        self.cause = cause
        self.fails_run = fails_run
        self.signum = signum
        self.announced = stored
        self.requested = True
        if not self.run.status.is_finished:
            self.run.status = RunStatus.CANCELING  # steps can no longer succeed
        return True

    def announce(self) -> None:
        """Emit ``RUN_CANCELING`` naming the cause, once, unless it is stored already."""
        with self._lock:  # the loop and the monitor may both get here
            if not self.requested or self.announced:
                return
            self.announced = True
        run = self.run
        self.stream.emit(event_factory.run_canceling(run.run_id, run.job_name, self.cause))

    def on_signal(self, signum: int, frame: FrameType | None) -> None:
        """SIGINT or SIGTERM arrived (in the main thread, from ``signals.py``): cancel the
        run, or force it on a second signal; interrupt the main thread now if it runs the
        run's user code (or if forced), outside the event stream."""
        if self.waking_main:  # ``wake_main``'s own signal
            self.waking_main = False
        elif self.request(CAUSES.get(signum, f"signal {signum} received"), signum):
            if signum == signal.SIGTERM and self.deadline is None:
                self.deadline = time.monotonic() + self.grace_seconds
        else:
            self.forced = True
            if self.signum is None:  # canceled otherwise first: the signal is re-raised
                self.signum = signum
        in_step = self._main in self._steps
        wanted = self.forced or in_step
        if wanted and not shielded(frame):
            self.main_pending = False
            if in_step:
                self._interrupted.add(self._main)  # raised now: ``deliver`` leaves it be
            if self.signum == signal.SIGINT or self.forced:
                raise KeyboardInterrupt
            raise StepTerminated(f"the run was canceled: {self.cause}")
        self.main_pending = wanted

    # -- threads running the run's user code -------------------------------------------
    def enter(self, what: str) -> None:
        """This thread starts running user code of the run (``what``: a step key). Call it
        inside the ``try`` whose ``finally`` calls ``leave``."""
        self._steps[threading.get_ident()] = what

    def leave(self) -> None:
        """This thread is done with the run's user code: forget it, and drop an
        interruption sent but not yet raised (it must not surface in framework code)."""
        ident = threading.get_ident()
        self._steps.pop(ident, None)
        if self.requested or self.forced:  # else ``deliver`` has not run: nothing pending
            self._drop_interruption(ident)

    def _drop_interruption(self, ident: int) -> None:
        while True:
            try:
                with self._lock:  # after a ``deliver`` that saw the thread registered
                    if ident in self._interrupted:
                        self._interrupted.discard(ident)
                        set_async_exception(ident, None)
                    if ident == self._main:
                        self.main_pending = False
                return
            except StepTerminated:  # raised just before it was dropped
                continue

    def running_steps(self) -> list[str]:
        """What the registered threads run (step keys), sorted."""
        return sorted(set(list(self._steps.values())))

    def deliver(self, wait: float = 1.0) -> None:
        """Interrupt every registered thread not interrupted yet (not the calling one):
        ``StepTerminated`` at its next Python instruction, raised while no thread holds the
        event stream's lock (waiting at most ``wait`` seconds for it; the monitor retries).
        The main thread, when the run owns SIGINT, is woken by a SIGINT instead, so that a
        sleep or a blocking read returns."""
        if not self.requested and not self.forced:
            return
        me = threading.get_ident()
        registered = list(self._steps)  # a copy: step threads register meanwhile
        others = [i for i in registered if i != me and i not in self._interrupted]
        if self.main_pending and self._main != me and self._main not in others:
            others.append(self._main)  # forced, or interrupted while in the stream
        if not others:
            return
        if self._main in others and self.wake_main is not None:
            others.remove(self._main)
            self.waking_main = True
            self.main_pending = True
            self.wake_main()
        if not others or not self.stream.lock.acquire(timeout=wait):
            return
        try:
            with self._lock:
                for ident in others:
                    if ident in self._steps or ident == self._main:
                        set_async_exception(ident, StepTerminated)
                        self._interrupted.add(ident)
        finally:
            self.stream.lock.release()

    # -- what the loop records -----------------------------------------------------------
    def end_step(self, event: Event) -> None:
        """Record a terminated step's ``STEP_FAILURE``; drop what the step emits later."""
        self.stream.end_step(event)


_SHIELDED: set[CodeType] = set()


def shield(function: Callable[..., object]) -> None:
    """Never raise a signal's interruption while ``function`` runs (it is deferred until the
    function has returned): recording an event, storing a batch, registering a thread."""
    code = getattr(function, "__code__", None)
    if isinstance(code, CodeType):
        _SHIELDED.add(code)


def shielded(frame: FrameType | None) -> bool:
    """Whether ``frame`` (the main thread's, as a signal handler sees it) is inside a
    shielded function."""
    while frame is not None:
        if frame.f_code in _SHIELDED:
            return True
        frame = frame.f_back
    return False


def _shield_defaults() -> None:
    from trellis.execution.event_stream import RunEventStream

    for function in (
        RunEventStream.emit,
        RunEventStream.end_step,
        RunEventStream.flush,
        RunEventStream.flush_pending,
        RunEventStream.record_last,
        RunEventStream._flush,
        Cancellation.enter,
        Cancellation.leave,
        Cancellation._drop_interruption,
        Cancellation.deliver,
        Cancellation.announce,
    ):
        shield(function)


_shield_defaults()
