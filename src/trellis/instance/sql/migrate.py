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

MIGRATIONS_DIR = Path(__file__).resolve().parent.parent / "migrations"
VERSION_TABLE = "alembic_version"
MIGRATE_COMMAND = "trellis instance migrate"
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
    conn.execute(
        sa.text(
            f"CREATE TABLE {VERSION_TABLE} (version_num VARCHAR(32) NOT NULL, "
            f"CONSTRAINT {VERSION_TABLE}_pkc PRIMARY KEY (version_num))"
        )
    )
    conn.execute(
        sa.text(f"INSERT INTO {VERSION_TABLE} (version_num) VALUES (:v)"),
        {"v": SCHEMA_REVISION},
    )


def _lock(db: Database, conn: sa.Connection) -> None:
    if db.kind == "postgres":
        conn.execute(
            sa.text("SELECT pg_advisory_xact_lock(:k, hashtext(coalesce(current_schema(), '')))"),
            {"k": _ADVISORY_LOCK_KEY},
        )


def _unknown_revision(db: Database, revision: str) -> InstanceError:
    return InstanceError(
        f"The database {db.where} is at schema revision {revision!r}, which this version of "
        f"Trellis does not know (it knows {', '.join(known_revisions())}). It was probably "
        "written by a newer Trellis: upgrade Trellis, then run "
        f"`{MIGRATE_COMMAND}`. If it is not a Trellis database, point the storage at "
        "another one in trellis.yaml."
    )


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
                raise InstanceError(
                    f"The database {db.where} has Trellis tables ({', '.join(ours)}) but no "
                    f"schema revision ({VERSION_TABLE}), so Trellis cannot tell which schema "
                    "it holds. Nothing was changed: restore it from a backup, or move it away "
                    "and let Trellis create a new one."
                )
            if others and db.kind == "sqlite":
                shown = ", ".join(others[:8]) + (", ..." if len(others) > 8 else "")
                raise InstanceError(
                    f"The database file {db.where} is not a Trellis database (it holds the "
                    f"tables {shown}). Nothing was changed: point 'storage: sqlite: path' in "
                    "trellis.yaml at another file, or move this one away."
                )
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
        raise InstanceError(
            f"Cannot prepare the schema of the database {db.where}: {exc}. Nothing was "
            f"changed; run `{MIGRATE_COMMAND}` to retry and see the full error."
        ) from exc


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
