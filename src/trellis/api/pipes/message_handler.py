"""``PipesMessageHandler``: what the messages of an external process become in the step
that launched it.

A message reader may hand messages over from any thread (the file reader tails its file
on a thread of its own); they are queued and handled on the step's own thread
(``process_pending``), because a step's events must be emitted from the thread running
it (a pool or Dask worker sends each thread's events to the step that thread runs). The
subprocess client handles them every 50 ms while the process runs; ``open_pipes_session``
when results are asked for and when the session closes.

- ``log`` becomes a ``LOG_MESSAGE`` at the level the process gave;
- ``report_asset_materialization`` becomes a ``MaterializeResult`` (its metadata typed as
  the message says, its ``data_version`` the one reported), returned by ``get_results``
  for the step to return; a report about an asset the step does not make is an error;
- ``report_asset_check`` becomes an ``AssetCheckResult`` (``get_results``,
  ``get_asset_check_result``), recorded by the step as an ``ASSET_CHECK_EVALUATION``; a
  report of a check the step does not evaluate is an error;
- ``closed`` with an exception becomes an ``ENGINE_EVENT`` carrying the external
  traceback; ``report_custom_message`` payloads are kept for ``get_custom_messages``;
- ``log_external_stream`` text goes to this process's stdout or stderr;
- a message that is not JSON, or that no method of the protocol reads, becomes a WARNING
  ``ENGINE_EVENT`` and the session goes on.
"""

from __future__ import annotations

import json
import logging
import sys
import threading
from collections import deque
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, NamedTuple

from trellis.core import event_factory
from trellis.core.asset_checks import AssetCheckKey, AssetCheckResult
from trellis.core.asset_key import AssetKey
from trellis.core.data_version import DataVersion
from trellis.core.events import ErrorInfo
from trellis.core.metadata import MetadataValue, as_metadata_value
from trellis.core.outputs import MaterializeResult
from trellis.core.table_metadata import (
    TableColumn,
    TableColumnDep,
    TableColumnLineage,
    TableRecord,
    TableSchema,
)
from trellis_pipes import (
    PIPES_METADATA_TYPE_INFER,
    PIPES_PROTOCOL_VERSION,
    PIPES_PROTOCOL_VERSION_FIELD,
    PipesException,
    PipesOpenedData,
    PipesParams,
    to_asset_key_path,
)

if TYPE_CHECKING:
    from trellis.api.pipes.readers import PipesMessageReader

_RAW_TYPES: dict[str, tuple[type, ...]] = {
    "text": (str,),
    "url": (str,),
    "path": (str,),
    "md": (str,),
    "int": (int,),
    "float": (int, float),
    "bool": (bool,),
    "timestamp": (int, float),
}
"""The raw values each metadata type accepts (``json`` takes any JSON value)."""


class _Unreadable(NamedTuple):
    """A line of the message stream that is not a message (queued like one)."""

    text: str
    error: str


class _FrameworkError(NamedTuple):
    """An error in a message reader's own thread (queued like a message)."""

    origin: str
    error: ErrorInfo


class _ReaderWarning(NamedTuple):
    """A warning from a message reader's own thread (queued like a message)."""

    text: str


def metadata_from_pipes(entries: Any) -> dict[str, MetadataValue]:
    """Metadata as a message carries it (``{name: {"raw_value": ..., "type": ...}}``, or
    plain values) as ``MetadataValue``s: tables, table schemas, column lineage, assets,
    runs, jobs and notebooks become their structured values. A type Trellis has no class
    for, or a value that does not fit its type, is kept as it was sent."""
    if not entries:
        return {}
    if not isinstance(entries, Mapping):
        raise TypeError(f"metadata must be an object, got {entries!r:.100}")
    metadata: dict[str, MetadataValue] = {}
    for name, entry in entries.items():
        if isinstance(entry, Mapping) and "raw_value" in entry and "type" in entry:
            raw, kind = entry["raw_value"], entry["type"]
        else:
            raw, kind = entry, PIPES_METADATA_TYPE_INFER
        metadata[str(name)] = _metadata_value(raw, kind)
    return metadata


def _metadata_value(raw: Any, kind: Any) -> MetadataValue:
    accepted = _RAW_TYPES.get(kind)
    if accepted is not None:
        fits = isinstance(raw, accepted) and (kind == "bool" or not isinstance(raw, bool))
        if fits:
            return MetadataValue.of_type(
                float(raw) if kind in ("float", "timestamp") else raw, kind
            )
    elif kind == "json":
        return MetadataValue.json(raw)
    elif kind == "null":
        return MetadataValue.null()
    elif kind in _STRUCTURED:
        try:
            built: MetadataValue = _STRUCTURED[kind](raw)
            return built
        except (TypeError, KeyError, ValueError, AttributeError):
            return MetadataValue.json(raw)  # not the shape the type says: kept as sent
    elif kind != PIPES_METADATA_TYPE_INFER:  # a kind Trellis has no class for
        return MetadataValue.json(raw)
    return as_metadata_value(raw)


def _columns(raw: Any) -> list[TableColumn]:
    return [TableColumn(str(c["name"]), str(c.get("type", "string"))) for c in raw]


def _table(raw: Mapping[str, Any]) -> MetadataValue:
    records = [TableRecord(record) for record in raw["records"]]
    schema = raw.get("schema")
    columns = schema.get("columns", schema) if isinstance(schema, Mapping) else schema
    return MetadataValue.table(records, TableSchema(_columns(columns)) if columns else None)


def _lineage(raw: Mapping[str, Any]) -> MetadataValue:
    deps = raw.get("deps_by_column", raw)
    return MetadataValue.column_lineage(
        TableColumnLineage(
            {
                str(column): [
                    TableColumnDep(
                        AssetKey(to_asset_key_path(d["asset_key"]))
                        if isinstance(d["asset_key"], str)
                        else AssetKey(d["asset_key"]),
                        str(d["column_name"]),
                    )
                    for d in column_deps
                ]
                for column, column_deps in deps.items()
            }
        )
    )


# The structured kinds Dagster Pipes sends, from their raw JSON values (as dagster_pipes
# writes them: a table schema is {"columns": [{"name", "type"}]}, a table {"records",
# "schema"}, column lineage {column: [{"asset_key", "column_name"}]}, an asset its key).
_STRUCTURED: dict[str, Any] = {
    "table_schema": lambda raw: MetadataValue.table_schema(TableSchema(_columns(raw["columns"]))),
    "table": _table,
    "table_column_lineage": _lineage,
    "asset": lambda raw: MetadataValue.asset(
        AssetKey(to_asset_key_path(raw)) if isinstance(raw, str) else AssetKey(raw)
    ),
    "dagster_run": lambda raw: MetadataValue.dagster_run(str(raw)),
    "notebook": lambda raw: MetadataValue.notebook(str(raw)),
    "job": lambda raw: (
        MetadataValue.job(str(raw["job_name"]), raw.get("location_name"))
        if isinstance(raw, Mapping)
        else MetadataValue.job(str(raw))
    ),
}


def error_info_from_pipes(exc: PipesException) -> ErrorInfo:
    """The exception of a ``closed`` message as the ``ErrorInfo`` events carry."""
    chained = exc.get("cause") or exc.get("context")
    return ErrorInfo(
        str(exc.get("message") or "").strip(),
        [str(line) for line in exc.get("stack") or []],
        exc.get("name"),
        error_info_from_pipes(chained) if chained else None,
    )


def _level_number(level: Any) -> int:
    number = logging.getLevelName(str(level).upper()) if level is not None else logging.INFO
    return number if isinstance(number, int) else logging.INFO


class PipesMessageHandler:
    """Receives the messages of one session's external process (``handle_message``, from
    any thread) and handles them on the step's thread (``process_pending``); keeps the
    results, check reports and custom messages the process reported."""

    def __init__(self, context: Any, message_reader: PipesMessageReader) -> None:
        self._context = context
        self.message_reader = message_reader
        self._step_context = context.get_step_execution_context()
        self._owner = threading.get_ident()
        self._pending: deque[Any] = deque()
        assets_def = self._step_context.step.assets_def
        self._step_assets = frozenset(context.selected_asset_keys) if assets_def else frozenset()
        self._step_checks = frozenset(self._step_context.step.check_keys)
        self.results: list[MaterializeResult] = []
        self.check_results: list[AssetCheckResult] = []
        self.custom_messages: list[Any] = []
        self.problems: list[str] = []  # reports the step cannot accept: errors at the end
        self.opened_count = 0
        self.closed_count = 0
        self.message_count = 0
        self.closed_exception: ErrorInfo | None = None
        self._warned_version = False

    # -- receiving (any thread) ------------------------------------------------------------
    @contextmanager
    def handle_messages(self) -> Iterator[PipesParams]:
        """The reader's ``read_messages(self)``: yields where the process should write."""
        with self.message_reader.read_messages(self) as params:
            yield params

    def handle_message(self, message: Any) -> None:
        """Take one message (a decoded JSON object); handled at once on the step's thread,
        else queued for it."""
        self._pending.append(message)
        if threading.get_ident() == self._owner:
            self.process_pending()

    def handle_line(self, line: str) -> None:
        """Take one line of a JSON-lines message stream."""
        text = line.strip()
        if not text:
            return
        try:
            message = json.loads(text)
        except ValueError as exc:
            self.handle_message(_Unreadable(text, str(exc)))
            return
        self.handle_message(message)

    def report_pipes_framework_exception(self, origin: str, exc: BaseException) -> None:
        """Record an error in a reader's own machinery (not in the external process)."""
        self.handle_message(_FrameworkError(origin, ErrorInfo.from_exception(exc)))

    def report_pipes_warning(self, text: str) -> None:
        """Record a warning of a reader (a log that never appeared), from any thread."""
        self.handle_message(_ReaderWarning(text))

    @property
    def received_opened_message(self) -> bool:
        """Whether the process opened its Pipes connection."""
        return self.opened_count > 0

    @property
    def received_closed_message(self) -> bool:
        """Whether the process closed its Pipes connection."""
        return self.closed_count > 0

    # -- handling (the step's thread) ------------------------------------------------------
    def process_pending(self) -> None:
        """Handle the queued messages, in order (on the step's thread only: elsewhere the
        events could not reach the step)."""
        if threading.get_ident() != self._owner:
            return
        pending = self._pending
        while pending:
            item = pending.popleft()
            try:
                self._dispatch(item)
            except Exception as exc:
                method = item.get("method") if isinstance(item, Mapping) else None
                self._engine_event(
                    f"[pipes] could not handle a {method!r} message from the external process "
                    f"({type(exc).__name__}: {exc}): {_excerpt(item)}",
                    logging.WARNING,
                    ErrorInfo.from_exception(exc),
                )

    def _dispatch(self, item: Any) -> None:
        if isinstance(item, _Unreadable):
            self._engine_event(
                f"[pipes] a line from the external process is not a message ({item.error}): "
                f"{item.text[:200]}",
                logging.WARNING,
            )
            return
        if isinstance(item, _ReaderWarning):
            self._engine_event(f"[pipes] {item.text}", logging.WARNING)
            return
        if isinstance(item, _FrameworkError):
            self._engine_event(
                f"[pipes] framework error in {item.origin}", logging.ERROR, item.error
            )
            return
        if not isinstance(item, Mapping) or not isinstance(item.get("method"), str):
            raise TypeError("a message is a JSON object with a 'method'")
        self.message_count += 1
        self._check_version(item.get(PIPES_PROTOCOL_VERSION_FIELD))
        method = item["method"]
        params = item.get("params") or {}
        handler = getattr(self, f"_on_{method}", None)
        if handler is None:
            self._engine_event(
                f"[pipes] ignored a message with an unknown method {method!r}: {_excerpt(item)}",
                logging.WARNING,
            )
            return
        handler(params)

    def _check_version(self, version: Any) -> None:
        if self._warned_version or (isinstance(version, str) and version.split(".")[0] == "0"):
            return
        self._warned_version = True
        self._engine_event(
            f"[pipes] the external process speaks protocol version {version!r}; Trellis speaks "
            f"{PIPES_PROTOCOL_VERSION}. Messages are read as {PIPES_PROTOCOL_VERSION}.",
            logging.WARNING,
        )

    def _on_opened(self, params: Mapping[str, Any]) -> None:
        self.opened_count += 1
        if self.opened_count == 1:
            self._context.log.info("[pipes] external process opened its Pipes connection.")
        payload: PipesOpenedData = {"extras": dict(params.get("extras") or {})}
        self.message_reader.on_opened(payload)

    def _on_closed(self, params: Mapping[str, Any]) -> None:
        self.closed_count += 1
        exception = params.get("exception")
        if exception:
            error = error_info_from_pipes(exception)
            self.closed_exception = error
            self._engine_event(
                f"[pipes] external process closed Pipes with an exception: {error.message}",
                logging.ERROR,
                error,
            )

    def _on_log(self, params: Mapping[str, Any]) -> None:
        self._context.log.log(_level_number(params.get("level")), str(params.get("message")))

    def _on_log_external_stream(self, params: Mapping[str, Any]) -> None:
        stream = sys.stderr if params.get("stream") == "stderr" else sys.stdout
        stream.write(str(params.get("text", "")))
        stream.flush()

    def _on_report_custom_message(self, params: Mapping[str, Any]) -> None:
        self.custom_messages.append(params.get("payload"))

    def _reported_key(self, params: Mapping[str, Any], what: str) -> AssetKey | None:
        raw = params.get("asset_key")
        if not isinstance(raw, str) or not raw:
            raise TypeError(f"{what} needs an 'asset_key' string")
        key = AssetKey(to_asset_key_path(raw))
        if key not in self._step_assets:
            step = self._step_context.step.key
            mine = sorted(k.to_user_string() for k in self._step_assets)
            self.problems.append(
                f"The external process reported {what} of asset '{key.to_user_string()}', "
                f"which step '{step}' does not materialize "
                + (f"(its assets: {', '.join(mine)})." if mine else "(it makes no asset).")
            )
            return None
        return key

    def _on_report_asset_materialization(self, params: Mapping[str, Any]) -> None:
        key = self._reported_key(params, "a materialization")
        if key is None:
            return
        if any(result.asset_key == key for result in self.results):
            self.problems.append(
                f"The external process reported asset '{key.to_user_string()}' materialized twice."
            )
            return
        metadata = metadata_from_pipes(params.get("metadata"))
        version = params.get("data_version")
        if version is not None and not isinstance(version, str):
            raise TypeError(f"data_version must be a string, got {version!r:.100}")
        self.results.append(
            MaterializeResult(
                asset_key=key,
                metadata=metadata,
                data_version=DataVersion(version) if version is not None else None,
            )
        )

    def _on_report_asset_check(self, params: Mapping[str, Any]) -> None:
        raw = params.get("asset_key")
        name = params.get("check_name")
        if not isinstance(raw, str) or not raw or not isinstance(name, str) or not name:
            raise TypeError("an asset check report needs 'asset_key' and 'check_name' strings")
        check_key = AssetCheckKey(AssetKey(to_asset_key_path(raw)), name)
        if check_key not in self._step_checks:
            step = self._step_context.step.key
            mine = sorted(k.to_user_string() for k in self._step_checks)
            self.problems.append(
                f"The external process reported asset check '{check_key.to_user_string()}', "
                f"which step '{step}' does not evaluate "
                + (f"(its checks: {', '.join(mine)})." if mine else "(it evaluates no check).")
            )
            return
        reported = {(r.asset_key, r.check_name) for r in self.check_results}
        if (check_key.asset_key, name) in reported:
            self.problems.append(
                f"The external process reported asset check '{check_key.to_user_string()}' twice."
            )
            return
        passed = params.get("passed")
        if not isinstance(passed, bool):
            raise TypeError(f"'passed' must be true or false, got {passed!r:.100}")
        self.check_results.append(
            AssetCheckResult(
                passed=passed,
                asset_key=check_key.asset_key,
                check_name=name,
                metadata=metadata_from_pipes(params.get("metadata")),
                severity=str(params.get("severity") or "ERROR"),
            )
        )

    def _engine_event(self, message: str, level: int, error: ErrorInfo | None = None) -> None:
        step_context = self._step_context
        step_context.plan_context.emit(
            event_factory.engine_event(
                step_context.run_id,
                step_context.job_name,
                message,
                level=level,
                error=error,
                step_key=step_context.step.key,
            )
        )

    def engine_event(self, message: str, level: int = logging.DEBUG) -> None:
        """Record a notice about the session (the process started, exited, ...) as an
        ``ENGINE_EVENT`` of the step (on the step's thread)."""
        self._engine_event(message, level)


def _excerpt(item: Any) -> str:
    try:
        text = json.dumps(item, default=str)
    except (TypeError, ValueError):
        text = repr(item)
    return text if len(text) <= 200 else text[:200] + "..."
