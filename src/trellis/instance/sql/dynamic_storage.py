"""Dynamic partition keys through SQLAlchemy (table ``dynamic_partitions``), for
``SqlStorage`` (PostgreSQL, or SQLite)."""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa

from trellis.instance.dynamic_partitions import ordinals_cache
from trellis.instance.sql.database import Database
from trellis.instance.sql.schema import dynamic_partitions as table


def _insert_ignoring_existing(kind: str) -> Any:
    insert: Any
    if kind == "sqlite":
        from sqlalchemy.dialects.sqlite import insert
    else:
        from sqlalchemy.dialects.postgresql import insert
    return insert(table).on_conflict_do_nothing(
        index_elements=[table.c.partitions_def_name, table.c.partition]
    )


class SqlDynamicPartitions:
    """The dynamic-partition methods of ``SqlStorage`` (one transaction per call)."""

    db: Database

    def add_dynamic_partitions(self, partitions_def_name: str, keys: Sequence[str]) -> None:
        """Add keys (those already there are left where they are)."""
        now = time.time()
        rows = [
            {"partitions_def_name": partitions_def_name, "partition": k, "create_timestamp": now}
            for k in keys
        ]
        if rows:
            stmt = _insert_ignoring_existing(self.db.kind)
            self.db.write(lambda conn: conn.execute(stmt, rows))

    def delete_dynamic_partition(self, partitions_def_name: str, key: str) -> None:
        """Delete one key (nothing happens when it is not there)."""
        c = table.c
        stmt = sa.delete(table).where(
            c.partitions_def_name == partitions_def_name, c.partition == key
        )
        self.db.write(lambda conn: conn.execute(stmt))

    def get_dynamic_partitions(self, partitions_def_name: str) -> list[str]:
        """The keys of a definition, in the order they were added."""
        c = table.c
        stmt = sa.select(c.partition).where(c.partitions_def_name == partitions_def_name)
        rows = self.db.read(lambda conn: conn.execute(stmt.order_by(c.id)).all())
        return [row[0] for row in rows]

    def get_dynamic_partition_ordinals(
        self, partitions_def_name: str, keys: Sequence[str] | None = None
    ) -> list[tuple[int, str]]:
        """``(id, key)`` of the stored keys (of ``keys`` only, when given), by id."""
        c = table.c
        stmt = sa.select(c.id, c.partition).where(c.partitions_def_name == partitions_def_name)
        if keys is not None:
            stmt = stmt.where(c.partition.in_(list(dict.fromkeys(keys))))
            rows = self.db.read(lambda conn: conn.execute(stmt.order_by(c.id)).all())
            return [(row[0], row[1]) for row in rows]
        cache = ordinals_cache(self)
        stamp_stmt = sa.select(sa.func.count(), sa.func.max(c.id)).where(
            c.partitions_def_name == partitions_def_name
        )

        def all_rows(conn: sa.Connection) -> list[tuple[int, str]]:
            stamp = tuple(conn.execute(stamp_stmt).one())
            return cache.rows(
                partitions_def_name,
                stamp,
                lambda: [(r[0], r[1]) for r in conn.execute(stmt.order_by(c.id))],
            )

        return self.db.read(all_rows)

    def has_dynamic_partition(self, partitions_def_name: str, key: str) -> bool:
        """Whether the key is stored."""
        c = table.c
        stmt = sa.select(sa.literal(1)).where(
            c.partitions_def_name == partitions_def_name, c.partition == key
        )
        return self.db.read(lambda conn: conn.execute(stmt).first()) is not None
