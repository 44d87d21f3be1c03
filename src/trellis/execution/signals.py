"""SIGINT and SIGTERM while a run executes in this process: a cancellation of the run,
not a sudden death of the process.

While ``execute_run`` runs on the main thread, it handles SIGINT and SIGTERM itself, each
only if the process has Python's default for it (SIGINT raises ``KeyboardInterrupt``,
SIGTERM kills the process at once); a handler the user installed, or a signal ignored,
is left alone. The previous handlers are back when the run ends.

The first signal cancels the run (``Cancellation.on_signal``): running steps are
terminated, resources torn down, the run ends CANCELED. After SIGTERM the run has
``TRELLIS_TERM_GRACE_SECONDS`` (default 30) to end; then the process exits anyway
(``run_monitor.py``). A second signal stops waiting for what has not stopped yet. Once
the run has ended, its caller sees the signal: ``KeyboardInterrupt`` for SIGINT,
``RunTerminated`` (a ``SystemExit`` with status 143) for SIGTERM.
"""

from __future__ import annotations

import math
import os
import signal
import threading
from types import FrameType
from typing import TYPE_CHECKING, Any

from trellis.core.errors import InvalidInvocationError

if TYPE_CHECKING:
    from trellis.execution.cancellation import Cancellation

GRACE_ENV = "TRELLIS_TERM_GRACE_SECONDS"
DEFAULT_GRACE_SECONDS = 30.0


def term_grace_seconds() -> float:
    """The grace period after SIGTERM, in seconds: ``$TRELLIS_TERM_GRACE_SECONDS`` or 30;
    anything but a number of seconds (0 or more) is an error naming the variable."""
    raw = os.environ.get(GRACE_ENV, "").strip()
    if not raw:
        return DEFAULT_GRACE_SECONDS
    try:
        value = float(raw)
    except ValueError:
        value = math.nan
    if not (0 <= value < math.inf):
        raise InvalidInvocationError(
            f"{GRACE_ENV} must be a number of seconds (0 or more), not {raw!r}."
        )
    return value


def _is_default(signum: int, handler: Any) -> bool:
    if signum == signal.SIGINT:
        return handler is signal.default_int_handler
    return handler == signal.SIG_DFL


_INSTALLED: list[RunSignals] = []  # the runs whose handlers are in place in this process


def _after_fork_in_child() -> None:
    """A process forked during a run (a pool worker started with ``fork``, a step's own
    ``os.fork``) is not the run's orchestrator: give it the handlers the run replaced, and
    no wakeup fd (the run monitor's pipe, which it shares with the parent)."""
    for handlers in reversed(_INSTALLED):
        handlers.restore()
    _INSTALLED.clear()


os.register_at_fork(after_in_child=_after_fork_in_child)


class RunSignals:
    """The run's SIGINT and SIGTERM handlers (``install``, ``restore``)."""

    def __init__(self, cancellation: Cancellation) -> None:
        self.cancellation = cancellation
        self._previous: dict[int, Any] = {}
        self._wakeup_set = False

    def install(self, wakeup_fd: int | None = None) -> None:
        """Handle SIGINT and SIGTERM for the run, where the process has Python's default
        handler and this is the main thread; signals are also written to ``wakeup_fd``
        (the run monitor's pipe) unless the program set a wakeup fd of its own."""
        if threading.current_thread() is not threading.main_thread():
            return
        for signum in (signal.SIGINT, signal.SIGTERM):
            previous = signal.getsignal(signum)
            if _is_default(signum, previous):
                signal.signal(signum, self._handle)
                self._previous[signum] = previous
        if signal.SIGINT in self._previous:
            self.cancellation.wake_main = self._wake_main
        if wakeup_fd is not None and signal.SIGTERM in self._previous:
            previous_fd = signal.set_wakeup_fd(wakeup_fd, warn_on_full_buffer=False)
            if previous_fd != -1:  # someone else's (an event loop): theirs
                signal.set_wakeup_fd(previous_fd)
            else:
                self._wakeup_set = True
        if self._previous:
            _INSTALLED.append(self)

    @property
    def handles_sigterm(self) -> bool:
        """Whether the run took SIGTERM (the process had Python's default for it)."""
        return signal.SIGTERM in self._previous

    def restore(self) -> None:
        """Put the previous handlers back (those still ours), and no wakeup fd."""
        if self in _INSTALLED:
            _INSTALLED.remove(self)
        self.cancellation.wake_main = None
        if self._wakeup_set:
            signal.set_wakeup_fd(-1)
            self._wakeup_set = False
        for signum, previous in self._previous.items():
            if signal.getsignal(signum) == self._handle:
                signal.signal(signum, previous)
        self._previous.clear()

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        self.cancellation.on_signal(signum, frame)

    def _wake_main(self) -> None:
        ident = threading.main_thread().ident
        if ident is not None:
            signal.pthread_kill(ident, signal.SIGINT)
