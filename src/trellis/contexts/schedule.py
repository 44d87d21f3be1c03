"""``ScheduleEvaluationContext``: what a schedule's function receives at each tick."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from trellis.contexts.resources_view import ResourcesView
from trellis.contexts.tick import TickContext
from trellis.core.errors import InvariantViolationError


class ScheduleEvaluationContext(TickContext):
    """Given to a schedule's function at each tick: the tick's intended time
    (``scheduled_execution_time``), the instance, the declared resources and a logger.

    A view: it holds what the caller built (resources already initialised) and runs
    nothing. Usable as a context manager; callbacks pushed on its exit stack (for example
    to tear down resources) run when the ``with`` block ends.
    """

    __slots__ = ("_time",)
    _kind = "schedule"

    def __init__(
        self,
        instance: Any = None,
        scheduled_execution_time: datetime | None = None,
        resources: Mapping[str, Any] | ResourcesView | None = None,
        repository_def: Any = None,
        log: logging.Logger | None = None,
    ) -> None:
        if scheduled_execution_time is None:
            scheduled_execution_time = datetime.now(UTC)
        elif not isinstance(scheduled_execution_time, datetime):
            raise InvariantViolationError(
                f"scheduled_execution_time must be a datetime, got {scheduled_execution_time!r}."
            )
        elif scheduled_execution_time.tzinfo is None:
            scheduled_execution_time = scheduled_execution_time.replace(tzinfo=UTC)
        super().__init__(
            instance,
            resources,
            "the schedule",
            repository_def,
            log or logging.getLogger("trellis.schedule"),
        )
        self._time = scheduled_execution_time

    @property
    def scheduled_execution_time(self) -> datetime:
        """When the tick was meant to happen (aware; naive input is read as UTC). It can
        differ slightly from the time the function actually runs."""
        return self._time

    def __repr__(self) -> str:
        return f"<ScheduleEvaluationContext {self._time.isoformat()}>"
