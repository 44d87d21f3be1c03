"""``PipesExecutionError``: the external process of a Pipes session failed, or reported
something the step cannot accept."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from trellis.core.errors import Failure


class PipesExecutionError(Failure):
    """The external process failed (its exit code and the end of its stderr are in the
    message and in ``metadata``), could not be started, or reported something the step
    does not make (a materialization of an asset outside the step).

    A ``Failure``: the step fails with this description and metadata (stored on its
    ``STEP_FAILURE``), and a ``RetryPolicy`` on the asset retries it."""

    def __init__(self, description: str, metadata: Mapping[str, Any] | None = None) -> None:
        super().__init__(description, metadata)

    def __str__(self) -> str:
        return self.description or ""
