"""``DaemonLoop``: one of the daemon's loops (scheduler, sensors, run queue), each with
its own interval. The daemon calls ``run_iteration(now)`` when the loop is due and asks
``next_due(now)`` when to call it again, so it sleeps exactly until the next thing to do
(no busy polling) unless ``TrellisDaemon.wake()`` brings it forward."""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any


class DaemonLoop(ABC):
    """A loop of the daemon: ``run_iteration`` does one round of its work at time
    ``now``; ``next_due`` says when the next round is due. ``info`` goes into the loop's
    heartbeat (``trellis daemon status``)."""

    name: str = "loop"

    def __init__(self, interval: float) -> None:
        self.interval = interval
        self.last_run: float | None = None
        self.info: dict[str, Any] = {}

    @abstractmethod
    def run_iteration(self, now: float) -> None:
        """One round of the loop's work at time ``now``."""

    def next_due(self, now: float) -> float:
        """When the loop should run next (default: ``interval`` after its last round)."""
        return now if self.last_run is None else self.last_run + self.interval

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release what the loop holds (the daemon is stopping)."""
