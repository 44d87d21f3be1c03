"""Alembic environment for the instance database.

Trellis passes an open connection (already inside a transaction) as
``config.attributes["connection"]``; the migrations then run in that transaction. With no
connection, ``sqlalchemy.url`` from the Alembic config is used (for hand-run Alembic).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import context

from trellis.instance.sql.schema import metadata


def run_migrations(connection: sa.Connection) -> None:
    """Run the pending migrations on ``connection``."""
    context.configure(
        connection=connection,
        target_metadata=metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        transactional_ddl=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run() -> None:
    """Entry point: the given connection, or a new engine from ``sqlalchemy.url``."""
    connection = context.config.attributes.get("connection")
    if connection is not None:
        run_migrations(connection)
        return
    url = context.config.get_main_option("sqlalchemy.url")
    assert url is not None, "alembic config without sqlalchemy.url or a connection"
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        run_migrations(conn)
    engine.dispose()


run()
