"""Dynamic partition keys in SQLite (table ``dynamic_partitions``), for ``SqliteStorage``:
constant SQL text on the storage's ``sqlite3`` connections."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Sequence

from trellis.instance.dynamic_partitions import ordinals_cache
from trellis.instance.sqlite.connection import SqliteDatabase

_INSERT = (
    "INSERT INTO dynamic_partitions (partitions_def_name, partition, create_timestamp) "
    "VALUES (?, ?, ?) ON CONFLICT (partitions_def_name, partition) DO NOTHING"
)
_DELETE = "DELETE FROM dynamic_partitions WHERE partitions_def_name = ? AND partition = ?"
_SELECT = "SELECT partition FROM dynamic_partitions WHERE partitions_def_name = ? ORDER BY id"
_ORDINALS = "SELECT id, partition FROM dynamic_partitions WHERE partitions_def_name = ? ORDER BY id"
_STAMP = "SELECT COUNT(*), MAX(id) FROM dynamic_partitions WHERE partitions_def_name = ?"
_HAS = "SELECT 1 FROM dynamic_partitions WHERE partitions_def_name = ? AND partition = ?"


class SqliteDynamicPartitions:
    """The dynamic-partition methods of ``SqliteStorage`` (one transaction per call)."""

    db: SqliteDatabase

    def add_dynamic_partitions(self, partitions_def_name: str, keys: Sequence[str]) -> None:
        """Add keys (those already there are left where they are)."""
        now = time.time()
        rows = [(partitions_def_name, key, now) for key in keys]
        if rows:
            self.db.write(lambda conn: conn.executemany(_INSERT, rows))

    def delete_dynamic_partition(self, partitions_def_name: str, key: str) -> None:
        """Delete one key (nothing happens when it is not there)."""
        self.db.write(lambda conn: conn.execute(_DELETE, (partitions_def_name, key)))

    def get_dynamic_partitions(self, partitions_def_name: str) -> list[str]:
        """The keys of a definition, in the order they were added."""
        rows = self.db.read(lambda conn: conn.execute(_SELECT, (partitions_def_name,)).fetchall())
        return [row[0] for row in rows]

    def get_dynamic_partition_ordinals(
        self, partitions_def_name: str, keys: Sequence[str] | None = None
    ) -> list[tuple[int, str]]:
        """``(id, key)`` of the stored keys (of ``keys`` only, when given), by id."""
        if keys is None:
            cache = ordinals_cache(self)

            def all_rows(conn: sqlite3.Connection) -> list[tuple[int, str]]:
                stamp = tuple(conn.execute(_STAMP, (partitions_def_name,)).fetchone())
                return cache.rows(  # rows of sqlite3 are (id, partition) tuples already
                    partitions_def_name,
                    stamp,
                    lambda: conn.execute(_ORDINALS, (partitions_def_name,)).fetchall(),
                )

            return self.db.read(all_rows)
        wanted = list(dict.fromkeys(keys))

        def select(conn: sqlite3.Connection) -> list[tuple[int, str]]:
            found: list[tuple[int, str]] = []
            for i in range(0, len(wanted), 500):
                part = wanted[i : i + 500]
                sql = (
                    "SELECT id, partition FROM dynamic_partitions WHERE partitions_def_name = ? "
                    f"AND partition IN ({','.join('?' * len(part))})"
                )
                found += conn.execute(sql, (partitions_def_name, *part)).fetchall()
            return found

        return sorted((row[0], row[1]) for row in self.db.read(select))

    def has_dynamic_partition(self, partitions_def_name: str, key: str) -> bool:
        """Whether the key is stored."""
        row = self.db.read(lambda conn: conn.execute(_HAS, (partitions_def_name, key)).fetchone())
        return row is not None
