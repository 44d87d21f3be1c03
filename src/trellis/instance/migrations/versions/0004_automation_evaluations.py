"""Declarative automation: the evaluations of each asset's automation condition.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-10
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    """Create ``asset_automation_evaluations``: one row per asset and evaluation."""
    op.create_table(
        "asset_automation_evaluations",
        sa.Column("asset_key", sa.String(512), nullable=False),
        sa.Column("evaluation_id", sa.BigInteger, nullable=False, autoincrement=False),
        sa.Column("timestamp", sa.Float(precision=53), nullable=False),
        sa.Column("num_requested", sa.Integer, nullable=False),
        sa.Column("tree", sa.Text, nullable=False),
        sa.PrimaryKeyConstraint("asset_key", "evaluation_id"),
    )


def downgrade() -> None:
    """Drop ``asset_automation_evaluations``."""
    op.drop_table("asset_automation_evaluations")
