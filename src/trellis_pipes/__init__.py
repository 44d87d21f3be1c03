"""``trellis_pipes``: the external side of Pipes, for a process that Trellis launches.

A script run by ``PipesSubprocessClient`` (or any ``open_pipes_session``) imports this
module, and only this module, to read what the orchestrating step tells it (the run, the
asset keys, the partition, user extras) and to report back: log lines, asset
materializations with metadata and a data version, asset check results, custom messages.

    from trellis_pipes import open_dagster_pipes

    with open_dagster_pipes() as pipes:
        pipes.log.info(f"computing {pipes.asset_key} for {pipes.get_extra('region')}")
        pipes.report_asset_materialization(metadata={"rows": 42}, data_version="v1")

The names are those of Dagster's ``dagster_pipes`` module, so an external script written
for Dagster ports by changing its import, and the protocol is Dagster Pipes' protocol
version 0.1 (``PIPES_PROTOCOL_VERSION``): a script using this module can report to a
Dagster orchestrator, and a script using ``dagster_pipes`` to Trellis. The protocol is
described in ``docs/pipes-protocol.md``; in short:

- the orchestrator sets two environment variables (or ``--dagster-pipes-context`` /
  ``--dagster-pipes-messages`` arguments), ``DAGSTER_PIPES_CONTEXT`` and
  ``DAGSTER_PIPES_MESSAGES``, each a JSON object compressed with zlib and encoded in
  base64 (``encode_param`` / ``decode_param``): where to read the context (``{"path":
  FILE}`` or ``{"data": {...}}``) and where to write messages (``{"path": FILE}``, or
  ``{"stdio": "stderr"|"stdout"}``, or ``{"buffered_stdio": ...}``);
- the context is one JSON object (``PipesContextData``);
- messages are JSON objects, one per line: ``{"__dagster_pipes_version": "0.1",
  "method": ..., "params": {...}}``, ``opened`` first and ``closed`` last.

This file needs the Python standard library only (Python 3.9 or later) and imports
nothing from Trellis: copy it next to a script, or install ``trellis``, which ships it.
"""

from __future__ import annotations

import base64
import io
import json
import logging
import os
import sys
import threading
import traceback
import warnings
import zlib
from abc import ABC, abstractmethod
from collections.abc import Iterator, Mapping, Sequence
from contextlib import ExitStack, contextmanager
from typing import IO, Any, ClassVar, Generic, Literal, TypedDict, TypeVar, cast

__all__ = [
    "DAGSTER_PIPES_CONTEXT_ENV_VAR",
    "DAGSTER_PIPES_MESSAGES_ENV_VAR",
    "PIPES_METADATA_TYPE_INFER",
    "PIPES_PROTOCOL_VERSION",
    "PIPES_PROTOCOL_VERSION_FIELD",
    "DagsterPipesError",
    "DagsterPipesWarning",
    "PipesAssetCheckSeverity",
    "PipesBlobStoreMessageWriter",
    "PipesBlobStoreMessageWriterChannel",
    "PipesBufferedFilesystemMessageWriterChannel",
    "PipesBufferedStreamMessageWriterChannel",
    "PipesCliArgsParamsLoader",
    "PipesContext",
    "PipesContextData",
    "PipesContextLoader",
    "PipesDataProvenance",
    "PipesDefaultContextLoader",
    "PipesDefaultMessageWriter",
    "PipesDirectoryMessageWriter",
    "PipesEnvVarParamsLoader",
    "PipesException",
    "PipesExtras",
    "PipesFileMessageWriterChannel",
    "PipesMappingParamsLoader",
    "PipesMessage",
    "PipesMessageWriter",
    "PipesMessageWriterChannel",
    "PipesMetadataValue",
    "PipesOpenedData",
    "PipesParams",
    "PipesParamsLoader",
    "PipesPartitionKeyRange",
    "PipesStreamMessageWriterChannel",
    "PipesTimeWindow",
    "decode_env_var",
    "decode_param",
    "encode_env_var",
    "encode_param",
    "open_dagster_pipes",
    "to_asset_key_path",
    "to_escaped_asset_key",
]

# -- the protocol ---------------------------------------------------------------------------

PIPES_PROTOCOL_VERSION = "0.1"
"""The version of the protocol (not of this module); the same as Dagster Pipes'."""

PIPES_PROTOCOL_VERSION_FIELD = "__dagster_pipes_version"
"""The key of every message that carries ``PIPES_PROTOCOL_VERSION``."""

DAGSTER_PIPES_CONTEXT_ENV_VAR = "DAGSTER_PIPES_CONTEXT"
"""Environment variable: where to read the context (encoded with ``encode_param``)."""

DAGSTER_PIPES_MESSAGES_ENV_VAR = "DAGSTER_PIPES_MESSAGES"
"""Environment variable: where to write messages (encoded with ``encode_param``)."""

PIPES_METADATA_TYPE_INFER = "__infer__"
"""The metadata type that lets the orchestrator infer the type from the raw value."""

PipesExtras = Mapping[str, Any]
PipesParams = Mapping[str, Any]
PipesAssetCheckSeverity = Literal["WARN", "ERROR"]

METHODS = frozenset(
    {
        "opened",
        "closed",
        "log",
        "report_asset_materialization",
        "report_asset_check",
        "report_custom_message",
        "log_external_stream",
    }
)
"""Every message ``method`` of protocol 0.1."""

METADATA_TYPES = frozenset(
    {
        PIPES_METADATA_TYPE_INFER,
        "text",
        "url",
        "path",
        "notebook",
        "json",
        "md",
        "float",
        "int",
        "bool",
        "dagster_run",
        "asset",
        "null",
        "table",
        "table_schema",
        "table_column_lineage",
        "timestamp",
    }
)
"""The metadata ``type`` names a message may carry."""


class PipesPartitionKeyRange(TypedDict):
    """The first and last partition key a step covers (the same key for one partition)."""

    start: str
    end: str


class PipesTimeWindow(TypedDict):
    """The time span a time-partitioned step covers, as ISO 8601 timestamps."""

    start: str
    end: str


class PipesDataProvenance(TypedDict):
    """Where an asset's current data came from: its code version and the data versions of
    the inputs it was computed from."""

    code_version: str
    input_data_versions: Mapping[str, str]
    is_user_provided: bool


class PipesContextData(TypedDict):
    """The context the orchestrator hands the external process (one JSON object).

    ``asset_keys`` is None for an op; asset keys are escaped strings
    (``to_escaped_asset_key``). ``partition_key`` is None unless the step covers exactly
    one partition; ``partition_key_range`` is None unless it is partitioned."""

    asset_keys: Sequence[str] | None
    code_version_by_asset_key: Mapping[str, str | None] | None
    provenance_by_asset_key: Mapping[str, PipesDataProvenance | None] | None
    partition_key: str | None
    partition_key_range: PipesPartitionKeyRange | None
    partition_time_window: PipesTimeWindow | None
    run_id: str
    job_name: str | None
    retry_number: int
    extras: Mapping[str, Any]


class PipesOpenedData(TypedDict):
    """The params of the ``opened`` message: what the writer wants the orchestrator to know."""

    extras: Mapping[str, Any]


class PipesMetadataValue(TypedDict):
    """One metadata entry in a message: the raw JSON value and its type name."""

    type: str
    raw_value: Any


class PipesException(TypedDict):
    """An exception as the ``closed`` message carries it."""

    message: str
    stack: Sequence[str]
    name: str | None
    cause: PipesException | None
    context: PipesException | None


# The version key starts with two underscores: a class body would mangle it.
PipesMessage = TypedDict(
    "PipesMessage",
    {"__dagster_pipes_version": str, "method": str, "params": "Mapping[str, Any] | None"},
)
PipesMessage.__doc__ = "One message from the external process to the orchestrator."


class DagsterPipesError(Exception):
    """Pipes was used in a way the protocol does not allow (the message says how)."""


class DagsterPipesWarning(Warning):
    """Pipes works, but not as the process probably expects (e.g. not launched by an
    orchestrator)."""


def encode_param(value: Any) -> str:
    """``value`` as a bootstrap parameter: JSON, compressed with zlib, in base64."""
    try:
        text = json.dumps(value)
    except (TypeError, ValueError) as exc:
        raise DagsterPipesError(f"A Pipes parameter must be JSON-serializable: {exc}") from exc
    return base64.b64encode(zlib.compress(text.encode("utf-8"))).decode("ascii")


def decode_param(value: str) -> Any:
    """The value ``encode_param`` encoded."""
    return json.loads(zlib.decompress(base64.b64decode(value)).decode("utf-8"))


encode_env_var = encode_param
decode_env_var = decode_param


def to_escaped_asset_key(path: Sequence[str]) -> str:
    """An asset key's parts as one string: joined with ``/``, a ``/`` or ``\\`` inside a
    part escaped with a backslash (``["a", "b/c"]`` -> ``a/b\\/c``)."""
    return "/".join(part.replace("\\", "\\\\").replace("/", "\\/") for part in path)


def to_asset_key_path(asset_key: str) -> list[str]:
    """The parts of an escaped asset key string (the inverse of ``to_escaped_asset_key``):
    ``/`` separates parts, a backslash makes the next character literal."""
    parts: list[str] = []
    current: list[str] = []
    chars = iter(asset_key)
    for char in chars:
        if char == "\\":
            current.append(next(chars, ""))
        elif char == "/":
            parts.append("".join(current))
            current = []
        else:
            current.append(char)
    if current:
        parts.append("".join(current))
    return parts


def make_message(method: str, params: Mapping[str, Any] | None) -> PipesMessage:
    """A protocol message (``method`` one of ``METHODS``)."""
    return {"__dagster_pipes_version": PIPES_PROTOCOL_VERSION, "method": method, "params": params}


def _check_json(value: Any, what: str) -> None:
    try:
        json.dumps(value)
    except (TypeError, ValueError) as exc:
        raise DagsterPipesError(f"{what} must be JSON-serializable: {exc}") from exc


def _metadata_param(metadata: Any, method: str) -> dict[str, PipesMetadataValue] | None:
    """Metadata as messages carry it: each entry ``{"raw_value": ..., "type": ...}``; a
    plain value gets the type ``__infer__``."""
    if metadata is None:
        return None
    if not isinstance(metadata, Mapping):
        raise DagsterPipesError(
            f"metadata of {method} must be a mapping of names to values, got "
            f"{type(metadata).__name__}."
        )
    entries: dict[str, PipesMetadataValue] = {}
    for name, value in metadata.items():
        if not isinstance(name, str):
            raise DagsterPipesError(f"metadata names of {method} must be strings, got {name!r}.")
        if isinstance(value, Mapping) and set(value) == {"raw_value", "type"}:
            if value["type"] not in METADATA_TYPES:
                raise DagsterPipesError(
                    f"metadata '{name}' of {method} has type {value['type']!r}; the types are "
                    f"{sorted(METADATA_TYPES)}."
                )
            entry: PipesMetadataValue = {"raw_value": value["raw_value"], "type": value["type"]}
        else:
            entry = {"raw_value": value, "type": PIPES_METADATA_TYPE_INFER}
        _check_json(entry["raw_value"], f"metadata '{name}' of {method}")
        entries[name] = entry
    return entries


def _exception_of(exc: traceback.TracebackException) -> PipesException:
    """An exception, its cause and its context, as the ``closed`` message carries them."""
    exc_type = getattr(exc, "exc_type", None)
    name = exc_type.__name__ if exc_type is not None else None
    if name is None:  # Python 3.13 keeps only the type's qualified name
        type_str = getattr(exc, "exc_type_str", None)
        name = type_str.rsplit(".", 1)[-1] if type_str else None
    cause, context = exc.__cause__, exc.__context__
    return {
        "message": "".join(exc.format_exception_only()),
        "stack": exc.stack.format(),
        "name": name,
        "cause": _exception_of(cause) if cause is not None else None,
        "context": _exception_of(context) if context is not None else None,
    }


# -- where the params come from ---------------------------------------------------------------


class PipesParamsLoader(ABC):
    """Finds the two bootstrap parameters: where the context is, where messages go."""

    @abstractmethod
    def is_dagster_pipes_process(self) -> bool:
        """Whether an orchestrator launched this process with Pipes parameters."""

    @abstractmethod
    def load_context_params(self) -> PipesParams:
        """The context injector's parameters (where to read the context)."""

    @abstractmethod
    def load_messages_params(self) -> PipesParams:
        """The message reader's parameters (where to write messages)."""


class PipesMappingParamsLoader(PipesParamsLoader):
    """Reads the parameters from a mapping of names (the environment variables' names) to
    encoded values."""

    def __init__(self, mapping: Mapping[str, str]) -> None:
        self._mapping = mapping

    def is_dagster_pipes_process(self) -> bool:
        """Whether the mapping holds a context parameter."""
        return DAGSTER_PIPES_CONTEXT_ENV_VAR in self._mapping

    def load_context_params(self) -> PipesParams:
        """The decoded ``DAGSTER_PIPES_CONTEXT``."""
        return self._load(DAGSTER_PIPES_CONTEXT_ENV_VAR)

    def load_messages_params(self) -> PipesParams:
        """The decoded ``DAGSTER_PIPES_MESSAGES``."""
        return self._load(DAGSTER_PIPES_MESSAGES_ENV_VAR)

    def _load(self, name: str) -> PipesParams:
        raw = self._mapping.get(name)
        if raw is None:
            raise DagsterPipesError(f"{name} is not set: the orchestrator sets it.")
        try:
            params = decode_param(raw)
        except Exception as exc:
            raise DagsterPipesError(
                f"{name} is not a Pipes parameter (base64 of zlib-compressed JSON): {exc}"
            ) from exc
        if not isinstance(params, Mapping):
            raise DagsterPipesError(f"{name} must hold a JSON object, got {params!r}.")
        return params


class PipesEnvVarParamsLoader(PipesMappingParamsLoader):
    """Reads the parameters from the environment variables ``DAGSTER_PIPES_CONTEXT`` and
    ``DAGSTER_PIPES_MESSAGES`` (the default)."""

    def __init__(self) -> None:
        super().__init__(os.environ)


def _cli_argument(env_var: str) -> str:
    return "--" + env_var.lower().replace("_", "-")


class PipesCliArgsParamsLoader(PipesParamsLoader):
    """Reads the parameters from the command line: ``--dagster-pipes-context VALUE`` and
    ``--dagster-pipes-messages VALUE`` (or ``--name=VALUE``)."""

    def __init__(self, argv: Sequence[str] | None = None) -> None:
        self._argv = list(sys.argv[1:] if argv is None else argv)

    def _values(self) -> dict[str, str]:
        names = {
            _cli_argument(DAGSTER_PIPES_CONTEXT_ENV_VAR): DAGSTER_PIPES_CONTEXT_ENV_VAR,
            _cli_argument(DAGSTER_PIPES_MESSAGES_ENV_VAR): DAGSTER_PIPES_MESSAGES_ENV_VAR,
        }
        found: dict[str, str] = {}
        args = self._argv
        for index, arg in enumerate(args):
            flag, _, value = arg.partition("=")
            if flag in names:
                if not value and index + 1 < len(args):
                    value = args[index + 1]
                found[names[flag]] = value
        return found

    def is_dagster_pipes_process(self) -> bool:
        """Whether ``--dagster-pipes-context`` was given."""
        return DAGSTER_PIPES_CONTEXT_ENV_VAR in self._values()

    def load_context_params(self) -> PipesParams:
        """The decoded ``--dagster-pipes-context``."""
        return PipesMappingParamsLoader(self._values()).load_context_params()

    def load_messages_params(self) -> PipesParams:
        """The decoded ``--dagster-pipes-messages``."""
        return PipesMappingParamsLoader(self._values()).load_messages_params()


# -- reading the context ------------------------------------------------------------------------


class PipesContextLoader(ABC):
    """Reads the context data from where the context injector's parameters say."""

    @abstractmethod
    @contextmanager
    def load_context(self, params: PipesParams) -> Iterator[PipesContextData]:
        """A context manager that yields the context data."""


class PipesDefaultContextLoader(PipesContextLoader):
    """Reads the context from a JSON file (``{"path": FILE}``) or from the parameter itself
    (``{"data": {...}}``)."""

    FILE_PATH_KEY = "path"
    DIRECT_KEY = "data"

    @contextmanager
    def load_context(self, params: PipesParams) -> Iterator[PipesContextData]:
        """Yield the context data."""
        if self.FILE_PATH_KEY in params:
            path = params[self.FILE_PATH_KEY]
            if not isinstance(path, str):
                raise DagsterPipesError(f"The context 'path' must be a string, got {path!r}.")
            with open(path, encoding="utf-8") as f:
                data = json.load(f)
        elif self.DIRECT_KEY in params:
            data = params[self.DIRECT_KEY]
        else:
            raise DagsterPipesError(
                f"The context parameters name neither a file ('path') nor the data ('data'): "
                f"{dict(params)!r}. Pass the orchestrator's context loader to open_dagster_pipes."
            )
        if not isinstance(data, Mapping) or "run_id" not in data:
            raise DagsterPipesError(f"The Pipes context is not a context object: {data!r:.200}")
        yield cast(PipesContextData, data)


# -- writing messages ---------------------------------------------------------------------------


class PipesMessageWriterChannel(ABC):
    """Where messages go, once the writer is open."""

    @abstractmethod
    def write_message(self, message: PipesMessage) -> None:
        """Send one message."""


T_MessageChannel = TypeVar("T_MessageChannel", bound=PipesMessageWriterChannel)


class PipesMessageWriter(ABC, Generic[T_MessageChannel]):
    """Opens a channel to the orchestrator from the message reader's parameters."""

    @abstractmethod
    @contextmanager
    def open(self, params: PipesParams) -> Iterator[T_MessageChannel]:
        """A context manager that yields the open channel."""

    def get_opened_payload(self) -> PipesOpenedData:
        """The params of the ``opened`` message."""
        return {"extras": self.get_opened_extras()}

    def get_opened_extras(self) -> PipesExtras:
        """What this writer tells the orchestrator when it opens (nothing by default)."""
        return {}


class PipesFileMessageWriterChannel(PipesMessageWriterChannel):
    """Appends each message to a file as one JSON line; the file is opened and closed for
    each message, so the orchestrator reads each message as soon as it is written."""

    def __init__(self, path: str) -> None:
        self._path = path

    def write_message(self, message: PipesMessage) -> None:
        """Append one line."""
        line = json.dumps(message) + "\n"
        with open(self._path, "a", encoding="utf-8") as f:
            f.write(line)


class PipesStreamMessageWriterChannel(PipesMessageWriterChannel):
    """Writes each message as one JSON line to a stream (stdout or stderr), flushed."""

    def __init__(self, stream: IO[str]) -> None:
        self._stream = stream

    def write_message(self, message: PipesMessage) -> None:
        """Write and flush one line."""
        self._stream.write(json.dumps(message) + "\n")
        self._stream.flush()


class PipesBufferedStreamMessageWriterChannel(PipesMessageWriterChannel):
    """Keeps the messages and writes them all to a stream when the channel closes."""

    def __init__(self, stream: IO[str]) -> None:
        self._stream = stream
        self._buffer: list[PipesMessage] = []

    def write_message(self, message: PipesMessage) -> None:
        """Keep one message."""
        self._buffer.append(message)

    def flush(self) -> None:
        """Write the kept messages."""
        for message in self._buffer:
            self._stream.write(json.dumps(message) + "\n")
        self._stream.flush()
        self._buffer.clear()


class PipesDefaultMessageWriter(PipesMessageWriter[PipesMessageWriterChannel]):
    """Writes messages to a file (``{"path": FILE}``), or to stdout or stderr
    (``{"stdio": "stdout"|"stderr"}``; ``{"buffered_stdio": ...}`` writes them all at
    the end)."""

    FILE_PATH_KEY = "path"
    STDIO_KEY = "stdio"
    BUFFERED_STDIO_KEY = "buffered_stdio"
    STDERR = "stderr"
    STDOUT = "stdout"
    INCLUDE_STDIO_IN_MESSAGES_KEY = "include_stdio_in_messages"

    @contextmanager
    def open(self, params: PipesParams) -> Iterator[PipesMessageWriterChannel]:
        """Yield the channel the parameters name."""
        if params.get(self.INCLUDE_STDIO_IN_MESSAGES_KEY):
            warnings.warn(
                "The orchestrator asked for stdout and stderr in the messages; trellis_pipes "
                "leaves them on the process's own streams.",
                DagsterPipesWarning,
                stacklevel=3,
            )
        if self.FILE_PATH_KEY in params:
            path = params[self.FILE_PATH_KEY]
            if not isinstance(path, str):
                raise DagsterPipesError(f"The messages 'path' must be a string, got {path!r}.")
            yield PipesFileMessageWriterChannel(path)
        elif self.STDIO_KEY in params:
            yield PipesStreamMessageWriterChannel(self._stream(params[self.STDIO_KEY]))
        elif self.BUFFERED_STDIO_KEY in params:
            channel = PipesBufferedStreamMessageWriterChannel(
                self._stream(params[self.BUFFERED_STDIO_KEY])
            )
            try:
                yield channel
            finally:
                channel.flush()
        else:
            hint = (
                "open_dagster_pipes(message_writer=PipesDirectoryMessageWriter())"
                if PipesDirectoryMessageWriter.DIRECTORY_KEY in params
                else "the orchestrator's message writer to open_dagster_pipes"
            )
            raise DagsterPipesError(
                f"The messages parameters name no file ('path') nor stream ('stdio'): "
                f"{dict(params)!r}. Pass {hint}."
            )

    def _stream(self, name: Any) -> IO[str]:
        if name == self.STDOUT:
            return sys.stdout
        if name == self.STDERR:
            return sys.stderr
        raise DagsterPipesError(f"Messages go to 'stdout' or 'stderr', not {name!r}.")


class PipesBlobStoreMessageWriterChannel(PipesMessageWriterChannel):
    """Keeps the messages and uploads them in numbered chunks (1, 2, ...), from a thread,
    every ``interval`` seconds and once more when the channel closes: a chunk is the
    messages written since the previous one, one JSON object a line (without a final
    newline). A subclass says where a chunk goes (``upload_messages_chunk``); the
    orchestrator's ``PipesBlobStoreMessageReader`` downloads the chunks in order."""

    def __init__(self, *, interval: float = 10) -> None:
        self._interval = float(interval)
        self._buffer: list[PipesMessage] = []
        self._lock = threading.Lock()
        self._counter = 1

    def write_message(self, message: PipesMessage) -> None:
        """Keep one message for the next chunk."""
        with self._lock:
            self._buffer.append(message)

    def flush_messages(self) -> list[PipesMessage]:
        """Take the kept messages."""
        with self._lock:
            messages, self._buffer = self._buffer, []
        return messages

    @abstractmethod
    def upload_messages_chunk(self, payload: IO[str], index: int) -> None:
        """Store chunk number ``index`` (from 1), whose text ``payload`` holds."""

    @contextmanager
    def buffered_upload_loop(self) -> Iterator[None]:
        """Upload on a thread while the block runs; upload what is left at its end."""
        closed = threading.Event()
        thread = threading.Thread(
            target=self._upload_loop, args=(closed,), name="trellis-pipes-upload", daemon=True
        )
        thread.start()
        try:
            yield
        finally:
            closed.set()
            thread.join(timeout=60)

    def _upload_loop(self, closed: threading.Event) -> None:
        while True:
            closing = closed.wait(self._interval)
            messages = self.flush_messages()
            if messages:
                payload = "\n".join(json.dumps(message) for message in messages)
                try:
                    self.upload_messages_chunk(io.StringIO(payload), self._counter)
                    self._counter += 1
                except Exception as exc:  # kept for the next try, reported where it can be
                    print(
                        f"trellis_pipes: could not upload messages chunk {self._counter}: "
                        f"{type(exc).__name__}: {exc}",
                        file=sys.stderr,
                    )
                    if not closing:
                        with self._lock:
                            self._buffer[:0] = messages
            if closing:
                return


T_BlobStoreMessageWriterChannel = TypeVar(
    "T_BlobStoreMessageWriterChannel", bound=PipesBlobStoreMessageWriterChannel
)


class PipesBlobStoreMessageWriter(PipesMessageWriter[T_BlobStoreMessageWriterChannel]):
    """A writer that uploads messages in numbered chunks every ``interval`` seconds to a
    blob store (a bucket, a directory): ``make_channel`` builds the channel from the
    message parameters."""

    def __init__(self, *, interval: float = 10) -> None:
        self.interval = float(interval)

    @contextmanager
    def open(self, params: PipesParams) -> Iterator[T_BlobStoreMessageWriterChannel]:
        """Yield the channel, uploading on a thread while it is open."""
        channel = self.make_channel(params)
        with channel.buffered_upload_loop():
            yield channel

    @abstractmethod
    def make_channel(self, params: PipesParams) -> T_BlobStoreMessageWriterChannel:
        """The channel the message parameters name."""


class PipesBufferedFilesystemMessageWriterChannel(PipesBlobStoreMessageWriterChannel):
    """Uploads chunk ``N`` as the file ``N.json`` in the directory ``path`` (written under
    another name, then renamed, so that a reader never sees half a chunk)."""

    def __init__(self, path: str, *, interval: float = 10) -> None:
        super().__init__(interval=interval)
        self._path = path

    def upload_messages_chunk(self, payload: IO[str], index: int) -> None:
        """Write ``{path}/{index}.json``."""
        target = os.path.join(self._path, f"{index}.json")
        partial = target + ".partial"
        with open(partial, "w", encoding="utf-8") as f:
            f.write(payload.read())
        os.replace(partial, target)


class PipesDirectoryMessageWriter(
    PipesBlobStoreMessageWriter[PipesBufferedFilesystemMessageWriterChannel]
):
    """Writes messages in numbered chunks to the directory that the orchestrator's
    ``PipesDirectoryMessageReader`` names (``{"directory": DIR}``), every ``interval``
    seconds: ``open_dagster_pipes(message_writer=PipesDirectoryMessageWriter())``."""

    DIRECTORY_KEY = "directory"

    def __init__(self, *, interval: float = 1) -> None:
        super().__init__(interval=interval)

    def make_channel(self, params: PipesParams) -> PipesBufferedFilesystemMessageWriterChannel:
        """A channel to the directory of the parameters."""
        directory = params.get(self.DIRECTORY_KEY)
        if not isinstance(directory, str) or not directory:
            raise DagsterPipesError(
                "PipesDirectoryMessageWriter needs the messages parameters of a "
                f"PipesDirectoryMessageReader ({{'directory': DIR}}), got {dict(params)!r}."
            )
        if not os.path.isdir(directory):
            raise DagsterPipesError(
                f"PipesDirectoryMessageWriter: the messages directory {directory} does not "
                "exist (is this process on the orchestrator's machine?)."
            )
        return PipesBufferedFilesystemMessageWriterChannel(directory, interval=self.interval)


# -- the context --------------------------------------------------------------------------------


class _PipesLogHandler(logging.Handler):
    """Sends each record to the orchestrator as a ``log`` message at its level."""

    def __init__(self, context: PipesContext) -> None:
        super().__init__(logging.DEBUG)
        self._context = context

    def emit(self, record: logging.LogRecord) -> None:
        message = record.getMessage()
        if record.exc_info and record.exc_info[0] is not None:
            message += "\n" + "".join(traceback.format_exception(*record.exc_info)).rstrip()
        self._context._write_message("log", {"message": message, "level": record.levelname})


def open_dagster_pipes(
    *,
    context_loader: PipesContextLoader | None = None,
    message_writer: PipesMessageWriter[Any] | None = None,
    params_loader: PipesParamsLoader | None = None,
) -> PipesContext:
    """Connect to the orchestrator: read the context, open the message channel, send
    ``opened``; returns the ``PipesContext`` (also ``PipesContext.get()`` from then on).
    Use it as a context manager, so ``closed`` is sent (with the exception, if one ends
    the block) however the block ends.

    In a process that no orchestrator launched, it warns and returns a ``MagicMock``, on
    which every call does nothing, so the script still runs on its own."""
    if PipesContext.is_initialized():
        return PipesContext.get()
    params_loader = params_loader or PipesEnvVarParamsLoader()
    if not params_loader.is_dagster_pipes_process():
        warnings.warn(
            "This process was not launched by an orchestrator through Pipes (no "
            f"{DAGSTER_PIPES_CONTEXT_ENV_VAR}): the Pipes context is a mock and reports "
            "nothing.",
            DagsterPipesWarning,
            stacklevel=2,
        )
        from unittest.mock import MagicMock

        mock: Any = MagicMock()
        PipesContext._instance = mock
        return cast(PipesContext, mock)
    context = PipesContext(
        params_loader,
        context_loader or PipesDefaultContextLoader(),
        message_writer or PipesDefaultMessageWriter(),
    )
    PipesContext.set(context)
    return context


class PipesContext:
    """The external process's view of the step that launched it, and its channel back.

    Made by ``open_dagster_pipes()`` (one per process; ``PipesContext.get()`` returns it).
    Properties read the context (asset keys, partitions, run, extras); ``log`` and the
    ``report_*`` methods send messages. A property that does not apply to the step (the
    asset key of an op, the partition key of an unpartitioned run) raises
    ``DagsterPipesError`` saying so."""

    _instance: ClassVar[PipesContext | None] = None

    @classmethod
    def is_initialized(cls) -> bool:
        """Whether ``open_dagster_pipes()`` was called in this process."""
        return cls._instance is not None

    @classmethod
    def set(cls, context: PipesContext) -> None:
        """Make ``context`` the one ``get()`` returns."""
        cls._instance = context

    @classmethod
    def get(cls) -> PipesContext:
        """The context ``open_dagster_pipes()`` opened."""
        if cls._instance is None:
            raise DagsterPipesError(
                "The Pipes context is not open: call open_dagster_pipes() first."
            )
        return cls._instance

    def __init__(
        self,
        params_loader: PipesParamsLoader,
        context_loader: PipesContextLoader,
        message_writer: PipesMessageWriter[Any],
    ) -> None:
        context_params = params_loader.load_context_params()
        messages_params = params_loader.load_messages_params()
        self._closed = False
        self._stack = ExitStack()
        self._data: Mapping[str, Any] = self._stack.enter_context(
            context_loader.load_context(context_params)
        )
        self._channel: PipesMessageWriterChannel = self._stack.enter_context(
            message_writer.open(messages_params)
        )
        self._materialized: set[str] = set()
        self._logger = logging.Logger("trellis_pipes", logging.DEBUG)
        self._logger.addHandler(_PipesLogHandler(self))
        self._channel.write_message(make_message("opened", message_writer.get_opened_payload()))

    def __enter__(self) -> PipesContext:
        return self

    def __exit__(self, exc_type: Any, exc_value: Any, tb: Any) -> None:
        if exc_value is not None:
            self.close(_exception_of(traceback.TracebackException.from_exception(exc_value)))
        else:
            self.close()

    def close(self, exc: PipesException | None = None) -> None:
        """Send ``closed`` (with ``exc``, the exception that ended the process's work) and
        close the channel. Later calls do nothing; later messages raise."""
        if self._closed:
            return
        self._channel.write_message(make_message("closed", {"exception": exc} if exc else {}))
        self._closed = True
        self._stack.close()

    @property
    def is_closed(self) -> bool:
        """Whether ``close()`` was called."""
        return self._closed

    def _write_message(self, method: str, params: Mapping[str, Any] | None = None) -> None:
        if self._closed:
            raise DagsterPipesError(f"Cannot send '{method}': the Pipes context is closed.")
        self._channel.write_message(make_message(method, params))

    # -- reading the context ------------------------------------------------------------

    def _asset_keys_or_raise(self, what: str) -> Sequence[str]:
        keys = self._data.get("asset_keys")
        if keys is None:
            raise DagsterPipesError(f"`{what}` is undefined: this step is an op, not an asset.")
        return cast("Sequence[str]", keys)

    def _single_asset_or_raise(self, what: str) -> str:
        keys = self._asset_keys_or_raise(what)
        if len(keys) != 1:
            raise DagsterPipesError(
                f"`{what}` is undefined: this step materializes several assets {list(keys)}."
            )
        return keys[0]

    @property
    def is_asset_step(self) -> bool:
        """Whether the step materializes assets."""
        return self._data.get("asset_keys") is not None

    @property
    def asset_key(self) -> str:
        """The key of the step's one asset, as an escaped string (``a/b``)."""
        return self._single_asset_or_raise("asset_key")

    @property
    def asset_keys(self) -> Sequence[str]:
        """The keys of the step's assets."""
        return self._asset_keys_or_raise("asset_keys")

    @property
    def provenance(self) -> PipesDataProvenance | None:
        """The provenance of the step's one asset (None when the orchestrator has none)."""
        key = self._single_asset_or_raise("provenance")
        return (self._data.get("provenance_by_asset_key") or {}).get(key)

    @property
    def provenance_by_asset_key(self) -> Mapping[str, PipesDataProvenance | None]:
        """The provenance of each of the step's assets."""
        keys = self._asset_keys_or_raise("provenance_by_asset_key")
        known = self._data.get("provenance_by_asset_key") or {}
        return {key: known.get(key) for key in keys}

    @property
    def code_version(self) -> str | None:
        """The code version of the step's one asset."""
        key = self._single_asset_or_raise("code_version")
        return (self._data.get("code_version_by_asset_key") or {}).get(key)

    @property
    def code_version_by_asset_key(self) -> Mapping[str, str | None]:
        """The code version of each of the step's assets."""
        keys = self._asset_keys_or_raise("code_version_by_asset_key")
        known = self._data.get("code_version_by_asset_key") or {}
        return {key: known.get(key) for key in keys}

    @property
    def is_partition_step(self) -> bool:
        """Whether the step covers one or more partitions."""
        return self._data.get("partition_key_range") is not None

    @property
    def partition_key(self) -> str:
        """The step's one partition key."""
        key = self._data.get("partition_key")
        if key is None:
            key_range = self._data.get("partition_key_range")
            if key_range is not None:
                raise DagsterPipesError(
                    f"`partition_key` is undefined: this step covers the partitions "
                    f"{key_range['start']}...{key_range['end']}; read partition_key_range."
                )
            raise DagsterPipesError("`partition_key` is undefined: the run is not partitioned.")
        return str(key)

    @property
    def partition_key_range(self) -> PipesPartitionKeyRange:
        """The first and last partition key the step covers."""
        key_range = self._data.get("partition_key_range")
        if key_range is None:
            raise DagsterPipesError(
                "`partition_key_range` is undefined: the run is not partitioned."
            )
        return cast(PipesPartitionKeyRange, key_range)

    @property
    def partition_time_window(self) -> PipesTimeWindow | None:
        """The time window the step covers (None for partitions that are not time
        windows)."""
        if self._data.get("partition_key_range") is None:
            raise DagsterPipesError(
                "`partition_time_window` is undefined: the run is not partitioned."
            )
        return self._data.get("partition_time_window")

    @property
    def run_id(self) -> str:
        """The id of the run."""
        return str(self._data["run_id"])

    @property
    def job_name(self) -> str | None:
        """The name of the run's job."""
        return self._data.get("job_name")

    @property
    def retry_number(self) -> int:
        """0 on the step's first attempt, 1 on its first retry, ..."""
        return int(self._data.get("retry_number") or 0)

    @property
    def extras(self) -> Mapping[str, Any]:
        """The extras the orchestrator passed (``run(..., extras={...})``)."""
        return self._data.get("extras") or {}

    def get_extra(self, key: str) -> Any:
        """One extra; raises when the orchestrator did not pass it."""
        extras = self.extras
        if key not in extras:
            raise DagsterPipesError(
                f"Extra `{key}` is undefined; the extras passed are {sorted(extras)}."
            )
        return extras[key]

    @property
    def log(self) -> logging.Logger:
        """A logger whose records become log lines of the run, at their level."""
        return self._logger

    # -- reporting ----------------------------------------------------------------------

    def _resolve_asset_key(self, asset_key: str | None, method: str) -> str:
        if asset_key is not None and not isinstance(asset_key, str):
            raise DagsterPipesError(
                f"asset_key of {method} must be a string such as 'a/b', got {asset_key!r}."
            )
        keys = self._data.get("asset_keys")
        if asset_key is None:
            if not keys:
                raise DagsterPipesError(
                    f"{method} needs asset_key=...: this step materializes no asset."
                )
            if len(keys) != 1:
                raise DagsterPipesError(
                    f"{method} needs asset_key=...: this step materializes several assets "
                    f"{list(keys)}."
                )
            return str(keys[0])
        if keys is not None and asset_key not in keys:
            raise DagsterPipesError(
                f"{method}: asset '{asset_key}' is not one of this step's assets {list(keys)}."
            )
        return asset_key

    def report_asset_materialization(
        self,
        metadata: Mapping[str, Any] | None = None,
        data_version: str | None = None,
        asset_key: str | None = None,
    ) -> None:
        """Report that an asset of the step was materialized, with metadata (plain values,
        or ``{"raw_value": ..., "type": ...}``) and a data version. ``asset_key`` may be
        left out when the step has one asset. Once per asset."""
        method = "report_asset_materialization"
        key = self._resolve_asset_key(asset_key, method)
        if key in self._materialized:
            raise DagsterPipesError(
                f"{method}: asset '{key}' was already reported materialized by this process."
            )
        if data_version is not None and not isinstance(data_version, str):
            raise DagsterPipesError(f"data_version of {method} must be a string or None.")
        params = {
            "asset_key": key,
            "data_version": data_version,
            "metadata": _metadata_param(metadata, method),
        }
        self._write_message(method, params)
        self._materialized.add(key)

    def report_asset_check(
        self,
        check_name: str,
        passed: bool,
        severity: PipesAssetCheckSeverity = "ERROR",
        metadata: Mapping[str, Any] | None = None,
        asset_key: str | None = None,
    ) -> None:
        """Report the result of an asset check of one of the step's assets."""
        method = "report_asset_check"
        key = self._resolve_asset_key(asset_key, method)
        if not isinstance(check_name, str) or not check_name:
            raise DagsterPipesError(f"check_name of {method} must be a non-empty string.")
        if not isinstance(passed, bool):
            raise DagsterPipesError(f"passed of {method} must be True or False, got {passed!r}.")
        if severity not in ("WARN", "ERROR"):
            raise DagsterPipesError(
                f"severity of {method} must be 'WARN' or 'ERROR', got {severity!r}."
            )
        params = {
            "asset_key": key,
            "check_name": check_name,
            "passed": passed,
            "severity": severity,
            "metadata": _metadata_param(metadata, method),
        }
        self._write_message(method, params)

    def report_custom_message(self, payload: Any) -> None:
        """Send any JSON value; the orchestrator reads them with ``get_custom_messages()``."""
        _check_json(payload, "The payload of report_custom_message")
        self._write_message("report_custom_message", {"payload": payload})

    def log_external_stream(
        self, stream: str, text: str, extras: Mapping[str, Any] | None = None
    ) -> None:
        """Send text for the orchestrator's own ``stdout`` or ``stderr``."""
        if stream not in ("stdout", "stderr"):
            raise DagsterPipesError(f"stream must be 'stdout' or 'stderr', got {stream!r}.")
        self._write_message(
            "log_external_stream", {"stream": stream, "text": text, "extras": dict(extras or {})}
        )
