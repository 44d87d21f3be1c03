"""``LogManager``: ``context.log``. Each call becomes a ``LOG_MESSAGE`` event in the run's
stream, tagged with the step; the console and storage read it from there."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from trellis.core import event_factory
from trellis.core.events import Event

EventSink = Callable[[Event], None]


class LogManager:
    """The logger handed to user code (``context.log``): ``debug``, ``info``,
    ``warning``, ``error``, ``critical``, ``exception``. A message below ``level`` costs
    one comparison."""

    __slots__ = ("_emit", "job_name", "level", "run_id", "step_key")

    def __init__(
        self,
        emit: EventSink,
        run_id: str,
        job_name: str,
        step_key: str | None = None,
        level: int = logging.DEBUG,
    ) -> None:
        self._emit = emit
        self.run_id = run_id
        self.job_name = job_name
        self.step_key = step_key
        self.level = level

    def with_step(self, step_key: str | None) -> LogManager:
        """The same logger, tagged with another step."""
        return LogManager(self._emit, self.run_id, self.job_name, step_key, self.level)

    def isEnabledFor(self, level: int) -> bool:
        """Whether a message at ``level`` would be recorded."""
        return level >= self.level

    def log(self, level: int, msg: Any, *args: Any, exc_info: Any = None, **_: Any) -> None:
        """Record ``msg % args`` at ``level``."""
        if level < self.level:
            return
        text = str(msg) % args if args else str(msg)
        if exc_info:
            import traceback

            if exc_info is True:
                text += "\n" + traceback.format_exc()
            elif isinstance(exc_info, BaseException):
                text += "\n" + "".join(traceback.format_exception(exc_info))
        self._emit(
            event_factory.log_message(self.run_id, self.job_name, self.step_key, text, level)
        )

    def debug(self, msg: Any, *args: Any, **kwargs: Any) -> None:
        """Record a DEBUG message."""
        if self.level <= logging.DEBUG:
            self.log(logging.DEBUG, msg, *args, **kwargs)

    def info(self, msg: Any, *args: Any, **kwargs: Any) -> None:
        """Record an INFO message."""
        if self.level <= logging.INFO:
            self.log(logging.INFO, msg, *args, **kwargs)

    def warning(self, msg: Any, *args: Any, **kwargs: Any) -> None:
        """Record a WARNING message."""
        self.log(logging.WARNING, msg, *args, **kwargs)

    warn = warning

    def error(self, msg: Any, *args: Any, **kwargs: Any) -> None:
        """Record an ERROR message."""
        self.log(logging.ERROR, msg, *args, **kwargs)

    def critical(self, msg: Any, *args: Any, **kwargs: Any) -> None:
        """Record a CRITICAL message."""
        self.log(logging.CRITICAL, msg, *args, **kwargs)

    def exception(self, msg: Any, *args: Any, **kwargs: Any) -> None:
        """Record an ERROR message with the current exception's traceback."""
        kwargs.setdefault("exc_info", True)
        self.log(logging.ERROR, msg, *args, **kwargs)


def discard_event(_event: Event) -> None:
    """An event sink that drops everything (for contexts built outside a run)."""
