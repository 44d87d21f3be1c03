"""The asset check index of ``SqliteStorage`` (table ``asset_check_evaluations``): rows
written in the transaction that stores their evaluation events, and the queries behind
a check's history and latest evaluation. Plain SQL text on ``sqlite3``."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Sequence
from typing import Any

from trellis.core.asset_checks import AssetCheckKey
from trellis.instance.check_index import CHECK_EVALUATION, CheckRow
from trellis.instance.sqlite.schema import asset_key_to_db

_CHECK_VALUE = CHECK_EVALUATION.value
# The ids of a run's newest evaluation events: the batch just inserted holds the newest
# ones (a run's events have one writer, in order, and the batch is one transaction).
_NEWEST_EVALUATIONS = (
    "SELECT id FROM event_logs WHERE run_id = ? AND event_type = ? ORDER BY id DESC LIMIT ?"
)
_INSERT = (
    "INSERT INTO asset_check_evaluations (event_id, asset_key, check_name, run_id, status, "
    "severity, timestamp, partition) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
)
_HISTORY = (
    "SELECT e.id, e.body FROM asset_check_evaluations c "
    "JOIN event_logs e ON e.id = c.event_id WHERE c.asset_key = ? AND c.check_name = ?"
)
DELETE_RUNS = "DELETE FROM asset_check_evaluations WHERE run_id IN ({marks})"
DELETE_ASSET = "DELETE FROM asset_check_evaluations WHERE asset_key = ?"


def insert_check_rows(conn: sqlite3.Connection, rows: Sequence[CheckRow]) -> None:
    """Index the evaluation events just inserted (``rows``, in event order)."""
    by_run: dict[str, list[CheckRow]] = {}
    for row in rows:
        by_run.setdefault(row.run_id, []).append(row)
    values: list[tuple[Any, ...]] = []
    for run_id, run_rows in by_run.items():
        found = conn.execute(_NEWEST_EVALUATIONS, (run_id, _CHECK_VALUE, len(run_rows)))
        ids = [row[0] for row in found.fetchall()]
        ids.reverse()
        for event_id, row in zip(ids, run_rows, strict=True):
            values.append(
                (
                    event_id,
                    asset_key_to_db(row.asset_key),
                    row.check_name,
                    row.run_id,
                    row.status,
                    row.severity,
                    row.timestamp,
                    row.partition,
                )
            )
    conn.executemany(_INSERT, values)


def history_query(
    key: AssetCheckKey, limit: int | None, before_cursor: int | None
) -> tuple[str, list[Any]]:
    """The SQL and parameters of one check's evaluations, newest first."""
    sql = _HISTORY
    params: list[Any] = [asset_key_to_db(key.asset_key), key.name]
    if before_cursor is not None:
        sql += " AND c.event_id < ?"
        params.append(before_cursor)
    sql += " ORDER BY c.event_id DESC"
    if limit is not None:
        sql += " LIMIT ?"
        params.append(limit)
    return sql, params


def latest_rows(
    read: Callable[[Callable[[sqlite3.Connection], Any]], Any], keys: Sequence[AssetCheckKey]
) -> dict[AssetCheckKey, Any]:
    """The newest ``(id, body)`` row of each check that has one, in one read."""

    def query(conn: sqlite3.Connection) -> dict[AssetCheckKey, Any]:
        found: dict[AssetCheckKey, Any] = {}
        for key in keys:
            sql, params = history_query(key, 1, None)
            row = conn.execute(sql, params).fetchone()
            if row is not None:
                found[key] = row
        return found

    result: dict[AssetCheckKey, Any] = read(query)
    return result
