"""The "Examples:" section at the end of each command's ``--help`` (a click epilog)."""

from __future__ import annotations


def examples(*lines: str) -> str:
    """An epilog listing example command lines, kept as written (click's ``\\b``)."""
    return "\b\nExamples:\n" + "".join(f"  {line}\n" for line in lines)
