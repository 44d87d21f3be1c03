"""Waking the daemon's run queue from any process: a run was enqueued, or a run ended
and its place is free. The daemon listens while it holds the instance's lease; any
process that changes the queue pokes. The queue's periodic look
(``dequeue_interval_seconds``) stays as the fallback, so a lost poke only costs time.

- **SQLite**: a named pipe (FIFO) beside the database file, ``<db file>-wakeup``. The
  listening daemon creates it and reads it; a poke opens it without blocking, writes one
  byte and closes it (a few microseconds). With no daemon listening the open fails at
  once (no file, or no reader) and the poke does nothing. POSIX only: without
  ``os.mkfifo`` there is no listener and the queue looks periodically.
- **PostgreSQL**: ``NOTIFY`` on a channel named after the instance's schema
  (``trellis_run_queue_<digest>``, so instances in other schemas of the database are not
  woken), which the daemon ``LISTEN``s for on a connection of its own: processes on
  other hosts wake it too.
"""

from __future__ import annotations

import contextlib
import logging
import os
import select
import stat
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

log = logging.getLogger("trellis.instance.queue_wakeup")

CHANNEL_PREFIX = "trellis_run_queue_"
"""The PostgreSQL notification channels of run queues: this and a digest of the schema."""
_PG_WAIT = 0.5  # how long the PostgreSQL listener waits before checking it should stop


class Listening:
    """A listener started by ``QueueWakeup.listen``: ``close()`` stops it."""

    def __init__(self, thread: threading.Thread, stop: Callable[[], None]) -> None:
        self._thread = thread
        self._stop = stop

    def close(self, timeout: float = 5.0) -> None:
        """Stop listening and wait for the listener's thread."""
        self._stop()
        self._thread.join(timeout)


class QueueWakeup:
    """How one instance's run queue is woken: ``poke()`` from anywhere, ``listen``
    in the daemon (see the module docstring)."""

    def poke(self) -> None:
        """Wake the listening daemon, if there is one (never raises, never blocks)."""

    def listen(self, callback: Callable[[], None]) -> Listening | None:
        """Call ``callback()`` (on a thread of its own) after each poke; None when this
        instance cannot be listened to."""
        return None


class FifoWakeup(QueueWakeup):
    """A named pipe at ``path`` (SQLite instances; see the module docstring)."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def poke(self) -> None:
        """Write a byte to the pipe if a daemon reads it."""
        flags = os.O_WRONLY | getattr(os, "O_NONBLOCK", 0)
        try:
            fd = os.open(self.path, flags)
        except OSError:  # no pipe, or nobody reading it: no daemon to wake
            return
        try:
            os.write(fd, b"\0")
        except OSError:  # the pipe is full: the daemon has a poke to read already
            pass
        finally:
            os.close(fd)

    def _make_pipe(self) -> bool:
        try:
            mode = self.path.lstat().st_mode
        except FileNotFoundError:
            os.mkfifo(self.path, 0o600)
            return True
        if stat.S_ISFIFO(mode):
            return True
        log.warning(
            "%s exists and is not a named pipe: the run queue is not woken by other "
            "processes (it looks every dequeue_interval_seconds).",
            self.path,
        )
        return False

    def listen(self, callback: Callable[[], None]) -> Listening | None:
        """Create the pipe (if need be) and read it on a thread."""
        if not hasattr(os, "mkfifo"):
            return None
        try:
            if not self._make_pipe():
                return None
            reader = os.open(self.path, os.O_RDONLY | os.O_NONBLOCK)
        except OSError as exc:
            log.warning(
                "Cannot listen on %s (%s): the run queue looks periodically.", self.path, exc
            )
            return None
        # A writer of our own: the pipe never reads as closed between two pokes.
        keep_open = os.open(self.path, os.O_WRONLY | os.O_NONBLOCK)
        stop_read, stop_write = os.pipe()

        def run() -> None:
            try:
                while True:
                    ready, _, _ = select.select([reader, stop_read], [], [])
                    if stop_read in ready:
                        return
                    with contextlib.suppress(BlockingIOError):
                        while os.read(reader, 4096):
                            pass
                    callback()
            finally:
                for fd in (reader, keep_open, stop_read):
                    os.close(fd)

        def stop() -> None:
            os.write(stop_write, b"x")
            thread.join(5.0)
            os.close(stop_write)
            with contextlib.suppress(OSError):
                self.path.unlink()

        thread = threading.Thread(target=run, name="trellis-queue-wakeup", daemon=True)
        thread.start()
        return Listening(thread, stop)


class PostgresWakeup(QueueWakeup):
    """``NOTIFY`` / ``LISTEN`` on the instance's channel (PostgreSQL instances)."""

    def __init__(self, database: Any) -> None:
        self.database = database
        self._channel: str | None = None

    def channel(self) -> str:
        """The instance's channel (its schema's digest; looked up once)."""
        if self._channel is None:
            import hashlib

            import sqlalchemy as sa

            schema = self.database.read(
                lambda conn: conn.execute(sa.text("SELECT current_schema()")).scalar()
            )
            digest = hashlib.sha1(str(schema).encode()).hexdigest()[:16]
            self._channel = CHANNEL_PREFIX + digest
        return self._channel

    def poke(self) -> None:
        """``pg_notify`` on the channel (delivered to the listening daemon at commit)."""
        import sqlalchemy as sa

        try:
            channel = self.channel()
            self.database.write(
                lambda conn: conn.execute(sa.text("SELECT pg_notify(:c, '')"), {"c": channel})
            )
        except Exception as exc:  # the queue's periodic look still finds the run
            log.debug("Could not notify the run queue: %s", exc)

    def listen(self, callback: Callable[[], None]) -> Listening | None:
        """``LISTEN`` on a connection of its own, read on a thread."""
        try:
            channel = self.channel()
            raw = self.database.engine.raw_connection()
            conn = raw.driver_connection
            raw.detach()  # this connection is the listener's, never back in the pool
            conn.autocommit = True
            conn.execute(f"LISTEN {channel}")
        except Exception as exc:
            log.warning("Cannot LISTEN for the run queue (%s): it looks periodically.", exc)
            return None
        stopping = threading.Event()

        def run() -> None:
            try:
                while not stopping.is_set():
                    woken = False
                    for _ in conn.notifies(timeout=_PG_WAIT):
                        woken = True
                        break
                    if woken and not stopping.is_set():
                        callback()
            except Exception as exc:  # the connection broke: periodic looks go on
                if not stopping.is_set():
                    log.warning("The run queue's LISTEN connection failed: %s", exc)
            finally:
                with contextlib.suppress(Exception):
                    conn.close()

        thread = threading.Thread(target=run, name="trellis-queue-listen", daemon=True)
        thread.start()
        return Listening(thread, stopping.set)
