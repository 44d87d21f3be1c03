"""How a Pipes session reaches the external process: context injectors (where the process
reads its context) and message readers (where it writes its messages). Each yields the
parameters the process finds in ``DAGSTER_PIPES_CONTEXT`` and ``DAGSTER_PIPES_MESSAGES``.

The defaults of ``PipesSubprocessClient`` are a temporary JSON file for the context and a
temporary file of JSON lines for the messages, which a thread of this process tails while
the process runs (``trellis_pipes`` and Dagster's ``dagster_pipes`` both write there)."""

from __future__ import annotations

import json
import os
import tempfile
import threading
from abc import ABC, abstractmethod
from collections.abc import Iterator, Sequence
from contextlib import ExitStack, contextmanager
from typing import TYPE_CHECKING, Any

from trellis_pipes import (
    PipesContextData,
    PipesDefaultContextLoader,
    PipesDefaultMessageWriter,
    PipesOpenedData,
    PipesParams,
)

if TYPE_CHECKING:
    from trellis.api.pipes.message_handler import PipesMessageHandler

POLL_SECONDS = 0.05
"""How often the file reader looks for new messages while the process runs."""


class PipesContextInjector(ABC):
    """Puts the context data where the external process can read it."""

    @abstractmethod
    @contextmanager
    def inject_context(self, context_data: PipesContextData) -> Iterator[PipesParams]:
        """A context manager: write ``context_data`` somewhere, yield the parameters that
        say where, and clean up at the end of the session."""

    @abstractmethod
    def no_messages_debug_text(self) -> str:
        """What to say about this injector when the process sent no message at all."""


class PipesMessageReader(ABC):
    """Receives the external process's messages and hands them to the session's
    ``PipesMessageHandler`` (``handle_message`` or ``handle_line``, from any thread)."""

    @abstractmethod
    @contextmanager
    def read_messages(self, handler: PipesMessageHandler) -> Iterator[PipesParams]:
        """A context manager: start receiving, yield the parameters that say where the
        process should write; at the end, receive everything written, then stop."""

    def on_opened(self, opened_payload: PipesOpenedData) -> None:
        """Called with the ``opened`` message's params (nothing to do by default)."""
        return None

    def on_launched(self, launched_payload: Any) -> None:
        """Called by ``PipesSession.report_launched`` (nothing to do by default)."""
        return None

    @abstractmethod
    def no_messages_debug_text(self) -> str:
        """What to say about this reader when the process sent no message at all."""


class PipesFileContextInjector(PipesContextInjector):
    """Writes the context as JSON to ``path`` (removed when the session ends)."""

    def __init__(self, path: str) -> None:
        if not isinstance(path, str) or not path:
            raise TypeError(f"PipesFileContextInjector needs a file path, got {path!r}.")
        self._path = path

    @contextmanager
    def inject_context(self, context_data: PipesContextData) -> Iterator[PipesParams]:
        """Write the file; yield ``{"path": path}``."""
        with open(self._path, "w", encoding="utf-8") as f:
            json.dump(context_data, f)
        try:
            yield {PipesDefaultContextLoader.FILE_PATH_KEY: self._path}
        finally:
            _remove(self._path)

    def no_messages_debug_text(self) -> str:
        """Where the context was."""
        return f"The context was written to the file {self._path}."


class PipesTempFileContextInjector(PipesContextInjector):
    """Writes the context as JSON to a temporary file (the default)."""

    @contextmanager
    def inject_context(self, context_data: PipesContextData) -> Iterator[PipesParams]:
        """Write a temporary file; yield ``{"path": ...}``."""
        with (
            tempfile.TemporaryDirectory(prefix="trellis-pipes-") as directory,
            PipesFileContextInjector(os.path.join(directory, "context.json")).inject_context(
                context_data
            ) as params,
        ):
            yield params

    def no_messages_debug_text(self) -> str:
        """Where the context was."""
        return "The context was written to a temporary file."


class PipesEnvContextInjector(PipesContextInjector):
    """Puts the context itself in the parameters (``{"data": {...}}``), so it travels in
    the ``DAGSTER_PIPES_CONTEXT`` environment variable."""

    @contextmanager
    def inject_context(self, context_data: PipesContextData) -> Iterator[PipesParams]:
        """Yield ``{"data": context_data}``."""
        yield {PipesDefaultContextLoader.DIRECT_KEY: context_data}

    def no_messages_debug_text(self) -> str:
        """Where the context was."""
        return "The context was passed in the DAGSTER_PIPES_CONTEXT environment variable."


class PipesFileMessageReader(PipesMessageReader):
    """Reads messages the process appends to ``path``, one JSON object a line, with a
    thread that tails the file while the session is open and reads it to the end when
    the session closes. ``include_stdio_in_messages`` asks the process's writer to send
    its stdout and stderr as messages too (Dagster's ``dagster_pipes`` does;
    ``trellis_pipes`` leaves them on the process's own streams). ``cleanup_file``:
    remove the file at the end."""

    def __init__(
        self, path: str, include_stdio_in_messages: bool = False, cleanup_file: bool = True
    ) -> None:
        if not isinstance(path, str) or not path:
            raise TypeError(f"PipesFileMessageReader needs a file path, got {path!r}.")
        self._path = path
        self._include_stdio = bool(include_stdio_in_messages)
        self._cleanup = cleanup_file
        self.launched_payload: Any = None

    def on_launched(self, launched_payload: Any) -> None:
        """Keep what the launcher reported."""
        self.launched_payload = launched_payload

    @contextmanager
    def read_messages(self, handler: PipesMessageHandler) -> Iterator[PipesParams]:
        """Create the file, tail it on a thread; at the end read it to its end."""
        with open(self._path, "w", encoding="utf-8"):
            pass
        stop = threading.Event()
        thread = threading.Thread(
            target=self._tail, args=(handler, stop), name="trellis-pipes-reader", daemon=True
        )
        thread.start()
        try:
            yield {
                PipesDefaultMessageWriter.FILE_PATH_KEY: self._path,
                PipesDefaultMessageWriter.INCLUDE_STDIO_IN_MESSAGES_KEY: self._include_stdio,
            }
        finally:
            stop.set()
            thread.join()
            if self._cleanup:
                _remove(self._path)

    def _tail(self, handler: PipesMessageHandler, stop: threading.Event) -> None:
        try:
            with open(self._path, "rb") as f:
                partial = b""
                while True:
                    stopping = stop.is_set()  # read once more after the session closed
                    chunk = f.read()
                    if chunk:
                        lines = (partial + chunk).split(b"\n")
                        partial = lines.pop()
                        for line in lines:
                            handler.handle_line(line.decode("utf-8", errors="replace"))
                    elif stopping:
                        break
                    else:
                        stop.wait(POLL_SECONDS)
                if partial:  # a last line without its newline (the writer died mid-line)
                    handler.handle_line(partial.decode("utf-8", errors="replace"))
        except Exception as exc:
            handler.report_pipes_framework_exception(f"the reader of {self._path}", exc)

    def no_messages_debug_text(self) -> str:
        """Where the messages were expected."""
        return f"Messages were expected in the file {self._path}."


class PipesTempFileMessageReader(PipesMessageReader):
    """Reads messages from a temporary file (the default): a ``PipesFileMessageReader``
    in a directory of its own, removed at the end."""

    def __init__(self, include_stdio_in_messages: bool = False) -> None:
        self._include_stdio = bool(include_stdio_in_messages)

    @contextmanager
    def read_messages(self, handler: PipesMessageHandler) -> Iterator[PipesParams]:
        """Tail a temporary file while the session is open."""
        with tempfile.TemporaryDirectory(prefix="trellis-pipes-") as directory:
            reader = PipesFileMessageReader(
                os.path.join(directory, "messages.jsonl"), self._include_stdio
            )
            with reader.read_messages(handler) as params:
                yield params

    def no_messages_debug_text(self) -> str:
        """Where the messages were expected."""
        return "Messages were expected in a temporary file."


class PipesCompositeMessageReader(PipesMessageReader):
    """Several message readers in one session, feeding one handler: each is opened and
    closed with the session, and the parameters the process receives are the union of
    theirs, so that each writer finds its own (a process writing with the default writer
    reads ``path``, one writing with ``PipesDirectoryMessageWriter`` reads ``directory``).
    Processes of one session that write in different ways thus all report to it. Two
    readers whose parameters share a name with different values are refused when the
    session opens; ``opened`` and ``launched`` reach every reader."""

    def __init__(self, message_readers: Sequence[PipesMessageReader]) -> None:
        if isinstance(message_readers, PipesMessageReader) or not isinstance(
            message_readers, Sequence
        ):
            raise TypeError(
                "PipesCompositeMessageReader needs a list of message readers, got "
                f"{message_readers!r:.100}."
            )
        for reader in message_readers:
            if not isinstance(reader, PipesMessageReader):
                raise TypeError(
                    f"PipesCompositeMessageReader: {reader!r:.80} is not a PipesMessageReader."
                )
        if not message_readers:
            raise TypeError("PipesCompositeMessageReader needs at least one message reader.")
        self.message_readers = list(message_readers)
        self.params_by_reader: list[PipesParams] = []

    @contextmanager
    def read_messages(self, handler: PipesMessageHandler) -> Iterator[PipesParams]:
        """Open every reader; yield the union of their parameters."""
        with ExitStack() as stack:
            merged: dict[str, Any] = {}
            owners: dict[str, PipesMessageReader] = {}
            self.params_by_reader = []
            for reader in self.message_readers:
                params = stack.enter_context(reader.read_messages(handler))
                self.params_by_reader.append(params)
                for name, value in params.items():
                    if name in merged and merged[name] != value:
                        raise ValueError(
                            f"PipesCompositeMessageReader: {type(owners[name]).__name__} and "
                            f"{type(reader).__name__} both set the message parameter "
                            f"{name!r} ({merged[name]!r} and {value!r}); combine readers "
                            "whose writers read different parameters."
                        )
                    merged[name] = value
                    owners.setdefault(name, reader)
            yield merged

    def on_opened(self, opened_payload: PipesOpenedData) -> None:
        """Tell every reader."""
        for reader in self.message_readers:
            reader.on_opened(opened_payload)

    def on_launched(self, launched_payload: Any) -> None:
        """Tell every reader."""
        for reader in self.message_readers:
            reader.on_launched(launched_payload)

    def no_messages_debug_text(self) -> str:
        """What each reader expected."""
        return " ".join(
            f"{type(r).__name__}: {r.no_messages_debug_text()}" for r in self.message_readers
        )


def _remove(path: str) -> None:
    try:
        os.remove(path)
    except FileNotFoundError:
        pass
