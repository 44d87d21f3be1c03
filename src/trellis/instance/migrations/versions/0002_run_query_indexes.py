"""Indexes for run queries: by status, by job, by creation time (newest first).

Revision ID: 0002
Revises: 0001
Create Date: 2026-05-10
"""

from __future__ import annotations

from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    """Add the indexes."""
    op.create_index("idx_runs_status_create", "runs", ["status", "create_timestamp"])
    op.create_index("idx_runs_job_create", "runs", ["job_name", "create_timestamp"])
    op.create_index("idx_runs_create", "runs", ["create_timestamp"])


def downgrade() -> None:
    """Drop the indexes."""
    for name in ("idx_runs_create", "idx_runs_job_create", "idx_runs_status_create"):
        op.drop_index(name, table_name="runs")
