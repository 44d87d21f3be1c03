"""The daemon's clock: what time it is, injectable so tests move time by hand (a day of
hourly schedule ticks evaluated in a second) while the process uses the system clock."""

from __future__ import annotations

import threading
import time
from typing import Protocol


class Clock(Protocol):
    """Tells the daemon the time (seconds since the epoch, UTC)."""

    def now(self) -> float:
        """The current time."""
        ...


class SystemClock:
    """The real clock (``time.time``)."""

    def now(self) -> float:
        """The current time."""
        return time.time()


class ManualClock:
    """A clock that moves only when told to (tests): ``advance(3600)`` or ``set(t)``."""

    def __init__(self, start: float) -> None:
        self._now = float(start)
        self._lock = threading.Lock()

    def now(self) -> float:
        """The time last set."""
        with self._lock:
            return self._now

    def advance(self, seconds: float) -> float:
        """Move the time forward by ``seconds``; the new time."""
        with self._lock:
            self._now += seconds
            return self._now

    def set(self, timestamp: float) -> None:
        """Set the time."""
        with self._lock:
            self._now = float(timestamp)
