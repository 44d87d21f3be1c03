"""The instance's query API in SQLite, for ``SqliteStorage``: the WHERE clause of a
``RunsFilter`` (``get_runs`` uses it too), run records with their order and cursor, run
counts, and event records by ``EventQuery``.

An asset's events are read through ``idx_events_asset`` (asset key, event type, id);
the others by the event log's primary key (storage id), newest or oldest first.
"""

from __future__ import annotations

import json
import sqlite3
from typing import Any

from trellis.core.errors import InvalidInvocationError
from trellis.core.serialization import event_from_dict, run_from_dict
from trellis.instance.queries import EventQuery, EventRecord, RunRecord, RunsFilter
from trellis.instance.sqlite.connection import SqliteDatabase
from trellis.instance.sqlite.schema import asset_key_to_db

_NOTHING = "1 = 0"  # an empty IN list matches nothing

# ``get_run_records(order_by=...)``: the sort key of each column (a run not started or
# ended sorts as the oldest).
RUN_SORT_KEYS = {
    None: "create_timestamp",
    "id": "id",
    "create_timestamp": "create_timestamp",
    "update_timestamp": "update_timestamp",
    "start_time": "COALESCE(start_time, -1.0)",
    "end_time": "COALESCE(end_time, -1.0)",
}


def _in(column: str, values: Any, where: list[str], params: list[Any]) -> None:
    values = list(values)
    if not values:
        where.append(_NOTHING)
        return
    where.append(f"{column} IN ({', '.join('?' * len(values))})")
    params.extend(values)


def runs_where(f: RunsFilter) -> tuple[str, list[Any]]:
    """`` WHERE ...`` (empty for no condition) and its parameters."""
    where: list[str] = []
    params: list[Any] = []
    if f.run_ids is not None:
        _in("run_id", f.run_ids, where, params)
    if f.statuses is not None:
        _in("status", [s.value for s in f.statuses], where, params)
    if f.job_name is not None:
        where.append("job_name = ?")
        params.append(f.job_name)
    for column, op, value in (
        ("create_timestamp", ">", f.created_after),
        ("create_timestamp", "<", f.created_before),
        ("update_timestamp", ">", f.updated_after),
        ("update_timestamp", "<", f.updated_before),
    ):
        if value is not None:
            where.append(f"{column} {op} ?")
            params.append(value)
    for key, accepted in (f.tags or {}).items():
        params.append(key)
        tagged: list[str] = []
        _in("value", accepted, tagged, params)
        where.append(f'run_id IN (SELECT run_id FROM run_tags WHERE "key" = ? AND {tagged[0]})')
    return (" WHERE " + " AND ".join(where) if where else ""), params


def check_order_by(order_by: str | None) -> str:
    """The sort key of ``order_by``; an unknown column raises."""
    if order_by not in RUN_SORT_KEYS:
        names = ", ".join(repr(k) for k in RUN_SORT_KEYS if k is not None)
        raise InvalidInvocationError(
            f"get_run_records: order_by must be one of {names} (or None), got {order_by!r}."
        )
    return RUN_SORT_KEYS[order_by]


def unknown_run_cursor(cursor: str) -> InvalidInvocationError:
    """A run cursor that is not the id of a stored run."""
    return InvalidInvocationError(
        f"cursor {cursor!r} is not the id of a stored run (a runs query's cursor is the "
        "run_id of the last run of the previous page)."
    )


def event_query_sql(query: EventQuery, limit: int | None, ascending: bool) -> tuple[str, list[Any]]:
    """The SELECT of ``(id, body)`` of the events passing ``query``, in storage-id order."""
    where: list[str] = []
    params: list[Any] = []
    if query.asset_key is not None:
        where.append("asset_key = ?")
        params.append(asset_key_to_db(query.asset_key))
    types = [t.value for t in query.event_types]
    if len(types) == 1:
        where.append("event_type = ?")
        params.append(types[0])
    else:
        _in("event_type", types, where, params)
    if query.partitions is not None:
        _in("partition", query.partitions, where, params)
    for column, op, value in (
        ("id", ">", query.after_id),
        ("id", "<", query.before_id),
        ("timestamp", ">", query.after_timestamp),
        ("timestamp", "<", query.before_timestamp),
    ):
        if value is not None:
            where.append(f"{column} {op} ?")
            params.append(value)
    if query.storage_ids is not None:
        _in("id", query.storage_ids, where, params)
    if query.job_names is not None:
        jobs: list[str] = []
        _in("job_name", query.job_names, jobs, params)
        where.append(f"run_id IN (SELECT run_id FROM runs WHERE {jobs[0]})")
    sql = "SELECT id, body FROM event_logs WHERE " + " AND ".join(where)
    sql += " ORDER BY id" + ("" if ascending else " DESC")
    if limit is not None:
        sql += " LIMIT ?"
        params.append(limit)
    return sql, params


class SqliteRecordQueries:
    """The query-API methods of ``SqliteStorage`` (one read each)."""

    db: SqliteDatabase

    def get_run_records(
        self,
        runs_filter: RunsFilter,
        limit: int | None = None,
        cursor: str | None = None,
        order_by: str | None = None,
        ascending: bool = False,
    ) -> list[RunRecord]:
        """Run records passing the filter, in ``order_by`` order after ``cursor``."""
        key = check_order_by(order_by)
        where, params = runs_where(runs_filter)
        direction = "" if ascending else " DESC"
        op = ">" if ascending else "<"

        def read(conn: sqlite3.Connection) -> list[Any]:
            sql, args = (
                f"SELECT id, body, create_timestamp, update_timestamp FROM runs{where}",
                params,
            )
            if cursor is not None:
                found = conn.execute(f"SELECT {key}, id FROM runs WHERE run_id = ?", (cursor,))
                row = found.fetchone()
                if row is None:
                    raise unknown_run_cursor(cursor)
                page = f"({key} {op} ? OR ({key} = ? AND id {op} ?))"
                sql += (" AND " if where else " WHERE ") + page
                args = [*params, row[0], row[0], row[1]]
            sql += f" ORDER BY {key}{direction}, id{direction}"
            if limit is not None:
                sql += " LIMIT ?"
                args = [*args, limit]
            return conn.execute(sql, args).fetchall()

        return [
            RunRecord.from_stored(row[0], run_from_dict(json.loads(row[1])), row[2], row[3])
            for row in self.db.read(read, snapshot=True)
        ]

    def count_runs(self, runs_filter: RunsFilter) -> int:
        """How many runs pass the filter."""
        where, params = runs_where(runs_filter)
        sql = f"SELECT count(*) FROM runs{where}"
        return int(self.db.read(lambda conn: conn.execute(sql, params).fetchone()[0]))

    def query_event_records(
        self, query: EventQuery, limit: int | None = None, ascending: bool = False
    ) -> list[EventRecord]:
        """The events passing ``query``, by storage id."""
        sql, params = event_query_sql(query, limit, ascending)
        rows = self.db.read(lambda conn: conn.execute(sql, params).fetchall())
        return [EventRecord(row[0], event_from_dict(json.loads(row[1]))) for row in rows]
