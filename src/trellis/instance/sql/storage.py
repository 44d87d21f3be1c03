"""``SqlStorage``: runs, event logs and the asset index in PostgreSQL (or SQLite).

``Instance`` uses it for PostgreSQL; SQLite instances use ``SqliteStorage``
(``trellis.instance.sqlite``), which keeps the same schema and semantics without
SQLAlchemy. This one still opens SQLite files (the tests compare the two).

Every write is one transaction: a batch of events is inserted with one multi-row INSERT
(in order; the storage ids follow it), the asset index and the run's row are updated in
the same transaction. No ORM, no query per event; statements are built once.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Collection, Sequence
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy import exc as sa_exc

from trellis.core.asset_checks import AssetCheckKey
from trellis.core.asset_key import AssetKey
from trellis.core.errors import InstanceError
from trellis.core.events import Event, EventType
from trellis.core.run import Run, RunStatus
from trellis.core.serialization import event_from_dict, event_to_dict, run_from_dict, run_to_dict
from trellis.instance.check_index import CHECK_EVALUATION, CheckRow, check_row
from trellis.instance.config import StorageSpec
from trellis.instance.partition_status import StatusRange, StatusUpdate
from trellis.instance.queue_wakeup import FifoWakeup, PostgresWakeup, QueueWakeup
from trellis.instance.sql import migrate as migrations, status_queries
from trellis.instance.sql.automation_storage import SqlAutomationRecords
from trellis.instance.sql.backfill_storage import SqlBackfills
from trellis.instance.sql.daemon_storage import SqlDaemonRecords
from trellis.instance.sql.database import NOT_COMMITTED, Database
from trellis.instance.sql.dynamic_storage import SqlDynamicPartitions
from trellis.instance.sql.pool_storage import SqlPools
from trellis.instance.sql.record_queries import SqlRecordQueries, runs_conditions
from trellis.instance.sql.schema import (
    SCHEMA_REVISION,
    asset_check_evaluations,
    asset_key_from_db,
    asset_key_to_db,
    asset_keys,
    asset_partition_reindex as pending_t,
    asset_partition_status as status_t,
    event_logs as ev,
    run_tags as tags_t,
    runs as runs_t,
)
from trellis.instance.sql.status_queries import apply_status_updates, status_ranges
from trellis.instance.storage import FINISHED_STATUSES, EventRecord, InstanceStorage, RunsFilter

_MATERIALIZATION = EventType.ASSET_MATERIALIZATION.value
_OBSERVATION = EventType.ASSET_OBSERVATION.value
_CHECK_EVALUATION = CHECK_EVALUATION.value
checks_t = asset_check_evaluations
_CHUNK = 500
_FINISHED = [status.value for status in FINISHED_STATUSES]


def _dumps(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"))


def _event_row(event: Event) -> dict[str, Any]:
    key = event.asset_key
    return {
        "run_id": event.run_id,
        "event_type": event.event_type.value,
        "step_key": event.step_key,
        "asset_key": asset_key_to_db(key) if key is not None else None,
        "partition": event.partition,
        "timestamp": event.timestamp,
        "body": _dumps(event_to_dict(event)),
    }


def _run_values(run: Run) -> dict[str, Any]:
    return {
        "job_name": run.job_name,
        "status": run.status.value,
        "body": _dumps(run_to_dict(run)),
        "parent_run_id": run.parent_run_id,
        "root_run_id": run.root_run_id,
        "start_time": run.start_time,
        "end_time": run.end_time,
        "update_timestamp": time.time(),
    }


def _record(row: Any) -> EventRecord:
    return EventRecord(int(row[0]), event_from_dict(json.loads(row[1])))


class SqlStorage(
    SqlRecordQueries,
    SqlAutomationRecords,
    SqlPools,
    SqlDynamicPartitions,
    SqlBackfills,
    SqlDaemonRecords,
    InstanceStorage,
):
    """Instance storage in one SQL database (SQLite file or PostgreSQL schema).

    Opening it checks the schema: a new database is created, an older revision is
    upgraded in place, anything else is refused with ``InstanceError``.
    """

    def __init__(self, spec: StorageSpec) -> None:
        self.db = Database(spec)
        self.backend = spec.kind
        try:
            self.opened = migrations.prepare_schema(self.db)
            self.db.enable_wal()
        except BaseException:
            self.db.dispose()
            raise
        # Either dialect's insert: both have on_conflict_do_update and on_conflict_do_nothing.
        dialect_insert: Callable[..., Any]
        if self.db.kind == "sqlite":
            from sqlalchemy.dialects.sqlite import insert as dialect_insert
        else:
            from sqlalchemy.dialects.postgresql import insert as dialect_insert
        # The asset index points at the newest materialization of each key; the id comes
        # from the event just inserted (same transaction), never moving backwards when
        # two PostgreSQL transactions materialize one asset at once.
        newest_id = (
            sa.select(sa.func.max(ev.c.id))
            .where(ev.c.asset_key == sa.bindparam("key"), ev.c.event_type == _MATERIALIZATION)
            .scalar_subquery()
        )
        upsert = dialect_insert(asset_keys).values(
            asset_key=sa.bindparam("key"),
            last_materialization_id=newest_id,
            last_run_id=sa.bindparam("run_id"),
            last_timestamp=sa.bindparam("timestamp"),
        )
        current = asset_keys.c.last_materialization_id
        self._upsert_materialization = upsert.on_conflict_do_update(
            index_elements=[asset_keys.c.asset_key],
            set_={
                "last_materialization_id": upsert.excluded.last_materialization_id,
                "last_run_id": upsert.excluded.last_run_id,
                "last_timestamp": upsert.excluded.last_timestamp,
            },
            where=sa.or_(current.is_(None), current < upsert.excluded.last_materialization_id),
        )
        self._insert_asset_key = dialect_insert(asset_keys).on_conflict_do_nothing(
            index_elements=[asset_keys.c.asset_key]
        )
        self._insert_events = sa.insert(ev)

    # -- runs --------------------------------------------------------------------------
    def add_run(self, run: Run) -> None:
        """Store a new run and its tags."""
        values = {"run_id": run.run_id, "create_timestamp": run.create_time, **_run_values(run)}
        tags = [{"run_id": run.run_id, "key": k, "value": v} for k, v in run.tags.items()]

        def txn(conn: sa.Connection) -> None:
            conn.execute(sa.insert(runs_t), values)
            if tags:
                conn.execute(sa.insert(tags_t), tags)

        def committed(conn: sa.Connection) -> Any:
            stmt = sa.select(runs_t.c.id).where(
                runs_t.c.run_id == run.run_id, runs_t.c.create_timestamp == run.create_time
            )
            return None if conn.execute(stmt).first() is not None else NOT_COMMITTED

        try:
            self.db.write(txn, committed)
        except sa_exc.IntegrityError as exc:
            raise InstanceError(f"A run with id '{run.run_id}' already exists.") from exc

    def _update_run(self, conn: sa.Connection, run: Run, only_if: Sequence[str] | None) -> bool:
        # A finished run keeps its status (see InstanceStorage.store_events).
        stmt = sa.update(runs_t).where(
            runs_t.c.run_id == run.run_id,
            sa.or_(runs_t.c.status.not_in(_FINISHED), runs_t.c.status == run.status.value),
        )
        if only_if is not None:
            stmt = stmt.where(runs_t.c.status.in_(only_if))
        if conn.execute(stmt.values(**_run_values(run))).rowcount == 0:
            return False
        conn.execute(sa.delete(tags_t).where(tags_t.c.run_id == run.run_id))
        if run.tags:
            rows = [{"run_id": run.run_id, "key": k, "value": v} for k, v in run.tags.items()]
            conn.execute(sa.insert(tags_t), rows)
        return True

    def update_run(self, run: Run) -> None:
        """Store a run's new status, times, tags and body."""
        self.db.write(lambda conn: self._update_run(conn, run, None))

    def get_run(self, run_id: str) -> Run | None:
        """One run, or None."""
        stmt = sa.select(runs_t.c.body).where(runs_t.c.run_id == run_id)
        body = self.db.read(lambda conn: conn.execute(stmt).scalar())
        return run_from_dict(json.loads(body)) if body is not None else None

    def get_runs(self, runs_filter: RunsFilter, limit: int | None = None) -> list[Run]:
        """Runs passing the filter, newest first."""
        stmt = (
            sa.select(runs_t.c.body)
            .where(*runs_conditions(runs_filter))
            .order_by(runs_t.c.create_timestamp.desc(), runs_t.c.id.desc())
        )
        if limit is not None:
            stmt = stmt.limit(limit)
        bodies = self.db.read(lambda conn: conn.execute(stmt).scalars().all())
        return [run_from_dict(json.loads(body)) for body in bodies]

    def _refresh_asset_index(self, conn: sa.Connection, keys: Sequence[str]) -> None:
        """Point the index of ``keys`` at their newest remaining materialization."""
        for key in keys:
            latest = conn.execute(
                sa.select(ev.c.id, ev.c.run_id, ev.c.timestamp)
                .where(ev.c.asset_key == key, ev.c.event_type == _MATERIALIZATION)
                .order_by(ev.c.id.desc())
                .limit(1)
            ).first()
            observed = (
                latest is not None
                or conn.execute(sa.select(ev.c.id).where(ev.c.asset_key == key).limit(1)).first()
            )
            if not observed:
                conn.execute(sa.delete(asset_keys).where(asset_keys.c.asset_key == key))
                continue
            conn.execute(
                sa.update(asset_keys)
                .where(asset_keys.c.asset_key == key)
                .values(
                    last_materialization_id=latest[0] if latest else None,
                    last_run_id=latest[1] if latest else None,
                    last_timestamp=latest[2] if latest else None,
                )
            )

    def delete_runs(self, run_ids: Sequence[str]) -> int:
        """Delete runs with their events, tags and asset-index entries."""
        deleted = 0
        for start in range(0, len(run_ids), _CHUNK):
            chunk = list(run_ids[start : start + _CHUNK])

            def txn(conn: sa.Connection, chunk: list[str] = chunk) -> int:
                keys = (
                    conn.execute(
                        sa.select(ev.c.asset_key)
                        .where(ev.c.run_id.in_(chunk), ev.c.asset_key.is_not(None))
                        .distinct()
                    )
                    .scalars()
                    .all()
                )
                conn.execute(sa.delete(ev).where(ev.c.run_id.in_(chunk)))
                conn.execute(sa.delete(tags_t).where(tags_t.c.run_id.in_(chunk)))
                conn.execute(sa.delete(checks_t).where(checks_t.c.run_id.in_(chunk)))
                count = conn.execute(sa.delete(runs_t).where(runs_t.c.run_id.in_(chunk))).rowcount
                self._refresh_asset_index(conn, sorted(keys))
                return count

            deleted += self.db.write(txn)
        return deleted

    def run_ids_created_before(self, cutoff: float, exclude: Sequence[RunStatus]) -> list[str]:
        """Ids of the runs created before ``cutoff`` whose status is not in ``exclude``."""
        stmt = sa.select(runs_t.c.run_id).where(runs_t.c.create_timestamp < cutoff)
        if exclude:
            stmt = stmt.where(runs_t.c.status.not_in([s.value for s in exclude]))
        return list(self.db.read(lambda conn: conn.execute(stmt).scalars().all()))

    def get_run_tags(self) -> dict[str, list[str]]:
        """Every tag key in use, with its distinct values."""
        stmt = (
            sa.select(tags_t.c.key, tags_t.c.value)
            .distinct()
            .order_by(tags_t.c.key, tags_t.c.value)
        )
        found: dict[str, list[str]] = {}
        for key, value in self.db.read(lambda conn: conn.execute(stmt).all()):
            found.setdefault(key, []).append(value)
        return found

    # -- events ------------------------------------------------------------------------
    def store_events(
        self,
        events: Sequence[Event],
        run: Run | None = None,
        only_if_status: Sequence[RunStatus] | None = None,
        wait: bool = True,
        status_updates: Sequence[StatusUpdate] = (),
    ) -> bool:
        """Insert a batch of events in order (one multi-row INSERT), update the asset
        index, the partition status index and the run, in one transaction."""
        rows = [_event_row(e) for e in events]
        has_assets = any(
            r["asset_key"] is not None and r["event_type"] in (_MATERIALIZATION, _OBSERVATION)
            for r in rows
        )
        checks = [
            c for c in (check_row(e) for e in events if e.event_type is CHECK_EVALUATION) if c
        ]
        only_if = [s.value for s in only_if_status] if only_if_status is not None else None

        def txn(conn: sa.Connection) -> bool:
            if run is not None and not self._update_run(conn, run, only_if) and only_if:
                return False
            if status_updates:
                apply_status_updates(conn, status_updates)
            if not rows:
                return True
            conn.execute(self._insert_events, rows)
            if checks:
                self._insert_check_rows(conn, checks)
            if not has_assets:
                return True
            latest: dict[str, dict[str, Any]] = {}
            observed: set[str] = set()
            for row in rows:
                key = row["asset_key"]
                if key is None:
                    continue
                if row["event_type"] == _MATERIALIZATION:
                    latest[key] = {
                        "key": key,
                        "run_id": row["run_id"],
                        "timestamp": row["timestamp"],
                    }
                elif row["event_type"] == _OBSERVATION:
                    observed.add(key)
            if latest:
                conn.execute(self._upsert_materialization, list(latest.values()))
            observed_only = sorted(observed - latest.keys())
            if observed_only:
                conn.execute(self._insert_asset_key, [{"asset_key": k} for k in observed_only])
            return True

        def committed(conn: sa.Connection) -> Any:
            """Whether a batch whose connection was lost had committed: its last event is
            stored (the run's events have one writer, in order)."""
            last = rows[-1]
            stmt = (
                sa.select(ev.c.id)
                .where(
                    ev.c.run_id == last["run_id"],
                    ev.c.timestamp == last["timestamp"],
                    ev.c.body == last["body"],
                )
                .limit(1)
            )
            return True if conn.execute(stmt).first() is not None else NOT_COMMITTED

        return self.db.write(txn, committed if rows else None)

    # -- liveness ----------------------------------------------------------------------
    def record_heartbeat(self, run_ids: Sequence[str], timestamp: float) -> None:
        """Store ``timestamp`` as the runs' latest heartbeat."""
        if not run_ids:
            return
        stmt = (
            sa.update(runs_t).where(runs_t.c.run_id.in_(list(run_ids))).values(heartbeat=timestamp)
        )
        self.db.write(lambda conn: conn.execute(stmt))

    def get_heartbeats(self, run_ids: Sequence[str]) -> dict[str, float | None]:
        """The latest heartbeat of each run."""
        found: dict[str, float | None] = {run_id: None for run_id in run_ids}

        def read(conn: sa.Connection) -> None:
            for start in range(0, len(run_ids), _CHUNK):
                chunk = list(run_ids[start : start + _CHUNK])
                stmt = sa.select(runs_t.c.run_id, runs_t.c.heartbeat).where(
                    runs_t.c.run_id.in_(chunk)
                )
                found.update({row[0]: row[1] for row in conn.execute(stmt).all()})

        self.db.read(read)
        return found

    def get_records(
        self,
        run_id: str,
        after_cursor: int = -1,
        limit: int | None = None,
        event_types: Collection[EventType] | None = None,
    ) -> list[EventRecord]:
        """A run's events after ``after_cursor``, oldest first (of ``event_types``)."""
        stmt = (
            sa.select(ev.c.id, ev.c.body)
            .where(ev.c.run_id == run_id, ev.c.id > after_cursor)
            .order_by(ev.c.id)
        )
        if event_types is not None:
            stmt = stmt.where(ev.c.event_type.in_(sorted({t.value for t in event_types})))
        if limit is not None:
            stmt = stmt.limit(limit)
        return [_record(r) for r in self.db.read(lambda conn: conn.execute(stmt).all())]

    def get_materialization_records(
        self, key: AssetKey, limit: int | None = None, before_cursor: int | None = None
    ) -> list[EventRecord]:
        """Materializations of an asset, newest first."""
        return self._asset_event_records(key, _MATERIALIZATION, limit, before_cursor)

    def get_observation_records(
        self, key: AssetKey, limit: int | None = None, before_cursor: int | None = None
    ) -> list[EventRecord]:
        """Observations of an asset, newest first."""
        return self._asset_event_records(key, _OBSERVATION, limit, before_cursor)

    def _asset_event_records(
        self, key: AssetKey, event_type: str, limit: int | None, before_cursor: int | None
    ) -> list[EventRecord]:
        stmt = (
            sa.select(ev.c.id, ev.c.body)
            .where(ev.c.asset_key == asset_key_to_db(key), ev.c.event_type == event_type)
            .order_by(ev.c.id.desc())
        )
        if before_cursor is not None:
            stmt = stmt.where(ev.c.id < before_cursor)
        if limit is not None:
            stmt = stmt.limit(limit)
        return [_record(r) for r in self.db.read(lambda conn: conn.execute(stmt).all())]

    def get_latest_materializations_by_partition(
        self, key: AssetKey
    ) -> dict[str | None, EventRecord]:
        """The newest materialization of each partition of an asset."""
        return self._latest_by_partition(key, _MATERIALIZATION)

    def get_latest_observations_by_partition(self, key: AssetKey) -> dict[str | None, EventRecord]:
        """The newest observation of each partition of an asset."""
        return self._latest_by_partition(key, _OBSERVATION)

    def _latest_by_partition(self, key: AssetKey, event_type: str) -> dict[str | None, EventRecord]:
        newest = (
            sa.select(sa.func.max(ev.c.id))
            .where(ev.c.asset_key == asset_key_to_db(key), ev.c.event_type == event_type)
            .group_by(ev.c.partition)
        )
        stmt = sa.select(ev.c.id, ev.c.body).where(ev.c.id.in_(newest)).order_by(ev.c.id)
        records = [_record(r) for r in self.db.read(lambda conn: conn.execute(stmt).all())]
        return {r.event.partition: r for r in records}

    def get_latest_materialization_record(self, key: AssetKey) -> EventRecord | None:
        """The newest materialization of an asset, through the asset index."""
        stmt = (
            sa.select(ev.c.id, ev.c.body)
            .select_from(asset_keys.join(ev, ev.c.id == asset_keys.c.last_materialization_id))
            .where(asset_keys.c.asset_key == asset_key_to_db(key))
        )
        row = self.db.read(lambda conn: conn.execute(stmt).first())
        return _record(row) if row is not None else None

    def get_asset_keys(self) -> list[AssetKey]:
        """Every asset key materialized or observed, sorted."""
        stmt = sa.select(asset_keys.c.asset_key)
        keys = self.db.read(lambda conn: conn.execute(stmt).scalars().all())
        return sorted(asset_key_from_db(k) for k in keys)

    def get_partition_status_ranges(
        self, asset_keys: Sequence[str]
    ) -> dict[str, list[StatusRange]]:
        """The partition status index of each asset (one query)."""
        return self.db.read(lambda conn: status_ranges(conn, asset_keys))

    def get_partition_reindex_pending(self, asset_keys: Sequence[str]) -> set[str]:
        """Which of ``asset_keys`` are listed for a rebuild from their events."""
        return self.db.read(lambda conn: status_queries.pending(conn, asset_keys))

    def replace_partition_status(
        self, asset_key: str, rebuilt: Sequence[StatusRange], keep_newer: bool
    ) -> None:
        """Store an asset's rebuilt partition status (one transaction, the index locked
        against the writers of events on PostgreSQL)."""
        self.db.write(lambda conn: status_queries.replace(conn, asset_key, rebuilt, keep_newer))

    def wipe_assets(self, keys: Sequence[AssetKey]) -> list[AssetKey]:
        """Drop ``keys`` from the asset index and unlink their events from it."""

        def txn(conn: sa.Connection) -> list[AssetKey]:
            wiped = []
            for key in keys:
                stored = asset_key_to_db(key)
                conn.execute(sa.update(ev).where(ev.c.asset_key == stored).values(asset_key=None))
                conn.execute(sa.delete(checks_t).where(checks_t.c.asset_key == stored))
                conn.execute(sa.delete(status_t).where(status_t.c.asset_key == stored))
                conn.execute(sa.delete(pending_t).where(pending_t.c.asset_key == stored))
                gone = conn.execute(sa.delete(asset_keys).where(asset_keys.c.asset_key == stored))
                if gone.rowcount:
                    wiped.append(key)
            return wiped

        return list(self.db.write(txn))

    # -- asset checks ------------------------------------------------------------------
    @staticmethod
    def _insert_check_rows(conn: sa.Connection, checks: list[CheckRow]) -> None:
        """Index the evaluation events just inserted (``checks``, in event order): the
        newest evaluation events of each run are this batch's (one writer per run)."""
        by_run: dict[str, list[CheckRow]] = {}
        for row in checks:
            by_run.setdefault(row.run_id, []).append(row)
        values: list[dict[str, Any]] = []
        for run_id, run_rows in by_run.items():
            newest = (
                sa.select(ev.c.id)
                .where(ev.c.run_id == run_id, ev.c.event_type == _CHECK_EVALUATION)
                .order_by(ev.c.id.desc())
                .limit(len(run_rows))
            )
            ids = list(reversed(conn.execute(newest).scalars().all()))
            for event_id, row in zip(ids, run_rows, strict=True):
                values.append(
                    {
                        "event_id": event_id,
                        "asset_key": asset_key_to_db(row.asset_key),
                        "check_name": row.check_name,
                        "run_id": row.run_id,
                        "status": row.status,
                        "severity": row.severity,
                        "timestamp": row.timestamp,
                        "partition": row.partition,
                    }
                )
        conn.execute(sa.insert(checks_t), values)

    def _check_history(
        self, key: AssetCheckKey, limit: int | None, before_cursor: int | None
    ) -> sa.Select[Any]:
        stmt = (
            sa.select(ev.c.id, ev.c.body)
            .select_from(checks_t.join(ev, ev.c.id == checks_t.c.event_id))
            .where(
                checks_t.c.asset_key == asset_key_to_db(key.asset_key),
                checks_t.c.check_name == key.name,
            )
            .order_by(checks_t.c.event_id.desc())
        )
        if before_cursor is not None:
            stmt = stmt.where(checks_t.c.event_id < before_cursor)
        if limit is not None:
            stmt = stmt.limit(limit)
        return stmt

    def get_asset_check_evaluation_records(
        self, key: AssetCheckKey, limit: int | None = None, before_cursor: int | None = None
    ) -> list[EventRecord]:
        """The evaluations of one check, newest first, through the check index."""
        stmt = self._check_history(key, limit, before_cursor)
        return [_record(r) for r in self.db.read(lambda conn: conn.execute(stmt).all())]

    def get_latest_asset_check_evaluation_records(
        self, keys: Sequence[AssetCheckKey]
    ) -> dict[AssetCheckKey, EventRecord]:
        """The newest evaluation of each check that has one."""

        def read(conn: sa.Connection) -> dict[AssetCheckKey, EventRecord]:
            found: dict[AssetCheckKey, EventRecord] = {}
            for key in keys:
                row = conn.execute(self._check_history(key, 1, None)).first()
                if row is not None:
                    found[key] = _record(row)
            return found

        return self.db.read(read)

    # -- administration ----------------------------------------------------------------
    def describe(self) -> dict[str, Any]:
        """Backend, url without password, schema revision and counts."""

        def read(conn: sa.Connection) -> dict[str, Any]:
            count = sa.func.count()
            return {
                "backend": self.backend,
                "url": self.db.display_url,
                "schema_revision": migrations.current_revision(conn),
                "head_revision": SCHEMA_REVISION,
                "runs": conn.execute(sa.select(count).select_from(runs_t)).scalar(),
                "events": conn.execute(sa.select(count).select_from(ev)).scalar(),
                "asset_keys": conn.execute(sa.select(count).select_from(asset_keys)).scalar(),
            }

        return self.db.read(read)

    def migrate(self) -> dict[str, Any]:
        """Upgrade the schema to the newest revision."""
        return migrations.migrate(self.db)

    def queued_run_order(self, tag_keys: Sequence[str]) -> list[tuple[str, float, dict[str, str]]]:
        """The QUEUED runs' ids, create times and the tags ``tag_keys`` (no run bodies)."""
        queued = RunStatus.QUEUED.value
        queued_ids = sa.select(runs_t.c.run_id).where(runs_t.c.status == queued)

        def read(conn: sa.Connection) -> tuple[list[Any], list[Any]]:
            runs = conn.execute(
                sa.select(runs_t.c.run_id, runs_t.c.create_timestamp).where(
                    runs_t.c.status == queued
                )
            ).all()
            tags = conn.execute(
                sa.select(tags_t.c.run_id, tags_t.c.key, tags_t.c.value).where(
                    tags_t.c.key.in_(list(tag_keys)), tags_t.c.run_id.in_(queued_ids)
                )
            ).all()
            return list(runs), list(tags)

        runs, tags = self.db.read(read)
        found: dict[str, dict[str, str]] = {}
        for run_id, key, value in tags:
            found.setdefault(run_id, {})[key] = value
        return [(run_id, created, found.get(run_id, {})) for run_id, created in runs]

    def queue_wakeup(self) -> QueueWakeup:
        """``NOTIFY``/``LISTEN`` on PostgreSQL; a named pipe beside an SQLite file."""
        if self.db.path is not None:
            return FifoWakeup(Path(f"{self.db.path}-wakeup"))
        return PostgresWakeup(self.db)

    def dispose(self) -> None:
        """Close every connection."""
        self.db.dispose()
