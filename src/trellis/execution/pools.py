"""Concurrency pools on the engine's side: a step of a pool starts only once it holds a
slot of that pool in the instance, and gives it back when its attempt ends.

``PoolGate`` is one run's view of its slots. The orchestration loop asks it before
handing a ready step to the executor (whatever the executor: the claim is made here, in
the orchestrating process, so the process pool and Dask need nothing of their own); a
refused step stays ready and is asked again on the next turn of the loop, and the first
refusal is recorded as an ``ENGINE_EVENT`` on the step ("waiting for a slot in pool
..."), which ``trellis run show`` lists. Slots are freed when an attempt ends (a step
that will be retried claims again), and all of the run's at the end of the run whatever
happened; the slots of a run whose process was killed go back when the instance marks
it failed (``Instance.mark_dead_runs_failed``, and every claim drops slots of ended runs).
"""

from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING

from trellis.core import event_factory

if TYPE_CHECKING:
    from trellis.contexts.system import PlanOrchestrationContext
    from trellis.plan.plan import ExecutionPlan

# How long the loop sleeps between claims when only steps waiting for a slot are left.
POOL_POLL_SECONDS = 0.05


def plan_uses_pools(plan: ExecutionPlan) -> bool:
    """Whether a step the plan executes belongs to a concurrency pool."""
    steps = plan.steps
    return any(steps[key].pool is not None for key in plan.step_keys_to_execute)


class PoolGate:
    """The concurrency slots of one run's steps: claimed before a step is launched,
    freed when its attempt ends."""

    def __init__(self, plan_context: PlanOrchestrationContext) -> None:
        self._context = plan_context
        self._instance = plan_context.instance
        self._run_id = plan_context.run.run_id
        self.held: set[str] = set()
        self.waiting: dict[str, float] = {}  # step key -> when it first waited
        self._refused: set[str] = set()  # pools found full on this turn of the loop

    def new_turn(self) -> None:
        """Forget which pools were full: the next turn asks again."""
        self._refused.clear()

    def admit(self, key: str, pool: str) -> bool:
        """Whether the step may start now: it holds (or just got) a slot of ``pool``."""
        if key in self.held:
            return True
        if pool in self._refused:  # full a moment ago: one claim per pool and turn
            return False
        claim = self._instance.claim_concurrency_slot(pool, self._run_id, key)
        run = self._context.run
        if claim.granted:
            self.held.add(key)
            since = self.waiting.pop(key, None)
            if since is not None:
                waited = time.monotonic() - since
                self._context.emit(
                    event_factory.engine_event(
                        run.run_id,
                        run.job_name,
                        f"Step '{key}' got a slot in concurrency pool '{pool}' after "
                        f"waiting {waited:.2f}s.",
                        level=logging.INFO,
                        step_key=key,
                        pool=pool,
                    )
                )
            return True
        self._refused.add(pool)
        if key not in self.waiting:
            self.waiting[key] = time.monotonic()
            if claim.limit == 0:
                usage = "its limit is 0"
            else:
                usage = f"{claim.in_use} of {claim.limit} slots in use"
                if claim.ahead:
                    usage += f", {claim.ahead} step(s) waiting ahead"
            self._context.emit(
                event_factory.engine_event(
                    run.run_id,
                    run.job_name,
                    f"Step '{key}' is waiting for a slot in concurrency pool '{pool}' ({usage}).",
                    level=logging.INFO,
                    step_key=key,
                    pool=pool,
                    waiting=True,
                )
            )
        return False

    def release(self, key: str) -> None:
        """The step's attempt ended: give its slot back."""
        if key in self.held:
            self.held.discard(key)
            self._instance.free_concurrency_slots(self._run_id, key)

    def release_all(self) -> None:
        """The run is over: give back every slot it still holds, and leave the lines it
        waits in."""
        if self.held or self.waiting:
            self.held.clear()
            self.waiting.clear()
            self._instance.free_concurrency_slots(self._run_id)
