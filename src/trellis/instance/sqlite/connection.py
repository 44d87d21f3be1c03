"""``SqliteDatabase``: connections to one SQLite file, its transactions, and its errors.

The discipline (Dagster's most common storage complaint is "database is locked"):

- WAL mode (readers never block the writer), ``synchronous=NORMAL`` (a commit is durable
  against a crash of the process; no fsync per commit), a busy timeout.
- One writer at a time: a process-wide lock per database file around every write
  transaction, and ``BEGIN IMMEDIATE`` so a writer takes the file's write lock before it
  reads (no deadlocked read-to-write upgrade between processes).
- If another process still holds the lock past the busy timeout, the whole transaction
  is rolled back and retried with jittered backoff; callers never see "database is
  locked".
- Threads: a small pool of connections, one per concurrent user, so reads on one thread
  run while another writes. Fork: a child drops (never reuses) its parent's connections
  and gets fresh locks.
- A full disk: a write fails with ``StorageUnavailableError``; a read that cannot create
  the WAL's shared-memory file (the disk is full and no process has the database open)
  reads the file as it is on disk, read-only, when no write is pending in the WAL.

The file checks, the busy test, the backoff and the error wording are shared with the
SQLAlchemy back end (``trellis.instance.sql.database``).
"""

from __future__ import annotations

import os
import sqlite3
import threading
import time
import weakref
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from trellis.core.errors import InstanceError, StorageUnavailableError

T = TypeVar("T")

SQLITE_BUSY_TIMEOUT_MS = 10_000
LOCK_RETRY_SECONDS = 300.0
SQLITE_MAGIC = b"SQLite format 3\x00"
_SQLITE_BUSY_CODES = frozenset({5, 6})  # SQLITE_BUSY, SQLITE_LOCKED
_SQLITE_IOERR, _SQLITE_FULL = 10, 13
_WAL_HEADER_BYTES = (18, 19)  # file format versions: 2 and 2 in WAL mode
_BUSY_WORDS = ("database is locked", "database table is locked", "database is busy")

_write_locks: dict[str, threading.Lock] = {}
_write_locks_guard = threading.Lock()
_open_databases: weakref.WeakSet[SqliteDatabase] = weakref.WeakSet()


def write_lock_for(key: str) -> threading.Lock:
    """The process-wide lock held around every write transaction on the database file
    ``key`` (its absolute path), shared by every connection of this process."""
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
        db._after_fork()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)


def is_busy(exc: BaseException) -> bool:
    """Whether a database error (``sqlite3``'s, or SQLAlchemy's wrapping one) means that
    another connection holds the lock: worth a retry."""
    orig = getattr(exc, "orig", exc)
    if getattr(orig, "sqlite_errorcode", None) in _SQLITE_BUSY_CODES:
        return True
    text = str(orig).lower()
    return any(word in text for word in _BUSY_WORDS)


def is_disk_full(exc: BaseException) -> bool:
    """Whether a database error says that the disk holding the file is full."""
    orig = getattr(exc, "orig", exc)
    code = getattr(orig, "sqlite_errorcode", None)
    return (code is not None and code & 0xFF == _SQLITE_FULL) or (
        "database or disk is full" in str(orig).lower()
    )


def _is_io_error(exc: BaseException) -> bool:
    code = getattr(getattr(exc, "orig", exc), "sqlite_errorcode", None)
    return code is not None and code & 0xFF == _SQLITE_IOERR


def _no_space_left(where: str) -> bool:
    """Whether the file system holding the file ``where`` has no space left (SQLite
    reports a full disk as an I/O error when it cannot create the WAL's files)."""
    try:
        stats = os.statvfs(os.path.dirname(where) or ".")
    except (OSError, AttributeError):
        return False
    return stats.f_bavail * stats.f_frsize < 64 * 1024


def _cannot_open_wal_index(exc: BaseException) -> bool:
    """A read failed because SQLite could not create or grow the WAL's files (a full
    disk shows as an I/O error there)."""
    code = getattr(exc, "sqlite_errorcode", None)
    return code is not None and code & 0xFF in (_SQLITE_IOERR, _SQLITE_FULL)


def create_private_file(path: Path) -> None:
    """Create an empty file readable and writable by its owner only (0600), unless it
    exists; SQLite gives the ``-wal`` and ``-shm`` files the database's permissions."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return
    except OSError as exc:
        raise InstanceError(
            f"Cannot create the database file {path}: {exc.strerror or exc}."
        ) from exc
    os.close(fd)


# Descriptors this process keeps open to read database headers, by path; never closed.
# On POSIX, closing *any* descriptor of a file drops every lock the process holds on it,
# SQLite's included: a header read through open() and close() while a connection of this
# process was open let another process take the database for unused, checkpoint and
# delete the WAL under it, and this process's next commits were lost (seen with four
# processes opening a new home at once).
_head_fds: dict[str, int] = {}
_replaced_fds: list[int] = []  # of files since replaced at their path: kept open too
_head_fds_guard = threading.Lock()


def read_head(path: Path, size: int) -> bytes:
    """The first ``size`` bytes of the file at ``path``, read without ever closing a
    descriptor of it (see ``_head_fds``); ``OSError`` if it cannot be read."""
    key = str(path)
    with _head_fds_guard:
        fd = _head_fds.get(key)
        if fd is not None:
            on_disk, held = os.stat(key), os.fstat(fd)
            if (on_disk.st_dev, on_disk.st_ino) != (held.st_dev, held.st_ino):
                _replaced_fds.append(fd)  # another file now: a new descriptor
                fd = None
        if fd is None:
            fd = _head_fds[key] = os.open(key, os.O_RDONLY | getattr(os, "O_CLOEXEC", 0))
        return os.pread(fd, size, 0)


def _open_in_this_process(path: Path) -> bool:
    """Whether an ``SqliteDatabase`` of this process has ``path`` open."""
    where = str(path)
    return any(db.where == where and db.holds_connections for db in list(_open_databases))


def _file_says_wal(path: Path) -> bool:
    """Whether the database file's header says WAL mode (file format versions 2)."""
    try:
        header = read_head(path, max(_WAL_HEADER_BYTES) + 1)  # never closes a descriptor
    except OSError:
        return False
    return len(header) > max(_WAL_HEADER_BYTES) and all(header[i] == 2 for i in _WAL_HEADER_BYTES)


def check_sqlite_file(path: Path) -> None:
    """Refuse, without touching it, a path that is not an SQLite database file; create
    the directory it lives in."""
    if path.is_dir():
        raise InstanceError(f"The SQLite database path {path} is a directory, not a file.")
    # Opening and closing the file here would drop every POSIX lock this process holds
    # on it (close() releases them all, whichever descriptor took them): a database that
    # this process already has open is known to be SQLite, and is not read again.
    if path.exists() and path.stat().st_size > 0 and not _open_in_this_process(path):
        try:
            head = read_head(path, len(SQLITE_MAGIC))
        except OSError as exc:
            raise InstanceError(f"Cannot read the database file {path}: {exc}") from exc
        if head != SQLITE_MAGIC:
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


def error_text(exc: BaseException) -> str:
    """The driver's message for a database error (unwrapped from SQLAlchemy's)."""
    orig = getattr(exc, "orig", None) or exc
    return str(orig).strip()


def database_error(where: str, exc: BaseException) -> InstanceError:
    """The generic ``InstanceError`` for a database error: the database and the first
    line of the driver's message."""
    text = error_text(exc)
    first = text.splitlines()[0] if text else type(exc).__name__
    return InstanceError(f"Database error on {where}: {first}")


def sqlite_error_for(where: str, exc: BaseException) -> InstanceError:
    """An ``InstanceError`` that names the SQLite file ``where`` and says what went wrong
    (a corrupt or foreign file, one that cannot be written)."""
    text = error_text(exc)
    lowered = text.lower()
    if "not a database" in lowered or "malformed" in lowered:
        return InstanceError(
            f"The database file {where} is corrupt or not an SQLite database "
            f"({text}). Nothing was changed: move it away, or point 'storage: sqlite: "
            "path' in trellis.yaml at another file."
        )
    if is_disk_full(exc) or (_is_io_error(exc) and _no_space_left(where)):
        return StorageUnavailableError(
            f"Cannot write the database file {where}: the disk holding it is full ({text}). "
            "Free some space; reading the instance still works."
        )
    if "readonly" in lowered or "unable to open" in lowered:
        return InstanceError(
            f"Cannot write the database file {where} ({text}): check that it and "
            "its directory are writable by this user."
        )
    return database_error(where, exc)


class LockWait:
    """Jittered exponential backoff while another process holds an SQLite file's write
    lock past the busy timeout; gives up with ``InstanceError`` after
    ``LOCK_RETRY_SECONDS``."""

    __slots__ = ("_deadline", "_delay", "where")

    def __init__(self, where: str) -> None:
        self.where = where
        self._delay = 0.002
        self._deadline: float | None = None

    def sleep(self, exc: BaseException) -> None:
        """Wait before the next attempt, or raise if the lock has been held too long."""
        import random  # lazily: only a contended lock gets here

        now = time.monotonic()
        if self._deadline is None:
            self._deadline = now + LOCK_RETRY_SECONDS
        if now >= self._deadline:
            raise InstanceError(
                f"The database file {self.where} stayed locked by another process "
                f"for more than {LOCK_RETRY_SECONDS:.0f} s; is a process stuck?"
            ) from exc
        time.sleep(self._delay * (0.5 + random.random()))
        self._delay = min(self._delay * 2, 0.25)


class SqliteDatabase:
    """Connections to one SQLite file, with ``read`` and ``write`` transactions.

    ``write(fn)`` runs ``fn(connection)`` in one ``BEGIN IMMEDIATE`` transaction under
    the file's process-wide lock, retried as a whole while another process holds the
    file's lock; ``read(fn)`` runs it on a connection of its own (concurrently with a
    write on another thread). Connections are in autocommit mode: a statement outside
    ``write`` (or ``read(..., snapshot=True)``) is its own transaction.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self.where = str(path)
        self.display_url = "sqlite:///" + self.where
        self._lock = write_lock_for(self.where)
        self._pool: list[sqlite3.Connection] = []
        self._generation = 0
        self._trace: Callable[[str], None] | None = None
        self._wal_ready = False
        self._in_use = 0  # connections checked out of the pool right now
        # Whether the file is in WAL mode, read from its header now, before this object
        # connects: opening and closing the file later would drop the POSIX locks of its
        # connections (close() releases all of a process's locks on a file), and another
        # process would checkpoint and delete the WAL under them. A file another database
        # of this process holds open was put in WAL mode when that one opened it.
        self._wal_at_open = _open_in_this_process(path) or _file_says_wal(path)
        _open_databases.add(self)

    @property
    def holds_connections(self) -> bool:
        """Whether this process has connections to the file open (idle or in use)."""
        return bool(self._pool) or self._in_use > 0

    # -- connections -------------------------------------------------------------------
    def _connect(self) -> sqlite3.Connection:
        conn = sqlite3.connect(
            self.where,
            timeout=SQLITE_BUSY_TIMEOUT_MS / 1000,
            isolation_level=None,  # autocommit: transactions are our own BEGIN / COMMIT
            check_same_thread=False,  # pooled: one thread at a time, not always the same
        )
        try:
            conn.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}")
            conn.execute("PRAGMA synchronous = NORMAL")
        except BaseException:
            conn.close()
            raise
        if self._trace is not None:
            conn.set_trace_callback(self._trace)
        return conn

    def _checkout(self) -> tuple[sqlite3.Connection, int]:
        generation = self._generation
        try:
            conn = self._pool.pop()
        except IndexError:
            conn = self._connect()
        self._in_use += 1
        return conn, generation

    def _checkin(self, conn: sqlite3.Connection, generation: int) -> None:
        self._in_use = max(0, self._in_use - 1)
        if generation == self._generation and not conn.in_transaction:
            self._pool.append(conn)
        else:  # disposed (or broken) meanwhile
            try:
                conn.close()
            except sqlite3.Error:
                pass

    def _after_fork(self) -> None:
        """In a forked child: forget the parent's connections and take fresh locks."""
        self._generation += 1
        inherited, self._pool = self._pool, []
        self._in_use = 0
        self._lock = write_lock_for(self.where)
        for conn in inherited:  # idle ones: closing them changes nothing the parent sees
            try:
                conn.close()
            except sqlite3.Error:
                pass

    def trace(self, callback: Callable[[str], None] | None) -> None:
        """Call ``callback`` with every SQL statement that idle and new connections run
        from now on (None: stop); for debugging and tests."""
        self._trace = callback
        for conn in self._pool:
            conn.set_trace_callback(callback)

    # -- transactions ------------------------------------------------------------------
    def write(self, fn: Callable[[sqlite3.Connection], T], wait: bool = True) -> T:
        """Run ``fn(conn)`` in one write transaction and commit; retried as a whole (after
        a rollback) while another process holds the file's lock. ``sqlite3.IntegrityError``
        reaches the caller; other database errors become ``InstanceError``. With
        ``wait=False``, one attempt that raises ``InstanceError`` at once if another writer
        (in this process or another) holds the file."""

        def attempt() -> T:
            with self._lock:
                conn, generation = self._checkout()
                try:
                    conn.execute("BEGIN IMMEDIATE")
                    result = fn(conn)
                    conn.execute("COMMIT")
                    return result
                finally:
                    if conn.in_transaction:
                        _rollback(conn)
                    self._checkin(conn, generation)

        if wait:
            return self._retrying(attempt)
        return self._write_now(fn)

    def _write_now(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        busy = InstanceError(f"The database file {self.where} is busy with another writer.")
        if not self._lock.acquire(blocking=False):
            raise busy
        try:
            conn, generation = self._checkout()
            try:
                conn.execute("PRAGMA busy_timeout = 0")
                conn.execute("BEGIN IMMEDIATE")
                result = fn(conn)
                conn.execute("COMMIT")
                return result
            except sqlite3.IntegrityError:
                raise
            except sqlite3.Error as exc:
                if is_busy(exc):
                    raise busy from exc
                raise sqlite_error_for(self.where, exc) from exc
            finally:
                if conn.in_transaction:
                    _rollback(conn)
                try:
                    conn.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}")
                except sqlite3.Error:
                    pass
                self._checkin(conn, generation)
        finally:
            self._lock.release()

    def read(self, fn: Callable[[sqlite3.Connection], T], snapshot: bool = False) -> T:
        """Run ``fn(conn)`` (reads only) on a connection of its own; with ``snapshot``, in
        one read transaction so that its statements see the same state."""

        def attempt() -> T:
            try:
                conn, generation = self._checkout()
            except sqlite3.OperationalError as exc:
                if not _cannot_open_wal_index(exc) or not self._wal_is_empty():
                    raise
                return self._read_as_on_disk(fn)
            try:
                if snapshot:
                    conn.execute("BEGIN")
                return fn(conn)
            except sqlite3.OperationalError as exc:
                if not _cannot_open_wal_index(exc) or not self._wal_is_empty():
                    raise
                generation = -1  # close this connection: it may hold half-made files
            finally:
                if conn.in_transaction:
                    _rollback(conn)
                self._checkin(conn, generation)
            return self._read_as_on_disk(fn)

        return self._retrying(attempt)

    def _wal_is_empty(self) -> bool:
        """No change waits in the WAL file (missing or empty): the database file holds
        every committed transaction."""
        try:
            return os.stat(self.where + "-wal").st_size == 0
        except FileNotFoundError:
            return True

    def _read_as_on_disk(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        """``fn`` on a read-only connection that takes the file as it is (``immutable``:
        no locks, no WAL index), for a disk too full to create the WAL's shared memory."""
        conn = sqlite3.connect(self.path.as_uri() + "?mode=ro&immutable=1", uri=True)
        try:
            return fn(conn)
        finally:
            conn.close()

    def enable_wal(self) -> None:
        """Switch the file to WAL mode (persistent; done once the file is known to be a
        Trellis database, so a foreign file is never changed), retried under the lock
        while another process opening the same new home holds it. A file already in WAL
        mode (read from its header) is left alone: opening takes no lock."""
        if self._wal_ready:
            return
        if self._header_says_wal():
            self._wal_ready = True
            return

        def attempt() -> None:
            with self._lock:
                conn, generation = self._checkout()
                try:
                    conn.execute("PRAGMA journal_mode = WAL").fetchall()
                finally:
                    self._checkin(conn, generation)

        self._retrying(attempt)
        self._wal_ready = True

    def _header_says_wal(self) -> bool:
        return self._wal_at_open

    def _retrying(self, attempt: Callable[[], T]) -> T:
        """``attempt()``, again after a backoff while the file is locked by another
        process; database errors other than a duplicate become ``InstanceError``."""
        wait: LockWait | None = None
        while True:
            try:
                return attempt()
            except sqlite3.IntegrityError:
                raise
            except sqlite3.Error as exc:
                if not is_busy(exc):
                    raise sqlite_error_for(self.where, exc) from exc
                wait = wait or LockWait(self.where)
                wait.sleep(exc)

    def dispose(self) -> None:
        """Close every idle connection; those in use are closed when they are returned
        (the database reconnects if used again)."""
        self._generation += 1
        pool, self._pool = self._pool, []
        for conn in pool:
            try:
                conn.close()
            except sqlite3.Error:
                pass


def _rollback(conn: sqlite3.Connection) -> None:
    try:
        conn.execute("ROLLBACK")
    except sqlite3.Error:
        pass  # the connection is discarded: _checkin sees it still in a transaction
