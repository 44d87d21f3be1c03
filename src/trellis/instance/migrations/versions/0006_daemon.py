"""The daemon's records: instigator state, ticks, launched run keys, daemon heartbeats
and the daemon lease.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | None = None
depends_on: str | None = None

_TIMESTAMP = sa.Float(precision=53)


def upgrade() -> None:
    """Create the five daemon tables (empty: nothing ran schedules or sensors before)."""
    op.create_table(
        "instigators",
        sa.Column("name", sa.String(255), primary_key=True),
        sa.Column("instigator_type", sa.String(63), nullable=False),
        sa.Column("status", sa.String(63), nullable=False),
        sa.Column("cursor", sa.Text),
        sa.Column("start_timestamp", _TIMESTAMP),
        sa.Column("update_timestamp", _TIMESTAMP, nullable=False),
    )
    op.create_table(
        "instigator_ticks",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            primary_key=True,
            autoincrement=True,
        ),
        sa.Column("instigator_name", sa.String(255), nullable=False),
        sa.Column("instigator_type", sa.String(63), nullable=False),
        sa.Column("status", sa.String(63), nullable=False),
        sa.Column("timestamp", _TIMESTAMP, nullable=False),
        sa.Column("end_timestamp", _TIMESTAMP),
        sa.Column("body", sa.Text, nullable=False),
        sqlite_autoincrement=True,
    )
    op.create_index("idx_ticks_name", "instigator_ticks", ["instigator_name", "id"])
    op.create_index("idx_ticks_timestamp", "instigator_ticks", ["timestamp"])
    op.create_table(
        "instigator_run_keys",
        sa.Column("instigator_name", sa.String(255), primary_key=True),
        sa.Column("run_key", sa.String(512), primary_key=True),
        sa.Column("run_id", sa.String(255), nullable=False),
        sa.Column("timestamp", _TIMESTAMP, nullable=False),
    )
    op.create_table(
        "daemon_heartbeats",
        sa.Column("daemon_type", sa.String(63), primary_key=True),
        sa.Column("daemon_id", sa.String(255), nullable=False),
        sa.Column("timestamp", _TIMESTAMP, nullable=False),
        sa.Column("info", sa.Text, nullable=False),
    )
    op.create_table(
        "daemon_leases",
        sa.Column("name", sa.String(63), primary_key=True),
        sa.Column("owner", sa.String(255), nullable=False),
        sa.Column("expires", _TIMESTAMP, nullable=False),
        sa.Column("acquired", _TIMESTAMP, nullable=False),
    )


def downgrade() -> None:
    """Drop the daemon tables."""
    op.drop_table("daemon_leases")
    op.drop_table("daemon_heartbeats")
    op.drop_table("instigator_run_keys")
    op.drop_index("idx_ticks_timestamp", table_name="instigator_ticks")
    op.drop_index("idx_ticks_name", table_name="instigator_ticks")
    op.drop_table("instigator_ticks")
    op.drop_table("instigators")
