"""Running a schedule's or sensor's user code for the daemon: with a timeout, so that a
slow evaluation fails its tick instead of stalling the other loops, and with the error
kept as text (message and traceback, the user's own frames included) for the tick.

A Python thread cannot be stopped from outside: an evaluation that times out keeps
running in its (daemon) thread until it returns, and its result is dropped.
"""

from __future__ import annotations

import threading
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


@dataclass
class Evaluated:
    """What an evaluation gave: its value, or the error text (message and traceback)."""

    value: Any = None
    error: str | None = None


def error_text(exc: BaseException) -> str:
    """An exception as a traceback reads, with its causes (the user's exception is the
    cause of the ``SensorExecutionError`` or ``ScheduleExecutionError`` around it)."""
    return "".join(traceback.format_exception(exc)).rstrip()


def call_with_timeout(fn: Callable[[], Any], timeout: float, what: str) -> Evaluated:
    """Call ``fn()`` in a thread and wait at most ``timeout`` seconds for it."""
    outcome = Evaluated()
    done = threading.Event()

    def target() -> None:
        try:
            outcome.value = fn()
        except BaseException as exc:  # user code: everything is the tick's error
            outcome.error = error_text(exc)
        finally:
            done.set()

    thread = threading.Thread(target=target, name=f"trellis-eval-{what}", daemon=True)
    thread.start()
    if not done.wait(timeout):
        return Evaluated(
            error=f"The evaluation of {what} timed out after {timeout:g} s "
            "(sensors: evaluation_timeout_seconds in trellis.yaml); the tick failed and "
            "the daemon went on."
        )
    return outcome
