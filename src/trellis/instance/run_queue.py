"""``RunQueueMixin``: runs that wait in the instance for the daemon's run queue.

A run enters the queue with ``submit_run`` (status QUEUED, a ``RUN_ENQUEUED`` event).
The queue takes it with ``claim_queued_run`` (QUEUED -> STARTING, a ``RUN_STARTING``
event), a conditional write, so across processes exactly one claimer gets it. The
process that a launcher starts for the run then takes it with ``begin_launched_run``
(STARTING -> STARTED, conditional again): if a run is launched twice (a daemon killed
after the launch restarts and launches its STARTING runs again), one process runs it and
the other finds it taken and exits. A run therefore never goes back to QUEUED, and
never runs twice.
"""

from __future__ import annotations

import os
import threading
import time
from typing import TYPE_CHECKING, Any

from trellis.core import event_factory
from trellis.core.errors import InstanceError
from trellis.core.run import HOST_TAG, PID_NAMESPACE_TAG, PID_TAG, Run, RunStatus
from trellis.instance.liveness import this_host, this_pid_namespace
from trellis.instance.storage import RunsFilter

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

    from trellis.core.events import Event
    from trellis.instance.queue_wakeup import Listening, QueueWakeup
    from trellis.instance.storage import InstanceStorage

PRIORITY_TAG = "trellis/priority"
"""A run tag: the queue starts runs of higher priority (an integer, default 0) first."""
DAGSTER_PRIORITY_TAG = "dagster/priority"  # Dagster's name for it, honoured as well

_claim_lock = threading.Lock()  # in-memory storage shares run objects: claims take turns


def run_priority(run: Run) -> int:
    """A queued run's priority from its ``trellis/priority`` (or ``dagster/priority``)
    tag; 0 when absent or not an integer."""
    return priority_of(run.tags)


def priority_of(tags: Mapping[str, str]) -> int:
    """The priority the tags ``tags`` give a run (see ``run_priority``)."""
    text = tags.get(PRIORITY_TAG, tags.get(DAGSTER_PRIORITY_TAG, "0"))
    try:
        return int(text)
    except ValueError:
        return 0


class RunQueueMixin:
    """Submitting, listing and claiming queued runs."""

    storage: InstanceStorage
    is_ephemeral: bool
    settings: Any
    _queue_wakeup: QueueWakeup | None = None
    _coordinator: Any = None

    def submit_run(self, run: Run) -> Run:
        """Put a new run in the run queue: stored with status QUEUED and a
        ``RUN_ENQUEUED`` event; the daemon's ``run_queue`` loop starts it. With a user's
        ``run_coordinator`` class in ``trellis.yaml`` (``run_coordinator.py``), the run is
        stored NOT_STARTED and handed to its ``submit_run``; a coordinator that raises
        ends the run FAILURE with the error and the error is raised."""
        coordinator = self.run_coordinator
        if coordinator is None:
            run.status = RunStatus.QUEUED
            self.storage.add_run(run)
            event = event_factory.run_enqueued(run.run_id, run.job_name)
            self.storage.store_events([event], run)
            self.wake_run_queue()
            return run
        from trellis.instance.run_coordinator import SubmitRunContext

        run.status = RunStatus.NOT_STARTED
        self.storage.add_run(run)
        try:
            submitted = coordinator.submit_run(SubmitRunContext(run))
        except Exception as exc:
            message = (
                f"The run coordinator {type(coordinator).__name__} refused run {run.run_id}: "
                f"{type(exc).__name__}: {exc}"
            )
            self.fail_unlaunched_run(run.run_id, message)
            raise
        stored = self.storage.get_run(run.run_id)
        return stored if stored is not None else submitted

    @property
    def run_coordinator(self) -> Any:
        """The user's coordinator ``trellis.yaml`` names (built at first use and given this
        instance), or None: the run queue itself."""
        spec = self.settings.daemon.run_coordinator
        if spec is None:
            return None
        if self._coordinator is None:
            from trellis.instance.run_coordinator import RunCoordinator
            from trellis.instance.user_class import build_user_class, config_file_of

            built = build_user_class(
                "run_coordinator",
                config_file_of(self),
                spec.module,
                spec.class_name,
                RunCoordinator,
                spec.config,
            )
            built.register_instance(self)
            self._coordinator = built
        return self._coordinator

    def enqueue_stored_run(self, run_id: str) -> Run:
        """Put the stored, not yet started run ``run_id`` in the queue (NOT_STARTED ->
        QUEUED with a ``RUN_ENQUEUED`` event): what ``QueuedRunCoordinator.submit_run``
        does. Raises ``InstanceError`` when the run is not stored or not NOT_STARTED."""
        stored = self.storage.get_run(run_id)
        if stored is None:
            raise InstanceError(f"Cannot enqueue run {run_id}: it is not stored.")

        def change(run: Run) -> None:
            run.status = RunStatus.QUEUED

        event = event_factory.run_enqueued(run_id, stored.job_name)
        queued = self._transition(run_id, RunStatus.NOT_STARTED, change, event)
        if queued is None:
            raise InstanceError(
                f"Cannot enqueue run {run_id}: it is {stored.status.value}, not NOT_STARTED."
            )
        self.wake_run_queue()
        return queued

    def add_run_tags(self, run_id: str, new_tags: Mapping[str, str]) -> Run:
        """Add (or change) tags of the stored run ``run_id``; the run. Raises
        ``InstanceError`` for a run that is not stored or a tag that is not a string."""
        bad = {
            k: v for k, v in new_tags.items() if not isinstance(k, str) or not isinstance(v, str)
        }
        if bad:
            raise InstanceError(f"Run tags must be strings, got {bad!r} for run {run_id}.")
        with _claim_lock:
            run = self.storage.get_run(run_id)
            if run is None:
                raise InstanceError(f"Cannot tag run {run_id}: it is not stored.")
            if self.is_ephemeral:
                from trellis.core.serialization import run_from_dict, run_to_dict

                run = run_from_dict(run_to_dict(run))
            run.tags = {**run.tags, **new_tags}
            self.storage.update_run(run)
            return run

    def wake_run_queue(self) -> None:
        """Wake the daemon's run queue now, from any process (``queue_wakeup.py``): a
        run was enqueued or a place freed. Nothing happens when no daemon listens."""
        if self._queue_wakeup is None:
            self._queue_wakeup = self.storage.queue_wakeup()
        self._queue_wakeup.poke()

    def listen_for_run_queue(self, callback: Callable[[], None]) -> Listening | None:
        """Call ``callback()`` whenever a process wakes the run queue (the daemon does,
        while it holds the lease); ``close()`` the result to stop. None when this
        instance cannot be listened to (the queue then looks periodically)."""
        return self.storage.queue_wakeup().listen(callback)

    def get_queued_runs(self, limit: int | None = None) -> list[Run]:
        """The runs waiting in the queue, in the order the queue starts them: higher
        priority first, then oldest first."""
        runs = self.storage.get_runs(RunsFilter(statuses=(RunStatus.QUEUED,)))
        runs.sort(key=lambda r: (-run_priority(r), r.create_time))
        return runs[:limit] if limit is not None else runs

    def get_queued_run_ids(self) -> list[str]:
        """The ids of the runs waiting in the queue, in the order the queue starts them
        (as ``get_queued_runs``), read without the runs' bodies."""
        order = self.storage.queued_run_order((PRIORITY_TAG, DAGSTER_PRIORITY_TAG))
        order.sort(key=lambda item: (-priority_of(item[2]), item[1]))
        return [run_id for run_id, _, _ in order]

    def _transition(
        self, run_id: str, expected: RunStatus, change: Any, event: Event
    ) -> Run | None:
        """Move the stored run ``run_id`` out of ``expected`` (``change(run)`` sets the new
        state) with ``event``, only if it is still in ``expected``: the changed run, or
        None when another process got there first."""
        with _claim_lock:
            run = self.storage.get_run(run_id)
            if run is None or run.status is not expected:
                return None
            if self.is_ephemeral:  # shared by reference: change a copy, then swap it in
                from trellis.core.serialization import run_from_dict, run_to_dict

                run = run_from_dict(run_to_dict(run))
            change(run)
            stored = self.storage.store_events([event], run, only_if_status=(expected,))
            return run if stored else None

    def claim_queued_run(self, run_id: str, message: str = "") -> Run | None:
        """Take a queued run for launching (QUEUED -> STARTING with a ``RUN_STARTING``
        event): the run, or None when it is no longer queued (another daemon, or a
        cancellation, took it first). Atomic across processes."""

        def change(run: Run) -> None:
            run.status = RunStatus.STARTING

        stored = self.storage.get_run(run_id)
        job_name = stored.job_name if stored is not None else ""
        text = message or "The run queue took the run and is launching it."
        event = event_factory.run_starting(run_id, job_name, text)
        return self._transition(run_id, RunStatus.QUEUED, change, event)

    def begin_launched_run(self, run_id: str) -> Run | None:
        """Called in the process a run launcher started: take the STARTING run for this
        process (STARTING -> STARTED, with this process's pid and host, so dead-run
        detection watches it). None when it is not STARTING any more (another process
        launched for the same run took it first): do not run it."""
        stored = self.storage.get_run(run_id)
        if stored is None:
            return None
        pid = os.getpid()

        def change(run: Run) -> None:
            run.status = RunStatus.STARTED
            run.start_time = time.time()
            run.tags[PID_TAG] = str(pid)
            run.tags[HOST_TAG] = this_host()
            namespace = this_pid_namespace()
            if namespace is not None:
                run.tags[PID_NAMESPACE_TAG] = namespace

        event = event_factory.engine_event(
            run_id, stored.job_name, f"Run process {pid} started for the launched run."
        )
        return self._transition(run_id, RunStatus.STARTING, change, event)

    def fail_unlaunched_run(self, run_id: str, message: str) -> bool:
        """End a run that its launcher could not start (still STARTING or QUEUED), or that
        a run coordinator refused (NOT_STARTED), as FAILURE with ``message``; whether it
        was ended (False: it had started)."""
        stored = self.storage.get_run(run_id)
        unstarted = (RunStatus.STARTING, RunStatus.QUEUED, RunStatus.NOT_STARTED)
        if stored is None or stored.status not in unstarted:
            return False

        def change(run: Run) -> None:
            run.status = RunStatus.FAILURE
            run.end_time = time.time()

        event = event_factory.run_failure(run_id, stored.job_name, message)
        return self._transition(run_id, stored.status, change, event) is not None

    def cancel_unstarted_run(self, run_id: str, message: str = "") -> bool:
        """End as CANCELED a run asked to cancel while its launch was under way (STARTING
        -> CANCELING, never taken by a process: no start time), with a ``RUN_CANCELED``
        event; whether it was (False: not CANCELING, or a process had started it)."""
        text = message or "The run was canceled before its process started it."
        return self._cancel_unstarted(run_id, RunStatus.CANCELING, text)

    def cancel_queued_run(self, run_id: str, message: str = "") -> bool:
        """End a run still waiting in the queue as CANCELED (QUEUED -> CANCELED with a
        ``RUN_CANCELED`` event); whether it was (False: it had left the queue)."""
        text = message or "The run was canceled before it left the queue."
        return self._cancel_unstarted(run_id, RunStatus.QUEUED, text)

    def _cancel_unstarted(self, run_id: str, expected: RunStatus, text: str) -> bool:
        """``expected`` -> CANCELED with a ``RUN_CANCELED`` event saying ``text``, for a
        run no process has started."""
        stored = self.storage.get_run(run_id)
        if stored is None or stored.start_time is not None:
            return False

        def change(run: Run) -> None:
            run.status = RunStatus.CANCELED
            run.end_time = time.time()

        event = event_factory.run_canceled(run_id, stored.job_name, text)
        return self._transition(run_id, expected, change, event) is not None
