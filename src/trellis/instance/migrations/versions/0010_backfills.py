"""Backfills: one row per backfill (status and timestamps in columns, the plan, its
cursor and counts as JSON).

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    """Create ``backfills``."""
    op.create_table(
        "backfills",
        sa.Column("backfill_id", sa.String(255), primary_key=True),
        sa.Column("status", sa.String(63), nullable=False),
        sa.Column("create_timestamp", sa.Float(precision=53), nullable=False),
        sa.Column("update_timestamp", sa.Float(precision=53), nullable=False),
        sa.Column("body", sa.Text, nullable=False),
    )
    op.create_index("idx_backfills_status", "backfills", ["status", "create_timestamp"])


def downgrade() -> None:
    """Drop ``backfills``."""
    op.drop_index("idx_backfills_status", table_name="backfills")
    op.drop_table("backfills")
