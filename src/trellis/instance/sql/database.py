"""``Database``: one SQLAlchemy engine per instance, its transactions, and its errors.

SQLite discipline (Dagster's most common storage complaint is "database is locked"):

- WAL mode (readers never block the writer), ``synchronous=NORMAL`` (a commit is durable
  against a crash of the process; no fsync per commit), a busy timeout.
- One writer at a time: a process-wide lock per database file around every write
  transaction, and ``BEGIN IMMEDIATE`` so a writer takes the file's write lock before it
  reads (no deadlocked read-to-write upgrade between processes).
- If another process still holds the lock past the busy timeout, the whole transaction
  is rolled back and retried with backoff; callers never see "database is locked".

Errors of the database (a corrupt or foreign file, an unreachable server) become
``InstanceError`` naming the file or the server.
"""

from __future__ import annotations

import os
import random
import sqlite3
import threading
import time
import weakref
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import sqlalchemy as sa
from sqlalchemy import event as sa_event
from sqlalchemy import exc as sa_exc

from trellis.core.errors import InstanceError
from trellis.instance.config import StorageSpec

T = TypeVar("T")

SQLITE_BUSY_TIMEOUT_MS = 10_000
LOCK_RETRY_SECONDS = 300.0
_SQLITE_MAGIC = b"SQLite format 3\x00"
_SQLITE_BUSY_CODES = frozenset({5, 6})  # SQLITE_BUSY, SQLITE_LOCKED
_BUSY_WORDS = ("database is locked", "database table is locked", "database is busy")

_write_locks: dict[str, threading.Lock] = {}
_write_locks_guard = threading.Lock()
_open_databases: weakref.WeakSet[Database] = weakref.WeakSet()


def _write_lock_for(key: str) -> threading.Lock:
    with _write_locks_guard:
        lock = _write_locks.get(key)
        if lock is None:
            lock = _write_locks[key] = threading.Lock()
        return lock


def _after_fork_in_child() -> None:
    """A forked child must not share its parent's connections or held locks."""
    global _write_locks_guard
    _write_locks_guard = threading.Lock()
    _write_locks.clear()
    for db in list(_open_databases):
        db.engine.dispose(close=False)
        if db.kind == "sqlite":
            db._write_lock = _write_lock_for(db.where)


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)


def _is_busy(exc: BaseException) -> bool:
    orig = getattr(exc, "orig", exc)
    if getattr(orig, "sqlite_errorcode", None) in _SQLITE_BUSY_CODES:
        return True
    text = str(orig).lower()
    return any(word in text for word in _BUSY_WORDS)


def postgres_url(spec: StorageSpec) -> sa.URL:
    """The SQLAlchemy URL (psycopg 3 driver) for a PostgreSQL storage spec."""
    if spec.url:
        try:
            url = sa.make_url(spec.url)
        except sa_exc.ArgumentError as exc:
            raise InstanceError(f"Invalid PostgreSQL url in the instance config: {exc}") from exc
        if url.drivername in ("postgresql", "postgres"):
            url = url.set(drivername="postgresql+psycopg")
        if not url.drivername.startswith("postgresql"):
            raise InstanceError(
                f"The PostgreSQL storage url must start with postgresql://, got "
                f"{url.render_as_string(hide_password=True)}."
            )
        return url
    p = spec.params
    return sa.URL.create(
        "postgresql+psycopg",
        username=p.get("user"),
        password=p.get("password"),
        host=p.get("host"),
        port=p.get("port"),
        database=p.get("db"),
    )


def _check_sqlite_file(path: Path) -> None:
    """Refuse, without touching it, a path that is not an SQLite database file."""
    if path.is_dir():
        raise InstanceError(f"The SQLite database path {path} is a directory, not a file.")
    if path.exists() and path.stat().st_size > 0:
        try:
            with path.open("rb") as fh:
                head = fh.read(len(_SQLITE_MAGIC))
        except OSError as exc:
            raise InstanceError(f"Cannot read the database file {path}: {exc}") from exc
        if head != _SQLITE_MAGIC:
            raise InstanceError(
                f"The database file {path} is not an SQLite database (corrupt, or some other "
                "kind of file). Nothing was changed: move it away, or point "
                "'storage: sqlite: path' in trellis.yaml at another file."
            )
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InstanceError(
            f"Cannot create the directory of the database file {path}: {exc.strerror or exc}."
        ) from exc


class Database:
    """One engine for one instance database, with ``read`` and ``write`` transactions.

    ``write(fn)`` runs ``fn(connection)`` in one transaction (one writer at a time on
    SQLite, retried when another process holds the lock); ``read(fn)`` in a read-only one.
    """

    def __init__(self, spec: StorageSpec) -> None:
        self.kind = spec.kind
        self._write_lock: threading.Lock | None = None
        self._wal_ready = False
        if spec.kind == "sqlite":
            assert spec.path is not None
            path = Path(os.path.abspath(spec.path))
            _check_sqlite_file(path)
            self.path: Path | None = path
            self.url = sa.URL.create("sqlite", database=str(path))
            self.where = str(path)
            self.engine = sa.create_engine(
                self.url,
                connect_args={
                    "check_same_thread": False,
                    "timeout": SQLITE_BUSY_TIMEOUT_MS / 1000,
                },
            )
            self._write_lock = _write_lock_for(self.where)
            sa_event.listen(self.engine, "connect", self._on_sqlite_connect)
            sa_event.listen(self.engine, "begin", self._on_sqlite_begin)
        else:
            self.path = None
            self.url = postgres_url(spec)
            self.where = "PostgreSQL at " + self.url.render_as_string(hide_password=True)
            self.engine = sa.create_engine(
                self.url,
                pool_pre_ping=True,
                connect_args={"connect_timeout": max(1, int(spec.connect_timeout))},
            )
        _open_databases.add(self)

    @property
    def display_url(self) -> str:
        """The url without its password."""
        return self.url.render_as_string(hide_password=True)

    # -- SQLite connection set-up ------------------------------------------------------
    def _on_sqlite_connect(self, dbapi_connection: Any, _record: Any) -> None:
        # Autocommit at the driver level: SQLAlchemy's "begin" event emits our own BEGIN.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA synchronous = NORMAL")
        cursor.close()

    @staticmethod
    def _on_sqlite_begin(conn: sa.Connection) -> None:
        mode = conn.get_execution_options().get("trellis_begin", "DEFERRED")
        conn.exec_driver_sql(f"BEGIN {mode}")

    def enable_wal(self) -> None:
        """Switch an SQLite file to WAL mode (persistent; done once the file is known to
        be a Trellis database, so a foreign file is never changed)."""
        if self.kind != "sqlite" or self._wal_ready:
            return

        def switch() -> None:
            raw = self.engine.raw_connection()
            try:
                cursor = raw.cursor()
                try:
                    cursor.execute("PRAGMA journal_mode = WAL")
                except sqlite3.OperationalError as exc:
                    # Another process opening the same new home holds the lock: let
                    # _with_retry wait and try again, as for any write.
                    raise sa_exc.OperationalError("PRAGMA journal_mode = WAL", None, exc) from exc
                cursor.close()
            finally:
                raw.close()

        self._with_retry(switch, self._write_lock)
        self._wal_ready = True

    # -- transactions ------------------------------------------------------------------
    def write(self, fn: Callable[[sa.Connection], T]) -> T:
        """Run ``fn(conn)`` in one write transaction and commit; retried as a whole (after
        a rollback) while another process holds an SQLite write lock."""

        def attempt() -> T:
            with self._connect() as conn:
                if self.kind == "sqlite":
                    conn.execution_options(trellis_begin="IMMEDIATE")
                with conn.begin():
                    return fn(conn)

        return self._with_retry(attempt, self._write_lock)

    def read(self, fn: Callable[[sa.Connection], T]) -> T:
        """Run ``fn(conn)`` in a transaction that is rolled back (reads only)."""

        def attempt() -> T:
            with self._connect() as conn:
                return fn(conn)

        return self._with_retry(attempt, None)

    def _connect(self) -> sa.Connection:
        try:
            return self.engine.connect()
        except sa_exc.DBAPIError as exc:
            if self.kind == "postgres":
                detail = str(getattr(exc, "orig", exc)).strip().splitlines()
                raise InstanceError(
                    f"Cannot connect to {self.where}: {detail[0] if detail else exc}. Check "
                    "that the server is running and reachable, and the 'storage: postgres' "
                    "settings in trellis.yaml."
                ) from exc
            raise

    def _with_retry(self, attempt: Callable[[], T], lock: threading.Lock | None) -> T:
        delay = 0.002
        deadline: float | None = None
        while True:
            try:
                if lock is None:
                    return attempt()
                with lock:
                    return attempt()
            except sa_exc.IntegrityError:
                raise
            except sa_exc.DBAPIError as exc:
                if self.kind != "sqlite" or not _is_busy(exc):
                    raise self.error_for(exc) from exc
                now = time.monotonic()
                deadline = deadline if deadline is not None else now + LOCK_RETRY_SECONDS
                if now >= deadline:
                    raise InstanceError(
                        f"The database file {self.where} stayed locked by another process "
                        f"for more than {LOCK_RETRY_SECONDS:.0f} s; is a process stuck?"
                    ) from exc
                time.sleep(delay * (0.5 + random.random()))
                delay = min(delay * 2, 0.25)

    def error_for(self, exc: BaseException) -> InstanceError:
        """An ``InstanceError`` that names the database and says what went wrong."""
        orig = getattr(exc, "orig", None) or exc
        text = str(orig).strip()
        lowered = text.lower()
        if self.kind == "sqlite":
            if "not a database" in lowered or "malformed" in lowered:
                return InstanceError(
                    f"The database file {self.where} is corrupt or not an SQLite database "
                    f"({text}). Nothing was changed: move it away, or point 'storage: sqlite: "
                    "path' in trellis.yaml at another file."
                )
            if "readonly" in lowered or "unable to open" in lowered:
                return InstanceError(
                    f"Cannot write the database file {self.where} ({text}): check that it and "
                    "its directory are writable by this user."
                )
        if self.kind == "postgres" and "no schema has been selected" in lowered:
            return InstanceError(
                f"{self.where}: the schema named by the connection's search_path does not "
                "exist. Create it (CREATE SCHEMA ...) or fix the url in trellis.yaml."
            )
        first = text.splitlines()[0] if text else type(exc).__name__
        return InstanceError(f"Database error on {self.where}: {first}")

    def dispose(self) -> None:
        """Close every pooled connection (the engine reconnects if used again)."""
        self.engine.dispose()
