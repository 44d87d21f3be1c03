"""The assets whose partition status index must be rebuilt from their events: those with
partitioned materializations stored before the index existed (revision 0009).

The index files partitions under ordinals that only the definitions give (a time
window's tick number needs its cron schedule and time zone, a static key's position its
list, a dynamic key's its definition's name), and a migration has no definitions. So
this revision lists the assets to rebuild, and the first read of such an asset's status
(``trellis asset partitions``, the UI) rebuilds it with the definitions at hand;
``trellis instance reindex-partitions`` rebuilds every asset of a project at once.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    """Create ``asset_partition_reindex`` and list every asset with a partitioned
    materialization in it."""
    op.create_table(
        "asset_partition_reindex",
        sa.Column("asset_key", sa.String(512), primary_key=True),
    )
    op.execute(
        "INSERT INTO asset_partition_reindex (asset_key) "
        "SELECT DISTINCT asset_key FROM event_logs WHERE event_type = 'ASSET_MATERIALIZATION' "
        "AND asset_key IS NOT NULL AND partition IS NOT NULL"
    )


def downgrade() -> None:
    """Drop ``asset_partition_reindex``."""
    op.drop_table("asset_partition_reindex")
