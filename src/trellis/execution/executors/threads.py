"""``MultithreadExecutor``: steps on a pool of threads in the run's own process, for
IO-bound work (API calls, database queries). Events are emitted from the worker threads
into the run's stream, which is thread-safe.

The threads are daemon threads of the executor's own (not a ``ThreadPoolExecutor``,
whose threads the interpreter waits for at exit): a canceled run interrupts its steps at
their next Python instruction (``execution/cancellation.py``), waits at most
``TERMINATED_WAIT_SECONDS`` for those blocked in a C call, and goes on to tear its
resources down; such a step can no longer store an output or succeed, what it emits is
dropped, and it does not keep the process alive.
"""

from __future__ import annotations

import queue
import threading
import time
from typing import TYPE_CHECKING, Any

from trellis.core.errors import StepTerminated
from trellis.execution.executors.base import Executor
from trellis.execution.step import StepOutcome, execute_step

if TYPE_CHECKING:
    from trellis.contexts.system import PlanOrchestrationContext, StepExecutionContext

WAIT_SECONDS = 0.5
"""The longest ``wait`` blocks without a step ending (the loop then checks for a cancel)."""

TERMINATED_WAIT_SECONDS = 5.0
"""How long ``stop`` waits for the threads of terminated steps before it gives up on them."""

_DONE = object()  # tells a worker thread to exit


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
        self._tasks: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._ended: queue.SimpleQueue[tuple[str, StepOutcome | BaseException | None]] = (
            queue.SimpleQueue()
        )
        self._threads: list[threading.Thread] = []
        self._running: set[str] = set()
        self._terminated = False

    def start(self, plan_context: PlanOrchestrationContext) -> None:
        """Threads are started on demand, up to ``max_concurrent``."""
        self._terminated = False

    def free_slots(self) -> int:
        """Threads not busy with a step."""
        return self.max_concurrent - len(self._running)

    def launch(
        self, plan_context: PlanOrchestrationContext, step_key: str, retry_number: int
    ) -> None:
        """Run the step on a pool thread."""
        step_context = plan_context.for_step(plan_context.plan.steps[step_key], retry_number)
        self._running.add(step_key)
        # A thread per step not yet ended: a thread whose step has ended is idle.
        if len(self._threads) < len(self._running):
            thread = threading.Thread(
                target=self._work,
                args=(plan_context.cancellation,),
                name=f"trellis-step-{len(self._threads)}",
                daemon=True,
            )
            self._threads.append(thread)
            thread.start()
        self._tasks.put(step_context)

    def _work(self, cancellation: Any) -> None:
        """A worker thread: run the steps it is handed until told to exit."""
        while True:
            step_context: StepExecutionContext = self._tasks.get()
            if step_context is _DONE:
                return
            key = step_context.step.key
            result: StepOutcome | BaseException | None
            try:
                if cancellation is not None:
                    cancellation.enter(key)
                result = execute_step(step_context)
            except StepTerminated:
                result = None
            except BaseException as exc:  # a framework error (or KeyboardInterrupt)
                result = exc
            finally:
                if cancellation is not None:
                    cancellation.leave()
            self._ended.put((key, result))

    def wait(self, plan_context: PlanOrchestrationContext) -> list[StepOutcome]:
        """The outcomes of the steps that have finished (none after half a second, so
        the loop can look for a cancellation)."""
        outcomes: list[StepOutcome] = []
        try:
            ended = [self._ended.get(timeout=WAIT_SECONDS)]
        except queue.Empty:
            return outcomes
        while True:
            try:
                ended.append(self._ended.get_nowait())
            except queue.Empty:
                break
        for key, result in ended:
            self._running.discard(key)
            if isinstance(result, BaseException):
                raise result
            if result is not None:
                outcomes.append(result)
        return outcomes

    def terminate(self, plan_context: PlanOrchestrationContext) -> list[StepOutcome]:
        """The run was canceled (its ``Cancellation`` interrupts the step threads): return
        the steps that ended before; the others are terminated."""
        self._terminated = True
        outcomes: list[StepOutcome] = []
        while True:
            try:
                key, result = self._ended.get_nowait()
            except queue.Empty:
                break
            self._running.discard(key)
            if isinstance(result, StepOutcome):
                outcomes.append(result)
        self._running.clear()
        return outcomes

    def stop(self, plan_context: PlanOrchestrationContext) -> None:
        """Let the threads exit: wait for running steps (at most
        ``TERMINATED_WAIT_SECONDS`` once the run was canceled)."""
        for _ in self._threads:
            self._tasks.put(_DONE)
        deadline = time.monotonic() + TERMINATED_WAIT_SECONDS if self._terminated else None
        for thread in self._threads:
            if deadline is None:
                thread.join()
            else:
                thread.join(max(0.0, deadline - time.monotonic()))
        self._threads = []
        self._running.clear()
