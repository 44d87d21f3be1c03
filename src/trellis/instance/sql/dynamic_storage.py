"""Dynamic partition keys through SQLAlchemy (table ``dynamic_partitions``), for
``SqlStorage`` (PostgreSQL, or SQLite)."""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa

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

    def has_dynamic_partition(self, partitions_def_name: str, key: str) -> bool:
        """Whether the key is stored."""
        c = table.c
        stmt = sa.select(sa.literal(1)).where(
            c.partitions_def_name == partitions_def_name, c.partition == key
        )
        return self.db.read(lambda conn: conn.execute(stmt).first()) is not None
