"""The run's heartbeat: the latest sign of life of the process running it.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    """Add ``runs.heartbeat`` (empty for the runs already stored)."""
    op.add_column("runs", sa.Column("heartbeat", sa.Float(precision=53)))


def downgrade() -> None:
    """Drop ``runs.heartbeat``."""
    with op.batch_alter_table("runs") as batch:
        batch.drop_column("heartbeat")
