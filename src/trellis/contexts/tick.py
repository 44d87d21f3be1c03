"""``TickContext``: what the schedule and sensor evaluation contexts share (instance,
resources, logger, the code location, an exit stack for cleanups)."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from contextlib import ExitStack
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


class TickContext:
    """The base of ``ScheduleEvaluationContext`` and ``SensorEvaluationContext``.

    A view: it holds what the caller built (resources already initialised) and runs
    nothing. Usable as a context manager; callbacks pushed on its exit stack (for example
    to tear down resources) run when the ``with`` block ends.
    """

    __slots__ = (
        "__weakref__",  # build_*_context tears its resources down on collection
        "_exit_stack",
        "_instance",
        "_log",
        "_repository_def",
        "_resources",
    )
    _kind = "tick"

    def __init__(
        self,
        instance: Any,
        resources: Mapping[str, Any] | ResourcesView | None,
        resources_owner: str,
        repository_def: Any,
        log: logging.Logger,
    ) -> None:
        self._instance = instance
        self._resources = as_resources_view(resources, resources_owner)
        self._repository_def = repository_def
        self._log = log
        self._exit_stack = ExitStack()

    @property
    def instance(self) -> Any:
        """The instance the tick runs against; raises if the context has none."""
        if self._instance is None:
            raise no_instance(self._kind)
        return self._instance

    @property
    def instance_if_any(self) -> Any:
        """The instance, or None when the context was built without one (what the tick
        applies a sensor's dynamic partition requests to)."""
        return self._instance

    @property
    def resources(self) -> ResourcesView:
        """The initialised resources, read as attributes: ``context.resources.api``."""
        return self._resources

    @property
    def log(self) -> logging.Logger:
        """A plain ``logging.Logger`` for messages about this tick."""
        return self._log

    @property
    def repository_def(self) -> Any:
        """The code location's definitions the schedule or sensor belongs to, or None."""
        return self._repository_def

    @property
    def repository_name(self) -> str | None:
        """The name of ``repository_def``, or None."""
        return getattr(self._repository_def, "name", None)

    @property
    def exit_stack(self) -> ExitStack:
        """Cleanups to run when the context is exited (used by whoever built it)."""
        return self._exit_stack

    def __enter__(self) -> Any:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._exit_stack.close()
