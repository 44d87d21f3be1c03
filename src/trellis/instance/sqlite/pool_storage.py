"""Concurrency pool limits and slots in SQLite (tables ``concurrency_limits`` and
``concurrency_slots``), for ``SqliteStorage``: constant SQL text on the storage's
``sqlite3`` connections. A claim is one ``BEGIN IMMEDIATE`` transaction, so claims from
every process that opens the file are serialized."""

from __future__ import annotations

import sqlite3
import time

from trellis.instance.pools import PoolSlot, SlotClaim, decide_claim
from trellis.instance.sqlite.connection import SqliteDatabase
from trellis.instance.storage import FINISHED_STATUSES

_FINISHED = ", ".join(f"'{status.value}'" for status in FINISHED_STATUSES)
_UPSERT_LIMIT = (
    "INSERT INTO concurrency_limits (pool, slot_limit, update_timestamp) VALUES (?, ?, ?) "
    "ON CONFLICT (pool) DO UPDATE SET slot_limit = excluded.slot_limit, "
    "update_timestamp = excluded.update_timestamp"
)
_DELETE_LIMIT = "DELETE FROM concurrency_limits WHERE pool = ?"
_LIMITS = "SELECT pool, slot_limit FROM concurrency_limits ORDER BY pool"
_LIMIT = "SELECT slot_limit FROM concurrency_limits WHERE pool = ?"
_HELD = "SELECT pool FROM concurrency_slots WHERE run_id = ? AND step_key = ?"
# Slots whose run has ended (or is gone) are free: a killed run's slots go once the
# instance has marked it failed.
_PURGE = (
    "DELETE FROM concurrency_slots WHERE pool = ? AND NOT EXISTS (SELECT 1 FROM runs "
    "WHERE runs.run_id = concurrency_slots.run_id "
    f"AND runs.status NOT IN ({_FINISHED}))"
)
_IN_USE = "SELECT count(*) FROM concurrency_slots WHERE pool = ?"
_INSERT_SLOT = (
    "INSERT INTO concurrency_slots (run_id, step_key, pool, claim_timestamp) VALUES (?, ?, ?, ?)"
)
_FREE_STEP = "DELETE FROM concurrency_slots WHERE run_id = ? AND step_key = ?"
_FREE_RUN = "DELETE FROM concurrency_slots WHERE run_id = ?"
_SLOTS = "SELECT pool, run_id, step_key, claim_timestamp FROM concurrency_slots"
_ORDER = " ORDER BY claim_timestamp, run_id, step_key"


class SqlitePools:
    """The pool methods of ``SqliteStorage`` (one transaction per call)."""

    db: SqliteDatabase

    def set_pool_limit(self, pool: str, limit: int) -> None:
        """Set the limit of a pool."""
        now = time.time()
        self.db.write(lambda conn: conn.execute(_UPSERT_LIMIT, (pool, limit, now)))

    def delete_pool_limit(self, pool: str) -> bool:
        """Forget a pool's limit; whether it had one."""
        return bool(self.db.write(lambda conn: conn.execute(_DELETE_LIMIT, (pool,)).rowcount))

    def get_pool_limits(self) -> dict[str, int]:
        """Every pool with a limit set, and its limit."""
        rows = self.db.read(lambda conn: conn.execute(_LIMITS).fetchall())
        return {row[0]: int(row[1]) for row in rows}

    def claim_pool_slot(
        self, pool: str, run_id: str, step_key: str, default_limit: int | None
    ) -> SlotClaim:
        """Take a slot of ``pool`` for the step if one is free (a step already holding
        one keeps it), in one write transaction."""

        def txn(conn: sqlite3.Connection) -> SlotClaim:
            held = conn.execute(_HELD, (run_id, step_key)).fetchone()
            conn.execute(_PURGE, (pool,))
            row = conn.execute(_LIMIT, (pool,)).fetchone()
            limit = int(row[0]) if row is not None else None
            in_use = int(conn.execute(_IN_USE, (pool,)).fetchone()[0])
            if held is not None and held[0] == pool:
                return SlotClaim(True, limit if limit is not None else default_limit, in_use)
            claim = decide_claim(limit, default_limit, in_use)
            if claim.granted:
                if held is not None:  # the step moved to another pool: one slot per step
                    conn.execute(_FREE_STEP, (run_id, step_key))
                conn.execute(_INSERT_SLOT, (run_id, step_key, pool, time.time()))
            return claim

        return self.db.write(txn)

    def free_pool_slots(self, run_id: str, step_key: str | None = None) -> int:
        """Free the slot of one step of a run, or every slot of the run; how many."""
        if step_key is None:
            return int(self.db.write(lambda conn: conn.execute(_FREE_RUN, (run_id,)).rowcount))
        return int(
            self.db.write(lambda conn: conn.execute(_FREE_STEP, (run_id, step_key)).rowcount)
        )

    def get_pool_slots(self, pool: str | None = None) -> list[PoolSlot]:
        """The slots in use (of one pool, when given), oldest claim first."""
        if pool is None:
            rows = self.db.read(lambda conn: conn.execute(_SLOTS + _ORDER).fetchall())
        else:
            sql = _SLOTS + " WHERE pool = ?" + _ORDER
            rows = self.db.read(lambda conn: conn.execute(sql, (pool,)).fetchall())
        return [PoolSlot(row[0], row[1], row[2], row[3]) for row in rows]
