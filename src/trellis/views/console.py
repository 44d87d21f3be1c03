"""``ConsoleLogger``: a run's events on the terminal, one line each: time, level, step,
message; coloured when the stream is a terminal."""

from __future__ import annotations

import logging
import os
import sys
import time
from typing import TextIO

from trellis.core.events import Event, EventType

_COLORS = {
    logging.DEBUG: "\033[2m",
    logging.INFO: "\033[36m",
    logging.WARNING: "\033[33m",
    logging.ERROR: "\033[31m",
    logging.CRITICAL: "\033[1;31m",
}
_RESET = "\033[0m"


def parse_level(level: str | int | None, default: int = logging.INFO) -> int:
    """A logging level from ``"INFO"``, ``"debug"``, 20, or None (the default)."""
    if level is None:
        return default
    if isinstance(level, int):
        return level
    value = logging.getLevelName(str(level).upper())
    if not isinstance(value, int):
        raise ValueError(f"Unknown log level {level!r}")
    return value


class ConsoleLogger:
    """Writes events at or above ``level`` to ``stream`` (stderr by default)."""

    def __init__(
        self, level: int = logging.INFO, stream: TextIO | None = None, color: bool | None = None
    ) -> None:
        self.level = level
        self.stream = stream if stream is not None else sys.stderr
        if color is None:
            color = self.stream.isatty() and "NO_COLOR" not in os.environ
        self.color = color

    def format(self, event: Event) -> str:
        """One line for ``event`` (plus the traceback of a failure)."""
        stamp = time.strftime("%H:%M:%S", time.localtime(event.timestamp))
        level = logging.getLevelName(event.level)
        where = event.step_key or event.job_name
        kind = "" if event.event_type is EventType.LOG_MESSAGE else f"{event.event_type.value} "
        line = f"{stamp} {level:<7} {event.run_id[:8]} {where} - {kind}{event.message}"
        error = event.error
        if error is not None and event.level >= logging.ERROR:
            line += "\n" + error.to_string().rstrip()
        if self.color:
            line = f"{_COLORS.get(event.level, '')}{line}{_RESET}"
        return line

    def write(self, event: Event) -> None:
        """Write one event."""
        self.stream.write(self.format(event) + "\n")
