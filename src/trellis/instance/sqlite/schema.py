"""The instance schema as SQL text for SQLite, its revision, and the wording of the
refusals every back end shares.

``CREATE_STATEMENTS`` is what SQLAlchemy compiles from ``trellis.instance.sql.schema``
for the SQLite dialect (``CreateTable`` / ``CreateIndex``, in ``metadata.create_all``
order); a test builds a database each way and compares them (tables, columns, types,
keys, indexes). Change ``sql/schema.py``, a new migration revision, this file and
``SCHEMA_REVISION`` together.
"""

from __future__ import annotations

import json
from collections.abc import Iterable

from trellis.core.asset_key import AssetKey
from trellis.core.errors import InstanceError

# The newest migration revision; the statements below create its tables. Opening a
# database at this revision needs neither SQLAlchemy nor Alembic (a test keeps it equal
# to the migrations' head).
SCHEMA_REVISION = "0011"

VERSION_TABLE = "alembic_version"
MIGRATE_COMMAND = "trellis instance migrate"
TRELLIS_TABLES = frozenset(
    {
        "asset_automation_evaluations",
        "asset_check_evaluations",
        "asset_keys",
        "asset_partition_reindex",
        "asset_partition_status",
        "backfills",
        "concurrency_limits",
        "concurrency_slots",
        "concurrency_waiters",
        "dynamic_partitions",
        "daemon_heartbeats",
        "daemon_leases",
        "event_logs",
        "instigator_run_keys",
        "instigator_ticks",
        "instigators",
        "run_tags",
        "runs",
    }
)

CREATE_STATEMENTS: tuple[str, ...] = (
    """CREATE TABLE asset_automation_evaluations (
    asset_key VARCHAR(512) NOT NULL,
    evaluation_id BIGINT NOT NULL,
    timestamp FLOAT NOT NULL,
    num_requested INTEGER NOT NULL,
    tree TEXT NOT NULL,
    PRIMARY KEY (asset_key, evaluation_id)
)""",
    """CREATE TABLE asset_check_evaluations (
    event_id INTEGER NOT NULL,
    asset_key VARCHAR(512) NOT NULL,
    check_name TEXT NOT NULL,
    run_id VARCHAR(255) NOT NULL,
    status VARCHAR(63) NOT NULL,
    severity VARCHAR(63) NOT NULL,
    timestamp FLOAT NOT NULL,
    partition TEXT,
    PRIMARY KEY (event_id)
)""",
    "CREATE INDEX idx_check_evaluations_key ON asset_check_evaluations "
    "(asset_key, check_name, event_id)",
    "CREATE INDEX idx_check_evaluations_run ON asset_check_evaluations (run_id)",
    """CREATE TABLE asset_keys (
    asset_key VARCHAR(512) NOT NULL,
    last_materialization_id BIGINT,
    last_run_id VARCHAR(255),
    last_timestamp FLOAT,
    PRIMARY KEY (asset_key)
)""",
    """CREATE TABLE concurrency_limits (
    pool VARCHAR(255) NOT NULL,
    slot_limit INTEGER NOT NULL,
    update_timestamp FLOAT NOT NULL,
    PRIMARY KEY (pool)
)""",
    """CREATE TABLE concurrency_slots (
    run_id VARCHAR(255) NOT NULL,
    step_key TEXT NOT NULL,
    pool VARCHAR(255) NOT NULL,
    claim_timestamp FLOAT NOT NULL,
    PRIMARY KEY (run_id, step_key)
)""",
    "CREATE INDEX idx_concurrency_slots_pool ON concurrency_slots (pool, claim_timestamp)",
    """CREATE TABLE concurrency_waiters (
    run_id VARCHAR(255) NOT NULL,
    step_key TEXT NOT NULL,
    pool VARCHAR(255) NOT NULL,
    since FLOAT NOT NULL,
    seen FLOAT NOT NULL,
    PRIMARY KEY (run_id, step_key)
)""",
    "CREATE INDEX idx_concurrency_waiters_pool ON concurrency_waiters (pool, since)",
    """CREATE TABLE asset_partition_reindex (
    asset_key VARCHAR(512) NOT NULL,
    PRIMARY KEY (asset_key)
)""",
    """CREATE TABLE asset_partition_status (
    asset_key VARCHAR(512) NOT NULL,
    first_ordinal BIGINT NOT NULL,
    last_ordinal BIGINT NOT NULL,
    status VARCHAR(31) NOT NULL,
    PRIMARY KEY (asset_key, first_ordinal)
)""",
    """CREATE TABLE backfills (
    backfill_id VARCHAR(255) NOT NULL,
    status VARCHAR(63) NOT NULL,
    create_timestamp FLOAT NOT NULL,
    update_timestamp FLOAT NOT NULL,
    body TEXT NOT NULL,
    PRIMARY KEY (backfill_id)
)""",
    "CREATE INDEX idx_backfills_status ON backfills (status, create_timestamp)",
    """CREATE TABLE dynamic_partitions (
    id INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
    partitions_def_name VARCHAR(255) NOT NULL,
    partition VARCHAR(255) NOT NULL,
    create_timestamp FLOAT NOT NULL,
    CONSTRAINT uq_dynamic_partitions UNIQUE (partitions_def_name, partition)
)""",
    """CREATE TABLE daemon_heartbeats (
    daemon_type VARCHAR(63) NOT NULL,
    daemon_id VARCHAR(255) NOT NULL,
    timestamp FLOAT NOT NULL,
    info TEXT NOT NULL,
    PRIMARY KEY (daemon_type)
)""",
    """CREATE TABLE daemon_leases (
    name VARCHAR(63) NOT NULL,
    owner VARCHAR(255) NOT NULL,
    expires FLOAT NOT NULL,
    acquired FLOAT NOT NULL,
    PRIMARY KEY (name)
)""",
    """CREATE TABLE event_logs (
    id INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
    run_id VARCHAR(255) NOT NULL,
    event_type VARCHAR(63) NOT NULL,
    step_key TEXT,
    asset_key TEXT,
    partition TEXT,
    timestamp FLOAT NOT NULL,
    body TEXT NOT NULL
)""",
    "CREATE INDEX idx_events_asset ON event_logs (asset_key, event_type, id)",
    "CREATE INDEX idx_events_run_id ON event_logs (run_id, id)",
    """CREATE TABLE instigator_run_keys (
    instigator_name VARCHAR(255) NOT NULL,
    run_key VARCHAR(512) NOT NULL,
    run_id VARCHAR(255) NOT NULL,
    timestamp FLOAT NOT NULL,
    PRIMARY KEY (instigator_name, run_key)
)""",
    """CREATE TABLE instigator_ticks (
    id INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
    instigator_name VARCHAR(255) NOT NULL,
    instigator_type VARCHAR(63) NOT NULL,
    status VARCHAR(63) NOT NULL,
    timestamp FLOAT NOT NULL,
    end_timestamp FLOAT,
    body TEXT NOT NULL
)""",
    "CREATE INDEX idx_ticks_name ON instigator_ticks (instigator_name, id)",
    "CREATE INDEX idx_ticks_timestamp ON instigator_ticks (timestamp)",
    """CREATE TABLE instigators (
    name VARCHAR(255) NOT NULL,
    instigator_type VARCHAR(63) NOT NULL,
    status VARCHAR(63) NOT NULL,
    cursor TEXT,
    start_timestamp FLOAT,
    update_timestamp FLOAT NOT NULL,
    PRIMARY KEY (name)
)""",
    """CREATE TABLE run_tags (
    id INTEGER NOT NULL,
    run_id VARCHAR(255) NOT NULL,
    "key" TEXT NOT NULL,
    value TEXT NOT NULL,
    PRIMARY KEY (id)
)""",
    'CREATE INDEX idx_run_tags_key_value ON run_tags ("key", value)',
    "CREATE INDEX idx_run_tags_run_id ON run_tags (run_id)",
    """CREATE TABLE runs (
    id INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
    run_id VARCHAR(255) NOT NULL,
    job_name TEXT NOT NULL,
    status VARCHAR(63) NOT NULL,
    body TEXT NOT NULL,
    parent_run_id VARCHAR(255),
    root_run_id VARCHAR(255),
    create_timestamp FLOAT NOT NULL,
    update_timestamp FLOAT NOT NULL,
    start_time FLOAT,
    end_time FLOAT,
    heartbeat FLOAT,
    UNIQUE (run_id)
)""",
    "CREATE INDEX idx_runs_create ON runs (create_timestamp)",
    "CREATE INDEX idx_runs_job_create ON runs (job_name, create_timestamp)",
    "CREATE INDEX idx_runs_status_create ON runs (status, create_timestamp)",
)

_compact = json.JSONEncoder(separators=(",", ":")).encode

# The revision table as Alembic creates it, and the row it writes.
VERSION_TABLE_DDL = (
    f"CREATE TABLE {VERSION_TABLE} (version_num VARCHAR(32) NOT NULL, "
    f"CONSTRAINT {VERSION_TABLE}_pkc PRIMARY KEY (version_num))"
)
STAMP_REVISION = f"INSERT INTO {VERSION_TABLE} (version_num) VALUES (:v)"


def asset_key_to_db(key: AssetKey) -> str:
    """The stored form of an asset key: its parts as a JSON list (lossless, unlike ``a/b``)."""
    return _compact(list(key.parts))


def asset_key_from_db(text: str) -> AssetKey:
    """The inverse of ``asset_key_to_db``."""
    return AssetKey(json.loads(text))


# -- why a database is refused (the same words on every back end) -------------------------
def unversioned_error(where: str, ours: Iterable[str]) -> InstanceError:
    """Trellis tables without a revision: which schema they hold is unknown."""
    return InstanceError(
        f"The database {where} has Trellis tables ({', '.join(ours)}) but no "
        f"schema revision ({VERSION_TABLE}), so Trellis cannot tell which schema "
        "it holds. Nothing was changed: restore it from a backup, or move it away "
        "and let Trellis create a new one."
    )


def foreign_database_error(where: str, others: list[str]) -> InstanceError:
    """An SQLite file that holds some other application's tables."""
    shown = ", ".join(others[:8]) + (", ..." if len(others) > 8 else "")
    return InstanceError(
        f"The database file {where} is not a Trellis database (it holds the "
        f"tables {shown}). Nothing was changed: point 'storage: sqlite: path' in "
        "trellis.yaml at another file, or move this one away."
    )


def unknown_revision_error(where: str, revision: str, known: Iterable[str]) -> InstanceError:
    """A revision this Trellis does not know (written by a newer one, probably)."""
    return InstanceError(
        f"The database {where} is at schema revision {revision!r}, which this version of "
        f"Trellis does not know (it knows {', '.join(known)}). It was probably "
        "written by a newer Trellis: upgrade Trellis, then run "
        f"`{MIGRATE_COMMAND}`. If it is not a Trellis database, point the storage at "
        "another one in trellis.yaml."
    )


def prepare_error(where: str, exc: BaseException) -> InstanceError:
    """An unexpected failure while checking, creating or upgrading the schema on open."""
    return InstanceError(
        f"Cannot prepare the schema of the database {where}: {exc}. Nothing was "
        f"changed; run `{MIGRATE_COMMAND}` to retry and see the full error."
    )
