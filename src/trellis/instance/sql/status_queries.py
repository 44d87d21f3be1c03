"""The partition status index through SQLAlchemy (table ``asset_partition_status``),
applied inside the transaction that stores the events (``SqlStorage``)."""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa

from trellis.instance.partition_status import (
    StatusRange,
    StatusUpdate,
    apply_updates,
    rebuilt_ranges,
)
from trellis.instance.sql.schema import (
    asset_partition_reindex as pending_t,
    asset_partition_status as table,
)

_C = table.c
_COLUMNS = (_C.first_ordinal, _C.last_ordinal, _C.status)


def apply_status_updates(conn: sa.Connection, updates: Sequence[StatusUpdate]) -> None:
    """Apply status updates in the open transaction."""

    def neighbours(update: StatusUpdate) -> list[StatusRange]:
        before = (
            sa.select(*_COLUMNS)
            .where(_C.asset_key == update.asset_key, _C.first_ordinal < update.first)
            .order_by(_C.first_ordinal.desc())
            .limit(1)
        )
        within = sa.select(*_COLUMNS).where(
            _C.asset_key == update.asset_key,
            _C.first_ordinal.between(update.first, update.last + 1),
        )
        rows = [*conn.execute(before).all(), *conn.execute(within).all()]
        return [StatusRange(int(a), int(b), s) for a, b, s in rows]

    def replace(asset_key: str, deleted: list[StatusRange], inserted: list[StatusRange]) -> None:
        for r in deleted:
            conn.execute(
                sa.delete(table).where(_C.asset_key == asset_key, _C.first_ordinal == r.first)
            )
        if inserted:
            conn.execute(
                sa.insert(table),
                [
                    {
                        "asset_key": asset_key,
                        "first_ordinal": r.first,
                        "last_ordinal": r.last,
                        "status": r.status,
                    }
                    for r in inserted
                ],
            )

    apply_updates(updates, neighbours, replace)


def status_ranges(conn: sa.Connection, asset_keys: Sequence[str]) -> dict[str, list[StatusRange]]:
    """The stored ranges of each asset, by first ordinal (one query)."""
    found: dict[str, list[StatusRange]] = {key: [] for key in asset_keys}
    stmt = (
        sa.select(_C.asset_key, *_COLUMNS)
        .where(_C.asset_key.in_(list(asset_keys)))
        .order_by(_C.asset_key, _C.first_ordinal)
    )
    for key, first, last, status in conn.execute(stmt):
        found[key].append(StatusRange(int(first), int(last), status))
    return found


def pending(conn: sa.Connection, asset_keys: Sequence[str]) -> set[str]:
    """Which of ``asset_keys`` are listed for a rebuild from their events."""
    stmt = sa.select(pending_t.c.asset_key).where(pending_t.c.asset_key.in_(list(asset_keys)))
    return set(conn.execute(stmt).scalars())


def replace(
    conn: sa.Connection, asset_key: str, rebuilt: Sequence[StatusRange], keep_newer: bool
) -> None:
    """Store an asset's ranges rebuilt from its events and take it off the rebuild list,
    in the open transaction (on PostgreSQL the index is locked against the writers of
    events first, so that no row they write is lost in between)."""
    if conn.dialect.name == "postgresql":
        conn.execute(sa.text("LOCK TABLE asset_partition_status IN SHARE ROW EXCLUSIVE MODE"))
    rows = conn.execute(
        sa.select(*_COLUMNS).where(_C.asset_key == asset_key).order_by(_C.first_ordinal)
    ).all()
    existing = [StatusRange(int(a), int(b), s) for a, b, s in rows]
    ranges = rebuilt_ranges(rebuilt, existing, keep_newer)
    conn.execute(sa.delete(table).where(_C.asset_key == asset_key))
    if ranges:
        conn.execute(
            sa.insert(table),
            [
                {"asset_key": asset_key, "first_ordinal": a, "last_ordinal": b, "status": s}
                for a, b, s in ranges
            ],
        )
    conn.execute(sa.delete(pending_t).where(pending_t.c.asset_key == asset_key))
