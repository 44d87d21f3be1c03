"""A run's loggers: which ones it uses, building them (their ``InitLoggerContext``), and
handing them the run's events.

Which loggers a run uses (``choose_loggers``), as in Dagster: those of the job's loggers
(``job.loggers``: its ``logger_defs``, else its ``Definitions``' loggers, else
``{"console": colored_console_logger}``) that the run config names under ``loggers:``; when
it names none, the console alone. The console (``colored_console_logger``, under whatever
key) is not a Python logger here: it is the orchestrating process's ``ConsoleLogger``
(``views/console.py``), which writes every event of the run at or above its level, from
whatever process the event came. Its level: ``log_level`` in the run config, else
``$TRELLIS_LOG_LEVEL``, else INFO. Naming only other loggers in the run config turns the
console off, as in Dagster.

Every other logger is built once per run in each process that runs the run's steps (the
orchestrator, and each pool or Dask worker that runs one of them), and is handed the
run's events that happen in that process (``RunLoggers.handle``, by the event's pid), at
their level: ``context.log`` lines and the framework's own events. A record's message reads
``job - run id - [pid - ]step - [EVENT_TYPE - ]message`` (Dagster's layout) and it carries
``dagster_meta`` (run id, job, tags, step, op, the original message, the event).
"""

from __future__ import annotations

import datetime
import logging
import os
import threading
import uuid
from typing import TYPE_CHECKING, Any

from trellis.contexts.init_logger import InitLoggerContext
from trellis.core.errors import USER_CODE_ERRORS, UserCodeExecutionError
from trellis.core.events import Event, EventType
from trellis.defs.builtin_loggers import (
    DEFAULT_CONSOLE_LEVEL,
    colored_console_logger,
    logger_level,
)

if TYPE_CHECKING:
    from collections.abc import Mapping

    from trellis.defs.logger import LoggerDefinition
    from trellis.plan.plan import ExecutionPlan


class LoggerInitError(UserCodeExecutionError):
    """A logger function raised (or returned something other than a ``logging.Logger``)
    while a run built its loggers."""


class LoggerChoice:
    """The loggers a run uses: ``console_level`` (None: no console) and the other loggers,
    as ``(key, definition, processed config)``."""

    __slots__ = ("console_level", "others")

    def __init__(
        self, console_level: int | None, others: list[tuple[str, LoggerDefinition, Any]]
    ) -> None:
        self.console_level = console_level
        self.others = others


def _is_console(definition: LoggerDefinition) -> bool:
    return definition.logger_fn is colored_console_logger.logger_fn


def choose_loggers(plan: ExecutionPlan) -> LoggerChoice:
    """Which loggers a run of ``plan`` uses (the module docstring says how)."""
    resolved = plan.run_config
    given = resolved.given_loggers
    env_level = os.environ.get("TRELLIS_LOG_LEVEL")
    named = [(key, d) for key, d in plan.job.loggers.items() if key in given]
    if not named:
        return LoggerChoice(logger_level(env_level or DEFAULT_CONSOLE_LEVEL), [])
    console_level: int | None = None
    others: list[tuple[str, LoggerDefinition, Any]] = []
    for key, definition in named:
        entry = resolved.loggers.get(key) or {}
        config = definition.process_config(entry.get("config"), key)
        if _is_console(definition):
            raw = given.get(key) or {}
            explicit = (raw.get("config") or {}).get("log_level") if isinstance(raw, dict) else None
            level = explicit or env_level or (config or {}).get("log_level")
            where = f"loggers.{key}.config.log_level"
            value = logger_level(level or DEFAULT_CONSOLE_LEVEL, where)
            console_level = value if console_level is None else min(console_level, value)
        else:
            others.append((key, definition, config))
    return LoggerChoice(console_level, others)


class RunLoggers:
    """The Python loggers one run uses in this process, and the hand-off of its events to
    them (``handle``). An event made in another process (a step on a pool or Dask worker)
    was handed to that process's loggers, and is skipped here."""

    __slots__ = ("_local", "loggers", "pid", "tags")

    def __init__(self, loggers: list[logging.Logger], tags: Mapping[str, str]) -> None:
        self.loggers = loggers
        self.tags = dict(tags)
        self.pid = os.getpid()
        self._local = threading.local()

    def handle(self, event: Event) -> None:
        """Hand ``event`` to every logger enabled for its level (never raises)."""
        if event.pid != self.pid:
            return
        level = event.level
        targets = [lg for lg in self.loggers if lg.isEnabledFor(level)]
        if not targets:
            return
        local = self._local
        if getattr(local, "busy", False):  # a logger that logs through the run itself
            return
        local.busy = True
        try:
            message, extra = record_parts(event, self.tags)
            for target in targets:
                try:
                    target.log(level, message, extra=extra)
                except Exception:  # as logging does: a broken logger never stops the run
                    logging.getLogger(__name__).debug("logger failed", exc_info=True)
        finally:
            local.busy = False

    def flush(self) -> None:
        """Flush every handler of every logger (at the end of the run)."""
        for built in self.loggers:
            for handler in built.handlers:
                try:
                    handler.flush()
                except Exception:
                    pass


def record_parts(event: Event, tags: Mapping[str, str]) -> tuple[str, dict[str, Any]]:
    """The message and the ``extra`` attributes of ``event``'s log record."""
    is_log = event.event_type is EventType.LOG_MESSAGE
    parts = [event.job_name, event.run_id]
    if not is_log:
        parts.append(str(event.pid))
    if event.step_key:
        parts.append(event.step_key)
    if not is_log:
        parts.append(event.event_type.value)
    parts.append(event.message)
    message = " - ".join(parts)
    error = event.error
    if error is not None:
        message += "\n\n" + error.to_string()
    step_key = event.step_key
    meta = {
        "run_id": event.run_id,
        "job_name": event.job_name,
        "job_tags": tags,
        "step_key": step_key,
        "op_name": step_key.rsplit(".", 1)[-1] if step_key else None,
        "resource_name": None,
        "resource_fn_name": None,
        "dagster_event": None if is_log else event,
        "dagster_event_batch_metadata": None,
        "orig_message": event.message,
        "log_message_id": str(uuid.uuid4()),
        "log_timestamp": datetime.datetime.fromtimestamp(event.timestamp, datetime.UTC)
        .replace(tzinfo=None)
        .isoformat(),
    }
    return message, {"dagster_meta": meta, "dagster_event": meta["dagster_event"]}


def build_run_loggers(
    plan: ExecutionPlan, run_id: str, tags: Mapping[str, str]
) -> RunLoggers | None:
    """Build the run's loggers other than the console, each with its
    ``InitLoggerContext``; None when it uses none. A logger function that raises, or
    returns no ``logging.Logger``, raises ``LoggerInitError`` naming its key."""
    choice = choose_loggers(plan)
    if not choice.others:
        return None
    built: list[logging.Logger] = []
    for key, definition, config in choice.others:
        context = InitLoggerContext(config, definition, plan.job, run_id)
        try:
            made = definition.logger_fn(context)
        except USER_CODE_ERRORS as exc:
            raise LoggerInitError(
                f"Error while building logger '{key}': {type(exc).__name__}: {exc}", exc
            ) from exc
        if not isinstance(made, logging.Logger):
            raise LoggerInitError(
                f"Logger '{key}' returned {made!r}; a @logger function returns a logging.Logger.",
                None,
            )
        built.append(made)
    return RunLoggers(built, tags)
