"""The tables of SQL storage, one schema for SQLite and PostgreSQL (SQLAlchemy Core).

The migrations under ``trellis/instance/migrations/versions`` create exactly these
tables, and ``trellis/instance/sqlite/schema.py`` holds them as SQLite DDL (tests compare
all three); change them together, with a new revision.

- ``runs``: one row per run; ``body`` is the whole run as JSON (``run_to_dict``), the
  other columns are copies for queries, except ``heartbeat``, written only by the run's
  process while it runs.
- ``run_tags``: one row per tag of a run.
- ``event_logs``: every event of every run, in order (``id`` is the storage id, never
  reused); ``body`` is the event as JSON (``event_to_dict``).
- ``asset_keys``: the asset index, one row per asset materialized or observed, with
  its latest materialization.
- ``asset_automation_evaluations``: the declarative-automation evaluations of each asset,
  one row per asset and evaluation (``tree``: the result tree as JSON, written by
  ``trellis.automation.records``).
- ``asset_check_evaluations``: the asset check index, one row per
  ``ASSET_CHECK_EVALUATION`` event (``event_id``), by asset and check name, with its
  outcome (``status``: ``SUCCEEDED`` or ``FAILED``; ``severity``).
- ``concurrency_limits``: the limit of each concurrency pool set with ``trellis instance
  concurrency set`` (pools without a row take the default limit of ``trellis.yaml``).
- ``concurrency_slots``: the slots steps hold, one row per run and step, with its pool
  (``trellis.instance.pools``).
- ``concurrency_waiters``: the steps waiting for a slot, one row per run and step, with
  its pool, since when (served first come, first served) and when it last asked.
- ``asset_partition_status``: the partition status index, one row per run of
  consecutive partitions (by ordinal) of one asset that were last ``MATERIALIZED`` or
  last ``FAILED`` (``instance/partition_status.py``).
- ``asset_partition_reindex``: the assets whose partition status index is to be
  rebuilt from their events on its next read (listed by revision 0011: their history
  predates the index).
- ``backfills``: one row per backfill, its status and timestamps in columns, the rest
  (assets, partitions, plan, runs launched, counts) as JSON (``instance/backfills.py``).
- ``dynamic_partitions``: the keys of each ``DynamicPartitionsDefinition``, one row per
  definition name and key, in the order added (``id``).
- ``instigators``: the state of each schedule and sensor (on or off, its cursor).
- ``instigator_ticks``: every tick of every schedule and sensor (``body``: run ids, run
  keys, skip reason, error, cursor as JSON; ``trellis.instance.daemon_records``).
- ``instigator_run_keys``: the run keys each instigator has launched, with their run
  (a key is launched once).
- ``daemon_heartbeats``: the latest heartbeat of each daemon loop.
- ``daemon_leases``: who runs the daemon on this instance, until when.
"""

from __future__ import annotations

import sqlalchemy as sa

# The newest migration revision (these tables are what it creates) and the stored form of
# asset keys live with the SQLite DDL, which needs no SQLAlchemy.
from trellis.instance.sqlite.schema import (
    SCHEMA_REVISION,
    asset_key_from_db,
    asset_key_to_db,
)

__all__ = [
    "SCHEMA_REVISION",
    "asset_automation_evaluations",
    "TRELLIS_TABLES",
    "asset_check_evaluations",
    "asset_key_from_db",
    "asset_key_to_db",
    "asset_keys",
    "concurrency_limits",
    "concurrency_slots",
    "concurrency_waiters",
    "asset_partition_reindex",
    "asset_partition_status",
    "backfills",
    "dynamic_partitions",
    "daemon_heartbeats",
    "daemon_leases",
    "event_logs",
    "instigator_run_keys",
    "instigator_ticks",
    "instigators",
    "metadata",
    "run_tags",
    "runs",
]

metadata = sa.MetaData()

# A 64-bit id on PostgreSQL; on SQLite an INTEGER PRIMARY KEY (the rowid) is required
# for AUTOINCREMENT.
BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
Timestamp = sa.Float(precision=53)

runs = sa.Table(
    "runs",
    metadata,
    sa.Column("id", BigId, primary_key=True, autoincrement=True),
    sa.Column("run_id", sa.String(255), nullable=False, unique=True),
    sa.Column("job_name", sa.Text, nullable=False),
    sa.Column("status", sa.String(63), nullable=False),
    sa.Column("body", sa.Text, nullable=False),
    sa.Column("parent_run_id", sa.String(255)),
    sa.Column("root_run_id", sa.String(255)),
    sa.Column("create_timestamp", Timestamp, nullable=False),
    sa.Column("update_timestamp", Timestamp, nullable=False),
    sa.Column("start_time", Timestamp),
    sa.Column("end_time", Timestamp),
    # The latest sign of life of the run's process, written every few seconds while it
    # runs (dead-run detection where the pid cannot be checked).
    sa.Column("heartbeat", Timestamp),
    sa.Index("idx_runs_status_create", "status", "create_timestamp"),
    sa.Index("idx_runs_job_create", "job_name", "create_timestamp"),
    sa.Index("idx_runs_create", "create_timestamp"),
    sqlite_autoincrement=True,
)

run_tags = sa.Table(
    "run_tags",
    metadata,
    sa.Column("id", BigId, primary_key=True, autoincrement=True),
    sa.Column("run_id", sa.String(255), nullable=False),
    sa.Column("key", sa.Text, nullable=False),
    sa.Column("value", sa.Text, nullable=False),
    sa.Index("idx_run_tags_run_id", "run_id"),
    sa.Index("idx_run_tags_key_value", "key", "value"),
)

event_logs = sa.Table(
    "event_logs",
    metadata,
    sa.Column("id", BigId, primary_key=True, autoincrement=True),
    sa.Column("run_id", sa.String(255), nullable=False),
    sa.Column("event_type", sa.String(63), nullable=False),
    sa.Column("step_key", sa.Text),
    sa.Column("asset_key", sa.Text),
    sa.Column("partition", sa.Text),
    sa.Column("timestamp", Timestamp, nullable=False),
    sa.Column("body", sa.Text, nullable=False),
    sa.Index("idx_events_run_id", "run_id", "id"),
    sa.Index("idx_events_asset", "asset_key", "event_type", "id"),
    sqlite_autoincrement=True,
)

asset_keys = sa.Table(
    "asset_keys",
    metadata,
    sa.Column("asset_key", sa.String(512), primary_key=True),
    sa.Column("last_materialization_id", sa.BigInteger),
    sa.Column("last_run_id", sa.String(255)),
    sa.Column("last_timestamp", Timestamp),
)

asset_automation_evaluations = sa.Table(
    "asset_automation_evaluations",
    metadata,
    sa.Column("asset_key", sa.String(512), primary_key=True),
    sa.Column("evaluation_id", sa.BigInteger, primary_key=True, autoincrement=False),
    sa.Column("timestamp", Timestamp, nullable=False),
    sa.Column("num_requested", sa.Integer, nullable=False),
    sa.Column("tree", sa.Text, nullable=False),
)

asset_check_evaluations = sa.Table(
    "asset_check_evaluations",
    metadata,
    sa.Column("event_id", BigId, primary_key=True, autoincrement=False),
    sa.Column("asset_key", sa.String(512), nullable=False),
    sa.Column("check_name", sa.Text, nullable=False),
    sa.Column("run_id", sa.String(255), nullable=False),
    sa.Column("status", sa.String(63), nullable=False),
    sa.Column("severity", sa.String(63), nullable=False),
    sa.Column("timestamp", Timestamp, nullable=False),
    sa.Column("partition", sa.Text),
    sa.Index("idx_check_evaluations_key", "asset_key", "check_name", "event_id"),
    sa.Index("idx_check_evaluations_run", "run_id"),
)


concurrency_limits = sa.Table(
    "concurrency_limits",
    metadata,
    sa.Column("pool", sa.String(255), primary_key=True),
    sa.Column("slot_limit", sa.Integer, nullable=False),
    sa.Column("update_timestamp", Timestamp, nullable=False),
)

concurrency_slots = sa.Table(
    "concurrency_slots",
    metadata,
    sa.Column("run_id", sa.String(255), primary_key=True),
    sa.Column("step_key", sa.Text, primary_key=True),
    sa.Column("pool", sa.String(255), nullable=False),
    sa.Column("claim_timestamp", Timestamp, nullable=False),
    sa.Index("idx_concurrency_slots_pool", "pool", "claim_timestamp"),
)

concurrency_waiters = sa.Table(
    "concurrency_waiters",
    metadata,
    sa.Column("run_id", sa.String(255), primary_key=True),
    sa.Column("step_key", sa.Text, primary_key=True),
    sa.Column("pool", sa.String(255), nullable=False),
    sa.Column("since", Timestamp, nullable=False),
    sa.Column("seen", Timestamp, nullable=False),
    sa.Index("idx_concurrency_waiters_pool", "pool", "since"),
)

asset_partition_reindex = sa.Table(
    "asset_partition_reindex",
    metadata,
    sa.Column("asset_key", sa.String(512), primary_key=True),
)

asset_partition_status = sa.Table(
    "asset_partition_status",
    metadata,
    sa.Column("asset_key", sa.String(512), primary_key=True),
    sa.Column("first_ordinal", sa.BigInteger, primary_key=True, autoincrement=False),
    sa.Column("last_ordinal", sa.BigInteger, nullable=False),
    sa.Column("status", sa.String(31), nullable=False),
)

backfills = sa.Table(
    "backfills",
    metadata,
    sa.Column("backfill_id", sa.String(255), primary_key=True),
    sa.Column("status", sa.String(63), nullable=False),
    sa.Column("create_timestamp", Timestamp, nullable=False),
    sa.Column("update_timestamp", Timestamp, nullable=False),
    sa.Column("body", sa.Text, nullable=False),
    sa.Index("idx_backfills_status", "status", "create_timestamp"),
)

dynamic_partitions = sa.Table(
    "dynamic_partitions",
    metadata,
    sa.Column("id", BigId, primary_key=True, autoincrement=True),
    sa.Column("partitions_def_name", sa.String(255), nullable=False),
    sa.Column("partition", sa.String(255), nullable=False),
    sa.Column("create_timestamp", Timestamp, nullable=False),
    sa.UniqueConstraint("partitions_def_name", "partition", name="uq_dynamic_partitions"),
    sqlite_autoincrement=True,
)

instigators = sa.Table(
    "instigators",
    metadata,
    sa.Column("name", sa.String(255), primary_key=True),
    sa.Column("instigator_type", sa.String(63), nullable=False),
    sa.Column("status", sa.String(63), nullable=False),
    sa.Column("cursor", sa.Text),
    sa.Column("start_timestamp", Timestamp),
    sa.Column("update_timestamp", Timestamp, nullable=False),
)

instigator_ticks = sa.Table(
    "instigator_ticks",
    metadata,
    sa.Column("id", BigId, primary_key=True, autoincrement=True),
    sa.Column("instigator_name", sa.String(255), nullable=False),
    sa.Column("instigator_type", sa.String(63), nullable=False),
    sa.Column("status", sa.String(63), nullable=False),
    sa.Column("timestamp", Timestamp, nullable=False),
    sa.Column("end_timestamp", Timestamp),
    sa.Column("body", sa.Text, nullable=False),
    sa.Index("idx_ticks_name", "instigator_name", "id"),
    sa.Index("idx_ticks_timestamp", "timestamp"),
    sqlite_autoincrement=True,
)

instigator_run_keys = sa.Table(
    "instigator_run_keys",
    metadata,
    sa.Column("instigator_name", sa.String(255), primary_key=True),
    sa.Column("run_key", sa.String(512), primary_key=True),
    sa.Column("run_id", sa.String(255), nullable=False),
    sa.Column("timestamp", Timestamp, nullable=False),
)

daemon_heartbeats = sa.Table(
    "daemon_heartbeats",
    metadata,
    sa.Column("daemon_type", sa.String(63), primary_key=True),
    sa.Column("daemon_id", sa.String(255), nullable=False),
    sa.Column("timestamp", Timestamp, nullable=False),
    sa.Column("info", sa.Text, nullable=False),
)

daemon_leases = sa.Table(
    "daemon_leases",
    metadata,
    sa.Column("name", sa.String(63), primary_key=True),
    sa.Column("owner", sa.String(255), nullable=False),
    sa.Column("expires", Timestamp, nullable=False),
    sa.Column("acquired", Timestamp, nullable=False),
)

TRELLIS_TABLES = frozenset(metadata.tables)
