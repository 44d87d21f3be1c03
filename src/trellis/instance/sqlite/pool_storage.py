"""Concurrency pool limits, slots and waiters in SQLite (tables ``concurrency_limits``,
``concurrency_slots`` and ``concurrency_waiters``), for ``SqliteStorage``: constant SQL
text on the storage's ``sqlite3`` connections. A claim is one ``BEGIN IMMEDIATE``
transaction, so claims from every process that opens the file are serialized."""

from __future__ import annotations

import sqlite3
import time

from trellis.instance.pools import PoolSlot, SlotClaim, decide_claim, slot_row, waiting_ahead
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
# Slots and waiters whose run has ended (or is gone) are dropped: a killed run's slots
# go once the instance has marked it failed.
_PURGE = [
    f"DELETE FROM {table} WHERE pool = ? AND NOT EXISTS (SELECT 1 FROM runs "
    f"WHERE runs.run_id = {table}.run_id AND runs.status NOT IN ({_FINISHED}))"
    for table in ("concurrency_slots", "concurrency_waiters")
]
_IN_USE = "SELECT count(*) FROM concurrency_slots WHERE pool = ?"
_WAITERS = (
    "SELECT run_id, step_key, seen FROM concurrency_waiters WHERE pool = ? "
    "ORDER BY since, run_id, step_key"
)
_INSERT_SLOT = (
    "INSERT INTO concurrency_slots (run_id, step_key, pool, claim_timestamp) VALUES (?, ?, ?, ?)"
)
_INSERT_WAITER = (
    "INSERT INTO concurrency_waiters (run_id, step_key, pool, since, seen) VALUES (?, ?, ?, ?, ?)"
)
_SEEN = "UPDATE concurrency_waiters SET seen = ? WHERE run_id = ? AND step_key = ?"
_FREE_STEP = "DELETE FROM concurrency_slots WHERE run_id = ? AND step_key = ?"
_FREE_RUN = "DELETE FROM concurrency_slots WHERE run_id = ?"
_UNWAIT_STEP = "DELETE FROM concurrency_waiters WHERE run_id = ? AND step_key = ?"
_UNWAIT_RUN = "DELETE FROM concurrency_waiters WHERE run_id = ?"
_SLOTS = "SELECT pool, run_id, step_key, claim_timestamp FROM concurrency_slots"
_SLOTS_ORDER = " ORDER BY claim_timestamp, run_id, step_key"
_WAITING = "SELECT pool, run_id, step_key, since FROM concurrency_waiters"
_WAITING_ORDER = " ORDER BY since, run_id, step_key"


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
        """Take a slot of ``pool`` for the step if one is free and no step waits ahead of
        it (a step already holding one keeps it), else note that it waits; one write
        transaction."""
        step = (run_id, step_key)

        def txn(conn: sqlite3.Connection) -> SlotClaim:
            held = conn.execute(_HELD, step).fetchone()
            for purge in _PURGE:
                conn.execute(purge, (pool,))
            row = conn.execute(_LIMIT, (pool,)).fetchone()
            limit = int(row[0]) if row is not None else None
            in_use = int(conn.execute(_IN_USE, (pool,)).fetchone()[0])
            if held is not None and held[0] == pool:
                return SlotClaim(True, limit if limit is not None else default_limit, in_use)
            now = time.time()
            waiters = conn.execute(_WAITERS, (pool,)).fetchall()
            ahead, waiting = waiting_ahead(waiters, run_id, step_key, now)
            claim = decide_claim(limit, default_limit, in_use, ahead)
            if claim.granted:
                conn.execute(_FREE_STEP, step)  # one slot per step, should it change pool
                conn.execute(_UNWAIT_STEP, step)
                conn.execute(_INSERT_SLOT, (*step, pool, now))
            elif waiting:
                conn.execute(_SEEN, (now, *step))
            else:
                conn.execute(_UNWAIT_STEP, step)  # it may have waited for another pool
                conn.execute(_INSERT_WAITER, (*step, pool, now, now))
            return claim

        return self.db.write(txn)

    def free_pool_slots(self, run_id: str, step_key: str | None = None) -> int:
        """Free the slot of one step of a run, or every slot of the run, and forget that
        they waited; how many slots were freed."""

        def txn(conn: sqlite3.Connection) -> int:
            if step_key is None:
                conn.execute(_UNWAIT_RUN, (run_id,))
                return int(conn.execute(_FREE_RUN, (run_id,)).rowcount)
            conn.execute(_UNWAIT_STEP, (run_id, step_key))
            return int(conn.execute(_FREE_STEP, (run_id, step_key)).rowcount)

        return self.db.write(txn)

    def _rows(self, sql: str, order: str, pool: str | None) -> list[PoolSlot]:
        if pool is None:
            rows = self.db.read(lambda conn: conn.execute(sql + order).fetchall())
        else:
            text = sql + " WHERE pool = ?" + order
            rows = self.db.read(lambda conn: conn.execute(text, (pool,)).fetchall())
        return [slot_row(*row) for row in rows]

    def get_pool_slots(self, pool: str | None = None) -> list[PoolSlot]:
        """The slots in use (of one pool, when given), oldest claim first."""
        return self._rows(_SLOTS, _SLOTS_ORDER, pool)

    def get_pool_waiters(self, pool: str | None = None) -> list[PoolSlot]:
        """The steps waiting for a slot (of one pool, when given), longest first."""
        return self._rows(_WAITING, _WAITING_ORDER, pool)
