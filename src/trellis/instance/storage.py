"""The storage seam of an instance (``InstanceStorage``) and its in-memory implementation.

One storage object keeps runs, their ordered event logs and the asset index, so that a
batch of events and the run-status change it implies land together (one transaction in
the SQL back ends: ``trellis.instance.sqlite`` on the standard library's ``sqlite3``,
``trellis.instance.sql`` on SQLAlchemy for PostgreSQL). The ``Instance`` facade holds the
logic that is the same for every back end (status from events, dead-run detection); a
storage only stores and queries.
"""

from __future__ import annotations

import bisect
import itertools
import threading
from abc import ABC, abstractmethod
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from trellis.core.asset_checks import AssetCheckEvaluation, AssetCheckKey
from trellis.core.asset_key import AssetKey
from trellis.core.events import Event, EventType
from trellis.core.run import Run, RunStatus
from trellis.instance.automation_records import AutomationEvaluationRecord, AutomationRecordsMixin
from trellis.instance.backfills import BackfillRecord, BackfillStatus, InMemoryBackfillsMixin
from trellis.instance.check_index import InMemoryCheckIndex
from trellis.instance.daemon_records import (
    DaemonHeartbeat,
    DaemonLease,
    DaemonRecordsMixin,
    InstigatorState,
    InstigatorTick,
    InstigatorType,
    TickStatus,
)
from trellis.instance.dynamic_partitions import DynamicPartitionsMixin
from trellis.instance.partition_status import InMemoryPartitionStatus, StatusRange, StatusUpdate
from trellis.instance.pools import InMemoryPoolsMixin, PoolSlot, SlotClaim
from trellis.instance.sqlite.schema import asset_key_to_db

RUN_STATUS_BY_EVENT = {
    EventType.RUN_ENQUEUED: RunStatus.QUEUED,
    EventType.RUN_STARTING: RunStatus.STARTING,
    EventType.RUN_START: RunStatus.STARTED,
    EventType.RUN_SUCCESS: RunStatus.SUCCESS,
    EventType.RUN_FAILURE: RunStatus.FAILURE,
    EventType.RUN_CANCELING: RunStatus.CANCELING,
    EventType.RUN_CANCELED: RunStatus.CANCELED,
}

IN_PROGRESS_STATUSES = (RunStatus.STARTING, RunStatus.STARTED)
# Runs whose process should be alive: dead-run detection looks at these.
LIVE_STATUSES = (*IN_PROGRESS_STATUSES, RunStatus.CANCELING)
# A run never leaves these: storage keeps the status once one is stored.
FINISHED_STATUSES = (RunStatus.SUCCESS, RunStatus.FAILURE, RunStatus.CANCELED)


@dataclass(frozen=True, slots=True)
class EventRecord:
    """A stored event with its ``storage_id``: increasing in the order events were stored,
    unique in the instance; the cursor of ``get_records`` and the materialization index."""

    storage_id: int
    event: Event

    @property
    def run_id(self) -> str:
        """The run the event belongs to."""
        return self.event.run_id

    @property
    def timestamp(self) -> float:
        """When the event happened (seconds since the epoch)."""
        return self.event.timestamp

    @property
    def asset_check_evaluation(self) -> AssetCheckEvaluation | None:
        """The ``AssetCheckEvaluation`` of an ``ASSET_CHECK_EVALUATION`` record."""
        return getattr(self.event.data, "evaluation", None)


@dataclass(frozen=True, slots=True)
class RunsFilter:
    """Which runs a query wants. ``tags`` maps a key to a value, or to a collection of
    accepted values; every tag must match. Times are seconds since the epoch and compare
    with the run's ``create_time`` (after: strictly later; before: strictly earlier)."""

    statuses: tuple[RunStatus, ...] | None = None
    job_name: str | None = None
    tags: Mapping[str, str | Collection[str]] | None = None
    created_after: float | None = None
    created_before: float | None = None

    def matches(self, run: Run) -> bool:
        """Whether ``run`` passes the filter (what the SQL query does, in Python)."""
        if self.statuses is not None and run.status not in self.statuses:
            return False
        if self.job_name is not None and run.job_name != self.job_name:
            return False
        if self.created_after is not None and not run.create_time > self.created_after:
            return False
        if self.created_before is not None and not run.create_time < self.created_before:
            return False
        for key, wanted in (self.tags or {}).items():
            value = run.tags.get(key)
            accepted = (wanted,) if isinstance(wanted, str) else wanted
            if value is None or value not in accepted:
                return False
        return True


class InstanceStorage(ABC):
    """Keeps runs, the ordered event stream of every run, and the asset index."""

    backend: str = "unknown"

    # -- runs --------------------------------------------------------------------------
    @abstractmethod
    def add_run(self, run: Run) -> None:
        """Store a new run; an existing run id raises ``InstanceError``."""

    @abstractmethod
    def update_run(self, run: Run) -> None:
        """Store a run's changed status, times, tags and body; a run stored as finished
        (SUCCESS, FAILURE, CANCELED) is changed only if the status stays the same."""

    @abstractmethod
    def get_run(self, run_id: str) -> Run | None:
        """One run, or None."""

    @abstractmethod
    def get_runs(self, runs_filter: RunsFilter, limit: int | None = None) -> list[Run]:
        """Runs passing the filter, newest first."""

    @abstractmethod
    def delete_runs(self, run_ids: Sequence[str]) -> int:
        """Delete runs with their events, tags and asset-index entries; how many existed."""

    @abstractmethod
    def run_ids_created_before(self, cutoff: float, exclude: Sequence[RunStatus]) -> list[str]:
        """Ids of the runs created before ``cutoff`` whose status is not in ``exclude``."""

    @abstractmethod
    def get_run_tags(self) -> dict[str, list[str]]:
        """Every tag key in use, with its distinct values (both sorted)."""

    # -- events ------------------------------------------------------------------------
    @abstractmethod
    def store_events(
        self,
        events: Sequence[Event],
        run: Run | None = None,
        only_if_status: Sequence[RunStatus] | None = None,
        wait: bool = True,
        status_updates: Sequence[StatusUpdate] = (),
    ) -> bool:
        """Append ``events`` in order and, with ``run``, store the run's new state, and
        apply the partition ``status_updates`` the events make, all at once. With
        ``only_if_status`` nothing is written unless the stored run's status is one of
        those (returns False then). A run stored as finished keeps its status:
        events that arrive after its end are stored, its row is left as it is. With
        ``wait=False`` a back end that would wait for another writer raises
        ``InstanceError`` at once instead (a best-effort write from a reader)."""

    @abstractmethod
    def get_records(
        self,
        run_id: str,
        after_cursor: int = -1,
        limit: int | None = None,
        event_types: Collection[EventType] | None = None,
    ) -> list[EventRecord]:
        """A run's events with a storage id above ``after_cursor``, oldest first; only
        those of ``event_types`` when given."""

    # -- liveness ----------------------------------------------------------------------
    @abstractmethod
    def record_heartbeat(self, run_ids: Sequence[str], timestamp: float) -> None:
        """Store ``timestamp`` as the latest sign of life of the runs ``run_ids``."""

    @abstractmethod
    def get_heartbeats(self, run_ids: Sequence[str]) -> dict[str, float | None]:
        """The latest heartbeat of each run (None: none recorded)."""

    @abstractmethod
    def get_materialization_records(
        self, key: AssetKey, limit: int | None = None, before_cursor: int | None = None
    ) -> list[EventRecord]:
        """Materializations of an asset, newest first, below ``before_cursor`` if given."""

    @abstractmethod
    def get_latest_materializations_by_partition(
        self, key: AssetKey
    ) -> dict[str | None, EventRecord]:
        """The newest materialization of each partition of an asset (None: unpartitioned)."""

    @abstractmethod
    def get_observation_records(
        self, key: AssetKey, limit: int | None = None, before_cursor: int | None = None
    ) -> list[EventRecord]:
        """Observations of an asset, newest first, below ``before_cursor`` if given."""

    @abstractmethod
    def get_latest_observations_by_partition(self, key: AssetKey) -> dict[str | None, EventRecord]:
        """The newest observation of each partition of an asset (None: unpartitioned)."""

    @abstractmethod
    def get_latest_materialization_record(self, key: AssetKey) -> EventRecord | None:
        """The newest materialization of an asset, if any."""

    @abstractmethod
    def get_asset_keys(self) -> list[AssetKey]:
        """Every asset key that has been materialized or observed, sorted."""

    @abstractmethod
    def wipe_assets(self, keys: Sequence[AssetKey]) -> list[AssetKey]:
        """Forget the materialization and observation history of ``keys`` (the asset
        index; the runs' event logs keep their events), and the history of their checks;
        the keys that had any."""

    # -- asset checks ------------------------------------------------------------------
    @abstractmethod
    def get_asset_check_evaluation_records(
        self, key: AssetCheckKey, limit: int | None = None, before_cursor: int | None = None
    ) -> list[EventRecord]:
        """The ``ASSET_CHECK_EVALUATION`` events of one check, newest first, below
        ``before_cursor`` if given (the asset check index)."""

    @abstractmethod
    def get_latest_asset_check_evaluation_records(
        self, keys: Sequence[AssetCheckKey]
    ) -> dict[AssetCheckKey, EventRecord]:
        """The newest evaluation of each check of ``keys`` that has one."""

    # -- declarative automation ----------------------------------------------------------
    @abstractmethod
    def add_automation_evaluations(self, records: Sequence[AutomationEvaluationRecord]) -> None:
        """Store automation evaluation records; one with the asset and evaluation id of a
        stored record replaces it."""

    @abstractmethod
    def get_automation_evaluations(
        self, key: AssetKey, limit: int | None = None, before_evaluation_id: int | None = None
    ) -> list[AutomationEvaluationRecord]:
        """An asset's evaluation records, newest (highest evaluation id) first."""

    @abstractmethod
    def get_max_automation_evaluation_id(self) -> int | None:
        """The highest evaluation id stored (None: no record)."""

    # -- concurrency pools ---------------------------------------------------------------
    @abstractmethod
    def set_pool_limit(self, pool: str, limit: int) -> None:
        """Set the limit of a pool (replacing the one it had)."""

    @abstractmethod
    def delete_pool_limit(self, pool: str) -> bool:
        """Forget a pool's limit (it takes the default again); whether it had one."""

    @abstractmethod
    def get_pool_limits(self) -> dict[str, int]:
        """Every pool with a limit set, and its limit, by name."""

    @abstractmethod
    def claim_pool_slot(
        self, pool: str, run_id: str, step_key: str, default_limit: int | None
    ) -> SlotClaim:
        """Atomically (across processes): drop the pool's slots and waiters whose run has
        ended or is gone, then take a slot for the run's step if the pool's limit (else
        ``default_limit``; None: unlimited) leaves more free slots than steps waiting
        ahead of it; else record that the step waits (from now, if it did not yet). A
        step that holds a slot of the pool keeps it (granted again)."""

    @abstractmethod
    def free_pool_slots(self, run_id: str, step_key: str | None = None) -> int:
        """Free the slot of one step of a run, or every slot of the run, and forget that
        they waited; how many slots were freed."""

    @abstractmethod
    def get_pool_slots(self, pool: str | None = None) -> list[PoolSlot]:
        """The slots in use (of one pool, when given), oldest claim first."""

    @abstractmethod
    def get_pool_waiters(self, pool: str | None = None) -> list[PoolSlot]:
        """The steps waiting for a slot (of one pool, when given), longest first."""

    # -- partition status --------------------------------------------------------------
    @abstractmethod
    def get_partition_status_ranges(
        self, asset_keys: Sequence[str]
    ) -> dict[str, list[StatusRange]]:
        """The partition status index of each asset (stored keys), ranges by first
        ordinal."""

    # -- backfills -----------------------------------------------------------------------
    @abstractmethod
    def add_backfill(self, record: BackfillRecord) -> None:
        """Store a new backfill record (its id must be new)."""

    @abstractmethod
    def update_backfill(self, record: BackfillRecord) -> None:
        """Replace the stored backfill record of the same id."""

    @abstractmethod
    def get_backfill(self, backfill_id: str) -> BackfillRecord | None:
        """The backfill record ``backfill_id``, or None."""

    @abstractmethod
    def get_backfills(
        self, statuses: Sequence[BackfillStatus] | None = None, limit: int | None = None
    ) -> list[BackfillRecord]:
        """Backfill records (of the given statuses), newest first."""

    @abstractmethod
    def get_backfill_stamps(self, limit: int) -> list[tuple[str, str, float]]:
        """``(backfill_id, status, update_timestamp)`` of the newest ``limit`` backfills,
        newest first, without reading their plans (how a watcher sees what changed)."""

    # -- dynamic partitions --------------------------------------------------------------
    @abstractmethod
    def add_dynamic_partitions(self, partitions_def_name: str, keys: Sequence[str]) -> None:
        """Add keys to a dynamic partitions definition (stored ones stay where they are)."""

    @abstractmethod
    def delete_dynamic_partition(self, partitions_def_name: str, key: str) -> None:
        """Delete one key (nothing happens when it is not stored)."""

    @abstractmethod
    def get_dynamic_partitions(self, partitions_def_name: str) -> list[str]:
        """The keys of a dynamic partitions definition, in the order added."""

    @abstractmethod
    def has_dynamic_partition(self, partitions_def_name: str, key: str) -> bool:
        """Whether ``key`` is stored under ``partitions_def_name``."""

    # -- the daemon: instigator state, ticks, run keys, heartbeats, lease ------------------
    @abstractmethod
    def get_instigator_state(self, name: str) -> InstigatorState | None:
        """The stored state of the schedule or sensor ``name`` (None: never stored)."""

    @abstractmethod
    def get_instigator_states(self) -> list[InstigatorState]:
        """Every stored instigator state, by name."""

    @abstractmethod
    def set_instigator_state(self, state: InstigatorState) -> None:
        """Store ``state``, replacing the stored state of that name."""

    @abstractmethod
    def create_tick(self, tick: InstigatorTick) -> InstigatorTick:
        """Store a new tick; returned with its ``tick_id`` (increasing)."""

    @abstractmethod
    def update_tick(self, tick: InstigatorTick, state: InstigatorState | None = None) -> None:
        """Store a stored tick's new status, end and body, and ``state`` with it, in one
        transaction (a tick's outcome and its instigator's new cursor land together)."""

    @abstractmethod
    def get_ticks(
        self,
        name: str,
        limit: int | None = None,
        statuses: Sequence[TickStatus] | None = None,
        before_id: int | None = None,
    ) -> list[InstigatorTick]:
        """The ticks of the instigator ``name``, newest first; of ``statuses`` only, and
        below ``before_id``, when given."""

    @abstractmethod
    def delete_ticks_before(
        self,
        cutoff: float,
        statuses: Sequence[TickStatus] | None = None,
        instigator_type: InstigatorType | None = None,
    ) -> int:
        """Delete the ticks whose time is before ``cutoff`` (of ``statuses`` and of
        ``instigator_type`` only, when given); how many were deleted (tick retention)."""

    @abstractmethod
    def add_run_key(self, name: str, run_key: str, run_id: str, timestamp: float) -> str:
        """Record that the instigator ``name`` launches ``run_key`` as ``run_id`` unless
        that key is already recorded for it; returns the run id stored for the key (the
        earlier one when there was one: the de-duplication of run keys)."""

    @abstractmethod
    def get_run_keys(self, name: str, run_keys: Sequence[str]) -> dict[str, str]:
        """The run id recorded for each of ``run_keys`` the instigator has launched."""

    @abstractmethod
    def record_daemon_heartbeat(self, heartbeat: DaemonHeartbeat) -> None:
        """Store a daemon loop's latest heartbeat, replacing its previous one."""

    @abstractmethod
    def get_daemon_heartbeats(self) -> list[DaemonHeartbeat]:
        """The latest heartbeat of every daemon loop, by loop name."""

    @abstractmethod
    def acquire_daemon_lease(
        self, name: str, owner: str, now: float, duration: float
    ) -> tuple[bool, DaemonLease]:
        """Atomically take (or renew) the lease ``name`` for ``owner`` until ``now +
        duration`` when it is free, expired or already ``owner``'s. Returns whether
        ``owner`` holds it now, and the lease as stored."""

    @abstractmethod
    def release_daemon_lease(self, name: str, owner: str) -> None:
        """Give up the lease ``name`` if ``owner`` holds it."""

    @abstractmethod
    def get_daemon_lease(self, name: str) -> DaemonLease | None:
        """The lease ``name`` as stored (it may have expired), or None when nobody took
        it or it was given up."""

    # -- administration ----------------------------------------------------------------
    @abstractmethod
    def describe(self) -> dict[str, Any]:
        """Backend, url (no password), schema revision, and counts of stored things."""

    def migrate(self) -> dict[str, Any]:
        """Bring the schema up to date; what was done (nothing for in-memory storage)."""
        return {"from_revision": None, "to_revision": None, "upgraded": False}

    def dispose(self) -> None:  # noqa: B027 - optional hook
        """Close connections (nothing to do for in-memory storage)."""


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

    # -- runs --------------------------------------------------------------------------
    def add_run(self, run: Run) -> None:
        """Store a new run."""
        from trellis.core.errors import InstanceError

        with self._lock:
            if run.run_id in self._runs:
                raise InstanceError(f"A run with id '{run.run_id}' already exists.")
            self._runs[run.run_id] = run
            self._order[run.run_id] = next(self._ids)

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

    def get_run(self, run_id: str) -> Run | None:
        """One run, or None."""
        return self._runs.get(run_id)

    def get_runs(self, runs_filter: RunsFilter, limit: int | None = None) -> list[Run]:
        """Runs passing the filter, newest first."""
        with self._lock:
            runs = [r for r in self._runs.values() if runs_filter.matches(r)]
            runs.sort(key=lambda r: (r.create_time, self._order[r.run_id]), reverse=True)
        return runs[:limit] if limit is not None else runs

    def delete_runs(self, run_ids: Sequence[str]) -> int:
        """Delete runs with their events and asset-index entries."""
        deleted = 0
        with self._lock:
            for run_id in run_ids:
                if self._runs.pop(run_id, None) is not None:
                    deleted += 1
                self._order.pop(run_id, None)
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
