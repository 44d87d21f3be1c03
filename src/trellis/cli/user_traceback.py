"""Tracebacks that show the user's code, not the machinery that imported it."""

from __future__ import annotations

import importlib
import traceback
from pathlib import Path

import click

_TRELLIS_DIR = str(Path(__file__).resolve().parents[1])
_IMPORTLIB_DIR = str(Path(importlib.__file__).resolve().parent)
_CLICK_DIR = str(Path(click.__file__).resolve().parent)


def _is_internal(filename: str) -> bool:
    if filename.startswith("<frozen "):
        return True
    try:
        resolved = str(Path(filename).resolve())
    except (OSError, ValueError):
        return False
    return resolved.startswith((_TRELLIS_DIR, _IMPORTLIB_DIR, _CLICK_DIR))


def _strip(te: traceback.TracebackException, seen: set[int]) -> None:
    if id(te) in seen:
        return
    seen.add(id(te))
    frames = [f for f in te.stack if not _is_internal(f.filename)]
    te.stack = traceback.StackSummary.from_list(frames)
    for nested in (te.__cause__, te.__context__):
        if nested is not None:
            _strip(nested, seen)


def format_user_traceback(exc: BaseException) -> str:
    """``exc`` as Python prints it, minus the frames of Trellis, click and importlib:
    what is left points at the user's file and line."""
    te = traceback.TracebackException.from_exception(exc)
    _strip(te, set())
    return "".join(te.format()).rstrip()


def format_user_stack(stack: traceback.StackSummary, exc: BaseException) -> str:
    """A traceback made of the user's frames of ``stack`` (where something was built)
    followed by ``exc``: for an error that is found where it was built, but raised later."""
    frames = [f for f in stack if not _is_internal(f.filename)]
    lines = ["Traceback (most recent call last):\n", *traceback.format_list(frames)]
    lines.append(f"{type(exc).__name__}: {exc}")
    return "".join(lines).rstrip()
