"""Concurrency pool limits and slots through SQLAlchemy (tables ``concurrency_limits``
and ``concurrency_slots``), for ``SqlStorage`` (PostgreSQL, or SQLite).

A claim is one transaction. On PostgreSQL it first takes a transaction-scoped advisory
lock on the pool's name, so claims of one pool are serialized across every connection
(and every process) while claims of other pools go on; on SQLite the transaction is
``BEGIN IMMEDIATE``, which serializes every writer anyway.
"""

from __future__ import annotations

import time
from typing import Any

import sqlalchemy as sa

from trellis.instance.pools import PoolSlot, SlotClaim, decide_claim
from trellis.instance.sql.database import Database, upsert
from trellis.instance.sql.schema import concurrency_limits as limits_t
from trellis.instance.sql.schema import concurrency_slots as slots_t
from trellis.instance.sql.schema import runs as runs_t
from trellis.instance.storage import FINISHED_STATUSES

_FINISHED = [status.value for status in FINISHED_STATUSES]


def _slot(row: Any) -> PoolSlot:
    return PoolSlot(row[0], row[1], row[2], row[3])


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
        """Take a slot of ``pool`` for the step if one is free (a step already holding
        one keeps it), in one transaction serialized with the pool's other claims. A
        claim retried after a lost connection finds the slot it took, if it had
        committed."""
        s = slots_t.c
        this_step = sa.and_(s.run_id == run_id, s.step_key == step_key)
        live = sa.exists().where(runs_t.c.run_id == s.run_id, runs_t.c.status.not_in(_FINISHED))

        def txn(conn: sa.Connection) -> SlotClaim:
            if self.db.kind == "postgres":
                conn.execute(sa.select(sa.func.pg_advisory_xact_lock(sa.func.hashtext(pool))))
            held = conn.execute(sa.select(s.pool).where(this_step)).first()
            conn.execute(sa.delete(slots_t).where(s.pool == pool, ~live))
            limit = conn.execute(
                sa.select(limits_t.c.slot_limit).where(limits_t.c.pool == pool)
            ).scalar()
            in_use = int(
                conn.execute(
                    sa.select(sa.func.count()).select_from(slots_t).where(s.pool == pool)
                ).scalar_one()
            )
            if held is not None and held[0] == pool:
                return SlotClaim(True, limit if limit is not None else default_limit, in_use)
            claim = decide_claim(int(limit) if limit is not None else None, default_limit, in_use)
            if claim.granted:
                if held is not None:  # the step moved to another pool: one slot per step
                    conn.execute(sa.delete(slots_t).where(this_step))
                conn.execute(
                    sa.insert(slots_t).values(
                        run_id=run_id, step_key=step_key, pool=pool, claim_timestamp=time.time()
                    )
                )
            return claim

        return self.db.write(txn)

    def free_pool_slots(self, run_id: str, step_key: str | None = None) -> int:
        """Free the slot of one step of a run, or every slot of the run; how many."""
        stmt = sa.delete(slots_t).where(slots_t.c.run_id == run_id)
        if step_key is not None:
            stmt = stmt.where(slots_t.c.step_key == step_key)
        return int(self.db.write(lambda conn: conn.execute(stmt).rowcount))

    def get_pool_slots(self, pool: str | None = None) -> list[PoolSlot]:
        """The slots in use (of one pool, when given), oldest claim first."""
        s = slots_t.c
        stmt = sa.select(s.pool, s.run_id, s.step_key, s.claim_timestamp).order_by(
            s.claim_timestamp, s.run_id, s.step_key
        )
        if pool is not None:
            stmt = stmt.where(s.pool == pool)
        return [_slot(row) for row in self.db.read(lambda conn: conn.execute(stmt).all())]
