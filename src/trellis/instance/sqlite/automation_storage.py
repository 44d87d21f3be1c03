"""Automation evaluation records in SQLite (table ``asset_automation_evaluations``), for
``SqliteStorage``: constant SQL text on the storage's ``sqlite3`` connections."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence
from typing import Any

from trellis.core.asset_key import AssetKey
from trellis.instance.automation_records import AutomationEvaluationRecord
from trellis.instance.sqlite.connection import SqliteDatabase
from trellis.instance.sqlite.schema import asset_key_to_db

_UPSERT = (
    "INSERT INTO asset_automation_evaluations "
    "(asset_key, evaluation_id, timestamp, num_requested, tree) VALUES (?, ?, ?, ?, ?) "
    "ON CONFLICT (asset_key, evaluation_id) DO UPDATE SET timestamp = excluded.timestamp, "
    "num_requested = excluded.num_requested, tree = excluded.tree"
)
_SELECT = (
    "SELECT evaluation_id, timestamp, num_requested, tree FROM asset_automation_evaluations "
    "WHERE asset_key = ?"
)
_MAX_ID = "SELECT max(evaluation_id) FROM asset_automation_evaluations"

_dumps = json.JSONEncoder(separators=(",", ":")).encode


class SqliteAutomationRecords:
    """The automation-record methods of ``SqliteStorage`` (one transaction per call)."""

    db: SqliteDatabase

    def add_automation_evaluations(self, records: Sequence[AutomationEvaluationRecord]) -> None:
        """Store records; one with a stored asset and evaluation id replaces it."""
        if not records:
            return
        rows = [
            (
                asset_key_to_db(r.asset_key),
                r.evaluation_id,
                r.timestamp,
                r.num_requested,
                _dumps(r.body),
            )
            for r in records
        ]
        self.db.write(lambda conn: conn.executemany(_UPSERT, rows))

    def get_automation_evaluations(
        self, key: AssetKey, limit: int | None = None, before_evaluation_id: int | None = None
    ) -> list[AutomationEvaluationRecord]:
        """An asset's records, newest first."""
        sql = _SELECT
        params: list[Any] = [asset_key_to_db(key)]
        if before_evaluation_id is not None:
            sql += " AND evaluation_id < ?"
            params.append(before_evaluation_id)
        sql += " ORDER BY evaluation_id DESC"
        if limit is not None:
            sql += " LIMIT ?"
            params.append(limit)

        def read(conn: sqlite3.Connection) -> list[Any]:
            return conn.execute(sql, params).fetchall()

        return [
            AutomationEvaluationRecord(key, int(row[0]), row[1], int(row[2]), json.loads(row[3]))
            for row in self.db.read(read)
        ]

    def get_max_automation_evaluation_id(self) -> int | None:
        """The highest stored evaluation id."""
        row = self.db.read(lambda conn: conn.execute(_MAX_ID).fetchone())
        return int(row[0]) if row and row[0] is not None else None
