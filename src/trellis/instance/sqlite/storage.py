"""``SqliteStorage``: runs, event logs and the asset index in one SQLite file, on the
standard library's ``sqlite3`` module.

The same schema, JSON bodies, ordering and semantics as ``SqlStorage`` (SQLAlchemy) on
SQLite; it exists because opening a file and writing a step's events is most of what a
local run asks of its storage, and SQLAlchemy's import (~150-300 ms) and per-statement
overhead cost more than SQLite's own work. Every write is one transaction: a batch of
events is inserted with one multi-row INSERT (in order; the storage ids follow it), the
asset index and the run's row are updated in the same transaction. Statements are
constant SQL text, prepared once per connection by ``sqlite3``'s statement cache.

Opening checks the schema with a read (an up-to-date database is opened without taking
the write lock, so a command that only reads never waits for a writer): a new database
is created at ``SCHEMA_REVISION`` in one write transaction; a database at an older
revision (or one this Trellis does not know) goes through Alembic
(``trellis.instance.sql.migrate``, imported only then), which upgrades it in place or
refuses it.
"""

from __future__ import annotations

import functools
import json
import os
import sqlite3
import time
from collections.abc import Collection, Sequence
from pathlib import Path
from typing import Any

from trellis.core.asset_checks import AssetCheckKey
from trellis.core.asset_key import AssetKey
from trellis.core.errors import InstanceError
from trellis.core.events import Event, EventType
from trellis.core.run import Run, RunStatus
from trellis.core.serialization import event_from_dict, event_to_dict, run_from_dict, run_to_dict
from trellis.instance.check_index import CheckRow, check_row
from trellis.instance.config import StorageSpec
from trellis.instance.partition_status import StatusRange, StatusUpdate
from trellis.instance.queue_wakeup import FifoWakeup, QueueWakeup
from trellis.instance.sqlite import check_queries, status_queries
from trellis.instance.sqlite.automation_storage import SqliteAutomationRecords
from trellis.instance.sqlite.backfill_storage import SqliteBackfills
from trellis.instance.sqlite.connection import (
    SqliteDatabase,
    check_sqlite_file,
    create_private_file,
)
from trellis.instance.sqlite.daemon_storage import SqliteDaemonRecords
from trellis.instance.sqlite.dynamic_storage import SqliteDynamicPartitions
from trellis.instance.sqlite.pool_storage import SqlitePools
from trellis.instance.sqlite.record_queries import SqliteRecordQueries, runs_where
from trellis.instance.sqlite.schema import (
    CREATE_STATEMENTS,
    SCHEMA_REVISION,
    STAMP_REVISION,
    TRELLIS_TABLES,
    VERSION_TABLE,
    VERSION_TABLE_DDL,
    asset_key_from_db,
    asset_key_to_db,
    foreign_database_error,
    prepare_error,
    unversioned_error,
)
from trellis.instance.storage import FINISHED_STATUSES, EventRecord, InstanceStorage, RunsFilter

_MATERIALIZATION = EventType.ASSET_MATERIALIZATION
_OBSERVATION = EventType.ASSET_OBSERVATION
_CHECK_EVALUATION = EventType.ASSET_CHECK_EVALUATION
_MATERIALIZATION_VALUE = _MATERIALIZATION.value
_CHUNK = 500  # run ids per DELETE transaction

# The stored JSON: compact, as ``json.dumps(..., separators=(",", ":"))`` writes it, with
# the encoder built once (the structures come from ``to_jsonable``: no cycles).
_dumps = json.JSONEncoder(separators=(",", ":"), check_circular=False).encode
_loads = json.loads
# The stored form of the asset keys of recent events (a run touches the same few keys).
_stored_key = functools.lru_cache(maxsize=4096)(asset_key_to_db)

# -- statements ---------------------------------------------------------------------------
_RUN_COLUMNS = (
    "job_name, status, body, parent_run_id, root_run_id, start_time, end_time, update_timestamp"
)
_INSERT_RUN = (
    f"INSERT INTO runs (run_id, create_timestamp, {_RUN_COLUMNS}) "
    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)
_FINISHED = ", ".join(f"'{status.value}'" for status in FINISHED_STATUSES)
# A finished run keeps its status: the row changes only if it is not finished, or stays
# in the same status (the last parameter is the new status).
_UPDATE_RUN = (
    "UPDATE runs SET job_name = ?, status = ?, body = ?, parent_run_id = ?, root_run_id = ?, "
    "start_time = ?, end_time = ?, update_timestamp = ? WHERE run_id = ? "
    f"AND (status NOT IN ({_FINISHED}) OR status = ?)"
)
_INSERT_TAG = 'INSERT INTO run_tags (run_id, "key", value) VALUES (?, ?, ?)'
_DELETE_TAGS = "DELETE FROM run_tags WHERE run_id = ?"
_GET_RUN = "SELECT body FROM runs WHERE run_id = ?"
_EVENT_COLUMNS = "run_id, event_type, step_key, asset_key, partition, timestamp, body"
_EVENT_ROW = "(?, ?, ?, ?, ?, ?, ?)"
_EVENT_WIDTH = 7
# The asset index points at the newest materialization of each key; the id comes from
# the event just inserted (same transaction), and never moves backwards.
_UPSERT_MATERIALIZATION = (
    "INSERT INTO asset_keys (asset_key, last_materialization_id, last_run_id, last_timestamp) "
    "VALUES (?1, (SELECT max(event_logs.id) FROM event_logs "
    "WHERE event_logs.asset_key = ?1 AND event_logs.event_type = ?2), ?3, ?4) "
    "ON CONFLICT (asset_key) DO UPDATE SET "
    "last_materialization_id = excluded.last_materialization_id, "
    "last_run_id = excluded.last_run_id, last_timestamp = excluded.last_timestamp "
    "WHERE asset_keys.last_materialization_id IS NULL "
    "OR asset_keys.last_materialization_id < excluded.last_materialization_id"
)
_INSERT_ASSET_KEY = (
    "INSERT INTO asset_keys (asset_key) VALUES (?) ON CONFLICT (asset_key) DO NOTHING"
)
_GET_RECORDS = "SELECT id, body FROM event_logs WHERE run_id = ? AND id > ? ORDER BY id"
_LATEST_BY_PARTITION = (
    "SELECT id, body FROM event_logs WHERE id IN (SELECT max(id) FROM event_logs "
    "WHERE asset_key = ? AND event_type = ? GROUP BY partition) ORDER BY id"
)
_LATEST_MATERIALIZATION = (
    "SELECT event_logs.id, event_logs.body FROM asset_keys "
    "JOIN event_logs ON event_logs.id = asset_keys.last_materialization_id "
    "WHERE asset_keys.asset_key = ?"
)
_REFRESH_LATEST = (
    "SELECT id, run_id, timestamp FROM event_logs WHERE asset_key = ? AND event_type = ? "
    "ORDER BY id DESC LIMIT 1"
)
_REFRESH_ANY = "SELECT id FROM event_logs WHERE asset_key = ? LIMIT 1"
_REFRESH_UPDATE = (
    "UPDATE asset_keys SET last_materialization_id = ?, last_run_id = ?, last_timestamp = ? "
    "WHERE asset_key = ?"
)
_TABLE_NAMES = (
    "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite~_%' ESCAPE '~'"
)

_insert_events_sql: dict[int, str] = {}
_CACHED_SIZES = 256  # batch sizes whose INSERT text is kept (larger ones are rare)


def _insert_events(count: int) -> str:
    """The INSERT of ``count`` events (one statement; the text of the usual sizes is
    built once)."""
    sql = _insert_events_sql.get(count)
    if sql is None:
        rows = ", ".join([_EVENT_ROW] * count)
        sql = f"INSERT INTO event_logs ({_EVENT_COLUMNS}) VALUES {rows}"
        if count <= _CACHED_SIZES:
            _insert_events_sql[count] = sql
    return sql


def _marks(count: int) -> str:
    return ", ".join("?" * count)


def _run_values(run: Run) -> tuple[Any, ...]:
    """The copied columns of a run, in ``_RUN_COLUMNS`` order."""
    return (
        run.job_name,
        run.status.value,
        _dumps(run_to_dict(run)),
        run.parent_run_id,
        run.root_run_id,
        run.start_time,
        run.end_time,
        time.time(),
    )


def _records(rows: list[Any]) -> list[EventRecord]:
    return [EventRecord(row[0], event_from_dict(_loads(row[1]))) for row in rows]


def _version(conn: sqlite3.Connection) -> str | None:
    """The revision stamped in the database (its version table exists), or None."""
    rows = conn.execute(f"SELECT version_num FROM {VERSION_TABLE}").fetchall()
    return rows[0][0] if len(rows) == 1 else None


class SqliteStorage(
    SqliteRecordQueries,
    SqliteAutomationRecords,
    SqlitePools,
    SqliteDynamicPartitions,
    SqliteBackfills,
    SqliteDaemonRecords,
    InstanceStorage,
):
    """Instance storage in one SQLite file, through ``sqlite3``.

    Opening it checks the schema: a new database is created, an older revision is
    upgraded in place, anything else is refused with ``InstanceError``. ``opened`` says
    what opening did; ``events_per_insert`` is how many events one INSERT holds (SQLite's
    limit on bound variables; a larger batch takes several, in one transaction).
    """

    backend = "sqlite"

    def __init__(self, spec: StorageSpec) -> None:
        assert spec.kind == "sqlite" and spec.path is not None
        self.spec = spec
        path = Path(os.path.abspath(spec.path))
        check_sqlite_file(path)
        if spec.private:
            create_private_file(path)
        self.db = SqliteDatabase(path)
        try:
            self.opened = self._prepare_schema()
            self.db.enable_wal()
            # Events per INSERT: as many as SQLite's limit on bound variables allows.
            limit = self.db.read(lambda conn: conn.getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER))
            self.events_per_insert = max(1, limit // _EVENT_WIDTH)
        except BaseException:
            self.db.dispose()
            raise

    # -- opening -----------------------------------------------------------------------
    def _prepare_schema(self) -> dict[str, Any]:
        """Create a new database, accept one at ``SCHEMA_REVISION``, refuse a foreign one;
        anything else goes through Alembic. Returns ``{"from_revision", "to_revision",
        "created", "upgraded"}``."""
        where = self.db.where
        current = {
            "from_revision": SCHEMA_REVISION,
            "to_revision": SCHEMA_REVISION,
            "created": False,
            "upgraded": False,
        }

        def revision_now(conn: sqlite3.Connection) -> str | None:
            tables = {row[0] for row in conn.execute(_TABLE_NAMES).fetchall()}
            return _version(conn) if VERSION_TABLE in tables else None

        def check(conn: sqlite3.Connection) -> dict[str, Any] | None:
            tables = {row[0] for row in conn.execute(_TABLE_NAMES).fetchall()}
            revision = _version(conn) if VERSION_TABLE in tables else None
            if revision == SCHEMA_REVISION:  # another process created it meanwhile
                return current
            if revision is not None:
                return None  # older, or unknown: Alembic decides
            ours = sorted(tables & TRELLIS_TABLES)
            others = sorted(tables - TRELLIS_TABLES - {VERSION_TABLE})
            if ours:
                raise unversioned_error(where, ours)
            if others:
                raise foreign_database_error(where, others)
            for statement in CREATE_STATEMENTS:
                conn.execute(statement)
            conn.execute(VERSION_TABLE_DDL)
            conn.execute(STAMP_REVISION, {"v": SCHEMA_REVISION})
            return {
                "from_revision": None,
                "to_revision": SCHEMA_REVISION,
                "created": True,
                "upgraded": False,
            }

        try:
            if self.db.read(revision_now) == SCHEMA_REVISION:  # the common case: no lock
                return current
            outcome = self.db.write(check)
        except InstanceError:
            raise
        except Exception as exc:
            raise prepare_error(where, exc) from exc
        if outcome is None:
            outcome = self._through_alembic("prepare_schema")
        return outcome

    def _through_alembic(self, action: str) -> dict[str, Any]:
        """Run ``trellis.instance.sql.migrate``'s ``action`` (``prepare_schema`` or
        ``migrate``) on this file through SQLAlchemy and Alembic, imported now."""
        from trellis.instance.sql import migrate as migrations
        from trellis.instance.sql.database import Database

        db = Database(self.spec)
        try:
            result: dict[str, Any] = getattr(migrations, action)(db)
            return result
        finally:
            db.dispose()

    # -- runs --------------------------------------------------------------------------
    def add_run(self, run: Run) -> None:
        """Store a new run and its tags."""
        values = (run.run_id, run.create_time, *_run_values(run))
        tags = [(run.run_id, k, v) for k, v in run.tags.items()]

        def txn(conn: sqlite3.Connection) -> None:
            conn.execute(_INSERT_RUN, values)
            if tags:
                conn.executemany(_INSERT_TAG, tags)

        try:
            self.db.write(txn)
        except sqlite3.IntegrityError as exc:
            raise InstanceError(f"A run with id '{run.run_id}' already exists.") from exc

    @staticmethod
    def _update_run(conn: sqlite3.Connection, run: Run, only_if: Sequence[str] | None) -> bool:
        values = (*_run_values(run), run.run_id, run.status.value)
        if only_if is None:
            cursor = conn.execute(_UPDATE_RUN, values)
        else:
            sql = f"{_UPDATE_RUN} AND status IN ({_marks(len(only_if))})"
            cursor = conn.execute(sql, (*values, *only_if))
        if cursor.rowcount == 0:
            return False
        conn.execute(_DELETE_TAGS, (run.run_id,))
        if run.tags:
            conn.executemany(_INSERT_TAG, [(run.run_id, k, v) for k, v in run.tags.items()])
        return True

    def update_run(self, run: Run) -> None:
        """Store a run's new status, times, tags and body."""
        self.db.write(lambda conn: self._update_run(conn, run, None))

    def get_run(self, run_id: str) -> Run | None:
        """One run, or None."""
        rows = self.db.read(lambda conn: conn.execute(_GET_RUN, (run_id,)).fetchall())
        return run_from_dict(_loads(rows[0][0])) if rows else None

    def get_runs(self, runs_filter: RunsFilter, limit: int | None = None) -> list[Run]:
        """Runs passing the filter, newest first."""
        where, params = runs_where(runs_filter)
        sql = f"SELECT body FROM runs{where} ORDER BY create_timestamp DESC, id DESC"
        if limit is not None:
            sql += " LIMIT ?"
            params.append(limit)
        rows = self.db.read(lambda conn: conn.execute(sql, params).fetchall())
        return [run_from_dict(_loads(row[0])) for row in rows]

    @staticmethod
    def _refresh_asset_index(conn: sqlite3.Connection, keys: Sequence[str]) -> None:
        """Point the index of ``keys`` at their newest remaining materialization."""
        for key in keys:
            latest = conn.execute(_REFRESH_LATEST, (key, _MATERIALIZATION_VALUE)).fetchone()
            observed = latest is not None or conn.execute(_REFRESH_ANY, (key,)).fetchone()
            if not observed:
                conn.execute("DELETE FROM asset_keys WHERE asset_key = ?", (key,))
                continue
            values = tuple(latest) if latest is not None else (None, None, None)
            conn.execute(_REFRESH_UPDATE, (*values, key))

    def delete_runs(self, run_ids: Sequence[str]) -> int:
        """Delete runs with their events, tags and asset-index entries."""
        deleted = 0
        for start in range(0, len(run_ids), _CHUNK):
            chunk = list(run_ids[start : start + _CHUNK])
            marks = _marks(len(chunk))

            def txn(conn: sqlite3.Connection, chunk: list[str] = chunk, marks: str = marks) -> int:
                keys = conn.execute(
                    f"SELECT DISTINCT asset_key FROM event_logs WHERE run_id IN ({marks}) "
                    "AND asset_key IS NOT NULL",
                    chunk,
                ).fetchall()
                conn.execute(f"DELETE FROM event_logs WHERE run_id IN ({marks})", chunk)
                conn.execute(f"DELETE FROM run_tags WHERE run_id IN ({marks})", chunk)
                conn.execute(check_queries.DELETE_RUNS.format(marks=marks), chunk)
                count = conn.execute(f"DELETE FROM runs WHERE run_id IN ({marks})", chunk).rowcount
                self._refresh_asset_index(conn, sorted(row[0] for row in keys))
                return count

            deleted += self.db.write(txn)
        return deleted

    def run_ids_created_before(self, cutoff: float, exclude: Sequence[RunStatus]) -> list[str]:
        """Ids of the runs created before ``cutoff`` whose status is not in ``exclude``."""
        sql = "SELECT run_id FROM runs WHERE create_timestamp < ?"
        params: list[Any] = [cutoff]
        if exclude:
            sql += f" AND status NOT IN ({_marks(len(exclude))})"
            params.extend(s.value for s in exclude)
        rows = self.db.read(lambda conn: conn.execute(sql, params).fetchall())
        return [row[0] for row in rows]

    def get_run_tags(self) -> dict[str, list[str]]:
        """Every tag key in use, with its distinct values."""
        sql = 'SELECT DISTINCT "key", value FROM run_tags ORDER BY "key", value'
        found: dict[str, list[str]] = {}
        for key, value in self.db.read(lambda conn: conn.execute(sql).fetchall()):
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
        params: list[Any] = []
        add = params.extend
        latest: dict[str, tuple[str, str, str, float]] = {}
        observed: set[str] = set()
        checks: list[CheckRow] = []
        for event in events:
            key = event.asset_key
            stored_key = None
            if key is not None:
                stored_key = _stored_key(key)
                kind = event.event_type
                if kind is _MATERIALIZATION:
                    latest[stored_key] = (
                        stored_key,
                        _MATERIALIZATION_VALUE,
                        event.run_id,
                        event.timestamp,
                    )
                elif kind is _OBSERVATION:
                    observed.add(stored_key)
                elif kind is _CHECK_EVALUATION:
                    row = check_row(event)
                    if row is not None:
                        checks.append(row)
            add(
                (
                    event.run_id,
                    event.event_type._value_,
                    event.step_key,
                    stored_key,
                    event.partition,
                    event.timestamp,
                    _dumps(event_to_dict(event)),
                )
            )
        only_if = [s.value for s in only_if_status] if only_if_status is not None else None
        count = len(events)
        max_rows = self.events_per_insert

        def txn(conn: sqlite3.Connection) -> bool:
            if run is not None and not self._update_run(conn, run, only_if) and only_if:
                return False
            if status_updates:
                status_queries.apply(conn, status_updates)
            if not count:
                return True
            if count <= max_rows:
                conn.execute(_insert_events(count), params)
            else:
                step = max_rows * _EVENT_WIDTH
                for start in range(0, len(params), step):
                    part = params[start : start + step]
                    conn.execute(_insert_events(len(part) // _EVENT_WIDTH), part)
            if latest:
                conn.executemany(_UPSERT_MATERIALIZATION, list(latest.values()))
            observed_only = sorted(observed - latest.keys())
            if observed_only:
                conn.executemany(_INSERT_ASSET_KEY, [(k,) for k in observed_only])
            if checks:
                check_queries.insert_check_rows(conn, checks)
            return True

        return self.db.write(txn, wait=wait)

    def get_partition_status_ranges(
        self, asset_keys: Sequence[str]
    ) -> dict[str, list[StatusRange]]:
        """The partition status index of each asset (one query)."""
        return self.db.read(lambda conn: status_queries.ranges(conn, asset_keys))

    def get_partition_reindex_pending(self, asset_keys: Sequence[str]) -> set[str]:
        """Which of ``asset_keys`` are listed for a rebuild from their events."""
        return self.db.read(lambda conn: status_queries.pending(conn, asset_keys))

    def replace_partition_status(
        self, asset_key: str, rebuilt: Sequence[StatusRange], keep_newer: bool
    ) -> None:
        """Store an asset's rebuilt partition status (one write transaction, so no event
        batch is stored in between)."""
        self.db.write(lambda conn: status_queries.replace(conn, asset_key, rebuilt, keep_newer))

    # -- liveness ----------------------------------------------------------------------
    def record_heartbeat(self, run_ids: Sequence[str], timestamp: float) -> None:
        """Store ``timestamp`` as the runs' latest heartbeat."""
        if not run_ids:
            return
        sql = f"UPDATE runs SET heartbeat = ? WHERE run_id IN ({_marks(len(run_ids))})"
        self.db.write(lambda conn: conn.execute(sql, (timestamp, *run_ids)))

    def get_heartbeats(self, run_ids: Sequence[str]) -> dict[str, float | None]:
        """The latest heartbeat of each run."""
        found: dict[str, float | None] = {run_id: None for run_id in run_ids}

        def read(conn: sqlite3.Connection) -> None:
            for start in range(0, len(run_ids), _CHUNK):
                chunk = list(run_ids[start : start + _CHUNK])
                sql = f"SELECT run_id, heartbeat FROM runs WHERE run_id IN ({_marks(len(chunk))})"
                found.update(dict(conn.execute(sql, chunk).fetchall()))

        self.db.read(read, snapshot=True)
        return found

    def get_records(
        self,
        run_id: str,
        after_cursor: int = -1,
        limit: int | None = None,
        event_types: Collection[EventType] | None = None,
    ) -> list[EventRecord]:
        """A run's events after ``after_cursor``, oldest first (of ``event_types``)."""
        sql, params = _GET_RECORDS, [run_id, after_cursor]
        if event_types is not None:
            values = sorted({t.value for t in event_types})
            marks = ", ".join("?" * len(values))
            sql = sql.replace(" ORDER BY", f" AND event_type IN ({marks}) ORDER BY")
            params.extend(values)
        if limit is not None:
            sql += " LIMIT ?"
            params.append(limit)
        return _records(self.db.read(lambda conn: conn.execute(sql, params).fetchall()))

    def get_materialization_records(
        self, key: AssetKey, limit: int | None = None, before_cursor: int | None = None
    ) -> list[EventRecord]:
        """Materializations of an asset, newest first."""
        return self._asset_event_records(key, _MATERIALIZATION_VALUE, limit, before_cursor)

    def get_observation_records(
        self, key: AssetKey, limit: int | None = None, before_cursor: int | None = None
    ) -> list[EventRecord]:
        """Observations of an asset, newest first."""
        return self._asset_event_records(key, _OBSERVATION.value, limit, before_cursor)

    def _asset_event_records(
        self, key: AssetKey, event_type: str, limit: int | None, before_cursor: int | None
    ) -> list[EventRecord]:
        sql = "SELECT id, body FROM event_logs WHERE asset_key = ? AND event_type = ?"
        params: list[Any] = [asset_key_to_db(key), event_type]
        if before_cursor is not None:
            sql += " AND id < ?"
            params.append(before_cursor)
        sql += " ORDER BY id DESC"
        if limit is not None:
            sql += " LIMIT ?"
            params.append(limit)
        return _records(self.db.read(lambda conn: conn.execute(sql, params).fetchall()))

    def get_latest_materializations_by_partition(
        self, key: AssetKey
    ) -> dict[str | None, EventRecord]:
        """The newest materialization of each partition of an asset."""
        return self._latest_by_partition(key, _MATERIALIZATION_VALUE)

    def get_latest_observations_by_partition(self, key: AssetKey) -> dict[str | None, EventRecord]:
        """The newest observation of each partition of an asset."""
        return self._latest_by_partition(key, _OBSERVATION.value)

    def _latest_by_partition(self, key: AssetKey, event_type: str) -> dict[str | None, EventRecord]:
        params = (asset_key_to_db(key), event_type)
        rows = self.db.read(lambda conn: conn.execute(_LATEST_BY_PARTITION, params).fetchall())
        return {r.event.partition: r for r in _records(rows)}

    def get_latest_materialization_record(self, key: AssetKey) -> EventRecord | None:
        """The newest materialization of an asset, through the asset index."""
        params = (asset_key_to_db(key),)
        rows = self.db.read(lambda conn: conn.execute(_LATEST_MATERIALIZATION, params).fetchall())
        return _records(rows)[0] if rows else None

    def get_asset_keys(self) -> list[AssetKey]:
        """Every asset key materialized or observed, sorted."""
        sql = "SELECT asset_key FROM asset_keys"
        rows = self.db.read(lambda conn: conn.execute(sql).fetchall())
        return sorted(asset_key_from_db(row[0]) for row in rows)

    def wipe_assets(self, keys: Sequence[AssetKey]) -> list[AssetKey]:
        """Drop ``keys`` from the asset index and unlink their events from it."""

        def txn(conn: sqlite3.Connection) -> list[AssetKey]:
            wiped = []
            for key in keys:
                stored = asset_key_to_db(key)
                unlink = "UPDATE event_logs SET asset_key = NULL WHERE asset_key = ?"
                conn.execute(unlink, (stored,))
                conn.execute(check_queries.DELETE_ASSET, (stored,))
                conn.execute(status_queries.DELETE_ASSET, (stored,))
                conn.execute(status_queries.DELETE_PENDING, (stored,))
                if conn.execute("DELETE FROM asset_keys WHERE asset_key = ?", (stored,)).rowcount:
                    wiped.append(key)
            return wiped

        return self.db.write(txn)

    # -- asset checks ------------------------------------------------------------------
    def get_asset_check_evaluation_records(
        self, key: AssetCheckKey, limit: int | None = None, before_cursor: int | None = None
    ) -> list[EventRecord]:
        """The evaluations of one check, newest first, through the check index."""
        sql, params = check_queries.history_query(key, limit, before_cursor)
        return _records(self.db.read(lambda conn: conn.execute(sql, params).fetchall()))

    def get_latest_asset_check_evaluation_records(
        self, keys: Sequence[AssetCheckKey]
    ) -> dict[AssetCheckKey, EventRecord]:
        """The newest evaluation of each check that has one."""
        rows = check_queries.latest_rows(self.db.read, keys)
        return {key: _records([row])[0] for key, row in rows.items()}

    # -- administration ----------------------------------------------------------------
    def describe(self) -> dict[str, Any]:
        """Backend, url, schema revision and counts."""

        def read(conn: sqlite3.Connection) -> dict[str, Any]:
            tables = {row[0] for row in conn.execute(_TABLE_NAMES).fetchall()}

            def count(table: str) -> int:
                return int(conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0])

            return {
                "backend": self.backend,
                "url": self.db.display_url,
                "schema_revision": _version(conn) if VERSION_TABLE in tables else None,
                "head_revision": SCHEMA_REVISION,
                "runs": count("runs"),
                "events": count("event_logs"),
                "asset_keys": count("asset_keys"),
            }

        return self.db.read(read, snapshot=True)

    def migrate(self) -> dict[str, Any]:
        """Upgrade the schema to the newest revision (through Alembic, imported now)."""
        return self._through_alembic("migrate")

    def queued_run_order(self, tag_keys: Sequence[str]) -> list[tuple[str, float, dict[str, str]]]:
        """The QUEUED runs' ids, create times and the tags ``tag_keys`` (two small
        queries, no run bodies)."""
        queued = RunStatus.QUEUED.value

        def read(conn: sqlite3.Connection) -> tuple[list[Any], list[Any]]:
            runs = conn.execute(
                "SELECT run_id, create_timestamp FROM runs WHERE status = ?", (queued,)
            ).fetchall()
            tags = conn.execute(
                f'SELECT run_id, "key", value FROM run_tags WHERE "key" IN '
                f"({_marks(len(tag_keys))}) AND run_id IN "
                "(SELECT run_id FROM runs WHERE status = ?)",
                (*tag_keys, queued),
            ).fetchall()
            return runs, tags

        runs, tags = self.db.read(read, snapshot=True)
        found: dict[str, dict[str, str]] = {}
        for run_id, key, value in tags:
            found.setdefault(run_id, {})[key] = value
        return [(run_id, created, found.get(run_id, {})) for run_id, created in runs]

    def queue_wakeup(self) -> QueueWakeup:
        """A named pipe beside the database file (``<file>-wakeup``)."""
        return FifoWakeup(Path(f"{self.db.path}-wakeup"))

    def dispose(self) -> None:
        """Close every connection (reconnects if used again)."""
        self.db.dispose()
