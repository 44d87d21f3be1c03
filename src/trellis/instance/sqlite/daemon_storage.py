"""The daemon's records in SQLite (tables ``instigators``, ``instigator_ticks``,
``instigator_run_keys``, ``daemon_heartbeats``, ``daemon_leases``), for
``SqliteStorage``: constant SQL text on the storage's ``sqlite3`` connections, one
transaction per call."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence
from typing import Any

from trellis.instance.daemon_records import (
    DaemonHeartbeat,
    DaemonLease,
    InstigatorState,
    InstigatorStatus,
    InstigatorTick,
    InstigatorType,
    TickStatus,
    heartbeat_info,
    tick_body,
    tick_from_row,
)
from trellis.instance.sqlite.connection import SqliteDatabase

_STATE_COLUMNS = "name, instigator_type, status, cursor, start_timestamp, update_timestamp"
_UPSERT_STATE = (
    f"INSERT INTO instigators ({_STATE_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?) "
    "ON CONFLICT (name) DO UPDATE SET instigator_type = excluded.instigator_type, "
    "status = excluded.status, cursor = excluded.cursor, "
    "start_timestamp = excluded.start_timestamp, update_timestamp = excluded.update_timestamp"
)
_TICK_COLUMNS = "id, instigator_name, instigator_type, status, timestamp, end_timestamp, body"
_INSERT_TICK = (
    "INSERT INTO instigator_ticks "
    "(instigator_name, instigator_type, status, timestamp, end_timestamp, body) "
    "VALUES (?, ?, ?, ?, ?, ?)"
)
_UPDATE_TICK = (
    "UPDATE instigator_ticks SET status = ?, timestamp = ?, end_timestamp = ?, body = ? "
    "WHERE id = ?"
)
_INSERT_RUN_KEY = (
    "INSERT INTO instigator_run_keys (instigator_name, run_key, run_id, timestamp) "
    "VALUES (?, ?, ?, ?) ON CONFLICT (instigator_name, run_key) DO NOTHING"
)
_GET_RUN_KEY = "SELECT run_id FROM instigator_run_keys WHERE instigator_name = ? AND run_key = ?"
_UPSERT_HEARTBEAT = (
    "INSERT INTO daemon_heartbeats (daemon_type, daemon_id, timestamp, info) "
    "VALUES (?, ?, ?, ?) ON CONFLICT (daemon_type) DO UPDATE SET "
    "daemon_id = excluded.daemon_id, timestamp = excluded.timestamp, info = excluded.info"
)
_GET_LEASE = "SELECT owner, expires, acquired FROM daemon_leases WHERE name = ?"


def state_values(state: InstigatorState) -> tuple[Any, ...]:
    """A state's columns, in ``_STATE_COLUMNS`` order."""
    return (
        state.name,
        state.instigator_type.value,
        state.status.value,
        state.cursor,
        state.start_timestamp,
        state.update_timestamp,
    )


def state_from_row(row: Sequence[Any]) -> InstigatorState:
    """A state from its columns, in ``_STATE_COLUMNS`` order."""
    return InstigatorState(
        name=row[0],
        instigator_type=InstigatorType(row[1]),
        status=InstigatorStatus(row[2]),
        cursor=row[3],
        start_timestamp=row[4],
        update_timestamp=row[5],
    )


def _marks(count: int) -> str:
    return ", ".join("?" * count)


class SqliteDaemonRecords:
    """The daemon-record methods of ``SqliteStorage``."""

    db: SqliteDatabase

    # -- instigator state ----------------------------------------------------------------
    def get_instigator_state(self, name: str) -> InstigatorState | None:
        """The stored state of ``name``."""
        sql = f"SELECT {_STATE_COLUMNS} FROM instigators WHERE name = ?"
        row = self.db.read(lambda conn: conn.execute(sql, (name,)).fetchone())
        return state_from_row(row) if row is not None else None

    def get_instigator_states(self) -> list[InstigatorState]:
        """Every stored state, by name."""
        sql = f"SELECT {_STATE_COLUMNS} FROM instigators ORDER BY name"
        return [state_from_row(r) for r in self.db.read(lambda c: c.execute(sql).fetchall())]

    def set_instigator_state(self, state: InstigatorState) -> None:
        """Store ``state``."""
        values = state_values(state)
        self.db.write(lambda conn: conn.execute(_UPSERT_STATE, values))

    # -- ticks -----------------------------------------------------------------------------
    def create_tick(self, tick: InstigatorTick) -> InstigatorTick:
        """Store a new tick; returned with its id."""
        values = (
            tick.instigator_name,
            tick.instigator_type.value,
            tick.status.value,
            tick.timestamp,
            tick.end_timestamp,
            tick_body(tick),
        )
        tick_id = self.db.write(lambda conn: conn.execute(_INSERT_TICK, values).lastrowid)
        assert tick_id is not None
        return tick.with_changes(tick_id=int(tick_id))

    def update_tick(self, tick: InstigatorTick, state: InstigatorState | None = None) -> None:
        """Store a tick's outcome and, in the same transaction, ``state``."""
        assert tick.tick_id is not None, "update_tick needs a stored tick"
        values = (
            tick.status.value,
            tick.timestamp,
            tick.end_timestamp,
            tick_body(tick),
            tick.tick_id,
        )

        def txn(conn: sqlite3.Connection) -> None:
            conn.execute(_UPDATE_TICK, values)
            if state is not None:
                conn.execute(_UPSERT_STATE, state_values(state))

        self.db.write(txn)

    def get_ticks(
        self,
        name: str,
        limit: int | None = None,
        statuses: Sequence[TickStatus] | None = None,
        before_id: int | None = None,
    ) -> list[InstigatorTick]:
        """The ticks of ``name``, newest first."""
        sql = f"SELECT {_TICK_COLUMNS} FROM instigator_ticks WHERE instigator_name = ?"
        params: list[Any] = [name]
        if statuses is not None:
            sql += f" AND status IN ({_marks(len(statuses))})"
            params.extend(s.value for s in statuses)
        if before_id is not None:
            sql += " AND id < ?"
            params.append(before_id)
        sql += " ORDER BY id DESC"
        if limit is not None:
            sql += " LIMIT ?"
            params.append(limit)
        rows = self.db.read(lambda conn: conn.execute(sql, params).fetchall())
        return [tick_from_row(*row) for row in rows]

    def delete_ticks_before(
        self,
        cutoff: float,
        statuses: Sequence[TickStatus] | None = None,
        instigator_type: InstigatorType | None = None,
    ) -> int:
        """Delete the ticks older than ``cutoff``."""
        sql = "DELETE FROM instigator_ticks WHERE timestamp < ?"
        params: list[Any] = [cutoff]
        if statuses is not None:
            sql += f" AND status IN ({_marks(len(statuses))})"
            params.extend(s.value for s in statuses)
        if instigator_type is not None:
            sql += " AND instigator_type = ?"
            params.append(instigator_type.value)
        return int(self.db.write(lambda conn: conn.execute(sql, params).rowcount))

    # -- run keys --------------------------------------------------------------------------
    def add_run_key(self, name: str, run_key: str, run_id: str, timestamp: float) -> str:
        """Record ``run_key`` -> ``run_id`` unless the key is recorded; the stored run id."""

        def txn(conn: sqlite3.Connection) -> str:
            conn.execute(_INSERT_RUN_KEY, (name, run_key, run_id, timestamp))
            return str(conn.execute(_GET_RUN_KEY, (name, run_key)).fetchone()[0])

        return self.db.write(txn)

    def get_run_keys(self, name: str, run_keys: Sequence[str]) -> dict[str, str]:
        """The run id recorded for each known key."""
        if not run_keys:
            return {}
        found: dict[str, str] = {}

        def read(conn: sqlite3.Connection) -> None:
            keys = list(run_keys)
            for start in range(0, len(keys), 500):
                chunk = keys[start : start + 500]
                sql = (
                    "SELECT run_key, run_id FROM instigator_run_keys WHERE instigator_name = ? "
                    f"AND run_key IN ({_marks(len(chunk))})"
                )
                found.update(dict(conn.execute(sql, [name, *chunk]).fetchall()))

        self.db.read(read)
        return found

    # -- the daemon ------------------------------------------------------------------------
    def record_daemon_heartbeat(self, heartbeat: DaemonHeartbeat) -> None:
        """Store a loop's latest heartbeat."""
        values = (
            heartbeat.daemon_type,
            heartbeat.daemon_id,
            heartbeat.timestamp,
            heartbeat_info(heartbeat.info),
        )
        self.db.write(lambda conn: conn.execute(_UPSERT_HEARTBEAT, values))

    def get_daemon_heartbeats(self) -> list[DaemonHeartbeat]:
        """The latest heartbeat of every loop."""
        sql = "SELECT daemon_type, daemon_id, timestamp, info FROM daemon_heartbeats ORDER BY 1"
        rows = self.db.read(lambda conn: conn.execute(sql).fetchall())
        return [DaemonHeartbeat(r[0], r[1], r[2], json.loads(r[3])) for r in rows]

    def acquire_daemon_lease(
        self, name: str, owner: str, now: float, duration: float
    ) -> tuple[bool, DaemonLease]:
        """Take or renew the lease in one write transaction (SQLite's write lock makes
        the read and the write atomic)."""

        def txn(conn: sqlite3.Connection) -> tuple[bool, DaemonLease]:
            row = conn.execute(_GET_LEASE, (name,)).fetchone()
            if row is not None and row[0] != owner and row[1] > now:
                return False, DaemonLease(row[0], row[1], row[2])
            acquired = row[2] if row is not None and row[0] == owner else now
            conn.execute(
                "INSERT INTO daemon_leases (name, owner, expires, acquired) VALUES (?, ?, ?, ?) "
                "ON CONFLICT (name) DO UPDATE SET owner = excluded.owner, "
                "expires = excluded.expires, acquired = excluded.acquired",
                (name, owner, now + duration, acquired),
            )
            return True, DaemonLease(owner, now + duration, acquired)

        return self.db.write(txn)

    def get_daemon_lease(self, name: str) -> DaemonLease | None:
        """The lease as stored, or None."""
        row = self.db.read(lambda conn: conn.execute(_GET_LEASE, (name,)).fetchone())
        return None if row is None else DaemonLease(row[0], row[1], row[2])

    def release_daemon_lease(self, name: str, owner: str) -> None:
        """Give the lease up if ``owner`` holds it."""
        sql = "DELETE FROM daemon_leases WHERE name = ? AND owner = ?"
        self.db.write(lambda conn: conn.execute(sql, (name, owner)))
