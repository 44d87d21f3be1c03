"""``Instance``: where runs and their events are kept, and where outputs are stored.

- ``Instance.ephemeral()``: everything in memory (``execute_in_process`` by default).
- ``Instance.get()``: the instance of ``$TRELLIS_HOME`` (default ``./.trellis``), as its
  ``trellis.yaml`` says; SQLite at ``$TRELLIS_HOME/trellis.db`` without one.
- ``Instance.from_config(home, config)`` / ``Instance.from_ref(ref)``: the same from a
  config dict, or in another process from ``instance.get_ref()``.

SQLite storage uses the standard library's ``sqlite3``; SQLAlchemy is imported when a
PostgreSQL instance is opened, Alembic when a schema has to be upgraded.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Collection, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from trellis.core import event_factory
from trellis.core.asset_checks import AssetCheckEvaluation, AssetCheckKey
from trellis.core.asset_key import AssetKey, CoercibleToAssetKey
from trellis.core.errors import InstanceError, InvalidInvocationError, StorageUnavailableError
from trellis.core.events import Event, EventType
from trellis.core.run import HOST_TAG, PID_NAMESPACE_TAG, PID_TAG, Run, RunStatus
from trellis.instance.automation_records import AutomationEvaluationRecord
from trellis.instance.backfills import InstanceBackfillsMixin
from trellis.instance.concurrency import InstanceConcurrencyMixin
from trellis.instance.config import (
    UMASK,
    InstanceSettings,
    StorageSpec,
    ensure_home,
    home_from_env,
    load_config_file,
    resolve_settings,
)
from trellis.instance.heartbeat import Heartbeat
from trellis.instance.instigation import InstigationMixin
from trellis.instance.liveness import end_of_dead_run, judge_run, this_host, this_pid_namespace
from trellis.instance.memory_storage import InMemoryStorage
from trellis.instance.query_methods import InstanceQueriesMixin
from trellis.instance.ref import InstanceRef
from trellis.instance.run_queue import RunQueueMixin
from trellis.instance.sqlite.schema import asset_key_to_db
from trellis.instance.storage import (
    IN_PROGRESS_STATUSES,
    LIVE_STATUSES,
    RUN_STATUS_BY_EVENT,
    EventRecord,
    InstanceStorage,
    RunsFilter,
)

log = logging.getLogger("trellis.instance")

RUNLESS_RUN_ID = ""  # the run id of asset events reported outside any run
RUNLESS_JOB_NAME = ""

DEAD_RUN_CHECK_INTERVAL = 1.0


class Instance(
    InstanceQueriesMixin,
    InstanceConcurrencyMixin,
    InstigationMixin,
    RunQueueMixin,
    InstanceBackfillsMixin,
):
    """One object over the instance's storage (runs, event logs, the asset index, the
    concurrency pools, the run queue, the daemon's records) and its home directory, where
    the filesystem IO manager keeps outputs (``storage/``).

    Use ``Instance.get()`` for the durable instance of ``$TRELLIS_HOME`` and
    ``Instance.ephemeral()`` for an in-memory one.
    """

    def __init__(
        self,
        storage: InstanceStorage,
        root_dir: str | Path | None = None,
        *,
        is_ephemeral: bool = False,
        ref: InstanceRef | None = None,
        settings: InstanceSettings | None = None,
    ) -> None:
        self.storage = storage
        self._root_dir = Path(root_dir) if root_dir is not None else None
        self.is_ephemeral = is_ephemeral
        self._ref = ref
        self.settings = settings or InstanceSettings(StorageSpec("memory"))
        self._next_dead_check = 0.0
        self._dead_check_lock = threading.Lock()
        self._heartbeat: Heartbeat | None = None
        # Events a failed write could not store, per run: the next write of the run
        # stores them first, in order.
        # A run's events (and their partition status updates) not stored yet.
        self._unstored: dict[str, tuple[list[Event], list[Any]]] = {}

    # -- construction ------------------------------------------------------------------
    @classmethod
    def ephemeral(cls, root_dir: str | Path | None = None) -> Instance:
        """An in-memory instance; its storage directory is ``root_dir`` (a worker shares its
        orchestrator's), else a temporary one, removed at exit."""
        return cls(InMemoryStorage(), root_dir, is_ephemeral=True)

    @classmethod
    def get(cls) -> Instance:
        """The instance of ``$TRELLIS_HOME`` (default ``./.trellis``, created if missing),
        configured by its ``trellis.yaml``; SQLite at ``trellis.db`` there without one."""
        home = ensure_home(home_from_env())
        config, path = load_config_file(home)
        return cls._open(home, config, str(path) if path is not None else None)

    @classmethod
    def from_config(cls, home: Path | str, config: Mapping[str, Any] | None) -> Instance:
        """The instance with home directory ``home`` and the given config (the contents
        of a ``trellis.yaml``, e.g. ``{"storage": {"sqlite": {}}}``)."""
        private = (config or {}).get("permissions") != UMASK
        return cls._open(ensure_home(Path(home).expanduser().absolute(), private), config, None)

    @classmethod
    def from_ref(cls, ref: InstanceRef) -> Instance:
        """Rebuild an instance from ``instance.get_ref()`` (in another process)."""
        return cls._open(ensure_home(Path(ref.home)), ref.config, ref.config_file)

    @classmethod
    def _open(cls, home: Path, config: Mapping[str, Any] | None, source: str | None) -> Instance:
        raw = dict(config or {})
        settings = resolve_settings(home, raw, source)
        spec = settings.storage
        storage: InstanceStorage
        if spec.kind == "sqlite":
            from trellis.instance.sqlite.storage import SqliteStorage  # sqlite3 only

            storage = SqliteStorage(spec)
        else:
            from trellis.instance.sql.storage import SqlStorage  # SQLAlchemy: PostgreSQL

            storage = SqlStorage(spec)
        return cls(storage, home, ref=InstanceRef(str(home), raw, source), settings=settings)

    def get_ref(self) -> InstanceRef:
        """A small picklable recipe for ``Instance.from_ref`` in another process."""
        if self._ref is None:
            raise InstanceError(
                "An ephemeral instance keeps its runs in this process's memory and cannot be "
                "rebuilt in another process. Use Instance.get() (with TRELLIS_HOME set) for "
                "runs that cross processes."
            )
        return self._ref

    # -- places ------------------------------------------------------------------------
    @property
    def root_directory(self) -> Path:
        """The instance's home directory (a temporary one for ephemeral instances)."""
        if self._root_dir is None:
            import tempfile  # lazily: only this path needs it

            self._root_dir = Path(tempfile.mkdtemp(prefix="trellis-instance-"))
            import atexit  # lazily: only this path needs it
            import shutil  # lazily: only this path needs it

            atexit.register(shutil.rmtree, self._root_dir, True)
        return self._root_dir

    def storage_directory(self) -> Path:
        """Where the filesystem IO manager keeps outputs by default (``<home>/storage``)."""
        return self.root_directory / "storage"

    @property
    def private_files(self) -> bool:
        """Whether files and directories the instance creates (the filesystem IO
        manager's included) are its owner's only: 0700 / 0600 (``permissions`` in
        ``trellis.yaml``; private by default)."""
        return self.settings.private

    # -- runs --------------------------------------------------------------------------
    def add_run(self, run: Run) -> Run:
        """Record a new run; a run id already stored raises ``InstanceError``."""
        self.storage.add_run(run)
        return run

    def get_run(self, run_id: str) -> Run | None:
        """One run, or None (runs whose process died are marked failed first)."""
        self._maybe_check_dead_runs()
        return self.storage.get_run(run_id)

    def get_run_by_id(self, run_id: str) -> Run | None:
        """The run with this id, or None (Dagster's name for ``get_run``)."""
        return self.get_run(run_id)

    def update_run(self, run: Run) -> None:
        """Store a run's changed status, times and tags."""
        self.storage.update_run(run)

    def delete_run(self, run_id: str) -> bool:
        """Delete a run with its events and its entries in the asset index; whether it
        existed."""
        return self.storage.delete_runs([run_id]) > 0

    def delete_runs_older_than(self, seconds: float) -> int:
        """Retention: delete the runs created more than ``seconds`` ago, with their events
        (runs still in progress are kept; dead ones are ended first); how many were
        deleted."""
        self.mark_dead_runs_failed()
        cutoff = time.time() - seconds
        run_ids = self.storage.run_ids_created_before(cutoff, LIVE_STATUSES)
        return self.storage.delete_runs(run_ids) if run_ids else 0

    def get_run_tags(self) -> dict[str, list[str]]:
        """Every run tag key in use, with its distinct values (both sorted)."""
        return self.storage.get_run_tags()

    # -- events ------------------------------------------------------------------------
    def _apply_run_events(self, events: Sequence[Event], run: Run) -> bool:
        """Move ``run`` through the run-level events of a batch; whether it changed. A
        finished run never changes again (see ``InstanceStorage.store_events``)."""
        changed = False
        for event in events:
            status = RUN_STATUS_BY_EVENT.get(event.event_type)
            if status is None or run.status.is_finished:
                continue
            changed = True
            run.status = status
            if status.is_finished:
                run.end_time = event.timestamp
            elif status is RunStatus.STARTED:
                run.start_time = event.timestamp
                if not self.is_ephemeral:
                    run.tags[PID_TAG] = str(event.pid)
                    run.tags[HOST_TAG] = this_host()
                    namespace = this_pid_namespace()
                    if namespace is not None:
                        run.tags[PID_NAMESPACE_TAG] = namespace
        return changed

    def handle_new_events(
        self, events: Sequence[Event], run: Run, status_updates: Sequence[Any] = ()
    ) -> None:
        """Store a batch of a run's events, in order and at once (one transaction), and the
        run's new status and times when the batch holds run-level events.

        Events of an earlier batch whose write failed (``StorageUnavailableError``: the
        server down past the retry bound, the disk full) are kept and stored first,
        before this batch. While a run of a persistent instance is in progress, this
        process writes its heartbeat (from the stored ``RUN_START`` to the stored end).
        """
        if not events:
            return
        changed = self._apply_run_events(events, run)
        pending = self._unstored.pop(run.run_id, None)
        if pending:
            events = [*pending[0], *events]
            status_updates = [*pending[1], *status_updates]
            changed = True  # the run's row may be behind too
        try:
            self.storage.store_events(
                events, run if changed else None, status_updates=status_updates
            )
        except StorageUnavailableError as exc:
            self._unstored[run.run_id] = (list(events), list(status_updates))
            raise StorageUnavailableError(
                f"Could not record {len(events)} event(s) of run {run.run_id}: {exc}"
            ) from exc
        if changed and not self.is_ephemeral:
            self._follow_heartbeat(run)
            if run.status.is_finished:
                self.wake_run_queue()  # its place in the queue is free

    def _follow_heartbeat(self, run: Run) -> None:
        """Beat for a run in progress (this process runs it); stop when it has ended."""
        if run.status in LIVE_STATUSES:
            if self._heartbeat is None:
                self._heartbeat = Heartbeat(self.storage, self.settings.heartbeat_interval)
            self._heartbeat.add(run.run_id)
        elif self._heartbeat is not None:
            self._heartbeat.remove(run.run_id)

    def get_records(
        self, run_id: str, after_cursor: int = -1, limit: int | None = None
    ) -> list[EventRecord]:
        """A run's stored events with a storage id above ``after_cursor``, oldest first
        (pass the last record's ``storage_id`` to tail a live run)."""
        return self.storage.get_records(run_id, after_cursor, limit)

    def all_logs(
        self, run_id: str, of_type: EventType | Collection[EventType] | None = None
    ) -> list[Event]:
        """Every event of a run, in order; only those of ``of_type`` (an ``EventType`` or
        a set of them, as in Dagster) when given: ``instance.all_logs(run_id,
        of_type=EventType.HOOK_ERRORED)``."""
        if of_type is None:
            return [record.event for record in self.storage.get_records(run_id)]
        types = {of_type} if isinstance(of_type, EventType) else set(of_type)
        records = self.storage.get_records(run_id, event_types=types)
        return [record.event for record in records]

    def get_latest_materialization_event(self, key: AssetKey) -> Event | None:
        """The newest materialization of an asset."""
        record = self.storage.get_latest_materialization_record(AssetKey.from_coercible(key))
        return record.event if record is not None else None

    def get_latest_materialization_record(self, key: CoercibleToAssetKey) -> EventRecord | None:
        """The newest materialization of an asset with its storage id, or None."""
        return self.storage.get_latest_materialization_record(AssetKey.from_coercible(key))

    def get_materialization_records(
        self, key: AssetKey, limit: int | None = None, before_cursor: int | None = None
    ) -> list[EventRecord]:
        """Materializations of an asset, newest first; pass the last ``storage_id`` seen as
        ``before_cursor`` for the next page."""
        return self.storage.get_materialization_records(
            AssetKey.from_coercible(key), limit, before_cursor
        )

    def get_latest_materializations_by_partition(
        self, key: AssetKey
    ) -> dict[str | None, EventRecord]:
        """The newest materialization of each partition of an asset (key None for an
        unpartitioned materialization)."""
        return self.storage.get_latest_materializations_by_partition(AssetKey.from_coercible(key))

    def get_observation_records(
        self, key: CoercibleToAssetKey, limit: int | None = None, before_cursor: int | None = None
    ) -> list[EventRecord]:
        """Observations of an asset (``ASSET_OBSERVATION`` events), newest first; pass the
        last ``storage_id`` seen as ``before_cursor`` for the next page."""
        return self.storage.get_observation_records(
            AssetKey.from_coercible(key), limit, before_cursor
        )

    def get_latest_observation_record(self, key: CoercibleToAssetKey) -> EventRecord | None:
        """The newest observation of an asset with its storage id, or None."""
        records = self.get_observation_records(key, limit=1)
        return records[0] if records else None

    def get_latest_data_version_record(
        self,
        key: CoercibleToAssetKey,
        is_source: bool | None = None,
        partition_key: str | None = None,
    ) -> EventRecord | None:
        """The newest event that recorded the data version of an asset (of one partition
        when ``partition_key`` is given): its newest materialization, or for an external
        (source) asset, its newest materialization or observation, whichever is newer.
        ``is_source=None`` treats the asset as a source when it was never materialized."""
        asset_key = AssetKey.from_coercible(key)
        storage = self.storage
        if partition_key is None:
            materialization = storage.get_latest_materialization_record(asset_key)
        else:
            by_partition = storage.get_latest_materializations_by_partition(asset_key)
            materialization = by_partition.get(partition_key)
        if is_source is False or (is_source is None and materialization is not None):
            return materialization
        if partition_key is None:
            found = storage.get_observation_records(asset_key, limit=1)
            observation = found[0] if found else None
        else:
            observation = storage.get_latest_observations_by_partition(asset_key).get(partition_key)
        candidates = [r for r in (materialization, observation) if r is not None]
        return max(candidates, key=lambda r: r.storage_id) if candidates else None

    def report_runless_asset_event(self, asset_event: Any) -> None:
        """Record an ``AssetMaterialization``, ``AssetObservation`` or
        ``AssetCheckEvaluation`` that no run produced (what the daemon does with a
        sensor's ``SensorResult(asset_events=[...])``): stored in the event log under the
        run id ``""`` (``RUNLESS_RUN_ID``) and indexed like a run's, so asset sensors,
        automation conditions and the asset's history see it."""
        from trellis.core.outputs import AssetMaterialization, AssetObservation

        if isinstance(asset_event, AssetMaterialization):
            event = event_factory.asset_materialization(
                RUNLESS_RUN_ID, RUNLESS_JOB_NAME, None, asset_event
            )
        elif isinstance(asset_event, AssetObservation):
            event = event_factory.asset_observation(
                RUNLESS_RUN_ID, RUNLESS_JOB_NAME, None, asset_event
            )
        elif isinstance(asset_event, AssetCheckEvaluation):
            event = event_factory.asset_check_evaluation(
                RUNLESS_RUN_ID, RUNLESS_JOB_NAME, None, asset_event
            )
        else:
            raise InvalidInvocationError(
                "report_runless_asset_event takes an AssetMaterialization, AssetObservation "
                f"or AssetCheckEvaluation, got {asset_event!r}."
            )
        self.storage.store_events([event])

    def get_asset_keys(self) -> list[AssetKey]:
        """Every asset key that has been materialized or observed, sorted."""
        return self.storage.get_asset_keys()

    def wipe_assets(self, keys: Sequence[CoercibleToAssetKey]) -> list[AssetKey]:
        """Forget the materialization history of ``keys`` (``trellis asset wipe``): they
        leave the asset index, and stored values are no longer found through it; the
        history of their checks goes too; the runs and their event logs stay. Returns the
        keys that had a history."""
        return self.storage.wipe_assets([AssetKey.from_coercible(k) for k in keys])

    # -- declarative automation --------------------------------------------------------
    def add_automation_evaluations(self, records: Sequence[AutomationEvaluationRecord]) -> None:
        """Store declarative-automation evaluation records (the automation loop does); one
        with the asset and evaluation id of a stored record replaces it."""
        self.storage.add_automation_evaluations(records)

    def get_automation_evaluations(
        self,
        key: CoercibleToAssetKey,
        limit: int | None = None,
        before_evaluation_id: int | None = None,
    ) -> list[AutomationEvaluationRecord]:
        """The recorded automation evaluations of an asset, newest first: each has the
        evaluation id and time, how many partitions it requested, and its result tree
        (``record.body["tree"]``; ``trellis asset automation KEY`` prints it). An
        evaluation identical to the one before it is not recorded again."""
        return self.storage.get_automation_evaluations(
            AssetKey.from_coercible(key), limit, before_evaluation_id
        )

    def get_max_automation_evaluation_id(self) -> int | None:
        """The highest automation evaluation id recorded (None: none)."""
        return self.storage.get_max_automation_evaluation_id()

    # -- partition status ----------------------------------------------------------------
    def get_partition_status_ranges(
        self, asset_keys: Iterable[CoercibleToAssetKey]
    ) -> dict[AssetKey, list[Any]]:
        """The partition status index of each asset: runs of partitions (by the ordinal
        their partitions definition gives them) last ``MATERIALIZED`` or last ``FAILED``.
        ``trellis.views.partition_status.partition_status`` turns them into key ranges,
        with the partitions in progress and missing."""
        keys = [AssetKey.from_coercible(k) for k in asset_keys]
        stored = {asset_key_to_db(k): k for k in keys}
        found = self.storage.get_partition_status_ranges(list(stored))
        return {stored[k]: v for k, v in found.items()}

    # -- dynamic partitions --------------------------------------------------------------
    def add_dynamic_partitions(
        self, partitions_def_name: str, partition_keys: Sequence[str]
    ) -> None:
        """Add keys to the ``DynamicPartitionsDefinition`` named ``partitions_def_name``
        (keys already there stay where they are). Each key must be a non-empty string
        without ``...`` or control characters."""
        from trellis.defs.dynamic_partitions import bad_dynamic_key_reason

        _check_dynamic_name(partitions_def_name)
        if isinstance(partition_keys, str):
            raise InvalidInvocationError(
                f"add_dynamic_partitions('{partitions_def_name}', ...) takes a list of keys, "
                f"got the string {partition_keys!r}; write [{partition_keys!r}]."
            )
        keys = list(partition_keys)
        for key in keys:
            reason = bad_dynamic_key_reason(key)
            if reason:
                raise InvalidInvocationError(
                    f"Cannot add dynamic partition {key!r} to '{partitions_def_name}': it {reason}."
                )
        self.storage.add_dynamic_partitions(partitions_def_name, keys)

    def delete_dynamic_partition(self, partitions_def_name: str, partition_key: str) -> None:
        """Delete one key of a dynamic partitions definition (nothing happens when it is
        not stored; the runs and events of that partition are kept)."""
        _check_dynamic_name(partitions_def_name)
        self.storage.delete_dynamic_partition(partitions_def_name, partition_key)

    def has_dynamic_partition(self, partitions_def_name: str, partition_key: str) -> bool:
        """Whether ``partition_key`` is a key of the dynamic partitions definition."""
        return self.storage.has_dynamic_partition(partitions_def_name, partition_key)

    def get_dynamic_partitions(self, partitions_def_name: str) -> list[str]:
        """The keys of the dynamic partitions definition, in the order they were added
        (none for a name nothing was added under)."""
        return self.storage.get_dynamic_partitions(partitions_def_name)

    def get_dynamic_partition_ordinals(
        self, partitions_def_name: str, partition_keys: Sequence[str] | None = None
    ) -> list[tuple[int, str]]:
        """``(id, key)`` of the keys of a dynamic partitions definition (of
        ``partition_keys`` only, when given), by id: the stable ordinals the partition
        status index files them under."""
        return self.storage.get_dynamic_partition_ordinals(partitions_def_name, partition_keys)

    # -- asset checks ------------------------------------------------------------------
    def get_asset_check_evaluation_records(
        self, key: AssetCheckKey, limit: int | None = None, before_cursor: int | None = None
    ) -> list[EventRecord]:
        """The history of one asset check: its ``ASSET_CHECK_EVALUATION`` events, newest
        first (``record.asset_check_evaluation``); pass the last ``storage_id`` seen as
        ``before_cursor`` for the next page."""
        return self.storage.get_asset_check_evaluation_records(key, limit, before_cursor)

    def get_latest_asset_check_evaluation_record(self, key: AssetCheckKey) -> EventRecord | None:
        """The newest evaluation of one asset check, or None when it never ran."""
        return self.storage.get_latest_asset_check_evaluation_records([key]).get(key)

    def get_latest_asset_check_evaluations(
        self, keys: Iterable[AssetCheckKey]
    ) -> dict[AssetCheckKey, AssetCheckEvaluation]:
        """The newest ``AssetCheckEvaluation`` of each check of ``keys`` that ever ran (the
        checks that never ran are left out)."""
        records = self.storage.get_latest_asset_check_evaluation_records(list(keys))
        found: dict[AssetCheckKey, AssetCheckEvaluation] = {}
        for key, record in records.items():
            evaluation = record.asset_check_evaluation
            if evaluation is not None:
                found[key] = evaluation
        return found

    # -- dead runs ---------------------------------------------------------------------
    def mark_dead_runs_failed(self, wait: bool = True) -> list[str]:
        """End every run in progress whose process is dead (``liveness.judge_run``: its
        pid where that is certain, else its heartbeat against ``heartbeat_timeout``): a
        ``RUN_FAILURE`` event saying why (status FAILURE), or ``RUN_CANCELED`` for a run
        that was being canceled. Returns the ids of the runs ended. With ``wait=False``
        a write that would wait for another writer is skipped (the next look ends the
        run)."""
        if self.is_ephemeral:
            return []
        runs = self.storage.get_runs(RunsFilter(statuses=LIVE_STATUSES))
        if not runs:
            return []
        heartbeats = self.storage.get_heartbeats([run.run_id for run in runs])
        now = time.time()
        timeout = self.settings.heartbeat_timeout
        marked: list[str] = []
        for run in runs:
            dead = judge_run(run.tags, run.start_time, heartbeats.get(run.run_id), now, timeout)
            if dead is None:
                continue
            event = end_of_dead_run(run, dead)
            self._apply_run_events([event], run)
            if self.storage.store_events([event], run, only_if_status=LIVE_STATUSES, wait=wait):
                marked.append(run.run_id)
                if wait:  # a reader does not wait for the lock (a claim frees them too)
                    self._free_slots_of_dead_run(run.run_id)
        return marked

    def _free_slots_of_dead_run(self, run_id: str) -> None:
        """The concurrency slots of a run just marked dead go back to their pools (a claim
        would drop them too; this frees them for ``trellis instance concurrency``)."""
        try:
            self.storage.free_pool_slots(run_id)
        except InstanceError as exc:
            log.debug("Slots of dead run %s not freed yet: %s", run_id, exc)

    def request_cancel(self, run_id: str) -> bool:
        """Ask a running run to stop (``trellis run cancel``): a ``RUN_CANCELING`` event,
        status CANCELING; the run's orchestrator sees it, stops launching steps,
        terminates running ones and ends the run CANCELED. True as well when the
        cancellation was already asked; False when the run is not in progress."""
        run = self.storage.get_run(run_id)
        if run is not None and run.status is RunStatus.CANCELING:
            return True
        if run is None or run.status not in IN_PROGRESS_STATUSES:
            return False
        event = event_factory.run_canceling(run.run_id, run.job_name)
        self._apply_run_events([event], run)
        return bool(self.storage.store_events([event], run, only_if_status=IN_PROGRESS_STATUSES))

    def _maybe_check_dead_runs(self) -> None:
        """Before a read: end dead runs, at most once a second, without waiting for a
        writer and without failing the read (a full disk, a busy file: the next look)."""
        if self.is_ephemeral:
            return
        now = time.monotonic()
        if now < self._next_dead_check or not self._dead_check_lock.acquire(blocking=False):
            return
        try:
            self._next_dead_check = now + DEAD_RUN_CHECK_INTERVAL
            self.mark_dead_runs_failed(wait=False)
        except InstanceError as exc:
            log.debug("Dead-run check skipped: %s", exc)
        finally:
            self._dead_check_lock.release()

    # -- administration ----------------------------------------------------------------
    def info(self) -> dict[str, Any]:
        """What the instance is: backend, url (without password), schema revision, home,
        config file, and counts of runs, events and asset keys."""
        info = self.storage.describe()
        return {
            **info,
            "home": None if self.is_ephemeral else str(self.root_directory),
            "storage_directory": None if self.is_ephemeral else str(self.storage_directory()),
            "config_file": self._ref.config_file if self._ref is not None else None,
            "is_ephemeral": self.is_ephemeral,
        }

    def migrate(self) -> dict[str, Any]:
        """Upgrade the database schema to the newest revision (``trellis instance
        migrate``): ``{"from_revision", "to_revision", "upgraded"}``."""
        return self.storage.migrate()

    def dispose(self) -> None:
        """Close the database connections (the instance reconnects if used again) and
        stop writing heartbeats: a disposed instance no longer vouches for its runs."""
        if self._heartbeat is not None:
            self._heartbeat.stop()
        self.storage.dispose()

    def __enter__(self) -> Instance:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.dispose()

    def __repr__(self) -> str:
        kind = "ephemeral" if self.is_ephemeral else f"{self.storage.backend} {self._root_dir}"
        return f"<Instance {kind}>"


def _check_dynamic_name(name: object) -> None:
    if not isinstance(name, str) or not name:
        raise InvalidInvocationError(
            f"A dynamic partitions definition's name must be a non-empty string, got {name!r}."
        )
