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

import threading
import time
from collections.abc import Collection, Iterable, Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from trellis.core import event_factory
from trellis.core.asset_key import AssetKey, CoercibleToAssetKey
from trellis.core.errors import InstanceError
from trellis.core.events import Event
from trellis.core.run import HOST_TAG, PID_TAG, Run, RunStatus
from trellis.instance.config import ensure_home, home_from_env, load_config_file, resolve_storage
from trellis.instance.liveness import process_is_alive, this_host
from trellis.instance.ref import InstanceRef
from trellis.instance.storage import (
    IN_PROGRESS_STATUSES,
    RUN_STATUS_BY_EVENT,
    EventRecord,
    InMemoryStorage,
    InstanceStorage,
    RunsFilter,
)

DEAD_RUN_CHECK_INTERVAL = 1.0


def _timestamp(value: float | datetime | None) -> float | None:
    if value is None or isinstance(value, (int, float)):
        return value
    return value.timestamp()


def _statuses(
    value: RunStatus | str | Iterable[RunStatus | str] | None,
) -> tuple[RunStatus, ...] | None:
    if value is None:
        return None
    items = [value] if isinstance(value, str) else list(value)
    return tuple(RunStatus(s) for s in items)


class Instance:
    """One object over the instance's storage (runs, event logs, the asset index) and its
    home directory, where the filesystem IO manager keeps outputs (``storage/``).

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
    ) -> None:
        self.storage = storage
        self._root_dir = Path(root_dir) if root_dir is not None else None
        self.is_ephemeral = is_ephemeral
        self._ref = ref
        self._next_dead_check = 0.0
        self._dead_check_lock = threading.Lock()

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
        return cls._open(ensure_home(Path(home).expanduser().absolute()), config, None)

    @classmethod
    def from_ref(cls, ref: InstanceRef) -> Instance:
        """Rebuild an instance from ``instance.get_ref()`` (in another process)."""
        return cls._open(ensure_home(Path(ref.home)), ref.config, ref.config_file)

    @classmethod
    def _open(cls, home: Path, config: Mapping[str, Any] | None, source: str | None) -> Instance:
        raw = dict(config or {})
        spec = resolve_storage(home, raw, source)
        storage: InstanceStorage
        if spec.kind == "sqlite":
            from trellis.instance.sqlite.storage import SqliteStorage  # sqlite3 only

            storage = SqliteStorage(spec)
        else:
            from trellis.instance.sql.storage import SqlStorage  # SQLAlchemy: PostgreSQL

            storage = SqlStorage(spec)
        return cls(storage, home, ref=InstanceRef(str(home), raw, source))

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

    def get_runs(
        self,
        statuses: RunStatus | str | Iterable[RunStatus | str] | None = None,
        job_name: str | None = None,
        tags: Mapping[str, str | Collection[str]] | None = None,
        created_after: float | datetime | None = None,
        created_before: float | datetime | None = None,
        limit: int | None = None,
    ) -> list[Run]:
        """Runs, newest first, filtered by status, job name, tags (every one must match; a
        value may be a collection of accepted values) and creation time."""
        self._maybe_check_dead_runs()
        runs_filter = RunsFilter(
            statuses=_statuses(statuses),
            job_name=job_name,
            tags=dict(tags) if tags else None,
            created_after=_timestamp(created_after),
            created_before=_timestamp(created_before),
        )
        return self.storage.get_runs(runs_filter, limit)

    def update_run(self, run: Run) -> None:
        """Store a run's changed status, times and tags."""
        self.storage.update_run(run)

    def delete_run(self, run_id: str) -> bool:
        """Delete a run with its events and its entries in the asset index; whether it
        existed."""
        return self.storage.delete_runs([run_id]) > 0

    def delete_runs_older_than(self, seconds: float) -> int:
        """Retention: delete the runs created more than ``seconds`` ago, with their events
        (runs still in progress are kept); how many were deleted."""
        self.mark_dead_runs_failed()
        cutoff = time.time() - seconds
        keep = (*IN_PROGRESS_STATUSES, RunStatus.CANCELING)
        run_ids = self.storage.run_ids_created_before(cutoff, keep)
        return self.storage.delete_runs(run_ids) if run_ids else 0

    def get_run_tags(self) -> dict[str, list[str]]:
        """Every run tag key in use, with its distinct values (both sorted)."""
        return self.storage.get_run_tags()

    # -- events ------------------------------------------------------------------------
    def _apply_run_events(self, events: Sequence[Event], run: Run) -> bool:
        changed = False
        for event in events:
            status = RUN_STATUS_BY_EVENT.get(event.event_type)
            if status is None:
                continue
            changed = True
            run.status = status
            if status.is_finished:
                run.end_time = event.timestamp
            else:
                run.start_time = event.timestamp
                if not self.is_ephemeral:
                    run.tags[PID_TAG] = str(event.pid)
                    run.tags[HOST_TAG] = this_host()
        return changed

    def handle_new_events(self, events: Sequence[Event], run: Run) -> None:
        """Store a batch of a run's events, in order and at once (one transaction), and the
        run's new status and times when the batch holds run-level events."""
        if not events:
            return
        changed = self._apply_run_events(events, run)
        self.storage.store_events(events, run if changed else None)

    def get_records(
        self, run_id: str, after_cursor: int = -1, limit: int | None = None
    ) -> list[EventRecord]:
        """A run's stored events with a storage id above ``after_cursor``, oldest first
        (pass the last record's ``storage_id`` to tail a live run)."""
        return self.storage.get_records(run_id, after_cursor, limit)

    def all_logs(self, run_id: str) -> list[Event]:
        """Every event of a run, in order."""
        return [record.event for record in self.storage.get_records(run_id)]

    def get_latest_materialization_event(self, key: AssetKey) -> Event | None:
        """The newest materialization of an asset."""
        record = self.storage.get_latest_materialization_record(AssetKey.from_coercible(key))
        return record.event if record is not None else None

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

    def get_asset_keys(self) -> list[AssetKey]:
        """Every asset key that has been materialized or observed, sorted."""
        return self.storage.get_asset_keys()

    def wipe_assets(self, keys: Sequence[CoercibleToAssetKey]) -> list[AssetKey]:
        """Forget the materialization history of ``keys`` (``trellis asset wipe``): they
        leave the asset index, and stored values are no longer found through it; the runs
        and their event logs stay. Returns the keys that had a history."""
        return self.storage.wipe_assets([AssetKey.from_coercible(k) for k in keys])

    # -- dead runs ---------------------------------------------------------------------
    def mark_dead_runs_failed(self) -> list[str]:
        """Mark failed every starting or started run of this host whose process (the
        ``trellis/pid`` tag) is gone: a ``RUN_FAILURE`` event, status FAILURE. Returns the
        ids of the runs marked."""
        if self.is_ephemeral:
            return []
        host = this_host()
        marked: list[str] = []
        for run in self.storage.get_runs(RunsFilter(statuses=IN_PROGRESS_STATUSES)):
            pid_text = run.tags.get(PID_TAG)
            if run.tags.get(HOST_TAG) != host or not pid_text or not pid_text.isdigit():
                continue
            pid = int(pid_text)
            if process_is_alive(pid, run.start_time):
                continue
            event = event_factory.run_failure(
                run.run_id,
                run.job_name,
                f"Run {run.run_id} of '{run.job_name}' was marked failed: its process "
                f"{pid} died on {host} without ending the run.",
                reason="process died",
                pid=pid,
                host=host,
            )
            self._apply_run_events([event], run)
            if self.storage.store_events([event], run, only_if_status=IN_PROGRESS_STATUSES):
                marked.append(run.run_id)
        return marked

    def request_cancel(self, run_id: str) -> bool:
        """Ask a running run to stop (``trellis run cancel``): a ``RUN_CANCELING`` event,
        status CANCELING; the run's orchestrator sees it, stops launching steps,
        terminates running ones and ends the run CANCELED. False when the run is not in
        progress."""
        run = self.storage.get_run(run_id)
        if run is None or run.status not in IN_PROGRESS_STATUSES:
            return False
        event = event_factory.run_canceling(run.run_id, run.job_name)
        self._apply_run_events([event], run)
        return bool(self.storage.store_events([event], run, only_if_status=IN_PROGRESS_STATUSES))

    def _maybe_check_dead_runs(self) -> None:
        if self.is_ephemeral:
            return
        now = time.monotonic()
        if now < self._next_dead_check or not self._dead_check_lock.acquire(blocking=False):
            return
        try:
            self._next_dead_check = now + DEAD_RUN_CHECK_INTERVAL
            self.mark_dead_runs_failed()
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
        """Close the database connections (the instance reconnects if used again)."""
        self.storage.dispose()

    def __enter__(self) -> Instance:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.dispose()

    def __repr__(self) -> str:
        kind = "ephemeral" if self.is_ephemeral else f"{self.storage.backend} {self._root_dir}"
        return f"<Instance {kind}>"
