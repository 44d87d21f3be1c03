"""Message readers for processes that cannot write where the orchestrator reads as they
go (another machine, a cloud job): the process uploads its messages in numbered chunks
to a blob store, and the orchestrator downloads chunk 1, 2, ... in order.

``PipesBlobStoreMessageReader`` is the base (Dagster's): a subclass says where the chunks
are (``get_params``, what the process finds in ``DAGSTER_PIPES_MESSAGES``) and how to
fetch one (``download_messages_chunk``). It polls every ``interval`` seconds on a thread,
reads every chunk left when the session closes, and runs its ``log_readers`` (forwarding
the process's stdout and stderr) alongside. ``PipesDirectoryMessageReader`` is the one
for a local directory, the "bucket" of ``trellis_pipes.PipesDirectoryMessageWriter``.

A chunk is the text of several messages, one JSON object a line. One that does not parse
yet (a store that shows a chunk before it is whole) is fetched again at the next poll;
once the session has closed, its unreadable lines are reported as such.
"""

from __future__ import annotations

import json
import os
import tempfile
import threading
import time
from abc import abstractmethod
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from trellis.api.pipes.log_readers import PipesLogReader
from trellis.api.pipes.readers import PipesMessageReader
from trellis_pipes import PipesOpenedData, PipesParams

if TYPE_CHECKING:
    from trellis.api.pipes.message_handler import PipesMessageHandler


class PipesBlobStoreMessageReader(PipesMessageReader):
    """Reads messages that the process uploads in numbered chunks (see the module
    docstring): every ``interval`` seconds it downloads the next chunks, once
    ``messages_are_readable``; ``log_readers`` forward the process's logs.

    ``wait_for_logs_seconds``: how long, after the session closed, to wait for a log
    reader's target to appear before warning that it never did. One reader may serve
    sessions that run at the same time (each reads its own chunks), but its log readers
    follow one session at a time."""

    wait_for_logs_seconds: float = 10.0

    def __init__(
        self, interval: float = 10, log_readers: Sequence[PipesLogReader] | None = None
    ) -> None:
        owner = type(self).__name__
        if isinstance(interval, bool) or not isinstance(interval, (int, float)) or interval <= 0:
            raise TypeError(
                f"{owner}: interval must be a positive number of seconds, got {interval!r}."
            )
        self.interval = float(interval)
        self.counter = 1  # the next chunk of the latest session
        self.log_readers: list[PipesLogReader] = []
        for log_reader in log_readers or ():
            self.add_log_reader(log_reader)
        self.opened_payload: PipesOpenedData | None = None
        self.launched_payload: Any = None

    def add_log_reader(self, log_reader: PipesLogReader) -> None:
        """Forward one more log (before the session opens)."""
        if not isinstance(log_reader, PipesLogReader):
            raise TypeError(
                f"{type(self).__name__}: log_readers holds {log_reader!r:.80}, not a "
                "PipesLogReader."
            )
        self.log_readers.append(log_reader)

    # -- what a subclass says --------------------------------------------------------------
    @abstractmethod
    @contextmanager
    def get_params(self) -> Iterator[PipesParams]:
        """A context manager: make the place the chunks go, yield the parameters that
        name it (the process's ``DAGSTER_PIPES_MESSAGES``), clean up at the end."""

    @abstractmethod
    def download_messages_chunk(self, index: int, params: PipesParams) -> str | None:
        """The text of chunk ``index`` (from 1), or None when it is not there yet."""

    def messages_are_readable(self, params: PipesParams) -> bool:
        """Whether to look for chunks yet (True by default; a store that the process
        creates itself says False until it exists)."""
        return True

    def on_opened(self, opened_payload: PipesOpenedData) -> None:
        """Keep the ``opened`` message's params."""
        self.opened_payload = opened_payload

    def on_launched(self, launched_payload: Any) -> None:
        """Keep what the launcher reported."""
        self.launched_payload = launched_payload

    # -- reading ---------------------------------------------------------------------------
    @contextmanager
    def read_messages(self, handler: PipesMessageHandler) -> Iterator[PipesParams]:
        """Poll for chunks and run the log readers on threads while the session is open;
        at its end, read every chunk left and wait for the logs."""
        self.counter = 1
        with self.get_params() as params:
            closed = threading.Event()
            messages = threading.Thread(
                target=self._read_chunks,
                args=(handler, params, closed),
                name="trellis-pipes-chunks",
                daemon=True,
            )
            logs = threading.Thread(
                target=self._run_log_readers,
                args=(handler, params, closed, messages),
                name="trellis-pipes-logs",
                daemon=True,
            )
            messages.start()
            logs.start()
            try:
                yield params
            finally:
                closed.set()
                messages.join()
                logs.join()

    def _read_chunks(
        self, handler: PipesMessageHandler, params: PipesParams, closed: threading.Event
    ) -> None:
        index = 1  # this session's (a reader shared by concurrent steps reads each apart)
        try:
            while True:
                closing = closed.is_set()  # read once more after the session closed
                if self.messages_are_readable(params):
                    while self._take_chunk(handler, params, index, final=closing):
                        index += 1
                        self.counter = index
                if closing:
                    return
                closed.wait(self.interval)
        except Exception as exc:
            handler.report_pipes_framework_exception(f"{type(self).__name__} (chunk {index})", exc)

    def _take_chunk(
        self, handler: PipesMessageHandler, params: PipesParams, index: int, final: bool
    ) -> bool:
        """Hand chunk ``index`` to the handler; False when it is not there (or, before the
        end, not whole yet)."""
        chunk = self.download_messages_chunk(index, params)
        if not chunk:
            return False
        lines = [line for line in chunk.split("\n") if line.strip()]
        if not final:
            try:
                for line in lines:
                    json.loads(line)
            except ValueError:
                return False  # not whole yet: fetched again at the next poll
        for line in lines:
            handler.handle_line(line)
        return True

    def _run_log_readers(
        self,
        handler: PipesMessageHandler,
        params: PipesParams,
        closed: threading.Event,
        messages: threading.Thread,
    ) -> None:
        try:
            waiting = list(self.log_readers)
            started: list[PipesLogReader] = []
            closed_at: float | None = None
            while waiting:
                for log_reader in list(waiting):
                    if log_reader.target_is_readable(params):
                        log_reader.start(params, closed)
                        started.append(log_reader)
                        waiting.remove(log_reader)
                if not waiting:
                    break
                if not closed.is_set():
                    closed.wait(min(self.interval, 0.5))
                    continue
                closed_at = closed_at or time.monotonic()  # a log may be written late
                if time.monotonic() - closed_at > self.wait_for_logs_seconds:
                    for log_reader in waiting:
                        where = log_reader.debug_info()
                        handler.report_pipes_warning(
                            f"{log_reader.name} never found its log"
                            + (f" ({where})" if where else "")
                            + f" within {self.wait_for_logs_seconds:g}s of the session's "
                            "end: nothing forwarded."
                        )
                    break
                time.sleep(0.1)
            messages.join()
            for log_reader in started:
                log_reader.stop()
        except Exception as exc:
            handler.report_pipes_framework_exception(f"{type(self).__name__}'s log readers", exc)

    def no_messages_debug_text(self) -> str:
        """Where the chunks were expected."""
        return "Messages were expected in numbered chunks in a blob store."


class PipesDirectoryMessageReader(PipesBlobStoreMessageReader):
    """A blob-store reader over a local directory: the process (with
    ``open_dagster_pipes(message_writer=PipesDirectoryMessageWriter())``) writes chunk N
    as ``N.json`` in ``path``, a temporary directory by default (removed at the end, as
    is ``path``'s content with ``cleanup``). Its parameters are ``{"directory": DIR}``."""

    def __init__(
        self,
        path: str | os.PathLike[str] | None = None,
        *,
        interval: float = 1,
        log_readers: Sequence[PipesLogReader] | None = None,
        cleanup: bool = True,
    ) -> None:
        super().__init__(interval=interval, log_readers=log_readers)
        if path is not None and (not isinstance(path, (str, os.PathLike)) or not os.fspath(path)):
            raise TypeError(f"PipesDirectoryMessageReader needs a directory path, got {path!r}.")
        self.path = os.fspath(path) if path is not None else None
        self.cleanup = cleanup

    @contextmanager
    def get_params(self) -> Iterator[PipesParams]:
        """Make the directory (a temporary one without ``path``); yield ``{"directory":
        ...}``; remove the chunks (or the temporary directory) at the end."""
        if self.path is None:
            with tempfile.TemporaryDirectory(prefix="trellis-pipes-chunks-") as directory:
                yield {"directory": directory}
            return
        os.makedirs(self.path, exist_ok=True)
        stale = [name for name in os.listdir(self.path) if _chunk_index(name) is not None]
        if stale:
            raise FileExistsError(
                f"PipesDirectoryMessageReader: {self.path} already holds message chunks "
                f"({', '.join(sorted(stale)[:3])}...): give each session a directory of its own."
            )
        try:
            yield {"directory": os.path.abspath(self.path)}
        finally:
            if self.cleanup:
                for name in os.listdir(self.path):
                    if _chunk_index(name) is not None or name.endswith(".json.partial"):
                        os.remove(os.path.join(self.path, name))

    def messages_are_readable(self, params: PipesParams) -> bool:
        """Whether the directory exists."""
        return os.path.isdir(params["directory"])

    def download_messages_chunk(self, index: int, params: PipesParams) -> str | None:
        """The text of ``{directory}/{index}.json``, or None while it does not exist."""
        try:
            with open(os.path.join(params["directory"], f"{index}.json"), encoding="utf-8") as f:
                return f.read()
        except FileNotFoundError:
            return None

    def no_messages_debug_text(self) -> str:
        """Where the chunks were expected."""
        where = self.path or "a temporary directory"
        return (
            f"Messages were expected as numbered chunks (1.json, 2.json, ...) in {where}; "
            "the process must write them with PipesDirectoryMessageWriter."
        )


def _chunk_index(name: str) -> int | None:
    stem, dot, ext = name.partition(".")
    return int(stem) if dot and ext == "json" and stem.isdigit() else None
