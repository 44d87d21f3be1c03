"""``Database``: one SQLAlchemy engine per instance, its transactions, and its errors.

SQLite discipline (Dagster's most common storage complaint is "database is locked"):

- WAL mode (readers never block the writer), ``synchronous=NORMAL`` (a commit is durable
  against a crash of the process; no fsync per commit), a busy timeout.
- One writer at a time: a process-wide lock per database file around every write
  transaction, and ``BEGIN IMMEDIATE`` so a writer takes the file's write lock before it
  reads (no deadlocked read-to-write upgrade between processes).
- If another process still holds the lock past the busy timeout, the whole transaction
  is rolled back and retried with backoff; callers never see "database is locked".

PostgreSQL outages: once the instance has reached its server, a read or write that loses
the connection (refused, reset, the server restarting) is retried with backoff for up to
``retry_timeout`` seconds, counted from the first failure of the outage and shared by
every operation (``Outage``); past it every operation fails at once with
``StorageUnavailableError`` until one succeeds. A write retried after a lost connection
first checks whether its transaction had committed (``committed``), so that nothing is
stored twice.

Errors of the database (a corrupt or foreign file, an unreachable server) become
``InstanceError`` naming the file or the server.

Instances on SQLite use ``trellis.instance.sqlite`` (the standard library's ``sqlite3``);
this engine serves PostgreSQL, and SQLite only for schema migrations through Alembic. The
SQLite file checks, busy test, backoff, per-file write locks and error wording are
``trellis.instance.sqlite.connection``'s, shared.
"""

from __future__ import annotations

import logging
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
from sqlalchemy import event as sa_event, exc as sa_exc

from trellis.core.errors import InstanceError, StorageUnavailableError
from trellis.instance.config import StorageSpec
from trellis.instance.sqlite.connection import (
    SQLITE_BUSY_TIMEOUT_MS,
    LockWait,
    check_sqlite_file,
    database_error,
    error_text,
    is_busy,
    sqlite_error_for,
    write_lock_for,
)

T = TypeVar("T")

# What ``committed`` returns when the transaction of a failed attempt did not commit.
NOT_COMMITTED: Any = object()

log = logging.getLogger("trellis.instance")

# SQLSTATEs of a lost or refused connection: class 08 (connection exception), the server
# shutting down or starting up, too many connections.
_TRANSIENT_SQLSTATES = frozenset({"57P01", "57P02", "57P03", "53300"})

_open_databases: weakref.WeakSet[Database] = weakref.WeakSet()


def _after_fork_in_child() -> None:
    """A forked child must not reuse its parent's pooled connections (the per-file write
    locks are renewed by ``trellis.instance.sqlite.connection``)."""
    for db in list(_open_databases):
        db.engine.dispose(close=False)


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)


def is_transient(exc: BaseException) -> bool:
    """Whether a PostgreSQL error means the connection was lost or refused (worth waiting
    for the server), not that the statement or the settings are wrong."""
    if getattr(exc, "connection_invalidated", False):
        return True
    if not isinstance(exc, (sa_exc.OperationalError, sa_exc.InterfaceError)):
        return False
    sqlstate = getattr(getattr(exc, "orig", None), "sqlstate", None)
    if sqlstate is None:  # raised by the client: refused, reset, closed, timed out
        return True
    return str(sqlstate).startswith("08") or sqlstate in _TRANSIENT_SQLSTATES


class Outage:
    """The clock of a database outage, shared by every operation of one ``Database``:
    ``wait`` sleeps with jittered exponential backoff until ``bound`` seconds after the
    outage's first failure, then raises ``StorageUnavailableError``; ``end`` (after any
    success) resets it."""

    __slots__ = ("_delay", "bound", "since", "where")

    def __init__(self, where: str, bound: float) -> None:
        self.where = where
        self.bound = bound
        self.since: float | None = None
        self._delay = 0.05

    def wait(self, exc: BaseException) -> None:
        """Sleep before the next attempt, or raise once the outage has lasted too long."""
        now = time.monotonic()
        if self.since is None:
            self.since = now
            log.warning(
                "Lost the connection to %s (%s); retrying for up to %g s.",
                self.where,
                error_text(exc).splitlines()[0] if error_text(exc) else type(exc).__name__,
                self.bound,
            )
        left = self.since + self.bound - now
        if left <= 0:
            text = error_text(exc)
            raise StorageUnavailableError(
                f"{self.where} has been unreachable for {now - self.since:.0f} s, past the "
                f"retry bound ({self.bound:g} s, 'storage: postgres: retry_timeout' in "
                f"trellis.yaml): {text.splitlines()[0] if text else type(exc).__name__}"
            ) from exc
        time.sleep(min(left, self._delay * (0.5 + random.random())))
        self._delay = min(self._delay * 2, 1.0)

    def end(self) -> None:
        """The database answered: the outage (if any) is over."""
        if self.since is not None:
            log.warning(
                "%s is reachable again after %.1f s.", self.where, time.monotonic() - self.since
            )
            self.since = None
            self._delay = 0.05


def upsert(kind: str, table: sa.Table, keys: list[str], updated: list[str]) -> Any:
    """``INSERT ... ON CONFLICT (keys) DO UPDATE SET updated = excluded.updated`` into
    ``table``, in the dialect ``kind`` (``sqlite`` or ``postgres``)."""
    insert: Any
    if kind == "sqlite":
        from sqlalchemy.dialects.sqlite import insert
    else:
        from sqlalchemy.dialects.postgresql import insert
    stmt = insert(table)
    return stmt.on_conflict_do_update(
        index_elements=[table.c[k] for k in keys],
        set_={name: stmt.excluded[name] for name in updated},
    )


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


class Database:
    """One engine for one instance database, with ``read`` and ``write`` transactions.

    ``write(fn)`` runs ``fn(connection)`` in one transaction (one writer at a time on
    SQLite, retried when another process holds the lock); ``read(fn)`` in a read-only one.
    """

    def __init__(self, spec: StorageSpec) -> None:
        self.kind = spec.kind
        self._wal_ready = False
        self._reached = False  # retries start once the server has answered
        if spec.kind == "sqlite":
            assert spec.path is not None
            path = Path(os.path.abspath(spec.path))
            check_sqlite_file(path)
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
        self.outage = Outage(self.where, spec.retry_timeout)
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

        self._with_retry(switch, self._write_lock())
        self._wal_ready = True

    # -- transactions ------------------------------------------------------------------
    def write(
        self,
        fn: Callable[[sa.Connection], T],
        committed: Callable[[sa.Connection], T] | None = None,
    ) -> T:
        """Run ``fn(conn)`` in one write transaction and commit; retried as a whole (after
        a rollback) while another process holds an SQLite write lock, or while a
        PostgreSQL server is unreachable. Before a retry after a lost connection,
        ``committed(conn)`` (if given) says whether the lost attempt had committed: its
        result, or ``NOT_COMMITTED``."""

        def attempt() -> T:
            with self._connect() as conn:
                if self.kind == "sqlite":
                    conn.execution_options(trellis_begin="IMMEDIATE")
                with conn.begin():
                    return fn(conn)

        check = None
        if committed is not None:

            def check() -> T:
                with self._connect() as conn:
                    return committed(conn)

        return self._with_retry(attempt, self._write_lock(), check)

    def read(self, fn: Callable[[sa.Connection], T]) -> T:
        """Run ``fn(conn)`` in a transaction that is rolled back (reads only)."""

        def attempt() -> T:
            with self._connect() as conn:
                return fn(conn)

        return self._with_retry(attempt, None)

    def _write_lock(self) -> threading.Lock | None:
        # Looked up each time: after a fork the child has fresh locks.
        return write_lock_for(self.where) if self.kind == "sqlite" else None

    def _connect(self) -> sa.Connection:
        try:
            return self.engine.connect()
        except sa_exc.DBAPIError as exc:
            if self.kind == "postgres" and self._reached and is_transient(exc):
                raise  # an outage: _with_retry waits for the server
            if self.kind == "postgres":
                detail = str(getattr(exc, "orig", exc)).strip().splitlines()
                raise InstanceError(
                    f"Cannot connect to {self.where}: {detail[0] if detail else exc}. Check "
                    "that the server is running and reachable, and the 'storage: postgres' "
                    "settings in trellis.yaml."
                ) from exc
            raise

    def _with_retry(
        self,
        attempt: Callable[[], T],
        lock: threading.Lock | None,
        committed: Callable[[], T] | None = None,
    ) -> T:
        wait: LockWait | None = None
        lost = False  # an attempt lost its connection: it may have committed
        while True:
            try:
                if lost and committed is not None:
                    found = committed()
                    if found is not NOT_COMMITTED:
                        self.outage.end()
                        return found
                if lock is None:
                    result = attempt()
                else:
                    with lock:
                        result = attempt()
                self._reached = True
                self.outage.end()
                return result
            except sa_exc.IntegrityError:
                raise
            except sa_exc.DBAPIError as exc:
                if self.kind == "postgres" and self._reached and is_transient(exc):
                    self.outage.wait(exc)
                    lost = True
                    continue
                if self.kind != "sqlite" or not is_busy(exc):
                    raise self.error_for(exc) from exc
                wait = wait or LockWait(self.where)
                wait.sleep(exc)

    def error_for(self, exc: BaseException) -> InstanceError:
        """An ``InstanceError`` that names the database and says what went wrong."""
        if self.kind == "sqlite":
            return sqlite_error_for(self.where, exc)
        if "no schema has been selected" in error_text(exc).lower():
            return InstanceError(
                f"{self.where}: the schema named by the connection's search_path does not "
                "exist. Create it (CREATE SCHEMA ...) or fix the url in trellis.yaml."
            )
        return database_error(self.where, exc)

    def dispose(self) -> None:
        """Close every pooled connection (the engine reconnects if used again)."""
        self.engine.dispose()
