"""Run coordinators: what ``instance.submit_run`` does with a new run (Dagster's
``RunCoordinator`` seam). Trellis' coordinator is its run queue: the run is stored QUEUED
and the daemon's ``run_queue`` loop starts it within the limits of ``trellis.yaml``.

Teams that change runs on their way in (tag each run with who submitted it, set a
priority, refuse runs of a retired job) subclass ``QueuedRunCoordinator`` as in Dagster
and name it in ``trellis.yaml``::

    run_coordinator:
      module: my_project.coordinators
      class: TaggingCoordinator
      config: {max_concurrent_runs: 4, team: data}   # the queue keys set its limits;
                                                      # all are the class's arguments

``submit_run(context)`` gets a ``SubmitRunContext`` whose ``dagster_run`` is already
stored (status NOT_STARTED), may change it (``self._instance.add_run_tags(run_id, {...})``)
and calls ``super().submit_run(context)``, which puts it in the queue; raising refuses
the run, which is then stored FAILURE with the error, so nothing submitted is lost. The
class is built once per instance, at the first submission, with the section's config
as keyword arguments, and given the instance (``register_instance``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from trellis.core.errors import InstanceError
from trellis.core.run import Run


@dataclass(frozen=True)
class SubmitRunContext:
    """What a coordinator's ``submit_run`` is given: the run (stored, NOT_STARTED) and
    the workspace it came from (None in Trellis: one code location per process)."""

    dagster_run: Run
    workspace: Any = None

    @property
    def run(self) -> Run:
        """The submitted run (``dagster_run``'s Trellis name)."""
        return self.dagster_run


class RunCoordinator:
    """The base of run coordinators: ``submit_run`` decides what happens to a stored,
    not yet started run; ``cancel_run`` cancels one."""

    _instance: Any = None

    def register_instance(self, instance: Any) -> None:
        """Given the instance the coordinator serves (before any submission)."""
        self._instance = instance

    @property
    def instance(self) -> Any:
        """The instance given by ``register_instance``."""
        if self._instance is None:
            raise InstanceError(f"{type(self).__name__} has no instance: register_instance first.")
        return self._instance

    def submit_run(self, context: SubmitRunContext) -> Run:
        """Handle the submitted run; the run as it is now."""
        raise NotImplementedError

    def cancel_run(self, run_id: str) -> bool:
        """Cancel the run ``run_id``; whether it was in progress and is now canceling."""
        return bool(self.instance.request_cancel(run_id))

    def dispose(self) -> None:
        """Release what the coordinator holds (nothing by default)."""


class QueuedRunCoordinator(RunCoordinator):
    """The run queue: ``submit_run`` enqueues the run (QUEUED, ``RUN_ENQUEUED``) for the
    daemon. The arguments are Dagster's; the queue's limits are read from
    ``trellis.yaml`` by the daemon, so here they are only kept (``max_concurrent_runs``
    ...) for a subclass to read."""

    def __init__(
        self,
        max_concurrent_runs: int | None = None,
        tag_concurrency_limits: list[dict[str, Any]] | None = None,
        dequeue_interval_seconds: float | None = None,
        **dagster_options: Any,
    ) -> None:
        self.max_concurrent_runs = max_concurrent_runs
        self.tag_concurrency_limits = list(tag_concurrency_limits or [])
        self.dequeue_interval_seconds = dequeue_interval_seconds
        self.options = dict(dagster_options)

    def submit_run(self, context: SubmitRunContext) -> Run:
        """Put the stored run in the queue; the queued run."""
        return self.instance.enqueue_stored_run(context.dagster_run.run_id)  # type: ignore[no-any-return]
