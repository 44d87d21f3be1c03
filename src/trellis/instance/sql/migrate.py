"""Schema revisions of the instance database, through Alembic (no ``alembic.ini``).

On open (``prepare_schema``): an empty database is created at the newest revision; one at
an older known revision is upgraded in place; one at a revision this Trellis does not
know, or one that holds other tables, is refused with an ``InstanceError`` that says what
to do (``trellis instance migrate``, or move the file away). All of it runs in one write
transaction (under an advisory lock on PostgreSQL), so processes opening a new home at
the same time create the schema once.
"""

from __future__ import annotations

import functools
import logging
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from trellis.core.errors import InstanceError
from trellis.instance.sql.database import Database
from trellis.instance.sql.schema import SCHEMA_REVISION, TRELLIS_TABLES
from trellis.instance.sqlite.schema import (
    MIGRATE_COMMAND,
    STAMP_REVISION,
    VERSION_TABLE,
    VERSION_TABLE_DDL,
    foreign_database_error,
    prepare_error,
    unknown_revision_error,
    unversioned_error,
)

__all__ = [
    "MIGRATE_COMMAND",
    "MIGRATIONS_DIR",
    "VERSION_TABLE",
    "create_at_head",
    "current_revision",
    "downgrade",
    "head_revision",
    "known_revisions",
    "migrate",
    "prepare_schema",
    "upgrade",
]

MIGRATIONS_DIR = Path(__file__).resolve().parent.parent / "migrations"
_ADVISORY_LOCK_KEY = 73_516_001

log = logging.getLogger("trellis.instance")


@functools.cache
def _script_directory() -> Any:
    from alembic.script import ScriptDirectory

    return ScriptDirectory(str(MIGRATIONS_DIR))


def head_revision() -> str:
    """The newest schema revision this Trellis knows."""
    return str(_script_directory().get_current_head())


def known_revisions() -> list[str]:
    """Every revision this Trellis knows, oldest first."""
    revisions = [r.revision for r in _script_directory().walk_revisions()]
    return list(reversed(revisions))


def current_revision(conn: sa.Connection) -> str | None:
    """The revision stamped in the database, or None for an unstamped one."""
    if VERSION_TABLE not in sa.inspect(conn).get_table_names():
        return None
    rows = conn.execute(sa.text(f"SELECT version_num FROM {VERSION_TABLE}")).scalars().all()
    return rows[0] if len(rows) == 1 else None


def _alembic_config(conn: sa.Connection) -> Any:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.attributes["connection"] = conn
    return config


def upgrade(conn: sa.Connection, target: str = "head") -> None:
    """Upgrade the schema to ``target`` inside the connection's open transaction."""
    from alembic import command

    command.upgrade(_alembic_config(conn), target)


def downgrade(conn: sa.Connection, target: str) -> None:
    """Downgrade the schema to ``target`` (tests and emergencies only)."""
    from alembic import command

    command.downgrade(_alembic_config(conn), target)


def create_at_head(conn: sa.Connection) -> None:
    """Create the newest schema in an empty database and stamp its revision, without
    importing Alembic: the tables as ``schema.py`` declares them (a test checks that they
    equal what the migrations build) and the revision row Alembic would write."""
    from trellis.instance.sql.schema import metadata

    metadata.create_all(conn)
    conn.execute(sa.text(VERSION_TABLE_DDL))
    conn.execute(sa.text(STAMP_REVISION), {"v": SCHEMA_REVISION})


def _lock(db: Database, conn: sa.Connection) -> None:
    if db.kind == "postgres":
        conn.execute(
            sa.text("SELECT pg_advisory_xact_lock(:k, hashtext(coalesce(current_schema(), '')))"),
            {"k": _ADVISORY_LOCK_KEY},
        )


def _unknown_revision(db: Database, revision: str) -> InstanceError:
    return unknown_revision_error(db.where, revision, known_revisions())


def prepare_schema(db: Database) -> dict[str, Any]:
    """Check the database on open: create, upgrade in place, or refuse it.

    Returns ``{"from_revision", "to_revision", "created", "upgraded"}``.
    """

    def check(conn: sa.Connection) -> dict[str, Any]:
        _lock(db, conn)
        tables = set(sa.inspect(conn).get_table_names())
        revision = current_revision(conn) if VERSION_TABLE in tables else None
        if revision == SCHEMA_REVISION:  # the common case, without importing Alembic
            return {
                "from_revision": revision,
                "to_revision": revision,
                "created": False,
                "upgraded": False,
            }
        if revision is None:
            ours = sorted(tables & TRELLIS_TABLES)
            others = sorted(tables - TRELLIS_TABLES - {VERSION_TABLE})
            if ours:
                raise unversioned_error(db.where, ours)
            if others and db.kind == "sqlite":
                raise foreign_database_error(db.where, others)
            create_at_head(conn)
            return {
                "from_revision": None,
                "to_revision": SCHEMA_REVISION,
                "created": True,
                "upgraded": False,
            }
        head = head_revision()
        outcome = {"from_revision": revision, "to_revision": head}
        if revision == head:
            return {**outcome, "created": False, "upgraded": False}
        if revision not in known_revisions():
            raise _unknown_revision(db, revision)
        upgrade(conn, head)
        log.info("Upgraded the database %s from revision %s to %s.", db.where, revision, head)
        return {**outcome, "created": False, "upgraded": True}

    try:
        return db.write(check)
    except InstanceError:
        raise
    except Exception as exc:
        raise prepare_error(db.where, exc) from exc


def migrate(db: Database) -> dict[str, Any]:
    """Upgrade the database to the newest revision (``trellis instance migrate``).

    Returns ``{"from_revision", "to_revision", "upgraded"}``.
    """
    head = head_revision()

    def run(conn: sa.Connection) -> dict[str, Any]:
        _lock(db, conn)
        revision = current_revision(conn)
        if revision is not None and revision not in known_revisions():
            raise _unknown_revision(db, revision)
        if revision != head:
            upgrade(conn, head)
        return {"from_revision": revision, "to_revision": head, "upgraded": revision != head}

    return db.write(run)
