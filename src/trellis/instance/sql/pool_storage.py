"""Concurrency pool limits, slots and waiters through SQLAlchemy (tables
``concurrency_limits``, ``concurrency_slots`` and ``concurrency_waiters``), for
``SqlStorage`` (PostgreSQL, or SQLite).

A claim is one transaction. On PostgreSQL it first takes a transaction-scoped advisory
lock on the pool's name, so claims of one pool are serialized across every connection
(and every process) while claims of other pools go on; on SQLite the transaction is
``BEGIN IMMEDIATE``, which serializes every writer anyway.
"""

from __future__ import annotations

import time
from typing import Any

import sqlalchemy as sa

from trellis.instance.pools import PoolSlot, SlotClaim, decide_claim, slot_row, waiting_ahead
from trellis.instance.sql.database import Database, upsert
from trellis.instance.sql.schema import (
    concurrency_limits as limits_t,
    concurrency_slots as slots_t,
    concurrency_waiters as waiters_t,
    runs as runs_t,
)
from trellis.instance.storage import FINISHED_STATUSES

_FINISHED = [status.value for status in FINISHED_STATUSES]


def _of_step(table: sa.Table, run_id: str, step_key: str | None) -> Any:
    """The rows of one step of a run (every step's, when ``step_key`` is None)."""
    where = table.c.run_id == run_id
    return where if step_key is None else sa.and_(where, table.c.step_key == step_key)


def _purge(table: sa.Table, pool: str) -> Any:
    """DELETE the pool's rows whose run has ended or is gone."""
    live = sa.exists().where(runs_t.c.run_id == table.c.run_id, runs_t.c.status.not_in(_FINISHED))
    return sa.delete(table).where(table.c.pool == pool, ~live)


class SqlPools:
    """The pool methods of ``SqlStorage`` (one transaction per call)."""

    db: Database

    def set_pool_limit(self, pool: str, limit: int) -> None:
        """Set the limit of a pool."""
        row = {"pool": pool, "slot_limit": limit, "update_timestamp": time.time()}
        stmt = upsert(self.db.kind, limits_t, ["pool"], ["slot_limit", "update_timestamp"])
        self.db.write(lambda conn: conn.execute(stmt, [row]))

    def delete_pool_limit(self, pool: str) -> bool:
        """Forget a pool's limit; whether it had one."""
        stmt = sa.delete(limits_t).where(limits_t.c.pool == pool)
        return bool(self.db.write(lambda conn: conn.execute(stmt).rowcount))

    def get_pool_limits(self) -> dict[str, int]:
        """Every pool with a limit set, and its limit."""
        stmt = sa.select(limits_t.c.pool, limits_t.c.slot_limit).order_by(limits_t.c.pool)
        rows = self.db.read(lambda conn: conn.execute(stmt).all())
        return {row[0]: int(row[1]) for row in rows}

    def claim_pool_slot(
        self, pool: str, run_id: str, step_key: str, default_limit: int | None
    ) -> SlotClaim:
        """Take a slot of ``pool`` for the step if one is free and no step waits ahead of
        it (a step already holding one keeps it), else note that it waits; one
        transaction serialized with the pool's other claims. A claim retried after a lost
        connection finds the slot it took, if it had committed."""
        s, w = slots_t.c, waiters_t.c

        def txn(conn: sa.Connection) -> SlotClaim:
            if self.db.kind == "postgres":
                conn.execute(sa.select(sa.func.pg_advisory_xact_lock(sa.func.hashtext(pool))))
            held = conn.execute(
                sa.select(s.pool).where(_of_step(slots_t, run_id, step_key))
            ).first()
            conn.execute(_purge(slots_t, pool))
            conn.execute(_purge(waiters_t, pool))
            limit = conn.execute(
                sa.select(limits_t.c.slot_limit).where(limits_t.c.pool == pool)
            ).scalar()
            limit = int(limit) if limit is not None else None
            in_use = int(
                conn.execute(
                    sa.select(sa.func.count()).select_from(slots_t).where(s.pool == pool)
                ).scalar_one()
            )
            if held is not None and held[0] == pool:
                return SlotClaim(True, limit if limit is not None else default_limit, in_use)
            now = time.time()
            waiters = [
                (row[0], row[1], row[2])
                for row in conn.execute(
                    sa.select(w.run_id, w.step_key, w.seen)
                    .where(w.pool == pool)
                    .order_by(w.since, w.run_id, w.step_key)
                ).all()
            ]
            ahead, waiting = waiting_ahead(waiters, run_id, step_key, now)
            claim = decide_claim(limit, default_limit, in_use, ahead)
            step = {"run_id": run_id, "step_key": step_key, "pool": pool}
            this_waiter = _of_step(waiters_t, run_id, step_key)
            if claim.granted:
                conn.execute(sa.delete(slots_t).where(_of_step(slots_t, run_id, step_key)))
                conn.execute(sa.delete(waiters_t).where(this_waiter))
                conn.execute(sa.insert(slots_t).values(**step, claim_timestamp=now))
            elif waiting:
                conn.execute(sa.update(waiters_t).where(this_waiter).values(seen=now))
            else:  # it may have waited for another pool
                conn.execute(sa.delete(waiters_t).where(this_waiter))
                conn.execute(sa.insert(waiters_t).values(**step, since=now, seen=now))
            return claim

        return self.db.write(txn)

    def free_pool_slots(self, run_id: str, step_key: str | None = None) -> int:
        """Free the slot of one step of a run, or every slot of the run, and forget that
        they waited; how many slots were freed."""

        def txn(conn: sa.Connection) -> int:
            conn.execute(sa.delete(waiters_t).where(_of_step(waiters_t, run_id, step_key)))
            return int(
                conn.execute(sa.delete(slots_t).where(_of_step(slots_t, run_id, step_key))).rowcount
            )

        return self.db.write(txn)

    def _rows(self, table: sa.Table, since: sa.Column, pool: str | None) -> list[PoolSlot]:
        c = table.c
        stmt = sa.select(c.pool, c.run_id, c.step_key, since).order_by(since, c.run_id, c.step_key)
        if pool is not None:
            stmt = stmt.where(c.pool == pool)
        return [slot_row(*row) for row in self.db.read(lambda conn: conn.execute(stmt).all())]

    def get_pool_slots(self, pool: str | None = None) -> list[PoolSlot]:
        """The slots in use (of one pool, when given), oldest claim first."""
        return self._rows(slots_t, slots_t.c.claim_timestamp, pool)

    def get_pool_waiters(self, pool: str | None = None) -> list[PoolSlot]:
        """The steps waiting for a slot (of one pool, when given), longest first."""
        return self._rows(waiters_t, waiters_t.c.since, pool)
