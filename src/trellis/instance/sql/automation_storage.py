"""Automation evaluation records through SQLAlchemy (table
``asset_automation_evaluations``), for ``SqlStorage`` (PostgreSQL, or SQLite)."""

from __future__ import annotations

import json
from collections.abc import Sequence

import sqlalchemy as sa

from trellis.core.asset_key import AssetKey
from trellis.instance.automation_records import AutomationEvaluationRecord
from trellis.instance.sql.database import Database, upsert
from trellis.instance.sql.schema import asset_automation_evaluations as evaluations, asset_key_to_db


class SqlAutomationRecords:
    """The automation-record methods of ``SqlStorage`` (one transaction per call)."""

    db: Database

    def add_automation_evaluations(self, records: Sequence[AutomationEvaluationRecord]) -> None:
        """Store records; one with a stored asset and evaluation id replaces it."""
        if not records:
            return
        rows = [
            {
                "asset_key": asset_key_to_db(r.asset_key),
                "evaluation_id": r.evaluation_id,
                "timestamp": r.timestamp,
                "num_requested": r.num_requested,
                "tree": json.dumps(r.body, separators=(",", ":")),
            }
            for r in records
        ]
        stmt = upsert(
            self.db.kind,
            evaluations,
            ["asset_key", "evaluation_id"],
            ["timestamp", "num_requested", "tree"],
        )
        self.db.write(lambda conn: conn.execute(stmt, rows))

    def get_automation_evaluations(
        self, key: AssetKey, limit: int | None = None, before_evaluation_id: int | None = None
    ) -> list[AutomationEvaluationRecord]:
        """An asset's records, newest first."""
        c = evaluations.c
        stmt = (
            sa.select(c.evaluation_id, c.timestamp, c.num_requested, c.tree)
            .where(c.asset_key == asset_key_to_db(key))
            .order_by(c.evaluation_id.desc())
        )
        if before_evaluation_id is not None:
            stmt = stmt.where(c.evaluation_id < before_evaluation_id)
        if limit is not None:
            stmt = stmt.limit(limit)
        rows = self.db.read(lambda conn: conn.execute(stmt).all())
        return [
            AutomationEvaluationRecord(key, int(row[0]), row[1], int(row[2]), json.loads(row[3]))
            for row in rows
        ]

    def get_max_automation_evaluation_id(self) -> int | None:
        """The highest stored evaluation id."""
        stmt = sa.select(sa.func.max(evaluations.c.evaluation_id))
        value = self.db.read(lambda conn: conn.execute(stmt).scalar())
        return int(value) if value is not None else None
