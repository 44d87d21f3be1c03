"""``RunEventStream``: where a run's events go. Every event is appended to the run's
list (the result reads it), shown on the console when its level is enabled, and handed
to the instance's storage in batches (per step, and at once for run-level events)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from trellis.core.events import Event, EventType
from trellis.core.run import Run
from trellis.views.console import ConsoleLogger

_FLUSH_NOW = frozenset(
    {
        EventType.RUN_START,
        EventType.RUN_SUCCESS,
        EventType.RUN_FAILURE,
        EventType.RUN_CANCELED,
        EventType.STEP_SUCCESS,
        EventType.STEP_FAILURE,
        EventType.STEP_SKIPPED,
        EventType.STEP_UP_FOR_RETRY,
    }
)


class RunEventStream:
    """The sink of one run's events (``emit``); ``flush`` hands pending ones to storage."""

    __slots__ = ("_console", "_flushed", "_listener", "_lock", "events", "instance", "run")

    def __init__(
        self,
        run: Run,
        instance: Any,
        console: ConsoleLogger | None,
        listener: Callable[[Event], None] | None = None,
    ) -> None:
        self.run = run
        self.instance = instance
        self.events: list[Event] = []
        self._flushed = 0  # events[:_flushed] are with the storage
        self._console = console
        self._listener = listener
        self._lock = threading.Lock()  # steps on threads emit concurrently

    def emit(self, event: Event) -> None:
        """Record one event; step and run boundaries flush to storage."""
        with self._lock:
            self.events.append(event)
            console = self._console
            if console is not None and event.level >= console.level:
                console.write(event)
            if event.event_type in _FLUSH_NOW:
                self._flush()
            if self._listener is not None:
                self._listener(event)

    def flush(self) -> None:
        """Hand pending events to the instance's storage, in order."""
        with self._lock:
            self._flush()

    def _flush(self) -> None:
        events = self.events
        if len(events) > self._flushed:
            pending = events[self._flushed :]
            self._flushed = len(events)
            self.instance.handle_new_events(pending, self.run)
