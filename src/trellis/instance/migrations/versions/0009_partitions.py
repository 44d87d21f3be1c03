"""Partitions: the keys of each ``DynamicPartitionsDefinition`` by name, and the
partition status index (runs of partitions last materialized or last failed).

Revision ID: 0009
Revises: 0005
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0007"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    """Create ``dynamic_partitions`` and ``asset_partition_status`` (empty: partitions
    materialized before this revision are not in the status index)."""
    op.create_table(
        "asset_partition_status",
        sa.Column("asset_key", sa.String(512), primary_key=True),
        sa.Column("first_ordinal", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("last_ordinal", sa.BigInteger, nullable=False),
        sa.Column("status", sa.String(31), nullable=False),
    )
    op.create_table(
        "dynamic_partitions",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            primary_key=True,
            autoincrement=True,
        ),
        sa.Column("partitions_def_name", sa.String(255), nullable=False),
        sa.Column("partition", sa.String(255), nullable=False),
        sa.Column("create_timestamp", sa.Float(precision=53), nullable=False),
        sa.UniqueConstraint("partitions_def_name", "partition", name="uq_dynamic_partitions"),
        sqlite_autoincrement=True,
    )


def downgrade() -> None:
    """Drop ``dynamic_partitions`` and ``asset_partition_status``."""
    op.drop_table("dynamic_partitions")
    op.drop_table("asset_partition_status")
