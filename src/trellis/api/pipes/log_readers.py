"""Log readers: forward what an external process wrote to its stdout or stderr, kept
somewhere the orchestrator can read (a log file, a blob store), to this process's
streams while a Pipes session runs.

A ``PipesBlobStoreMessageReader`` starts each of its ``log_readers`` once its target is
readable (``target_is_readable``) and stops them when the session has closed and the
messages are all read. ``PipesLogReader`` is the interface; ``PipesChunkedLogReader``
polls ``download_log_chunk`` on a thread every ``interval`` seconds;
``PipesFileLogReader`` follows a local file.
"""

from __future__ import annotations

import codecs
import os
import sys
import threading
from abc import ABC, abstractmethod
from typing import IO

from trellis_pipes import PipesParams


class PipesLogReader(ABC):
    """Forwards an external process's log stream while a Pipes session runs."""

    @abstractmethod
    def start(self, params: PipesParams, is_session_closed: threading.Event) -> None:
        """Start forwarding (on a thread of the reader's own); ``params`` are the message
        reader's; ``is_session_closed`` is set when the session ends, after which the
        reader forwards what is left and stops."""

    @abstractmethod
    def stop(self) -> None:
        """Wait until everything is forwarded (the session has closed)."""

    @abstractmethod
    def is_running(self) -> bool:
        """Whether it is still forwarding."""

    @abstractmethod
    def target_is_readable(self, params: PipesParams) -> bool:
        """Whether there is something to read yet (the log exists)."""

    @property
    def name(self) -> str:
        """What the reader is called in messages (its class name by default)."""
        return type(self).__name__

    def debug_info(self) -> str | None:
        """Where it reads, for a message about a log that never appeared."""
        return None


class PipesChunkedLogReader(PipesLogReader):
    """Polls ``download_log_chunk`` every ``interval`` seconds on a thread and writes
    each chunk to ``target_stream`` (this process's stdout by default); once the session
    has closed, reads until a poll returns nothing, then stops."""

    def __init__(self, *, interval: float = 10, target_stream: IO[str] | None = None) -> None:
        if isinstance(interval, bool) or not isinstance(interval, (int, float)) or interval <= 0:
            raise TypeError(
                f"{type(self).__name__}: interval must be a positive number of seconds, "
                f"got {interval!r}."
            )
        self.interval = float(interval)
        self.target_stream = target_stream
        self.error: BaseException | None = None
        self._thread: threading.Thread | None = None

    @abstractmethod
    def download_log_chunk(self, params: PipesParams) -> str | None:
        """What was written since the previous call (None or "" when nothing was)."""

    def start(self, params: PipesParams, is_session_closed: threading.Event) -> None:
        """Start the polling thread."""
        self._thread = threading.Thread(
            target=self._forward,
            args=(params, is_session_closed),
            name=f"trellis-pipes-{self.name}",
            daemon=True,
        )
        self._thread.start()

    def _forward(self, params: PipesParams, is_session_closed: threading.Event) -> None:
        try:
            while True:
                closing = is_session_closed.is_set()
                chunk = self.download_log_chunk(params)
                if chunk:
                    stream = self.target_stream or sys.stdout
                    stream.write(chunk)
                    stream.flush()
                elif closing:
                    return
                else:
                    is_session_closed.wait(self.interval)
        except Exception as exc:  # kept for stop() to report
            self.error = exc

    def stop(self) -> None:
        """Wait for the thread (it ends once the session has closed and the log is read);
        raise what stopped it early, if something did."""
        if self._thread is not None:
            self._thread.join()
        if self.error is not None:
            raise RuntimeError(
                f"{self.name} stopped forwarding: {type(self.error).__name__}: {self.error}"
            ) from self.error

    def is_running(self) -> bool:
        """Whether the thread is alive."""
        return self._thread is not None and self._thread.is_alive()


class PipesFileLogReader(PipesChunkedLogReader):
    """Forwards the file ``path`` (the process's stdout redirected there, say) to
    ``target_stream``: from its beginning once the session's process has written it (a
    file left by an earlier session is not read until it changes), then what is
    appended; a file truncated meanwhile is read from its beginning again. Give each
    session its own file, or truncate it (``>``): a file appended to (``>>``) is forwarded
    whole once it changes."""

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        interval: float = 1,
        target_stream: IO[str] | None = None,
    ) -> None:
        if not isinstance(path, (str, os.PathLike)) or not os.fspath(path):
            raise TypeError(f"PipesFileLogReader needs a file path, got {path!r}.")
        super().__init__(interval=interval, target_stream=target_stream)
        self.path = os.path.abspath(os.fspath(path))
        self._offset = 0
        self._decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        self._session: PipesParams | None = None  # the params of the session being followed
        self._before: tuple[int, int, int] | None = None  # the file when that session began

    @property
    def name(self) -> str:
        """``PipesFileLogReader(<file name>)``."""
        return f"PipesFileLogReader({os.path.basename(self.path)})"

    def _state(self) -> tuple[int, int, int] | None:
        try:
            stat = os.stat(self.path)
        except FileNotFoundError:
            return None
        return (stat.st_ino, stat.st_size, stat.st_mtime_ns)

    def target_is_readable(self, params: PipesParams) -> bool:
        """Whether the file exists and was written since the session began."""
        if params is not self._session:  # a new session: note the file as it is
            self._session, self._before = params, self._state()
            return False
        state = self._state()
        return state is not None and state != self._before

    def start(self, params: PipesParams, is_session_closed: threading.Event) -> None:
        """Forward the file from its beginning."""
        self._offset = 0
        self._decoder.reset()
        super().start(params, is_session_closed)

    def download_log_chunk(self, params: PipesParams) -> str | None:
        """The text appended since the previous call."""
        with open(self.path, "rb") as f:
            if os.fstat(f.fileno()).st_size < self._offset:  # truncated: from the top
                self._offset = 0
                self._decoder.reset()
            f.seek(self._offset)
            data = f.read()
        self._offset += len(data)
        return self._decoder.decode(data) if data else None

    def debug_info(self) -> str | None:
        """The file."""
        return f"the file {self.path}"
