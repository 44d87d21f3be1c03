"""``MultithreadExecutor``: steps on a pool of threads in the run's own process, for
IO-bound work (API calls, database queries). Events are emitted from the worker threads
into the run's stream, which is thread-safe."""

from __future__ import annotations

from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from typing import TYPE_CHECKING, Any

from trellis.execution.executors.base import Executor
from trellis.execution.step import StepOutcome, execute_step

if TYPE_CHECKING:
    from trellis.contexts.system import PlanOrchestrationContext


class MultithreadExecutor(Executor):
    """Runs up to ``max_concurrent`` steps at once on threads."""

    name = "multithread"

    def __init__(
        self, max_concurrent: int = 8, tag_concurrency_limits: list[dict[str, Any]] | None = None
    ) -> None:
        if max_concurrent < 1:
            raise ValueError("max_concurrent must be at least 1")
        self.max_concurrent = max_concurrent
        self.tag_concurrency_limits = list(tag_concurrency_limits or [])
        self._pool: ThreadPoolExecutor | None = None
        self._running: set[Future[StepOutcome]] = set()

    def start(self, plan_context: PlanOrchestrationContext) -> None:
        """Start the thread pool."""
        self._pool = ThreadPoolExecutor(self.max_concurrent, thread_name_prefix="trellis-step")

    def free_slots(self) -> int:
        """Threads not busy with a step."""
        return self.max_concurrent - len(self._running)

    def launch(
        self, plan_context: PlanOrchestrationContext, step_key: str, retry_number: int
    ) -> None:
        """Run the step on a pool thread."""
        assert self._pool is not None
        step_context = plan_context.for_step(plan_context.plan.steps[step_key], retry_number)
        self._running.add(self._pool.submit(execute_step, step_context))

    def wait(self, plan_context: PlanOrchestrationContext) -> list[StepOutcome]:
        """The outcomes of the steps that have finished (none after half a second, so
        the loop can look for a cancellation)."""
        done, _ = wait(self._running, timeout=0.5, return_when=FIRST_COMPLETED)
        self._running -= done
        return [future.result() for future in done]

    def stop(self, plan_context: PlanOrchestrationContext) -> None:
        """Wait for running steps and stop the pool."""
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None
