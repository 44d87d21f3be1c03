"""``InMemoryStorage``: the instance storage of an ephemeral instance, kept in this
process's memory (the same contract as the SQL back ends, ``storage.InstanceStorage``)."""

from __future__ import annotations

import bisect
import itertools
import threading
import time
from collections.abc import Collection, Sequence
from typing import Any

from trellis.core.asset_checks import AssetCheckKey
from trellis.core.asset_key import AssetKey
from trellis.core.events import Event, EventType
from trellis.core.run import Run, RunStatus
from trellis.instance.automation_records import AutomationRecordsMixin
from trellis.instance.backfills import InMemoryBackfillsMixin
from trellis.instance.check_index import InMemoryCheckIndex
from trellis.instance.daemon_records import (
    DaemonRecordsMixin,
)
from trellis.instance.dynamic_partitions import DynamicPartitionsMixin
from trellis.instance.partition_status import InMemoryPartitionStatus, StatusRange, StatusUpdate
from trellis.instance.pools import InMemoryPoolsMixin
from trellis.instance.sqlite.schema import asset_key_to_db
from trellis.instance.storage import (
    FINISHED_STATUSES,
    EventQuery,
    EventRecord,
    InstanceStorage,
    RunRecord,
    RunsFilter,
)


def _is_asset_event(event: Event) -> bool:
    return event.asset_key is not None and event.event_type in (
        EventType.ASSET_MATERIALIZATION,
        EventType.ASSET_OBSERVATION,
    )


class _RunLog:
    """One run's stored events and their storage ids (increasing), side by side."""

    __slots__ = ("events", "ids", "run_id")

    def __init__(self, run_id: str) -> None:
        self.run_id = run_id
        self.ids: list[int] = []
        self.events: list[Event] = []


class InMemoryStorage(
    AutomationRecordsMixin,
    InMemoryPoolsMixin,
    DynamicPartitionsMixin,
    InMemoryBackfillsMixin,
    DaemonRecordsMixin,
    InstanceStorage,
):
    """Runs, events and the asset index in dicts, for ephemeral instances and tests.

    Runs are kept by reference (the engine's ``Run`` object is the stored one).
    """

    backend = "in-memory"

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self._runs: dict[str, Run] = {}
        self._order: dict[str, int] = {}
        self._updated: dict[str, float] = {}  # when each run was last stored
        # Each run's events with their storage ids, in two parallel lists: a record object
        # per event is made only when one is asked for (most never are).
        self._logs: dict[str, _RunLog] = {}
        self._materializations: dict[AssetKey, list[EventRecord]] = {}
        self._observations: dict[AssetKey, list[EventRecord]] = {}
        self._asset_keys: set[AssetKey] = set()
        self._ids = itertools.count(1)
        self._heartbeats: dict[str, float] = {}
        self._automation_init()
        self._dynamic_init()
        self._backfills_init()
        self._status = InMemoryPartitionStatus()
        self._daemon_init()
        self._checks = InMemoryCheckIndex()
        self._pools_init(self._is_live)

    def _is_live(self, run_id: str) -> bool:
        run = self._runs.get(run_id)
        return run is not None and not run.status.is_finished

    def get_partition_status_ranges(
        self, asset_keys: Sequence[str]
    ) -> dict[str, list[StatusRange]]:
        """The partition status index of each asset."""
        return self._status.ranges(asset_keys)

    def get_partition_reindex_pending(self, asset_keys: Sequence[str]) -> set[str]:
        """None: an in-memory instance has no history from before the index."""
        return set()

    def replace_partition_status(
        self, asset_key: str, rebuilt: Sequence[StatusRange], keep_newer: bool
    ) -> None:
        """Store an asset's partition status rebuilt from its events."""
        self._status.replace(asset_key, rebuilt, keep_newer)

    # -- runs --------------------------------------------------------------------------
    def add_run(self, run: Run) -> None:
        """Store a new run."""
        from trellis.core.errors import InstanceError

        with self._lock:
            if run.run_id in self._runs:
                raise InstanceError(f"A run with id '{run.run_id}' already exists.")
            self._runs[run.run_id] = run
            self._order[run.run_id] = next(self._ids)
            self._updated[run.run_id] = time.time()

    def _keeps_stored(self, run: Run) -> bool:
        """Whether the stored run is another object, finished with another status."""
        stored = self._runs.get(run.run_id)
        return (
            stored is not None
            and stored is not run
            and stored.status in FINISHED_STATUSES
            and stored.status is not run.status
        )

    def update_run(self, run: Run) -> None:
        """Store the run (kept by reference)."""
        with self._lock:
            if self._keeps_stored(run):
                return
            self._runs[run.run_id] = run
            self._order.setdefault(run.run_id, next(self._ids))
            self._updated[run.run_id] = time.time()

    def get_run(self, run_id: str) -> Run | None:
        """One run, or None."""
        return self._runs.get(run_id)

    def get_runs(self, runs_filter: RunsFilter, limit: int | None = None) -> list[Run]:
        """Runs passing the filter, newest first."""
        with self._lock:
            runs = [
                r for r in self._runs.values() if runs_filter.matches(r, self._updated[r.run_id])
            ]
            runs.sort(key=lambda r: (r.create_time, self._order[r.run_id]), reverse=True)
        return runs[:limit] if limit is not None else runs

    def get_run_records(
        self,
        runs_filter: RunsFilter,
        limit: int | None = None,
        cursor: str | None = None,
        order_by: str | None = None,
        ascending: bool = False,
    ) -> list[RunRecord]:
        """Run records passing the filter, in ``order_by`` order after ``cursor``."""
        from trellis.instance.sqlite.record_queries import check_order_by, unknown_run_cursor

        check_order_by(order_by)
        column = order_by or "create_timestamp"
        with self._lock:

            def key(run: Run) -> tuple[float, int]:
                values = {
                    "id": 0.0,
                    "create_timestamp": run.create_time,
                    "update_timestamp": self._updated[run.run_id],
                    "start_time": run.start_time,
                    "end_time": run.end_time,
                }
                value = values[column]
                return (-1.0 if value is None else value, self._order[run.run_id])

            runs = [
                r for r in self._runs.values() if runs_filter.matches(r, self._updated[r.run_id])
            ]
            runs.sort(key=key, reverse=not ascending)
            if cursor is not None:
                at = self._runs.get(cursor)
                if at is None:
                    raise unknown_run_cursor(cursor)
                mark = key(at)
                runs = [r for r in runs if (key(r) > mark if ascending else key(r) < mark)]
            runs = runs[:limit] if limit is not None else runs
            return [
                RunRecord.from_stored(
                    self._order[r.run_id], r, r.create_time, self._updated[r.run_id]
                )
                for r in runs
            ]

    def count_runs(self, runs_filter: RunsFilter) -> int:
        """How many runs pass the filter."""
        with self._lock:
            return sum(
                1 for r in self._runs.values() if runs_filter.matches(r, self._updated[r.run_id])
            )

    def delete_runs(self, run_ids: Sequence[str]) -> int:
        """Delete runs with their events and asset-index entries."""
        deleted = 0
        with self._lock:
            for run_id in run_ids:
                if self._runs.pop(run_id, None) is not None:
                    deleted += 1
                self._order.pop(run_id, None)
                self._updated.pop(run_id, None)
                self._logs.pop(run_id, None)
                self._heartbeats.pop(run_id, None)
            gone = set(run_ids)
            self._checks.forget_runs(gone)
            for index in (self._materializations, self._observations):
                for key, records in list(index.items()):
                    kept = [r for r in records if r.run_id not in gone]
                    if kept:
                        index[key] = kept
                    else:
                        del index[key]
            self._asset_keys = {
                event.asset_key  # type: ignore[misc]
                for log in self._logs.values()
                for event in log.events
                if _is_asset_event(event)
            }
        return deleted

    def run_ids_created_before(self, cutoff: float, exclude: Sequence[RunStatus]) -> list[str]:
        """Ids of the runs created before ``cutoff`` whose status is not in ``exclude``."""
        with self._lock:
            return [
                r.run_id
                for r in self._runs.values()
                if r.create_time < cutoff and r.status not in exclude
            ]

    def get_run_tags(self) -> dict[str, list[str]]:
        """Every tag key in use, with its distinct values."""
        found: dict[str, set[str]] = {}
        with self._lock:
            for run in self._runs.values():
                for key, value in run.tags.items():
                    found.setdefault(key, set()).add(value)
        return {key: sorted(found[key]) for key in sorted(found)}

    # -- events ------------------------------------------------------------------------
    def store_events(
        self,
        events: Sequence[Event],
        run: Run | None = None,
        only_if_status: Sequence[RunStatus] | None = None,
        wait: bool = True,
        status_updates: Sequence[StatusUpdate] = (),
    ) -> bool:
        """Append events in order; the run is kept by reference."""
        with self._lock:
            if status_updates:
                self._status.apply(status_updates)
            # Runs are shared by reference here, so the status was already changed by the
            # caller: only a missing run can fail the condition.
            if only_if_status is not None and run is not None and run.run_id not in self._runs:
                return False
            ids = self._ids
            log: _RunLog | None = None
            materialization, observation, check = (
                EventType.ASSET_MATERIALIZATION,
                EventType.ASSET_OBSERVATION,
                EventType.ASSET_CHECK_EVALUATION,
            )
            for event in events:
                storage_id = next(ids)
                if log is None or event.run_id != log.run_id:  # a batch is one run's, mostly
                    log = self._logs.get(event.run_id)
                    if log is None:
                        log = self._logs[event.run_id] = _RunLog(event.run_id)
                log.ids.append(storage_id)
                log.events.append(event)
                key = event.asset_key
                if key is None:
                    continue
                if event.event_type is materialization:
                    self._asset_keys.add(key)
                    records = self._materializations.get(key)
                    if records is None:
                        records = self._materializations[key] = []
                    records.append(EventRecord(storage_id, event))
                elif event.event_type is observation:
                    self._asset_keys.add(key)
                    seen = self._observations.get(key)
                    if seen is None:
                        seen = self._observations[key] = []
                    seen.append(EventRecord(storage_id, event))
                elif event.event_type is check:
                    self._checks.add(EventRecord(storage_id, event))
            if run is not None and not self._keeps_stored(run):
                self._runs[run.run_id] = run
                self._updated[run.run_id] = time.time()
        return True

    def record_heartbeat(self, run_ids: Sequence[str], timestamp: float) -> None:
        """Keep ``timestamp`` as the runs' latest heartbeat."""
        with self._lock:
            for run_id in run_ids:
                self._heartbeats[run_id] = timestamp

    def get_heartbeats(self, run_ids: Sequence[str]) -> dict[str, float | None]:
        """The latest heartbeat of each run."""
        with self._lock:
            return {run_id: self._heartbeats.get(run_id) for run_id in run_ids}

    def get_records(
        self,
        run_id: str,
        after_cursor: int = -1,
        limit: int | None = None,
        event_types: Collection[EventType] | None = None,
    ) -> list[EventRecord]:
        """A run's events after ``after_cursor``, oldest first (of ``event_types``)."""
        with self._lock:
            log = self._logs.get(run_id)
            if log is None:
                return []
            start = bisect.bisect_right(log.ids, after_cursor)
            if event_types is not None:
                wanted = frozenset(event_types)
                found = [
                    EventRecord(log.ids[i], log.events[i])
                    for i in range(start, len(log.ids))
                    if log.events[i].event_type in wanted
                ]
                return found if limit is None else found[:limit]
            stop = len(log.ids) if limit is None else min(len(log.ids), start + limit)
            return [EventRecord(log.ids[i], log.events[i]) for i in range(start, stop)]

    def query_event_records(
        self, query: EventQuery, limit: int | None = None, ascending: bool = False
    ) -> list[EventRecord]:
        """The events passing ``query``, by storage id (an asset's through the index)."""
        indexes = {
            EventType.ASSET_MATERIALIZATION: self._materializations,
            EventType.ASSET_OBSERVATION: self._observations,
        }
        with self._lock:
            if query.asset_key is not None and all(t in indexes for t in query.event_types):
                candidates = [
                    r for t in query.event_types for r in indexes[t].get(query.asset_key, ())
                ]
            else:
                candidates = [
                    EventRecord(sid, event)
                    for log in self._logs.values()
                    for sid, event in zip(log.ids, log.events, strict=True)
                ]
        found = [r for r in candidates if query.matches(r)]
        found.sort(key=lambda r: r.storage_id, reverse=not ascending)
        return found[:limit] if limit is not None else found

    def get_materialization_records(
        self, key: AssetKey, limit: int | None = None, before_cursor: int | None = None
    ) -> list[EventRecord]:
        """Materializations of an asset, newest first."""
        return self._newest_first(self._materializations, key, limit, before_cursor)

    def get_observation_records(
        self, key: AssetKey, limit: int | None = None, before_cursor: int | None = None
    ) -> list[EventRecord]:
        """Observations of an asset, newest first."""
        return self._newest_first(self._observations, key, limit, before_cursor)

    def _newest_first(
        self,
        index: dict[AssetKey, list[EventRecord]],
        key: AssetKey,
        limit: int | None,
        before_cursor: int | None,
    ) -> list[EventRecord]:
        with self._lock:
            records = list(reversed(index.get(key, ())))
        if before_cursor is not None:
            records = [r for r in records if r.storage_id < before_cursor]
        return records[:limit] if limit is not None else records

    def get_latest_materializations_by_partition(
        self, key: AssetKey
    ) -> dict[str | None, EventRecord]:
        """The newest materialization of each partition of an asset."""
        return self._latest_by_partition(self._materializations, key)

    def get_latest_observations_by_partition(self, key: AssetKey) -> dict[str | None, EventRecord]:
        """The newest observation of each partition of an asset."""
        return self._latest_by_partition(self._observations, key)

    def _latest_by_partition(
        self, index: dict[AssetKey, list[EventRecord]], key: AssetKey
    ) -> dict[str | None, EventRecord]:
        latest: dict[str | None, EventRecord] = {}
        with self._lock:
            for record in index.get(key, ()):
                latest[record.event.partition] = record
        return latest

    def get_latest_materialization_record(self, key: AssetKey) -> EventRecord | None:
        """The newest materialization of an asset, if any."""
        with self._lock:
            records = self._materializations.get(key)
            return records[-1] if records else None

    def get_asset_keys(self) -> list[AssetKey]:
        """Every asset key materialized or observed, sorted."""
        with self._lock:
            return sorted(self._asset_keys)

    def wipe_assets(self, keys: Sequence[AssetKey]) -> list[AssetKey]:
        """Drop ``keys`` from the asset index."""
        with self._lock:
            wiped = [k for k in keys if k in self._asset_keys]
            for key in keys:
                self._asset_keys.discard(key)
                self._materializations.pop(key, None)
                self._observations.pop(key, None)
            self._checks.forget_assets(set(keys))
            self._status.forget_assets({asset_key_to_db(k) for k in keys})
        return wiped

    def get_asset_check_evaluation_records(
        self, key: AssetCheckKey, limit: int | None = None, before_cursor: int | None = None
    ) -> list[EventRecord]:
        """The evaluations of one check, newest first."""
        return self._checks.history(key, limit, before_cursor)

    def get_latest_asset_check_evaluation_records(
        self, keys: Sequence[AssetCheckKey]
    ) -> dict[AssetCheckKey, EventRecord]:
        """The newest evaluation of each check that has one."""
        return self._checks.latest(keys)

    def describe(self) -> dict[str, Any]:
        """Backend and counts."""
        with self._lock:
            return {
                "backend": self.backend,
                "url": None,
                "schema_revision": None,
                "runs": len(self._runs),
                "events": sum(len(log.ids) for log in self._logs.values()),
                "asset_keys": len(self._asset_keys),
            }
