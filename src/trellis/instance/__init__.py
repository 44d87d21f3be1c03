"""Layer 5: the instance, one object over run storage, event-log storage and the asset
index, plus the home directory where outputs are kept.

``storage.py`` is the seam (``InstanceStorage``) with its in-memory implementation;
``sqlite/`` the SQLite one (the standard library's ``sqlite3``), ``sql/`` the PostgreSQL
one (SQLAlchemy Core, imported on first use); ``migrations/`` (Alembic, imported only
when a schema must be upgraded) upgrades older schemas; ``config.py`` reads
``trellis.yaml``; ``ref.py`` is the picklable ``InstanceRef``.
"""
