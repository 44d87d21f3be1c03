"""Warning classes under Dagster's names, and the one helper that warns about a deprecated
name or argument that Trellis still accepts.

Trellis emits none of ``BetaWarning``, ``PreviewWarning``, ``SupersessionWarning`` or
``ConfigArgumentWarning`` itself; they exist so that code written for Dagster, which
filters them (``warnings.filterwarnings("ignore", category=BetaWarning)``), runs unchanged.
"""

from __future__ import annotations

import warnings


class BetaWarning(Warning):
    """A feature Dagster marks as beta (Trellis does not emit it; filters on it work)."""


class PreviewWarning(Warning):
    """A feature Dagster marks as a preview (Trellis does not emit it; filters on it work)."""


class SupersessionWarning(FutureWarning):
    """An API Dagster says is superseded by another (Trellis does not emit it)."""


class ConfigArgumentWarning(SyntaxWarning):
    """A config argument Dagster ignores (Trellis does not emit it; filters on it work)."""


def warn_deprecated(what: str, replacement: str, stacklevel: int = 3) -> None:
    """Emit a ``DeprecationWarning`` saying that ``what`` is deprecated and naming its
    ``replacement``; ``stacklevel`` points at the user's line (3: the caller's caller)."""
    warnings.warn(
        f"{what} is deprecated (as in Dagster); use {replacement} instead.",
        DeprecationWarning,
        stacklevel=stacklevel,
    )
