"""Did-you-mean hints for unknown names."""

from __future__ import annotations

import difflib
from collections.abc import Iterable


def did_you_mean(name: str, known: Iterable[str], limit: int = 3) -> str:
    """A sentence suggesting the names closest to ``name`` (empty when none is close)."""
    close = difflib.get_close_matches(name, sorted(set(known)), n=limit, cutoff=0.6)
    if not close:
        return ""
    if len(close) == 1:
        return f" Did you mean '{close[0]}'?"
    return " Did you mean one of: " + ", ".join(f"'{c}'" for c in close) + "?"


def unknown_name_message(kind: str, name: str, known: Iterable[str]) -> str:
    """``No job named 'x'. Did you mean 'y'? Jobs: a, b.`` (the list is capped)."""
    names = sorted(set(known))
    listing = ", ".join(names[:20]) + (", ..." if len(names) > 20 else "")
    available = f" Available {kind}s: {listing}." if names else f" There are no {kind}s."
    return f"No {kind} named '{name}'.{did_you_mean(name, names)}{available}"
