"""SQL storage for SQLite and PostgreSQL (SQLAlchemy Core, Alembic migrations).

Imported only when a persistent instance is opened: ``import trellis`` stays free of
SQLAlchemy and Alembic.
"""
