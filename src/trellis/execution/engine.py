"""The orchestration loop: which steps are ready, retries, skips, the run's end.

One piece of code whatever the executor: ``run_plan`` hands ready steps to the
executor, takes back each attempt's outcome, schedules retries, and emits
``STEP_SKIPPED`` for steps whose upstream failed or did not produce an optional output.
"""

from __future__ import annotations

import gc
import heapq
import time
from collections import deque
from typing import TYPE_CHECKING

from trellis.core import event_factory
from trellis.core.asset_checks import AssetCheckFailedError
from trellis.core.errors import StepTerminated
from trellis.execution.dynamic_resolution import abandoned_steps, register_resolution
from trellis.execution.pools import POOL_POLL_SECONDS, PoolGate, plan_uses_pools
from trellis.execution.step import StepOutcome, StepStatus
from trellis.plan.steps import FromMultipleStepOutputs, StepOutputHandle

if TYPE_CHECKING:
    from trellis.contexts.system import PlanOrchestrationContext
    from trellis.execution.cancellation import Cancellation
    from trellis.execution.executors.base import Executor
    from trellis.plan.plan import ExecutionPlan
    from trellis.plan.steps import ExecutionStep


class ActiveExecution:
    """The scheduling state of a run: waiting, ready, running and finished steps."""

    def __init__(self, plan: ExecutionPlan) -> None:
        self.plan = plan
        self.waiting_on: dict[str, int] = {}
        self.ready: list[tuple[int, str]] = []  # (plan index, key): plan order first
        dynamic = plan.dynamic
        if dynamic is None:
            self.index = {key: i for i, key in enumerate(plan.steps)}
        else:  # steps mapped over dynamic outputs join later, next to their node's place
            self.index = dynamic.static_index(plan)
        # Mapped steps that will never be made (their dynamic step failed or was skipped),
        # with that step's key: recorded as skipped by the loop.
        self.abandoned: list[tuple[str, str]] = []
        self.attempts: dict[str, int] = {}
        self.retry_at: list[tuple[float, int, str]] = []
        self.running: set[str] = set()
        self.succeeded: set[str] = set()
        self.failed: set[str] = set()
        self.skipped: set[str] = set()
        # Skipped because an upstream step failed (or was skipped so): a fan-in input
        # does not run on without them, as it does without an output not yielded.
        self.skipped_after_failure: set[str] = set()
        self.produced: set[StepOutputHandle] = set()
        self.first_failure: StepOutcome | None = None
        # Steps that failed because a blocking asset check did not pass: the checks.
        self.blocked_by: dict[str, list[str]] = {}
        self.canceled = False
        self.interrupted = False  # stopped by Ctrl-C (re-raised once the run has ended)
        # Whether some step succeeded without producing every output (optional outputs):
        # until one does, a step whose upstream all succeeded has all its inputs.
        self.some_output_missing = False
        executing = set(plan.step_keys_to_execute)
        for key, step in plan.steps.items():
            if key not in executing:  # re-execution: produced by an earlier run
                self.succeeded.add(key)
                self.produced.update(o.handle for o in step.outputs)
                if dynamic is not None:
                    self.produced.update(dynamic.produced_items(key))
        for key in plan.step_keys_to_execute:
            step = plan.steps[key]
            count = len([u for u in step.upstream_step_keys if u in executing])
            self.waiting_on[key] = count
            if count == 0:
                heapq.heappush(self.ready, (self.index[key], key))

    @property
    def is_complete(self) -> bool:
        """Whether every step has finished (succeeded, failed or skipped)."""
        return len(self.succeeded) + len(self.failed) + len(self.skipped) == len(self.plan.steps)

    def take_ready(
        self,
        limit: int,
        tag_limits: list[dict] | None = None,
        pools: PoolGate | None = None,
    ) -> list[tuple[str, int]]:
        """Up to ``limit`` ready steps (with their attempt numbers), in plan order, within
        the tag concurrency limits and, for steps of a concurrency pool, holding a slot
        of it (``pools``)."""
        now = time.monotonic()
        while self.retry_at and self.retry_at[0][0] <= now:
            _, index, key = heapq.heappop(self.retry_at)
            heapq.heappush(self.ready, (index, key))
        taken: list[tuple[str, int]] = []
        held: list[tuple[int, str]] = []
        if pools is not None:
            pools.new_turn()
        while self.ready and len(taken) < limit:
            item = heapq.heappop(self.ready)
            key = item[1]
            if tag_limits and self._over_tag_limit(key, tag_limits):
                held.append(item)
                continue
            if pools is not None:
                pool = self.plan.steps[key].pool
                if pool is not None and not pools.admit(key, pool):
                    held.append(item)
                    continue
            self.running.add(key)
            taken.append((key, self.attempts.get(key, 0)))
        for item in held:
            heapq.heappush(self.ready, item)
        return taken

    def _over_tag_limit(self, key: str, tag_limits: list[dict]) -> bool:
        tags = self.plan.steps[key].tags
        for limit in tag_limits:
            tag, value = limit["key"], limit.get("value")
            if tag not in tags or (value is not None and tags[tag] != value):
                continue
            busy = sum(
                1
                for k in self.running
                if tag in self.plan.steps[k].tags
                and (value is None or self.plan.steps[k].tags[tag] == value)
            )
            if busy >= limit["limit"]:
                return True
        return False

    def seconds_until_retry(self) -> float | None:
        """How long until the next retry is due, if one is waiting."""
        if not self.retry_at:
            return None
        return max(0.0, self.retry_at[0][0] - time.monotonic())

    def finish(self, outcome: StepOutcome) -> list[str]:
        """Record an attempt's outcome; return the keys that just became unblocked."""
        key = outcome.step_key
        self.running.discard(key)
        if outcome.status is StepStatus.RETRY:
            self.attempts[key] = self.attempts.get(key, 0) + 1
            due = time.monotonic() + outcome.retry_delay
            heapq.heappush(self.retry_at, (due, self.index[key], key))
            return []
        if outcome.status is StepStatus.SUCCESS:
            self.succeeded.add(key)
            self.produced |= outcome.produced
            if outcome.dynamic_keys is not None:  # its mapped steps join the run
                outputs = self.plan.steps[key].outputs
                if any(o.handle not in outcome.produced for o in outputs):
                    self.some_output_missing = True
                return register_resolution(self, outcome) + self._release(key)
            if len(outcome.produced) < len(self.plan.steps[key].outputs):
                self.some_output_missing = True
        else:
            self.failed.add(key)
            if self.first_failure is None:
                self.first_failure = outcome
            if isinstance(outcome.exception, AssetCheckFailedError):
                self.blocked_by[key] = [k.to_user_string() for k in outcome.exception.check_keys]
            if self.plan.dynamic is not None:
                abandoned_steps(self, key)
        return self._release(key)

    def _release(self, key: str) -> list[str]:
        unblocked = []
        for down in self.plan.downstream[key]:
            if down not in self.waiting_on:  # not executed in this run
                continue
            self.waiting_on[down] -= 1
            if self.waiting_on[down] == 0:
                unblocked.append(down)
        return unblocked

    def skip_reason(self, key: str) -> str | None:
        """Why a step whose upstream steps have all finished cannot run, or None."""
        if not (self.failed or self.skipped or self.some_output_missing):
            return None
        step = self.plan.steps[key]
        bad = (
            sorted(u for u in step.upstream_step_keys if u in self.failed or u in self.skipped)
            if self.failed or self.skipped
            else None
        )
        if bad:
            failed = [u for u in bad if u in self.failed]
            skipped = [u for u in bad if u in self.skipped]
            # As in Dagster, a fan-in input (a list, or a .collect()) takes what its
            # skipped sources did not produce as missing, and runs with the rest (not when
            # they were skipped because of a failure).
            if (
                failed
                or not _only_fan_in(step, skipped)
                or any(u in self.skipped_after_failure for u in skipped)
            ):
                parts = []
                blocked = [u for u in failed if u in self.blocked_by]
                if blocked:
                    parts.append(self._blocked_reason(blocked))
                    failed = [u for u in failed if u not in self.blocked_by]
                if failed:
                    parts.append(f"upstream step(s) {failed} failed")
                if skipped:
                    parts.append(f"upstream step(s) {skipped} were skipped")
                return " and ".join(parts)
        for step_input in step.inputs:
            missing = [h for h in step_input.upstream_handles if h not in self.produced]
            if missing and len(missing) == len(step_input.upstream_handles):
                h = missing[0]
                return f"upstream output '{h.output_name}' of step '{h.step_key}' was not produced"
        return None

    def _blocked_reason(self, steps: list[str]) -> str:
        """Why a step waits in vain on steps whose blocking asset checks failed."""
        checks = [check for step in steps for check in self.blocked_by[step]]
        if len(checks) == 1:
            what = f"blocking asset check '{checks[0]}' failed"
        else:
            what = f"blocking asset checks {checks} failed"
        where = f"step '{steps[0]}'" if len(steps) == 1 else f"steps {steps}"
        return f"{what} (in {where})"

    def make_ready(self, key: str) -> None:
        """Queue a step whose upstream steps all succeeded."""
        heapq.heappush(self.ready, (self.index[key], key))

    def skip(self, key: str) -> list[str]:
        """Mark a step skipped; return the keys that just became unblocked."""
        self.skipped.add(key)
        if self.failed and any(
            u in self.failed or u in self.skipped_after_failure
            for u in self.plan.steps[key].upstream_step_keys
        ):
            self.skipped_after_failure.add(key)
        if self.plan.dynamic is not None:
            abandoned_steps(self, key)
        return self._release(key)

    def abandon_pending(self) -> list[str]:
        """Every step that has not started (used when the run stops early)."""
        done = self.succeeded | self.failed | self.skipped | self.running
        return [k for k in self.plan.steps if k not in done]


def _only_fan_in(step: ExecutionStep, skipped: list[str]) -> bool:
    """Whether the skipped upstream steps feed ``step`` only through fan-in inputs."""
    if set(skipped) & set(step.node.after):
        return False
    for step_input in step.inputs:
        if isinstance(step_input.source, FromMultipleStepOutputs):
            continue
        if any(h.step_key in skipped for h in step_input.upstream_handles):
            return False
    return True


def _emit_skip(plan_context: PlanOrchestrationContext, key: str, reason: str) -> None:
    run = plan_context.run
    plan_context.emit(event_factory.step_skipped(run.run_id, run.job_name, key, reason))


def _settle(plan_context: PlanOrchestrationContext, active: ActiveExecution, keys: list[str]):
    """Queue or skip each newly unblocked step (skips cascade downstream)."""
    pending = deque(keys)
    while pending:
        key = pending.popleft()
        reason = active.skip_reason(key)
        if reason is None:
            active.make_ready(key)
        else:
            _emit_skip(plan_context, key, reason)
            pending.extend(active.skip(key))
    if active.abandoned:
        _emit_abandoned(plan_context, active)


def _emit_abandoned(plan_context: PlanOrchestrationContext, active: ActiveExecution) -> None:
    """Record the mapped steps that will never be made (``node[?]``) as skipped."""
    for key, cause in active.abandoned:
        what = "failed" if cause in active.failed else "was skipped"
        reason = f"upstream step '{cause}' {what}, so its dynamic output has no items to map"
        _emit_skip(plan_context, key, reason)
    active.abandoned.clear()


YOUNG_COLLECTION_EVERY = 500


def _cancel(
    plan_context: PlanOrchestrationContext,
    executor: Executor,
    active: ActiveExecution,
    cancellation: Cancellation | None,
) -> None:
    """Stop launching, terminate running steps, and record every unfinished step."""
    active.canceled = True
    run = plan_context.run
    if cancellation is not None:
        cancellation.announce()  # RUN_CANCELING, naming the cause
        cancellation.deliver()  # the threads of this process running steps
    for outcome in executor.terminate(plan_context) or ():
        if outcome.step_key in active.running:  # ended before it could be terminated
            active.finish(outcome)
    for key in sorted(active.running):
        failure = event_factory.step_failure(
            run.run_id,
            run.job_name,
            key,
            f"Step '{key}' was terminated: the run was canceled.",
            error=None,
            error_source=None,
            reason="canceled",
        )
        if cancellation is not None:
            cancellation.end_step(failure)  # what the step emits later is dropped
        else:
            plan_context.emit(failure)
        active.failed.add(key)
    active.running.clear()
    for key in active.abandon_pending():
        _emit_skip(plan_context, key, "the run was canceled")
        active.skipped.add(key)


def run_plan(
    plan_context: PlanOrchestrationContext,
    executor: Executor,
    stop_on_failure: bool = False,
    cancellation: Cancellation | None = None,
) -> ActiveExecution:
    """Run every step of the plan on ``executor``; return the final scheduling state.

    ``cancellation`` is looked at between steps (``trellis run cancel``, a signal: see
    ``cancellation.py``); ``KeyboardInterrupt`` or ``StepTerminated`` raised in the loop or
    a step cancels the run too (the caller re-raises a ``KeyboardInterrupt`` once the
    run's steps are recorded).
    """
    active = ActiveExecution(plan_context.plan)
    plan_context.produced_outputs = active.produced  # the same set, updated in place
    tag_limits = list(getattr(executor, "tag_concurrency_limits", None) or [])
    pools = PoolGate(plan_context) if plan_uses_pools(plan_context.plan) else None
    finished = 0
    try:
        executor.start(plan_context)
        while not active.is_complete:
            if stop_on_failure and active.first_failure is not None:
                break
            if cancellation is not None and cancellation.requested:
                _cancel(plan_context, executor, active, cancellation)
                break
            for key, attempt in active.take_ready(executor.free_slots(), tag_limits, pools):
                executor.launch(plan_context, key, attempt)
            if not active.running:
                delay = active.seconds_until_retry()
                if active.ready:  # steps waiting for a slot of a concurrency pool
                    delay = POOL_POLL_SECONDS if delay is None else min(delay, POOL_POLL_SECONDS)
                if delay is None:  # pragma: no cover - guarded by the plan's acyclicity
                    raise RuntimeError("No step can run; the plan is stuck.")
                time.sleep(min(delay, 0.5))
                continue
            for outcome in executor.wait(plan_context):
                if pools is not None:
                    pools.release(outcome.step_key)
                _settle(plan_context, active, active.finish(outcome))
                finished += 1
                if finished % YOUNG_COLLECTION_EVERY == 0 and not gc.isenabled():
                    gc.collect(0)
        if stop_on_failure and active.first_failure is not None and not active.canceled:
            while active.running:
                for outcome in executor.wait(plan_context):
                    if pools is not None:
                        pools.release(outcome.step_key)
                    active.finish(outcome)
            for key in active.abandon_pending():
                _emit_skip(plan_context, key, "the run stopped after a failure")
                active.skipped.add(key)
    except (KeyboardInterrupt, StepTerminated) as exc:
        if cancellation is not None:
            if isinstance(exc, KeyboardInterrupt) and cancellation.signum is None:
                cancellation.interrupted = True  # raised by the run's own code
            cancellation.request(f"{type(exc).__name__} raised")
        else:
            active.interrupted = isinstance(exc, KeyboardInterrupt)
        _cancel(plan_context, executor, active, cancellation)
    finally:
        try:
            executor.stop(plan_context)
        finally:
            if pools is not None:
                pools.release_all()
    return active
