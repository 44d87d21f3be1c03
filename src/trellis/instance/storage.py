"""The storage seam of an instance (``InstanceStorage``; the in-memory implementation is
``memory_storage.py``).

One storage object keeps runs, their ordered event logs and the asset index, so that a
batch of events and the run-status change it implies land together (one transaction in
the SQL back ends: ``trellis.instance.sqlite`` on the standard library's ``sqlite3``,
``trellis.instance.sql`` on SQLAlchemy for PostgreSQL). The ``Instance`` facade holds the
logic that is the same for every back end (status from events, dead-run detection); a
storage only stores and queries.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Collection, Sequence
from typing import Any

from trellis.core.asset_checks import AssetCheckKey
from trellis.core.asset_key import AssetKey
from trellis.core.events import Event, EventType
from trellis.core.run import Run, RunStatus
from trellis.instance.automation_records import AutomationEvaluationRecord
from trellis.instance.backfills import BackfillRecord, BackfillStatus
from trellis.instance.daemon_records import (
    DaemonHeartbeat,
    DaemonLease,
    InstigatorState,
    InstigatorTick,
    InstigatorType,
    TickStatus,
)
from trellis.instance.partition_status import StatusRange, StatusUpdate
from trellis.instance.pools import PoolSlot, SlotClaim
from trellis.instance.queries import (
    AssetEntry,
    AssetRecord,
    EventQuery,
    EventRecord,
    RunRecord,
    RunsFilter,
)
from trellis.instance.queue_wakeup import QueueWakeup

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
    def get_run_records(
        self,
        runs_filter: RunsFilter,
        limit: int | None = None,
        cursor: str | None = None,
        order_by: str | None = None,
        ascending: bool = False,
    ) -> list[RunRecord]:
        """Records of the runs passing the filter, sorted by ``order_by`` (one of
        ``RUN_ORDER_COLUMNS``; None: creation time, as ``get_runs``), then by storage id,
        descending unless ``ascending``; a run not started or ended sorts as the oldest
        by ``start_time`` / ``end_time``. With ``cursor`` (a run id) only the runs after
        that run in this order; a run id not stored raises ``InvalidInvocationError``."""

    @abstractmethod
    def count_runs(self, runs_filter: RunsFilter) -> int:
        """How many runs pass the filter."""

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

    @abstractmethod
    def query_event_records(
        self, query: EventQuery, limit: int | None = None, ascending: bool = False
    ) -> list[EventRecord]:
        """The events (of every run, and those reported outside any run) passing
        ``query``, by storage id: newest first unless ``ascending``."""

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

    def get_asset_records(self, keys: Sequence[AssetKey] | None = None) -> list[AssetRecord]:
        """What the asset index holds about ``keys`` (every asset when None), those with
        a history, sorted by key: each one's newest materialization and observation."""
        known = self.get_asset_keys()
        wanted = known if keys is None else sorted(set(keys).intersection(known))
        found = []
        for key in wanted:
            materialization = self.get_latest_materialization_record(key)
            observations = self.get_observation_records(key, limit=1)
            entry = AssetEntry(
                key,
                materialization,
                materialization.run_id if materialization is not None else None,
                observations[0] if observations else None,
            )
            found.append(AssetRecord(entry))
        return found

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

    @abstractmethod
    def get_partition_reindex_pending(self, asset_keys: Sequence[str]) -> set[str]:
        """Which of ``asset_keys`` (stored keys) are listed for a rebuild of their
        partition status from their events (history from before the index)."""

    @abstractmethod
    def replace_partition_status(
        self, asset_key: str, rebuilt: Sequence[StatusRange], keep_newer: bool
    ) -> None:
        """Store an asset's partition status rebuilt from its events, in one transaction
        with the writers of events: with ``keep_newer`` the stored rows stay over it
        (they are newer than the history read); take the asset off the rebuild list."""

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
    def get_dynamic_partition_ordinals(
        self, partitions_def_name: str, keys: Sequence[str] | None = None
    ) -> list[tuple[int, str]]:
        """``(id, key)`` of the keys of a dynamic partitions definition (of ``keys`` only,
        when given), by id: the ordinal the partition status index files each key under
        (ids only grow; a deleted key's id is never given again)."""

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

    def queued_run_order(self, tag_keys: Sequence[str]) -> list[tuple[str, float, dict[str, str]]]:
        """The QUEUED runs as ``(run id, create time, {tag: value})`` with only the tags
        ``tag_keys`` (those that order the queue): the queue orders them without reading
        every queued run's body."""
        return [
            (r.run_id, r.create_time, {k: r.tags[k] for k in tag_keys if k in r.tags})
            for r in self.get_runs(RunsFilter(statuses=(RunStatus.QUEUED,)))
        ]

    def queue_wakeup(self) -> QueueWakeup:
        """How the daemon's run queue is woken from other processes
        (``queue_wakeup.py``); the base does nothing (in-memory storage has one process)."""
        return QueueWakeup()

    def dispose(self) -> None:  # noqa: B027 - optional hook
        """Close connections (nothing to do for in-memory storage)."""
