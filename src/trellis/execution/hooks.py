"""Running a step's hooks: after its ``STEP_SUCCESS``, ``STEP_FAILURE`` or
``STEP_UP_FOR_RETRY``, in the thread and process that ran the step (the in-process loop,
an executor thread, a pool worker, a Dask worker), with the resources built there.

Each hook gets a ``HookContext`` (``HookContext.for_step``) and the step's ending event;
what it does is recorded as one event: ``HOOK_COMPLETED``, ``HOOK_SKIPPED`` (its condition
was not met: a success hook of a failed step, any hook of an attempt that will be
retried) or ``HOOK_ERRORED`` (it raised). A hook never changes the step's result. Hooks
run in name order; once the run is canceled, no further hook starts.

Only ``execute_step`` calls in here, and only for a step that has hooks: a step without
any pays one attribute check.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from trellis.contexts.hook import HookContext
from trellis.contexts.user_logger import reset_hook_log, set_hook_log
from trellis.core import event_factory
from trellis.core.errors import USER_CODE_ERRORS, StepTerminated
from trellis.core.run import RunStatus
from trellis.defs.hook import FAILURE, SUCCESS, HookDefinition, HookExecutionResult

if TYPE_CHECKING:
    from trellis.contexts.system import StepExecutionContext
    from trellis.core.events import Event

_CANCELED = frozenset({RunStatus.CANCELING, RunStatus.CANCELED})


def skip_reason(hook_def: HookDefinition, end_event: Event) -> str:
    """Why a hook whose condition was not met did not run, for ``HOOK_SKIPPED``."""
    if end_event.is_step_success:
        ended = "the step succeeded"
    elif end_event.is_step_failure:
        ended = "the step failed"
    else:
        ended = "the attempt failed and the step will be retried"
    if hook_def.trigger == SUCCESS:
        return f"it runs after a success, and {ended}"
    if hook_def.trigger == FAILURE:
        return f"it runs after a failure, and {ended}"
    return f"its condition was not met ({ended})"


def run_hooks(
    step_context: StepExecutionContext, end_event: Event, exception: BaseException | None
) -> None:
    """Run the step's hooks after ``end_event`` (the step's success, failure or retry);
    ``exception``: what a failed attempt raised (the user's own exception)."""
    plan_context = step_context.plan_context
    run = plan_context.run
    emit = plan_context.emit
    step_key = step_context.step.key
    events = [end_event]
    for hook_def in step_context.step.hook_defs:
        if run.status in _CANCELED:
            return
        started = time.perf_counter()
        token = set_hook_log(step_context.log)  # get_dagster_logger() lines: the step's
        try:
            context = HookContext.for_step(step_context, hook_def, exception)
            result = hook_def.hook_fn(context, events)
        except USER_CODE_ERRORS as exc:
            duration_ms = (time.perf_counter() - started) * 1000
            emit(
                event_factory.hook_errored(
                    run.run_id, run.job_name, step_key, hook_def.name, exc, duration_ms
                )
            )
            continue
        except (StepTerminated, KeyboardInterrupt) as exc:
            if run.status not in _CANCELED:
                raise
            duration_ms = (time.perf_counter() - started) * 1000  # interrupted by the cancel
            emit(
                event_factory.hook_errored(
                    run.run_id, run.job_name, step_key, hook_def.name, exc, duration_ms
                )
            )
            return
        finally:
            reset_hook_log(token)
        if isinstance(result, HookExecutionResult) and result.is_skipped:
            reason = skip_reason(hook_def, end_event)
            emit(
                event_factory.hook_skipped(
                    run.run_id, run.job_name, step_key, hook_def.name, reason
                )
            )
        else:
            duration_ms = (time.perf_counter() - started) * 1000
            emit(
                event_factory.hook_completed(
                    run.run_id, run.job_name, step_key, hook_def.name, duration_ms
                )
            )
