"""Backfill records through SQLAlchemy (table ``backfills``), for ``SqlStorage``
(PostgreSQL, or SQLite)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa

from trellis.instance.backfills import BackfillRecord, BackfillStatus
from trellis.instance.sql.database import Database
from trellis.instance.sql.schema import backfills as table


class SqlBackfills:
    """The backfill methods of ``SqlStorage`` (one transaction per call)."""

    db: Database

    def add_backfill(self, record: BackfillRecord) -> None:
        """Store a new record (its id must be new)."""
        stmt = sa.insert(table).values(
            backfill_id=record.backfill_id,
            status=record.status.value,
            create_timestamp=record.create_timestamp,
            update_timestamp=record.update_timestamp,
            body=record.body_text(),
        )
        self.db.write(lambda conn: conn.execute(stmt))

    def update_backfill(self, record: BackfillRecord) -> None:
        """Replace the stored record of the same id."""
        stmt = (
            sa.update(table)
            .where(table.c.backfill_id == record.backfill_id)
            .values(
                status=record.status.value,
                update_timestamp=record.update_timestamp,
                body=record.body_text(),
            )
        )
        self.db.write(lambda conn: conn.execute(stmt))

    def _select(self) -> Any:
        c = table.c
        return sa.select(c.backfill_id, c.status, c.create_timestamp, c.update_timestamp, c.body)

    def get_backfill(self, backfill_id: str) -> BackfillRecord | None:
        """The record, or None."""
        stmt = self._select().where(table.c.backfill_id == backfill_id)
        row = self.db.read(lambda conn: conn.execute(stmt).first())
        return BackfillRecord.from_row(*row) if row is not None else None

    def get_backfills(
        self, statuses: Sequence[BackfillStatus] | None = None, limit: int | None = None
    ) -> list[BackfillRecord]:
        """Records (of the given statuses), newest first."""
        stmt = self._select()
        if statuses is not None:
            stmt = stmt.where(table.c.status.in_([s.value for s in statuses]))
        stmt = stmt.order_by(table.c.create_timestamp.desc())
        if limit is not None:
            stmt = stmt.limit(limit)
        rows = self.db.read(lambda conn: conn.execute(stmt).all())
        return [BackfillRecord.from_row(*row) for row in rows]

    def get_backfill_stamps(self, limit: int) -> list[tuple[str, str, float]]:
        """``(id, status, update_timestamp)`` of the newest ``limit`` records (no body)."""
        c = table.c
        stmt = (
            sa.select(c.backfill_id, c.status, c.update_timestamp)
            .order_by(c.create_timestamp.desc())
            .limit(limit)
        )
        rows = self.db.read(lambda conn: conn.execute(stmt).all())
        return [(str(r[0]), str(r[1]), float(r[2])) for r in rows]
