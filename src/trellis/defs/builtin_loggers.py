"""The built-in loggers, under Dagster's names: ``colored_console_logger`` (the console, a
job's ``console`` logger unless it lists its own), ``json_console_logger`` (one JSON object
per line on stderr), ``default_loggers`` and ``default_system_loggers``.

In a run, ``colored_console_logger`` is the run's console: the orchestrating process writes
every event of the run at or above its ``log_level`` to stderr (``trellis.views.console``),
wherever the step ran. Called directly, it builds a ``logging.Logger`` that writes the same
lines.
"""

from __future__ import annotations

import json
import logging
import os
import sys
from typing import TYPE_CHECKING, Any

from trellis.config import types as ct
from trellis.defs.logger import LoggerDefinition, logger

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

DEFAULT_CONSOLE_LEVEL = "INFO"
"""The console's level when neither run config nor ``$TRELLIS_LOG_LEVEL`` sets one."""

_COLORS = {
    logging.DEBUG: "\033[2m",
    logging.INFO: "\033[36m",
    logging.WARNING: "\033[33m",
    logging.ERROR: "\033[31m",
    logging.CRITICAL: "\033[1;31m",
}


def logger_level(value: str | int, key: str = "log_level") -> int:
    """A logging level from ``"INFO"``, ``"debug"`` or 20; an unknown name is an error
    naming ``key``."""
    if isinstance(value, int):
        return value
    level = logging.getLevelName(str(value).upper())
    if not isinstance(level, int):
        raise ValueError(
            f"Unknown log level {value!r} for {key}; use DEBUG, INFO, WARNING, ERROR or CRITICAL."
        )
    return level


def _console_schema(description: str) -> ct.Field:
    return ct.Field(
        ct.Shape(
            {
                "log_level": ct.Field(
                    str,
                    is_required=False,
                    default_value=DEFAULT_CONSOLE_LEVEL,
                    description="The lowest level written.",
                ),
                "name": ct.Field(
                    str,
                    is_required=False,
                    default_value="dagster",
                    description="The name of the Python logger.",
                ),
            }
        ),
        is_required=False,
        description=description,
    )


class _ColoredFormatter(logging.Formatter):
    """``time level message``, coloured by level when the stream is a terminal."""

    def __init__(self, color: bool) -> None:
        super().__init__("%(asctime)s %(levelname)-7s %(message)s", "%H:%M:%S")
        self.color = color

    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        if self.color:
            line = f"{_COLORS.get(record.levelno, '')}{line}\033[0m"
        return line


def _new_logger(name: str, level: int, formatter: logging.Formatter) -> logging.Logger:
    """A logger of its own (not in ``logging``'s registry, so runs never share handlers)."""
    built = logging.Logger(name, level)
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(formatter)
    built.addHandler(handler)
    return built


@logger(_console_schema("The console."), description="The console, coloured on a terminal.")
def colored_console_logger(init_context: Any) -> logging.Logger:
    """The console: lines of the run's events at or above ``log_level`` on stderr, coloured
    on a terminal (``NO_COLOR`` turns colour off). The default ``console`` logger of every
    job."""
    config = init_context.logger_config
    color = sys.stderr.isatty() and "NO_COLOR" not in os.environ
    return _new_logger(config["name"], logger_level(config["log_level"]), _ColoredFormatter(color))


class JsonLogFormatter(logging.Formatter):
    """Formats a record as one JSON object: its attributes, with the run's details under
    ``dagster_meta`` (run id, job, step, the original message, the event as a dict)."""

    def format(self, record: logging.LogRecord) -> str:
        from trellis.core.serialization import event_to_dict

        fields: dict[str, Any] = {}
        for key, value in record.__dict__.items():
            if key == "dagster_event":  # repeated in dagster_meta, as a dict
                continue
            if key == "dagster_meta" and isinstance(value, dict):
                event = value.get("dagster_event")
                value = {**value, "dagster_event": event_to_dict(event) if event else None}
            fields[key] = value
        return json.dumps(fields, default=str)


@logger(_console_schema("A JSON console logger."), description="One JSON object per line.")
def json_console_logger(init_context: Any) -> logging.Logger:
    """Each of the run's events at or above ``log_level`` as one JSON object per line on
    stderr (``JsonLogFormatter``), written in the process where the event happens."""
    config = init_context.logger_config
    return _new_logger(config["name"], logger_level(config["log_level"]), JsonLogFormatter())


def default_loggers() -> Mapping[str, LoggerDefinition]:
    """The loggers of a job that lists none: ``{"console": colored_console_logger}``."""
    return {"console": colored_console_logger}


def default_system_loggers(
    instance: Any = None,
) -> Sequence[tuple[LoggerDefinition, dict[str, Any]]]:
    """The loggers a run uses when its run config names none: the console, at
    ``$TRELLIS_LOG_LEVEL`` (default INFO)."""
    level = os.environ.get("TRELLIS_LOG_LEVEL") or DEFAULT_CONSOLE_LEVEL
    return [(colored_console_logger, {"name": "dagster", "log_level": level})]
