"""Alembic migrations of the instance database (``versions/``: one file per revision).

Run programmatically by ``trellis.instance.sql.migrate`` (no ``alembic.ini``); a new
revision is written by hand, or with ``alembic -c <ini with script_location = this
folder> revision -m "..."``, and must keep ``trellis.instance.sql.schema`` and the SQLite
DDL (``trellis.instance.sqlite.schema``, with ``SCHEMA_REVISION``) in step.
"""
