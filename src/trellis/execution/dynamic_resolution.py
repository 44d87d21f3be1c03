"""The orchestration loop's side of dynamic outputs: when a step that yields them ends,
the steps mapped over them join the run.

``register_resolution`` asks the plan for the new steps (``DynamicPlan.resolve``) and
enters each one into ``ActiveExecution``'s bookkeeping the way the static steps were at
the start: a scheduling index, a count of the upstream steps still to finish, and an edge
from each of those to it. Collecting steps get the edges to the mapped steps they now wait
for. Nothing else is looked at, so a resolution costs O(1) per new step.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from trellis.plan.steps import StepOutputHandle

if TYPE_CHECKING:
    from trellis.execution.engine import ActiveExecution
    from trellis.execution.step import StepOutcome


def register_resolution(active: ActiveExecution, outcome: StepOutcome) -> list[str]:
    """Resolve the dynamic outputs of the step ``outcome`` ended (a success) and enter the
    new steps; return those with nothing left to wait for."""
    plan = active.plan
    dynamic = plan.dynamic
    assert dynamic is not None and outcome.dynamic_keys is not None
    step = plan.steps[outcome.step_key]
    downstream = plan.downstream
    waiting_on = active.waiting_on
    index = active.index
    succeeded, failed, skipped = active.succeeded, active.failed, active.skipped
    unblocked: list[str] = []
    for output_name, keys in outcome.dynamic_keys.items():
        produced = StepOutputHandle(step.key, output_name) in outcome.produced
        made, bound = dynamic.resolve(plan, step, output_name, keys, produced)
        for new in made:
            key = new.key
            index[key] = dynamic.next_index(new)
            downstream[key] = []
            count = 0
            for up in new.upstream_step_keys:
                if up in succeeded or up in failed or up in skipped:
                    continue
                count += 1
                downstream[up].append(key)
            waiting_on[key] = count
            if not count:
                unblocked.append(key)
        for collector, added in bound:
            key = collector.key
            if key not in waiting_on:  # not run again (re-execution)
                continue
            for up in added:
                if up in succeeded or up in failed or up in skipped:
                    continue
                waiting_on[key] += 1
                downstream[up].append(key)
    return unblocked


def abandoned_steps(active: ActiveExecution, step_key: str) -> None:
    """Note the mapped steps that will never be made because ``step_key`` (which yields
    dynamic outputs) failed or was skipped; the loop records each as skipped."""
    dynamic = active.plan.dynamic
    assert dynamic is not None
    step = active.plan.steps[step_key]
    if step.handle in dynamic.dynamic_outputs:
        for key in dynamic.abandoned(step):
            active.abandoned.append((key, step_key))
