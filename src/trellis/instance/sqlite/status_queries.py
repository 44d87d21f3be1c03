"""The partition status index in SQLite (table ``asset_partition_status``): constant SQL
text, applied inside the transaction that stores the events (``SqliteStorage``)."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator, Sequence
from typing import Any

from trellis.instance.partition_status import (
    StatusRange,
    StatusUpdate,
    apply_updates,
    rebuilt_ranges,
)

_BEFORE = (
    "SELECT first_ordinal, last_ordinal, status FROM asset_partition_status "
    "WHERE asset_key = ? AND first_ordinal < ? ORDER BY first_ordinal DESC LIMIT 1"
)
_WITHIN = (
    "SELECT first_ordinal, last_ordinal, status FROM asset_partition_status "
    "WHERE asset_key = ? AND first_ordinal BETWEEN ? AND ?"
)
_DELETE = "DELETE FROM asset_partition_status WHERE asset_key = ? AND first_ordinal = ?"
_INSERT = (
    "INSERT INTO asset_partition_status (asset_key, first_ordinal, last_ordinal, status) "
    "VALUES (?, ?, ?, ?)"
)
DELETE_ASSET = "DELETE FROM asset_partition_status WHERE asset_key = ?"
DELETE_PENDING = "DELETE FROM asset_partition_reindex WHERE asset_key = ?"
_OF_ASSET = (
    "SELECT first_ordinal, last_ordinal, status FROM asset_partition_status "
    "WHERE asset_key = ? ORDER BY first_ordinal"
)


def apply(conn: sqlite3.Connection, updates: Sequence[StatusUpdate]) -> None:
    """Apply status updates in the open transaction."""

    def neighbours(update: StatusUpdate) -> list[StatusRange]:
        rows = conn.execute(_BEFORE, (update.asset_key, update.first)).fetchall()
        rows += conn.execute(_WITHIN, (update.asset_key, update.first, update.last + 1)).fetchall()
        return [StatusRange(*row) for row in rows]

    def replace(asset_key: str, deleted: list[StatusRange], inserted: list[StatusRange]) -> None:
        conn.executemany(_DELETE, [(asset_key, r.first) for r in deleted])
        conn.executemany(_INSERT, [(asset_key, *r) for r in inserted])

    apply_updates(updates, neighbours, replace)


def _rows_of_keys(
    conn: sqlite3.Connection, sql: str, asset_keys: Sequence[str]
) -> Iterator[tuple[Any, ...]]:
    """The rows of ``sql`` (with ``{marks}`` where the keys go) for ``asset_keys``, in
    batches of 500 keys a query."""
    keys = list(asset_keys)
    for i in range(0, len(keys), 500):
        part = keys[i : i + 500]
        yield from conn.execute(sql.format(marks=",".join("?" * len(part))), part).fetchall()


def ranges(conn: sqlite3.Connection, asset_keys: Sequence[str]) -> dict[str, list[StatusRange]]:
    """The stored ranges of each asset, by first ordinal."""
    found: dict[str, list[StatusRange]] = {key: [] for key in asset_keys}
    sql = (
        "SELECT asset_key, first_ordinal, last_ordinal, status FROM asset_partition_status "
        "WHERE asset_key IN ({marks}) ORDER BY asset_key, first_ordinal"
    )
    for key, first, last, status in _rows_of_keys(conn, sql, asset_keys):
        found[key].append(StatusRange(first, last, status))
    return found


def pending(conn: sqlite3.Connection, asset_keys: Sequence[str]) -> set[str]:
    """Which of ``asset_keys`` are listed for a rebuild from their events."""
    sql = "SELECT asset_key FROM asset_partition_reindex WHERE asset_key IN ({marks})"
    return {row[0] for row in _rows_of_keys(conn, sql, asset_keys)}


def replace(
    conn: sqlite3.Connection, asset_key: str, rebuilt: Sequence[StatusRange], keep_newer: bool
) -> None:
    """Store an asset's ranges rebuilt from its events and take it off the rebuild list,
    in the open (write) transaction."""
    existing = [StatusRange(*row) for row in conn.execute(_OF_ASSET, (asset_key,))]
    ranges = rebuilt_ranges(rebuilt, existing, keep_newer)
    conn.execute(DELETE_ASSET, (asset_key,))
    conn.executemany(_INSERT, [(asset_key, *r) for r in ranges])
    conn.execute(DELETE_PENDING, (asset_key,))
