"""Concurrency pools: the limit of each pool, the slots steps hold, the steps waiting.

Revision ID: 0007
Revises: 0005
Create Date: 2026-12-02

(0006 is the daemon's revision on another branch; the two are chained when merged.)
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    """Create ``concurrency_limits``, ``concurrency_slots`` and ``concurrency_waiters``
    (empty: no pool had a limit before this revision)."""
    op.create_table(
        "concurrency_limits",
        sa.Column("pool", sa.String(255), primary_key=True),
        sa.Column("slot_limit", sa.Integer, nullable=False),
        sa.Column("update_timestamp", sa.Float(precision=53), nullable=False),
    )
    op.create_table(
        "concurrency_slots",
        sa.Column("run_id", sa.String(255), primary_key=True),
        sa.Column("step_key", sa.Text, primary_key=True),
        sa.Column("pool", sa.String(255), nullable=False),
        sa.Column("claim_timestamp", sa.Float(precision=53), nullable=False),
    )
    op.create_index("idx_concurrency_slots_pool", "concurrency_slots", ["pool", "claim_timestamp"])
    op.create_table(
        "concurrency_waiters",
        sa.Column("run_id", sa.String(255), primary_key=True),
        sa.Column("step_key", sa.Text, primary_key=True),
        sa.Column("pool", sa.String(255), nullable=False),
        sa.Column("since", sa.Float(precision=53), nullable=False),
        sa.Column("seen", sa.Float(precision=53), nullable=False),
    )
    op.create_index("idx_concurrency_waiters_pool", "concurrency_waiters", ["pool", "since"])


def downgrade() -> None:
    """Drop the pool tables."""
    op.drop_index("idx_concurrency_waiters_pool", table_name="concurrency_waiters")
    op.drop_table("concurrency_waiters")
    op.drop_index("idx_concurrency_slots_pool", table_name="concurrency_slots")
    op.drop_table("concurrency_slots")
    op.drop_table("concurrency_limits")
