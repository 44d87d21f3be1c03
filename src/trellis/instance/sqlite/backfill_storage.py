"""Backfill records in SQLite (table ``backfills``), for ``SqliteStorage``: constant SQL
text on the storage's ``sqlite3`` connections."""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from typing import Any

from trellis.instance.backfills import BackfillRecord, BackfillStatus
from trellis.instance.sqlite.connection import SqliteDatabase

_INSERT = (
    "INSERT INTO backfills (backfill_id, status, create_timestamp, update_timestamp, body) "
    "VALUES (?, ?, ?, ?, ?)"
)
_UPDATE = "UPDATE backfills SET status = ?, update_timestamp = ?, body = ? WHERE backfill_id = ?"
_SELECT = "SELECT backfill_id, status, create_timestamp, update_timestamp, body FROM backfills"


class SqliteBackfills:
    """The backfill methods of ``SqliteStorage`` (one transaction per call)."""

    db: SqliteDatabase

    def add_backfill(self, record: BackfillRecord) -> None:
        """Store a new record (its id must be new)."""
        row = (
            record.backfill_id,
            record.status.value,
            record.create_timestamp,
            record.update_timestamp,
            record.body_text(),
        )
        self.db.write(lambda conn: conn.execute(_INSERT, row))

    def update_backfill(self, record: BackfillRecord) -> None:
        """Replace the stored record of the same id."""
        row = (record.status.value, record.update_timestamp, record.body_text(), record.backfill_id)
        self.db.write(lambda conn: conn.execute(_UPDATE, row))

    def get_backfill(self, backfill_id: str) -> BackfillRecord | None:
        """The record, or None."""
        sql = _SELECT + " WHERE backfill_id = ?"
        row = self.db.read(lambda conn: conn.execute(sql, (backfill_id,)).fetchone())
        return BackfillRecord.from_row(*row) if row is not None else None

    def get_backfills(
        self, statuses: Sequence[BackfillStatus] | None = None, limit: int | None = None
    ) -> list[BackfillRecord]:
        """Records (of the given statuses), newest first."""
        sql = _SELECT
        params: list[Any] = []
        if statuses is not None:
            sql += f" WHERE status IN ({', '.join('?' for _ in statuses)})"
            params.extend(s.value for s in statuses)
        sql += " ORDER BY create_timestamp DESC"
        if limit is not None:
            sql += " LIMIT ?"
            params.append(limit)

        def read(conn: sqlite3.Connection) -> list[Any]:
            return conn.execute(sql, params).fetchall()

        return [BackfillRecord.from_row(*row) for row in self.db.read(read)]

    def get_backfill_stamps(self, limit: int) -> list[tuple[str, str, float]]:
        """``(id, status, update_timestamp)`` of the newest ``limit`` records (no body)."""
        sql = (
            "SELECT backfill_id, status, update_timestamp FROM backfills "
            "ORDER BY create_timestamp DESC LIMIT ?"
        )
        rows = self.db.read(lambda conn: conn.execute(sql, (limit,)).fetchall())
        return [(str(r[0]), str(r[1]), float(r[2])) for r in rows]
