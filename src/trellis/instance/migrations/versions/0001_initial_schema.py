"""Initial schema: runs, run_tags, event_logs, asset_keys.

Revision ID: 0001
Revises:
Create Date: 2026-05-10
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | None = None
depends_on: str | None = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
Timestamp = sa.Float(precision=53)


def upgrade() -> None:
    """Create the tables."""
    op.create_table(
        "runs",
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
        sqlite_autoincrement=True,
    )
    op.create_table(
        "run_tags",
        sa.Column("id", BigId, primary_key=True, autoincrement=True),
        sa.Column("run_id", sa.String(255), nullable=False),
        sa.Column("key", sa.Text, nullable=False),
        sa.Column("value", sa.Text, nullable=False),
    )
    op.create_index("idx_run_tags_run_id", "run_tags", ["run_id"])
    op.create_index("idx_run_tags_key_value", "run_tags", ["key", "value"])
    op.create_table(
        "event_logs",
        sa.Column("id", BigId, primary_key=True, autoincrement=True),
        sa.Column("run_id", sa.String(255), nullable=False),
        sa.Column("event_type", sa.String(63), nullable=False),
        sa.Column("step_key", sa.Text),
        sa.Column("asset_key", sa.Text),
        sa.Column("partition", sa.Text),
        sa.Column("timestamp", Timestamp, nullable=False),
        sa.Column("body", sa.Text, nullable=False),
        sqlite_autoincrement=True,
    )
    op.create_index("idx_events_run_id", "event_logs", ["run_id", "id"])
    op.create_index("idx_events_asset", "event_logs", ["asset_key", "event_type", "id"])
    op.create_table(
        "asset_keys",
        sa.Column("asset_key", sa.String(512), primary_key=True),
        sa.Column("last_materialization_id", sa.BigInteger),
        sa.Column("last_run_id", sa.String(255)),
        sa.Column("last_timestamp", Timestamp),
    )


def downgrade() -> None:
    """Drop the tables."""
    for table in ("asset_keys", "event_logs", "run_tags", "runs"):
        op.drop_table(table)
