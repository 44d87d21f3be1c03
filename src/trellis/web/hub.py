"""Live updates: one thread watches the instance (runs written by any process: the
children the UI launched, ``trellis job execute`` in a terminal) and pushes what changed
to every open event stream (``GET /api/stream``, server-sent events). The browser is
never polling: it gets a message per change.

Messages (JSON):

- ``{"type": "run", "run": {...}}``: a run appeared or changed status;
- ``{"type": "events", "run_id": ..., "events": [...]}``: new events of a live run, in
  storage order (each with its ``storage_id``, so a page that loaded the log first can
  skip what it has);
- ``{"type": "launch_failed", "run_id": ..., "log": ...}``: a launched child exited
  without recording its run;
- ``{"type": "workspace", ...}``: the definitions were reloaded;
- ``{"type": "tick", ...}`` and ``{"type": "evaluation", ...}``: automation
  (``automation_watch.py``), looked at every ``AUTOMATION_EVERY`` polls;
- ``{"type": "backfill", "backfill": {...}}``: a backfill appeared or changed (status,
  counts, runs launched).
"""

from __future__ import annotations

import asyncio
import threading
from typing import Any

from trellis.web.automation_watch import AutomationWatch
from trellis.web.serialize import event_json, run_json

WATCHED_RUNS = 100  # the newest runs whose changes are pushed
WATCHED_BACKFILLS = 50  # the newest backfills whose changes are pushed
BACKFILL_INTERVAL = 0.5  # seconds between looks at them (the daemon moves them each second)
QUEUE_SIZE = 1000
AUTOMATION_EVERY = 4  # polls between two looks at ticks and evaluations


class Subscriber:
    """One open stream: an asyncio queue on the server's event loop, optionally only the
    events of one run."""

    def __init__(self, loop: asyncio.AbstractEventLoop, run_id: str | None) -> None:
        self.loop = loop
        self.run_id = run_id
        self.queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue(QUEUE_SIZE)

    def wants(self, message: dict[str, Any]) -> bool:
        """Whether this stream forwards ``message`` (events only of its run, if any)."""
        return message["type"] != "events" or self.run_id in (None, message["run_id"])

    def offer(self, message: dict[str, Any]) -> None:
        """Queue ``message`` (called on the event loop); a full queue drops it."""
        if not self.queue.full():
            self.queue.put_nowait(message)


class Hub:
    """Watches the instance every ``interval`` seconds and publishes the changes."""

    def __init__(self, instance: Any, launcher: Any = None, interval: float = 0.05) -> None:
        self.instance = instance
        self.launcher = launcher
        self.interval = interval
        self._subscribers: list[Subscriber] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._seen: dict[str, tuple[Any, ...]] = {}
        self._cursors: dict[str, int] = {}
        self.automation = AutomationWatch(instance)
        self._polls = 0
        self._backfills_seen: dict[str, tuple[Any, ...]] = {}
        self.backfill_interval = BACKFILL_INTERVAL
        self._backfills_looked = float("-inf")

    # -- subscribers ---------------------------------------------------------------------
    def subscribe(self, run_id: str | None = None) -> Subscriber:
        """A new stream on the running event loop."""
        subscriber = Subscriber(asyncio.get_running_loop(), run_id)
        with self._lock:
            self._subscribers.append(subscriber)
        return subscriber

    def unsubscribe(self, subscriber: Subscriber) -> None:
        """Forget a closed stream."""
        with self._lock:
            if subscriber in self._subscribers:
                self._subscribers.remove(subscriber)

    def publish(self, message: dict[str, Any]) -> None:
        """Send ``message`` to every stream that wants it (from any thread)."""
        with self._lock:
            subscribers = list(self._subscribers)
        for subscriber in subscribers:
            if subscriber.wants(message):
                try:
                    subscriber.loop.call_soon_threadsafe(subscriber.offer, message)
                except RuntimeError:  # its loop has closed
                    self.unsubscribe(subscriber)

    # -- watching ------------------------------------------------------------------------
    def poll_once(self, publish: bool = True) -> None:
        """Look at the instance once and publish what changed since the last look."""
        runs = self.instance.get_runs(limit=WATCHED_RUNS)
        for run in reversed(runs):  # oldest first, so pages see creation order
            signature = (run.status, run.start_time, run.end_time)
            before = self._seen.get(run.run_id)
            if before == signature:
                continue
            self._seen[run.run_id] = signature
            if publish:
                self.publish({"type": "run", "run": run_json(run)})
            if before is None and not publish and run.is_finished:  # known at start
                continue
            self._publish_events(run.run_id, publish)
            if run.is_finished:
                self._cursors.pop(run.run_id, None)
        for run_id in list(self._cursors):  # live runs: events between status changes
            self._publish_events(run_id, publish)
        self._poll_backfills(publish)
        if self.launcher is not None:
            for launch in self.launcher.finished_without_run(self.instance):
                self.publish(
                    {"type": "launch_failed", "run_id": launch.run_id, "log": launch.log_tail()}
                )
        if self._polls % AUTOMATION_EVERY == 0:
            for message in self.automation.poll(publish):
                self.publish(message)
        self._polls += 1

    def _poll_backfills(self, publish: bool) -> None:
        """Publish the backfills that appeared or changed since the last look (at most
        every ``backfill_interval`` seconds; the daemon changes them once a round, and the
        runs of a backfill are pushed as runs). Only the stamps are read to see what
        changed: a record holds its whole plan, read only when it changed."""
        import time

        from trellis.web.api_backfills import backfill_summary

        now = time.monotonic()
        if publish and now - self._backfills_looked < self.backfill_interval:
            return
        self._backfills_looked = now

        for backfill_id, status, updated in reversed(
            self.instance.get_backfill_stamps(WATCHED_BACKFILLS)
        ):
            signature = (status, updated)
            if self._backfills_seen.get(backfill_id) == signature:
                continue
            self._backfills_seen[backfill_id] = signature
            record = self.instance.get_backfill(backfill_id) if publish else None
            if record is not None:
                self.publish({"type": "backfill", "backfill": backfill_summary(record)})

    def _publish_events(self, run_id: str, publish: bool) -> None:
        cursor = self._cursors.get(run_id, -1)
        records = self.instance.get_records(run_id, after_cursor=cursor)
        if not records:
            self._cursors[run_id] = cursor
            return
        self._cursors[run_id] = records[-1].storage_id
        if publish:
            self.publish(
                {
                    "type": "events",
                    "run_id": run_id,
                    "events": [event_json(r.storage_id, r.event) for r in records],
                }
            )

    def start(self) -> None:
        """Take the current state as known, then watch in a daemon thread."""
        self.poll_once(publish=False)

        def loop() -> None:
            while not self._stop.wait(self.interval):
                try:
                    self.poll_once()
                except Exception:  # storage busy or gone for a moment: look again later
                    continue

        self._thread = threading.Thread(target=loop, name="trellis-dev-hub", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop watching."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=2)
