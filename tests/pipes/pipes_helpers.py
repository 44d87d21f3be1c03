"""Helpers of the Pipes tests: the external scripts (``external/``) as commands, and the
log lines a step's external process sent."""

from __future__ import annotations

import sys
from pathlib import Path

from trellis import EventType

EXTERNAL = Path(__file__).resolve().parent / "external"
SRC = Path(__file__).resolve().parents[2] / "src"


def script(name: str, *args: str) -> list[str]:
    """The command that runs ``external/<name>`` with this interpreter."""
    return [sys.executable, str(EXTERNAL / name), *args]


def logs(result, step_key: str) -> list[tuple[int, str]]:
    """(level, message) of each log line of the step."""
    return [
        (e.level, e.message)
        for e in result.event_log
        if e.event_type is EventType.LOG_MESSAGE and e.step_key == step_key
    ]
