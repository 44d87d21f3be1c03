"""The instance's query API through SQLAlchemy (PostgreSQL, or SQLite), for
``SqlStorage``: the conditions of a ``RunsFilter`` (``get_runs`` uses them too), run
records with their order and cursor, run counts, and event records by ``EventQuery``;
the same semantics as ``trellis.instance.sqlite.record_queries``."""

from __future__ import annotations

import json
from typing import Any

import sqlalchemy as sa

from trellis.core.serialization import event_from_dict, run_from_dict
from trellis.instance.queries import EventQuery, EventRecord, RunRecord, RunsFilter
from trellis.instance.sql.database import Database
from trellis.instance.sql.schema import (
    asset_key_to_db,
    event_logs as ev,
    run_tags as tags_t,
    runs as runs_t,
)
from trellis.instance.sqlite.record_queries import check_order_by, unknown_run_cursor


def runs_conditions(f: RunsFilter) -> list[Any]:
    """The WHERE conditions of ``f`` on the runs table."""
    c = runs_t.c
    found: list[Any] = []
    if f.run_ids is not None:
        found.append(c.run_id.in_(list(f.run_ids)))
    if f.statuses is not None:
        found.append(c.status.in_([s.value for s in f.statuses]))
    if f.job_name is not None:
        found.append(c.job_name == f.job_name)
    if f.created_after is not None:
        found.append(c.create_timestamp > f.created_after)
    if f.created_before is not None:
        found.append(c.create_timestamp < f.created_before)
    if f.updated_after is not None:
        found.append(c.update_timestamp > f.updated_after)
    if f.updated_before is not None:
        found.append(c.update_timestamp < f.updated_before)
    for key, accepted in (f.tags or {}).items():
        tagged = sa.select(tags_t.c.run_id).where(
            tags_t.c.key == key, tags_t.c.value.in_(list(accepted))
        )
        found.append(c.run_id.in_(tagged))
    return found


def _sort_key(order_by: str | None) -> Any:
    """The sort expression of ``order_by`` (``check_order_by`` names it)."""
    check_order_by(order_by)
    column = runs_t.c[order_by or "create_timestamp"]
    if order_by in ("start_time", "end_time"):
        return sa.func.coalesce(column, -1.0)
    return column


def event_query_stmt(query: EventQuery, limit: int | None, ascending: bool) -> Any:
    """The SELECT of ``(id, body)`` of the events passing ``query``, in storage-id order."""
    stmt = sa.select(ev.c.id, ev.c.body)
    if query.asset_key is not None:
        stmt = stmt.where(ev.c.asset_key == asset_key_to_db(query.asset_key))
    stmt = stmt.where(ev.c.event_type.in_([t.value for t in query.event_types]))
    if query.partitions is not None:
        stmt = stmt.where(ev.c.partition.in_(list(query.partitions)))
    if query.after_id is not None:
        stmt = stmt.where(ev.c.id > query.after_id)
    if query.before_id is not None:
        stmt = stmt.where(ev.c.id < query.before_id)
    if query.after_timestamp is not None:
        stmt = stmt.where(ev.c.timestamp > query.after_timestamp)
    if query.before_timestamp is not None:
        stmt = stmt.where(ev.c.timestamp < query.before_timestamp)
    if query.storage_ids is not None:
        stmt = stmt.where(ev.c.id.in_(list(query.storage_ids)))
    if query.job_names is not None:
        of_jobs = sa.select(runs_t.c.run_id).where(runs_t.c.job_name.in_(list(query.job_names)))
        stmt = stmt.where(ev.c.run_id.in_(of_jobs))
    stmt = stmt.order_by(ev.c.id.asc() if ascending else ev.c.id.desc())
    return stmt.limit(limit) if limit is not None else stmt


class SqlRecordQueries:
    """The query-API methods of ``SqlStorage`` (one read each)."""

    db: Database

    def get_run_records(
        self,
        runs_filter: RunsFilter,
        limit: int | None = None,
        cursor: str | None = None,
        order_by: str | None = None,
        ascending: bool = False,
    ) -> list[RunRecord]:
        """Run records passing the filter, in ``order_by`` order after ``cursor``."""
        c = runs_t.c
        key = _sort_key(order_by)
        stmt = sa.select(c.id, c.body, c.create_timestamp, c.update_timestamp).where(
            *runs_conditions(runs_filter)
        )
        if ascending:
            stmt = stmt.order_by(key.asc(), c.id.asc())
        else:
            stmt = stmt.order_by(key.desc(), c.id.desc())
        if limit is not None:
            stmt = stmt.limit(limit)

        def read(conn: sa.Connection) -> list[Any]:
            query = stmt
            if cursor is not None:
                at = sa.select(key, c.id).where(c.run_id == cursor)
                row = conn.execute(at).first()
                if row is None:
                    raise unknown_run_cursor(cursor)
                if ascending:
                    page = sa.or_(key > row[0], sa.and_(key == row[0], c.id > row[1]))
                else:
                    page = sa.or_(key < row[0], sa.and_(key == row[0], c.id < row[1]))
                query = query.where(page)
            return list(conn.execute(query).all())

        return [
            RunRecord.from_stored(row[0], run_from_dict(json.loads(row[1])), row[2], row[3])
            for row in self.db.read(read)
        ]

    def count_runs(self, runs_filter: RunsFilter) -> int:
        """How many runs pass the filter."""
        stmt = sa.select(sa.func.count()).select_from(runs_t).where(*runs_conditions(runs_filter))
        return int(self.db.read(lambda conn: conn.execute(stmt).scalar()) or 0)

    def query_event_records(
        self, query: EventQuery, limit: int | None = None, ascending: bool = False
    ) -> list[EventRecord]:
        """The events passing ``query``, by storage id."""
        stmt = event_query_stmt(query, limit, ascending)
        rows = self.db.read(lambda conn: conn.execute(stmt).all())
        return [EventRecord(int(row[0]), event_from_dict(json.loads(row[1]))) for row in rows]
