"""``ScheduleEvaluationContext``: what a schedule's function receives at each tick."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from contextlib import ExitStack
from datetime import UTC, datetime
from types import TracebackType
from typing import Any

from trellis.contexts.resources_view import ResourcesView
from trellis.core.errors import InvariantViolationError


def as_resources_view(
    resources: Mapping[str, Any] | ResourcesView | None, owner: str
) -> ResourcesView:
    """``resources`` (already-initialised values) as the ``context.resources`` view."""
    if isinstance(resources, ResourcesView):
        return resources
    return ResourcesView(dict(resources or {}), owner=owner)


def no_instance(owner: str) -> InvariantViolationError:
    """The error for reading ``context.instance`` from a context built without one."""
    return InvariantViolationError(
        f"This {owner} context has no instance: build it with instance=... (a persistent "
        "instance) to read context.instance."
    )


class ScheduleEvaluationContext:
    """Given to a schedule's function at each tick: the tick's intended time
    (``scheduled_execution_time``), the instance, the declared resources and a logger.

    A view: it holds what the caller built (resources already initialised) and runs
    nothing. Usable as a context manager; callbacks pushed on its exit stack (for example
    to tear down resources) run when the ``with`` block ends.
    """

    __slots__ = (
        "__weakref__",  # build_schedule_context tears its resources down on collection
        "_exit_stack",
        "_instance",
        "_log",
        "_repository_def",
        "_resources",
        "_time",
    )

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
        self._time = scheduled_execution_time
        self._instance = instance
        self._resources = as_resources_view(resources, "the schedule")
        self._repository_def = repository_def
        self._log = log or logging.getLogger("trellis.schedule")
        self._exit_stack = ExitStack()

    @property
    def scheduled_execution_time(self) -> datetime:
        """When the tick was meant to happen (aware; naive input is read as UTC). It can
        differ slightly from the time the function actually runs."""
        return self._time

    @property
    def instance(self) -> Any:
        """The instance the schedule runs against; raises if the context has none."""
        if self._instance is None:
            raise no_instance("schedule")
        return self._instance

    @property
    def resources(self) -> ResourcesView:
        """The initialised resources, read as attributes: ``context.resources.warehouse``."""
        return self._resources

    @property
    def log(self) -> logging.Logger:
        """A plain ``logging.Logger`` for messages about this tick."""
        return self._log

    @property
    def repository_def(self) -> Any:
        """The code location's definitions the schedule belongs to, or None."""
        return self._repository_def

    @property
    def repository_name(self) -> str | None:
        """The name of ``repository_def``, or None."""
        return getattr(self._repository_def, "name", None)

    @property
    def exit_stack(self) -> ExitStack:
        """Cleanups to run when the context is exited (used by whoever built it)."""
        return self._exit_stack

    def __enter__(self) -> ScheduleEvaluationContext:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._exit_stack.close()

    def __repr__(self) -> str:
        return f"<ScheduleEvaluationContext {self._time.isoformat()}>"
