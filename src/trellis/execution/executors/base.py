"""The ``Executor`` interface: where ready steps run. The orchestration loop
(``engine.py``) decides *which* steps are ready; an executor only decides *where* they
run, and reports each attempt's ``StepOutcome``.

To write your own executor, implement ``free_slots``, ``launch`` and ``wait``. Events of
a step must reach ``plan_context.emit`` while the step runs (or as soon as they arrive
from elsewhere), in order; the orchestrating process stays their single writer.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections import deque
from typing import TYPE_CHECKING

from trellis.core import event_factory
from trellis.core.errors import StepWorkerCrashedError
from trellis.core.events import ErrorInfo
from trellis.defs.retry import decide_retry
from trellis.execution.step import StepOutcome, StepStatus, execute_step

if TYPE_CHECKING:
    from trellis.contexts.system import PlanOrchestrationContext


class Executor(ABC):
    """Runs the steps that the orchestration loop hands it.

    ``crosses_processes``: steps run in other processes, so outputs need a persistent IO
    manager and the job must be loadable by reference. ``tag_concurrency_limits``: the
    loop launches at most ``limit`` steps at once whose tag ``key`` (equal to ``value``,
    when given) is set.
    """

    name = "executor"
    crosses_processes = False
    tag_concurrency_limits: list[dict] = []

    def terminate(self, plan_context: PlanOrchestrationContext) -> list[StepOutcome] | None:
        """Stop running steps now (the run was canceled); ``stop`` is still called after.
        Return the outcomes of steps that ended before they could be stopped; the loop
        records every other running step as terminated, and events that a terminated step
        emits afterwards must not reach ``plan_context.emit`` (threads of this process that
        run user code are interrupted by the run's ``Cancellation``)."""
        return None

    def start(self, plan_context: PlanOrchestrationContext) -> None:  # noqa: B027
        """Called once before the first step (start workers here)."""

    @abstractmethod
    def free_slots(self) -> int:
        """How many more steps may be launched now."""

    @abstractmethod
    def launch(
        self, plan_context: PlanOrchestrationContext, step_key: str, retry_number: int
    ) -> None:
        """Start one attempt of a step."""

    @abstractmethod
    def wait(self, plan_context: PlanOrchestrationContext) -> list[StepOutcome]:
        """Block until at least one launched attempt has ended; return those outcomes."""

    def stop(self, plan_context: PlanOrchestrationContext) -> None:  # noqa: B027
        """Called once after the last step, whatever happened (stop workers here)."""


class InProcessExecutor(Executor):
    """Runs each step in the orchestrating thread, one at a time, in plan order."""

    name = "in_process"

    def __init__(self) -> None:
        self._queue: deque[tuple[str, int]] = deque()

    def free_slots(self) -> int:
        """One step at a time."""
        return 0 if self._queue else 1

    def launch(
        self, plan_context: PlanOrchestrationContext, step_key: str, retry_number: int
    ) -> None:
        """Queue the step; it runs in ``wait``."""
        self._queue.append((step_key, retry_number))

    def wait(self, plan_context: PlanOrchestrationContext) -> list[StepOutcome]:
        """Run the queued step here and now (a cancellation interrupts it: the
        ``StepTerminated`` or ``KeyboardInterrupt`` reaches the loop)."""
        step_key, retry_number = self._queue.popleft()
        step_context = plan_context.for_step(plan_context.plan.steps[step_key], retry_number)
        cancellation = plan_context.cancellation
        if cancellation is None:
            return [execute_step(step_context)]
        try:
            cancellation.enter(step_key)
            return [execute_step(step_context)]
        finally:
            cancellation.leave()


def crash_outcome(
    plan_context: PlanOrchestrationContext,
    step_key: str,
    retry_number: int,
    exc: StepWorkerCrashedError,
    exit_code: int | None = None,
) -> StepOutcome:
    """Emit the end of a step attempt whose worker died and return its outcome: a retry
    (``STEP_UP_FOR_RETRY``) when the step's ``RetryPolicy`` still allows one, else a
    failure (``STEP_FAILURE``), both marked ``crashed`` (with the worker's ``exit_code``
    when known). Shared by every executor whose steps run in other processes."""
    run = plan_context.run
    error = ErrorInfo.from_exception(exc)
    policy = plan_context.plan.steps[step_key].retry_policy
    retry, delay = decide_retry(policy, retry_number, exc)
    if retry:
        plan_context.emit(
            event_factory.step_up_for_retry(
                run.run_id,
                run.job_name,
                step_key,
                f"Step '{step_key}' failed and will be retried"
                + (f" in {delay:.2f}s" if delay else "")
                + f": {exc}",
                error=error,
                seconds_to_wait=delay,
                retry_number=retry_number,
                crashed=True,
                exit_code=exit_code,
            )
        )
        return StepOutcome(step_key, StepStatus.RETRY, exception=exc, retry_delay=delay)
    plan_context.emit(
        event_factory.step_failure(
            run.run_id,
            run.job_name,
            step_key,
            f"Step '{step_key}' failed: {exc}",
            error=error,
            error_source="UNEXPECTED_ERROR",
            crashed=True,
            exit_code=exit_code,
        )
    )
    return StepOutcome(step_key, StepStatus.FAILURE, exception=exc)
