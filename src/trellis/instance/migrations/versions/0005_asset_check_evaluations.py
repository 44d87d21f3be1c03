"""The asset check index: one row per asset check evaluation, by asset and check name.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    """Create ``asset_check_evaluations`` and its indexes (empty: evaluations stored
    before this revision did not exist)."""
    op.create_table(
        "asset_check_evaluations",
        sa.Column(
            "event_id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            primary_key=True,
            autoincrement=False,
        ),
        sa.Column("asset_key", sa.String(512), nullable=False),
        sa.Column("check_name", sa.Text, nullable=False),
        sa.Column("run_id", sa.String(255), nullable=False),
        sa.Column("status", sa.String(63), nullable=False),
        sa.Column("severity", sa.String(63), nullable=False),
        sa.Column("timestamp", sa.Float(precision=53), nullable=False),
        sa.Column("partition", sa.Text),
    )
    op.create_index(
        "idx_check_evaluations_key",
        "asset_check_evaluations",
        ["asset_key", "check_name", "event_id"],
    )
    op.create_index("idx_check_evaluations_run", "asset_check_evaluations", ["run_id"])


def downgrade() -> None:
    """Drop ``asset_check_evaluations``."""
    op.drop_index("idx_check_evaluations_run", table_name="asset_check_evaluations")
    op.drop_index("idx_check_evaluations_key", table_name="asset_check_evaluations")
    op.drop_table("asset_check_evaluations")
