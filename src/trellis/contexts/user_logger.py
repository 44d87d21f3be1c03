"""``get_dagster_logger``: a standard ``logging.Logger`` whose records, inside a running
op, asset or hook, also become log events of the run (as ``context.log`` lines do)."""

from __future__ import annotations

import logging
from contextvars import ContextVar
from typing import Any

from trellis.contexts.compute import _CURRENT

_ROOT_NAME = "trellis.user"

_HOOK_LOG: ContextVar[Any] = ContextVar("trellis_current_hook_log", default=None)


def set_hook_log(log: Any) -> Any:
    """While a hook runs: where ``get_dagster_logger`` records go (the step's logger);
    returns a reset token for ``reset_hook_log``."""
    return _HOOK_LOG.set(log)


def reset_hook_log(token: Any) -> None:
    """Undo ``set_hook_log``."""
    _HOOK_LOG.reset(token)


class _RunLogHandler(logging.Handler):
    """Forwards each record to the running step's ``context.log`` (or the running hook's);
    outside a step it does nothing (the record still reaches the usual handlers by
    propagation)."""

    def emit(self, record: logging.LogRecord) -> None:
        context = _CURRENT.get()
        log = context.log if context is not None else _HOOK_LOG.get()
        if log is None:
            return
        try:
            log.log(record.levelno, record.getMessage())
        except Exception:  # never let logging break the step
            self.handleError(record)


def _root_logger() -> logging.Logger:
    root = logging.getLogger(_ROOT_NAME)
    if not any(isinstance(h, _RunLogHandler) for h in root.handlers):
        root.addHandler(_RunLogHandler())
        root.setLevel(logging.DEBUG)
    return root


def get_dagster_logger(name: str | None = None) -> logging.Logger:
    """A ``logging.Logger`` (``trellis.user``, or ``trellis.user.<name>``) for code that does
    not hold the context: inside an op or asset its messages are recorded in the run's
    event log like ``context.log`` lines; everywhere they also propagate to Python's
    logging as usual."""
    root = _root_logger()
    return root.getChild(name) if name else root
