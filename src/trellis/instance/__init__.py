"""Layer 5: the instance, one object over run storage, event-log storage and the asset
index, plus the home directory where outputs are kept.

``storage.py`` is the seam (``InstanceStorage``) with its in-memory implementation;
``sql/`` the SQLite / PostgreSQL one (SQLAlchemy Core, imported on first use), whose
schema ``migrations/`` (Alembic) creates and upgrades; ``config.py`` reads
``trellis.yaml``; ``ref.py`` is the picklable ``InstanceRef``.
"""
