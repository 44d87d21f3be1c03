"""``RunEventStream``: where a run's events go. Every event is appended to the run's
list (the result reads it), shown on the console when its level is enabled, and handed
to the instance's storage in batches.

When a batch is stored: at once for run-level events and for a step's start, end, skip
or retry; the events in between (log lines, inputs, outputs) with the next of those, or
when the run's monitor flushes them (``run_monitor.py``), at most ``FLUSH_SECONDS`` (and a
tick) after they were emitted. So a running step is visible, and a crash of this process
leaves its start and all but its last half second recorded. Two refinements keep one
batch per step where it costs nothing in safety:

- in memory (an ephemeral instance), where nothing survives the process anyway, a step's
  start waits for its end;
- on a persistent instance with steps run one at a time in this process (the in-process
  executor), a step's end is stored with the next step's start, which comes right after
  it (or with the run's end, or by the monitor).
"""

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
        EventType.RUN_CANCELING,
        EventType.RUN_SUCCESS,
        EventType.RUN_FAILURE,
        EventType.RUN_CANCELED,
        EventType.STEP_SUCCESS,
        EventType.STEP_FAILURE,
        EventType.STEP_SKIPPED,
        EventType.STEP_UP_FOR_RETRY,
    }
)

_STARTS = frozenset({EventType.STEP_START, EventType.STEP_RESTARTED})
_ENDS = frozenset({EventType.STEP_SUCCESS, EventType.STEP_FAILURE})


def flush_now_types(persistent: bool, one_step_at_a_time: bool) -> frozenset[EventType]:
    """The event types whose emission stores the pending batch (module docstring)."""
    if not persistent:
        return _FLUSH_NOW
    if one_step_at_a_time:
        return (_FLUSH_NOW - _ENDS) | _STARTS
    return _FLUSH_NOW | _STARTS


class RunEventStream:
    """The sink of one run's events (``emit``); ``flush`` hands pending ones to storage.
    ``one_step_at_a_time``: the run's steps run one after the other in this process.

    Thread-safe: steps on threads and the run's monitor use it at once. ``end_step``
    records the last event of a step that was terminated; whatever that step emits
    afterwards is dropped. ``loggers``: the run's own loggers in this process
    (``run_loggers.RunLoggers``), handed each event after it is recorded, outside the
    lock."""

    __slots__ = (
        "_console",
        "_ended",
        "_flush_now",
        "_flushed",
        "_listener",
        "_lock",
        "events",
        "instance",
        "loggers",
        "run",
        "status_tracker",
    )

    def __init__(
        self,
        run: Run,
        instance: Any,
        console: ConsoleLogger | None,
        listener: Callable[[Event], None] | None = None,
        one_step_at_a_time: bool = False,
    ) -> None:
        self.run = run
        self.instance = instance
        self.events: list[Event] = []
        self._flushed = 0  # events[:_flushed] are with the storage
        self._console = console
        self._listener = listener
        self._lock = threading.Lock()  # steps on threads emit concurrently
        self._ended: set[str] = set()  # steps terminated: their later events are dropped
        self.loggers: Any = None
        # Works out the partition status updates of each stored batch (None: no
        # partitioned asset in the run's job).
        self.status_tracker: Any = None
        persistent = not getattr(instance, "is_ephemeral", False)
        self._flush_now = flush_now_types(persistent, one_step_at_a_time)

    @property
    def lock(self) -> threading.Lock:
        """Held while an event is recorded or a batch stored (an interruption of a step's
        thread is raised only while nobody holds it: ``cancellation.py``)."""
        return self._lock

    def emit(self, event: Event) -> None:
        """Record one event; a step's start or end, or a run-level event, stores the
        pending ones."""
        with self._lock:
            if self._ended and event.step_key in self._ended:
                return  # emitted by a step after it was terminated
            self.events.append(event)
            console = self._console
            if console is not None and event.level >= console.level:
                console.write(event)
            if event.event_type in self._flush_now:
                self._flush()
            if self._listener is not None:
                self._listener(event)
        if self.loggers is not None:
            self.loggers.handle(event)

    def end_step(self, event: Event) -> None:
        """Record the last event of a terminated step (its ``STEP_FAILURE``) and store it;
        events the step emits later are dropped."""
        with self._lock:
            self.events.append(event)
            self._ended.add(event.step_key or "")
            console = self._console
            if console is not None and event.level >= console.level:
                console.write(event)
            self._flush()
            if self._listener is not None:
                self._listener(event)
        if self.loggers is not None:
            self.loggers.handle(event)

    def has_ended(self, step_key: str) -> bool:
        """Whether ``end_step`` recorded the step's end."""
        return step_key in self._ended

    def record_last(self, events: list[Event], timeout: float) -> bool:
        """Record and store these events, the last of the run (the process is about to
        exit), waiting at most ``timeout`` seconds for a thread that is recording; False
        when it could not (they are dropped)."""
        if not self._lock.acquire(timeout=timeout):
            return False
        try:
            self.events.extend(events)
            self._flush()
        finally:
            self._lock.release()
        return True

    def flush(self) -> None:
        """Hand pending events to the instance's storage, in order."""
        with self._lock:
            self._flush()

    def flush_pending(self, timeout: float) -> bool:
        """Store pending events if there are any, waiting at most ``timeout`` seconds for
        another thread that is recording; whether nothing is left pending. Storage errors
        propagate; the batch stays pending for the next flush."""
        if len(self.events) == self._flushed:
            return True
        if not self._lock.acquire(timeout=timeout):
            return False
        try:
            self._flush()
        finally:
            self._lock.release()
        return True

    def _flush(self) -> None:
        events = self.events
        flushed = self._flushed
        if len(events) > flushed:
            self._flushed = len(events)
            try:
                batch = events[flushed:]
                tracker = self.status_tracker
                if tracker is None:
                    self.instance.handle_new_events(batch, self.run)
                else:
                    self.instance.handle_new_events(batch, self.run, tracker.updates(batch))
            except BaseException:
                self._flushed = flushed  # not stored: the next flush tries again
                raise
