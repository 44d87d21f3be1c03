"""The daemon's records through SQLAlchemy (tables ``instigators``, ``instigator_ticks``,
``instigator_run_keys``, ``daemon_heartbeats``, ``daemon_leases``), for ``SqlStorage``
(PostgreSQL, or SQLite): one transaction per call; the lease and the run keys are taken
with ``INSERT ... ON CONFLICT``, atomic across processes."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa

from trellis.instance.daemon_records import (
    DaemonHeartbeat,
    DaemonLease,
    InstigatorState,
    InstigatorTick,
    InstigatorType,
    TickStatus,
    heartbeat_info,
    tick_body,
    tick_from_row,
)
from trellis.instance.sql.database import Database
from trellis.instance.sql.schema import (
    daemon_heartbeats as heartbeats_t,
    daemon_leases as leases_t,
    instigator_run_keys as keys_t,
    instigator_ticks as ticks_t,
    instigators as states_t,
)
from trellis.instance.sqlite.daemon_storage import state_from_row, state_values


def _insert(kind: str, table: sa.Table) -> Any:
    """The dialect's INSERT (which has ``on_conflict_do_*``)."""
    insert: Any
    if kind == "sqlite":
        from sqlalchemy.dialects.sqlite import insert
    else:
        from sqlalchemy.dialects.postgresql import insert
    return insert(table)


def _state_row(state: InstigatorState) -> dict[str, Any]:
    names = ("name", "instigator_type", "status", "cursor", "start_timestamp", "update_timestamp")
    return dict(zip(names, state_values(state), strict=True))


class SqlDaemonRecords:
    """The daemon-record methods of ``SqlStorage``."""

    db: Database

    def _upsert_state(self, conn: sa.Connection, state: InstigatorState) -> None:
        stmt = _insert(self.db.kind, states_t)
        row = _state_row(state)
        conn.execute(
            stmt.on_conflict_do_update(
                index_elements=[states_t.c.name],
                set_={k: v for k, v in row.items() if k != "name"},
            ),
            row,
        )

    # -- instigator state ----------------------------------------------------------------
    def get_instigator_state(self, name: str) -> InstigatorState | None:
        """The stored state of ``name``."""
        c = states_t.c
        stmt = sa.select(
            c.name, c.instigator_type, c.status, c.cursor, c.start_timestamp, c.update_timestamp
        ).where(c.name == name)
        row = self.db.read(lambda conn: conn.execute(stmt).first())
        return state_from_row(row) if row is not None else None

    def get_instigator_states(self) -> list[InstigatorState]:
        """Every stored state, by name."""
        c = states_t.c
        stmt = sa.select(
            c.name, c.instigator_type, c.status, c.cursor, c.start_timestamp, c.update_timestamp
        ).order_by(c.name)
        return [state_from_row(r) for r in self.db.read(lambda conn: conn.execute(stmt).all())]

    def set_instigator_state(self, state: InstigatorState) -> None:
        """Store ``state``."""
        self.db.write(lambda conn: self._upsert_state(conn, state))

    # -- ticks -----------------------------------------------------------------------------
    def create_tick(self, tick: InstigatorTick) -> InstigatorTick:
        """Store a new tick; returned with its id."""
        values = {
            "instigator_name": tick.instigator_name,
            "instigator_type": tick.instigator_type.value,
            "status": tick.status.value,
            "timestamp": tick.timestamp,
            "end_timestamp": tick.end_timestamp,
            "body": tick_body(tick),
        }
        stmt = sa.insert(ticks_t).values(**values).returning(ticks_t.c.id)
        tick_id = self.db.write(lambda conn: conn.execute(stmt).scalar_one())
        return tick.with_changes(tick_id=int(tick_id))

    def update_tick(self, tick: InstigatorTick, state: InstigatorState | None = None) -> None:
        """Store a tick's outcome and, in the same transaction, ``state``."""
        assert tick.tick_id is not None, "update_tick needs a stored tick"
        stmt = (
            sa.update(ticks_t)
            .where(ticks_t.c.id == tick.tick_id)
            .values(
                status=tick.status.value,
                timestamp=tick.timestamp,
                end_timestamp=tick.end_timestamp,
                body=tick_body(tick),
            )
        )

        def txn(conn: sa.Connection) -> None:
            conn.execute(stmt)
            if state is not None:
                self._upsert_state(conn, state)

        self.db.write(txn)

    def get_ticks(
        self,
        name: str,
        limit: int | None = None,
        statuses: Sequence[TickStatus] | None = None,
        before_id: int | None = None,
    ) -> list[InstigatorTick]:
        """The ticks of ``name``, newest first."""
        c = ticks_t.c
        stmt = (
            sa.select(
                c.id,
                c.instigator_name,
                c.instigator_type,
                c.status,
                c.timestamp,
                c.end_timestamp,
                c.body,
            )
            .where(c.instigator_name == name)
            .order_by(c.id.desc())
        )
        if statuses is not None:
            stmt = stmt.where(c.status.in_([s.value for s in statuses]))
        if before_id is not None:
            stmt = stmt.where(c.id < before_id)
        if limit is not None:
            stmt = stmt.limit(limit)
        return [tick_from_row(*row) for row in self.db.read(lambda conn: conn.execute(stmt).all())]

    def delete_ticks_before(
        self,
        cutoff: float,
        statuses: Sequence[TickStatus] | None = None,
        instigator_type: InstigatorType | None = None,
    ) -> int:
        """Delete the ticks older than ``cutoff``."""
        stmt = sa.delete(ticks_t).where(ticks_t.c.timestamp < cutoff)
        if statuses is not None:
            stmt = stmt.where(ticks_t.c.status.in_([s.value for s in statuses]))
        if instigator_type is not None:
            stmt = stmt.where(ticks_t.c.instigator_type == instigator_type.value)
        return int(self.db.write(lambda conn: conn.execute(stmt).rowcount))

    # -- run keys --------------------------------------------------------------------------
    def add_run_key(self, name: str, run_key: str, run_id: str, timestamp: float) -> str:
        """Record ``run_key`` -> ``run_id`` unless the key is recorded; the stored run id."""
        insert = _insert(self.db.kind, keys_t).on_conflict_do_nothing(
            index_elements=[keys_t.c.instigator_name, keys_t.c.run_key]
        )
        select = sa.select(keys_t.c.run_id).where(
            keys_t.c.instigator_name == name, keys_t.c.run_key == run_key
        )
        row = {
            "instigator_name": name,
            "run_key": run_key,
            "run_id": run_id,
            "timestamp": timestamp,
        }

        def txn(conn: sa.Connection) -> str:
            conn.execute(insert, row)
            return str(conn.execute(select).scalar_one())

        # A retry after a lost connection inserts nothing and reads the stored id.
        return self.db.write(txn)

    def get_run_keys(self, name: str, run_keys: Sequence[str]) -> dict[str, str]:
        """The run id recorded for each known key."""
        if not run_keys:
            return {}
        stmt = sa.select(keys_t.c.run_key, keys_t.c.run_id).where(
            keys_t.c.instigator_name == name, keys_t.c.run_key.in_(list(run_keys))
        )
        return {row[0]: row[1] for row in self.db.read(lambda conn: conn.execute(stmt).all())}

    # -- the daemon ------------------------------------------------------------------------
    def record_daemon_heartbeat(self, heartbeat: DaemonHeartbeat) -> None:
        """Store a loop's latest heartbeat."""
        row = {
            "daemon_type": heartbeat.daemon_type,
            "daemon_id": heartbeat.daemon_id,
            "timestamp": heartbeat.timestamp,
            "info": heartbeat_info(heartbeat.info),
        }
        stmt = _insert(self.db.kind, heartbeats_t)
        stmt = stmt.on_conflict_do_update(
            index_elements=[heartbeats_t.c.daemon_type],
            set_={
                "daemon_id": row["daemon_id"],
                "timestamp": row["timestamp"],
                "info": row["info"],
            },
        )
        self.db.write(lambda conn: conn.execute(stmt, row))

    def get_daemon_heartbeats(self) -> list[DaemonHeartbeat]:
        """The latest heartbeat of every loop."""
        c = heartbeats_t.c
        stmt = sa.select(c.daemon_type, c.daemon_id, c.timestamp, c.info).order_by(c.daemon_type)
        rows = self.db.read(lambda conn: conn.execute(stmt).all())
        return [DaemonHeartbeat(r[0], r[1], r[2], json.loads(r[3])) for r in rows]

    def acquire_daemon_lease(
        self, name: str, owner: str, now: float, duration: float
    ) -> tuple[bool, DaemonLease]:
        """Take or renew the lease with one conditional upsert (atomic on PostgreSQL)."""
        c = leases_t.c
        stmt = _insert(self.db.kind, leases_t)
        stmt = stmt.on_conflict_do_update(
            index_elements=[c.name],
            set_={
                "owner": stmt.excluded.owner,
                "expires": stmt.excluded.expires,
                "acquired": sa.case(
                    (c.owner == stmt.excluded.owner, c.acquired), else_=stmt.excluded.acquired
                ),
            },
            where=sa.or_(c.owner == stmt.excluded.owner, c.expires <= now),
        ).returning(c.owner, c.expires, c.acquired)
        row = {"name": name, "owner": owner, "expires": now + duration, "acquired": now}
        select = sa.select(c.owner, c.expires, c.acquired).where(c.name == name)

        def txn(conn: sa.Connection) -> tuple[bool, DaemonLease]:
            taken = conn.execute(stmt, row).first()
            if taken is not None:
                return True, DaemonLease(taken[0], taken[1], taken[2])
            held = conn.execute(select).one()
            return False, DaemonLease(held[0], held[1], held[2])

        return self.db.write(txn)

    def get_daemon_lease(self, name: str) -> DaemonLease | None:
        """The lease as stored, or None."""
        c = leases_t.c
        select = sa.select(c.owner, c.expires, c.acquired).where(c.name == name)
        row = self.db.read(lambda conn: conn.execute(select).first())
        return None if row is None else DaemonLease(row[0], row[1], row[2])

    def release_daemon_lease(self, name: str, owner: str) -> None:
        """Give the lease up if ``owner`` holds it."""
        stmt = sa.delete(leases_t).where(leases_t.c.name == name, leases_t.c.owner == owner)
        self.db.write(lambda conn: conn.execute(stmt))
