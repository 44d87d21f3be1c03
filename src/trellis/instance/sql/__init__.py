"""SQL storage through SQLAlchemy Core: PostgreSQL instances, and the Alembic migrations
of every SQL schema (SQLite included).

Instances on SQLite use ``trellis.instance.sqlite`` (the standard library's ``sqlite3``);
this package is imported only when a PostgreSQL instance is opened or a schema has to be
migrated: ``import trellis`` and opening an up-to-date SQLite home stay free of
SQLAlchemy and Alembic.
"""
