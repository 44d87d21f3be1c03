"""SQLite storage on the standard library's ``sqlite3`` module (no SQLAlchemy).

- ``connection.py``: the file checks, the connections and the transaction discipline
  (one writer per file in a process, ``BEGIN IMMEDIATE``, retry while another process
  holds the lock, fork and thread safety) and the errors that name the file; the SQL
  back end (``trellis.instance.sql.database``) shares these helpers.
- ``ddl.py``: the schema as SQL text (what SQLAlchemy compiles from
  ``trellis.instance.sql.schema`` for SQLite; a test keeps them equal), and its revision.
- ``storage.py``: ``SqliteStorage``, the ``InstanceStorage`` on one SQLite file.

Opening an up-to-date database imports neither SQLAlchemy nor Alembic; a database at an
older revision is upgraded through them (``trellis.instance.sql.migrate``), imported then.
"""
