"""Running one step attempt: the same code for every executor.

``execute_step`` emits the step's events (start, loaded inputs, outputs,
materializations, handled outputs, success or failure or up-for-retry) through the run's
sink and returns a ``StepOutcome`` for the orchestration loop.
"""

from __future__ import annotations

import time
from enum import Enum
from typing import TYPE_CHECKING, Any

from trellis.contexts.asset_check import AssetCheckExecutionContext
from trellis.contexts.compute import (
    AssetExecutionContext,
    OpExecutionContext,
    reset_current_context,
    set_current_context,
)
from trellis.core import event_factory
from trellis.core.asset_checks import AssetCheckFailedError, AssetCheckResult
from trellis.core.dynamic_output import DynamicOutput
from trellis.core.errors import (
    USER_CODE_ERRORS,
    ExecutionStepExecutionError,
    Failure,
    InvariantViolationError,
    RetryRequested,
    StepTerminated,
    TrellisError,
    UserCodeExecutionError,
)
from trellis.core.events import ErrorInfo, Event
from trellis.core.metadata import normalize_metadata
from trellis.core.outputs import AssetMaterialization, AssetObservation, MaterializeResult, Output
from trellis.core.run import RunStatus
from trellis.defs.retry import decide_retry
from trellis.execution.compute import (
    compute_kwargs,
    invoke_compute,
    returned_events,
    yielded_events,
)
from trellis.execution.dynamic_outputs import (
    check_not_dynamic,
    finish_dynamic_outputs,
    handle_dynamic_output,
    start_dynamic_outputs,
)
from trellis.execution.hooks import run_hooks
from trellis.execution.step_checks import finish_checks, record_check_result, record_check_results
from trellis.execution.step_io import check_type, emit_user_event, handle_output, load_inputs
from trellis.plan.steps import context_type_name

if TYPE_CHECKING:
    from trellis.contexts.system import StepExecutionContext
    from trellis.plan.steps import StepOutputHandle


_CANCELED = frozenset({RunStatus.CANCELING, RunStatus.CANCELED})
# Failures that come from the user's code or data (a failed blocking check included).
_USER_FAILURES = (UserCodeExecutionError, Failure, RetryRequested, AssetCheckFailedError)


class StepStatus(Enum):
    """How a step attempt ended."""

    SUCCESS = "SUCCESS"
    FAILURE = "FAILURE"
    RETRY = "RETRY"


class StepOutcome:
    """The end of one step attempt, as the orchestration loop needs it."""

    __slots__ = ("dynamic_keys", "exception", "produced", "retry_delay", "status", "step_key")

    def __init__(
        self,
        step_key: str,
        status: StepStatus,
        produced: set[StepOutputHandle] | None = None,
        exception: BaseException | None = None,
        retry_delay: float = 0.0,
        dynamic_keys: dict[str, list[str]] | None = None,
    ) -> None:
        self.step_key = step_key
        self.status = status
        self.produced = produced or set()
        self.exception = exception  # the user's own exception, for raise_on_error
        self.retry_delay = retry_delay
        # A step with dynamic outputs: each one's mapping keys, in the order yielded.
        self.dynamic_keys = dynamic_keys

    def __repr__(self) -> str:
        return f"<StepOutcome {self.step_key} {self.status.value}>"


def user_context_type_name(step_context: StepExecutionContext) -> str:
    """The name of the context class the function receives (``plan.steps.context_type_name``)."""
    return context_type_name(step_context.step)


def make_user_context(step_context: StepExecutionContext, type_name: str | None = None) -> Any:
    """The context the function receives: the asset context for assets (unless
    annotated ``OpExecutionContext``), the asset check context for checks, the op context
    for ops. Every user context of a step is made here."""
    type_name = type_name or user_context_type_name(step_context)
    if type_name == "AssetExecutionContext":
        return AssetExecutionContext(step_context)
    if type_name == "AssetCheckExecutionContext":
        return AssetCheckExecutionContext(step_context)
    return OpExecutionContext(step_context)


def terminated(step_context: StepExecutionContext) -> StepTerminated:
    """The error that ends a step whose run was canceled. Checked before its user code
    runs, before each output is stored (``step_io.handle_output``) and before its success
    is recorded: a step that could not be interrupted (blocked in a C call) or swallowed
    the interruption never stores an output nor succeeds once its run was canceled."""
    return StepTerminated(f"Step '{step_context.step.key}' was terminated: the run was canceled.")


def _run_body(step_context: StepExecutionContext, context_type: str) -> set[StepOutputHandle]:
    step = step_context.step
    op_def = step.op_def
    if step_context.plan_context.run.status in _CANCELED:
        raise terminated(step_context)
    inputs = load_inputs(step_context) if step.inputs else {}
    user_context = make_user_context(step_context, context_type)
    kwargs = compute_kwargs(
        op_def, inputs, step_context.op_config, step_context.plan_context.resources
    )
    token = set_current_context(user_context)
    produced: set[StepOutputHandle] = set()
    if op_def.has_dynamic_outputs:
        start_dynamic_outputs(step_context)
    try:
        try:
            if op_def.spec.is_generator:
                events = _guard(_compute_events(step_context, user_context, kwargs), step_context)
            else:  # a plain return value: no generator machinery on the hot path
                events = _returned_events(step_context, user_context, kwargs)
            for item in events:
                _handle_user_event(step_context, item, produced)
        finally:
            reset_current_context(token)
    finally:
        if step_context.user_events:
            for event in step_context.user_events:
                emit_user_event(step_context, event)
            step_context.user_events.clear()
    if step_context.dynamic_keys is not None:
        finish_dynamic_outputs(step_context, produced)
    if len(produced) != len(step.outputs):
        missing = [
            o.name for o in step.outputs if o.out_def.is_required and o.handle not in produced
        ]
        if missing:
            raise InvariantViolationError(
                f"{op_def.kind.capitalize()} '{step.key}' did not yield required output(s) "
                f"{missing}. Return or yield a value for each (or mark it "
                "Out(is_required=False))."
            )
    if step.check_keys:  # every selected check answered; a failed blocking one fails
        finish_checks(step_context)
    return produced


def _compute_events(
    step_context: StepExecutionContext, user_context: Any, kwargs: dict[str, Any]
) -> Any:
    result = invoke_compute(step_context, user_context, kwargs)
    yield from yielded_events(step_context.step.op_def, result)


def _returned_events(
    step_context: StepExecutionContext, user_context: Any, kwargs: dict[str, Any]
) -> list[Any]:
    """The user events of a function that returns (not yields) its outputs."""
    try:
        result = invoke_compute(step_context, user_context, kwargs)
    except (Failure, RetryRequested, TrellisError):
        raise
    except USER_CODE_ERRORS as exc:
        raise _user_error(step_context, exc) from exc
    return returned_events(step_context.step.op_def, result)


def _user_error(step_context: StepExecutionContext, exc: BaseException) -> Exception:
    op_def = step_context.step.op_def
    return ExecutionStepExecutionError(
        f"Error in {op_def.kind} '{step_context.step.key}': {type(exc).__name__}: {exc}", exc
    )


def _guard(events: Any, step_context: StepExecutionContext) -> Any:
    """Iterate user events, wrapping errors raised by the user's function."""
    iterator = iter(events)
    while True:
        try:
            item = next(iterator)
        except StopIteration:
            return
        except (Failure, RetryRequested, TrellisError):
            raise
        except USER_CODE_ERRORS as exc:
            raise _user_error(step_context, exc) from exc
        yield item


def _handle_user_event(
    step_context: StepExecutionContext, item: Any, produced: set[StepOutputHandle]
) -> None:
    step = step_context.step
    store = True
    check_results = None  # those of a MaterializeResult, recorded after its materialization
    if isinstance(item, Output):
        name, value, metadata = item.output_name, item.value, item.metadata
        version, tags = item.data_version, item.tags
    elif isinstance(item, MaterializeResult):
        check_results = item.check_results
        if item.asset_key is not None and step.assets_def is not None:
            name = step.assets_def.get_output_name_for_asset_key(item.asset_key)
        else:
            names = list(step.op_def.outs)
            if len(names) != 1:
                raise InvariantViolationError(
                    f"Multi-asset '{step.key}' returned a MaterializeResult without asset_key."
                )
            name = names[0]
        value, metadata, store = item.value, item.metadata, item.value is not None
        version, tags = item.data_version, item.tags
    elif isinstance(item, AssetCheckResult):
        record_check_result(step_context, item)
        return
    elif isinstance(item, DynamicOutput):
        handle_dynamic_output(step_context, item, produced)
        return
    else:
        assert isinstance(item, (AssetMaterialization, AssetObservation))
        emit_user_event(step_context, item)
        return
    if name not in step.op_def.outs:
        raise InvariantViolationError(
            f"{step.op_def.kind.capitalize()} '{step.key}' yielded an output named '{name}', but "
            f"its outputs are {list(step.op_def.outs)}."
        )
    for step_output in step.outputs:
        if step_output.name == name:
            break
    else:  # an asset output this run did not select
        if check_results:
            record_check_results(step_context, check_results)
        return
    if step_output.handle in produced:
        raise InvariantViolationError(
            f"{step.op_def.kind.capitalize()} '{step.key}' yielded output '{name}' twice."
        )
    if step_context.dynamic_keys is not None:
        check_not_dynamic(step_context, name)
    if store:
        check_type(value, step_output.out_def.dagster_type, "output", name, step.key, step_context)
    added = step_context.output_metadata(name)
    step_context.seen_outputs.add(name)
    if added:
        metadata = {**added, **metadata}
    handle_output(
        step_context, step_output, value, metadata, store=store, data_version=version, tags=tags
    )
    capture = step_context.output_capture
    if capture is not None:  # the step has hooks: they read its outputs
        capture[name] = (value, metadata)
    produced.add(step_output.handle)
    if check_results:
        record_check_results(step_context, check_results)


def execute_step(step_context: StepExecutionContext) -> StepOutcome:
    """Run one attempt of one step and report how it ended."""
    plan_context = step_context.plan_context
    run = plan_context.run
    step = step_context.step
    emit = plan_context.emit
    context_type = user_context_type_name(step_context)
    emit(
        event_factory.step_start(
            run.run_id, run.job_name, step.key, step_context.retry_number, context_type
        )
    )
    hooks = step.hook_defs
    if hooks:
        step_context.output_capture = {}
    started = time.perf_counter()
    try:
        produced = _run_body(step_context, context_type)
    except USER_CODE_ERRORS as exc:
        outcome, ended = _fail(step_context, exc, started)
        if not hooks:
            return outcome
    else:
        duration_ms = (time.perf_counter() - started) * 1000
        if run.status in _CANCELED:
            raise terminated(step_context)
        ended = event_factory.step_success(run.run_id, run.job_name, step.key, duration_ms)
        emit(ended)
        outcome = StepOutcome(
            step.key, StepStatus.SUCCESS, produced, None, 0.0, step_context.dynamic_keys
        )
        if not hooks:
            return outcome
    # Outside the ``except``: a hook's own error is not chained to the step's.
    run_hooks(step_context, ended, outcome.exception)
    return outcome


def _fail(
    step_context: StepExecutionContext, exc: BaseException, started: float
) -> tuple[StepOutcome, Event]:
    """Record a failed attempt (``STEP_UP_FOR_RETRY`` or ``STEP_FAILURE``); its outcome and
    that event."""
    plan_context = step_context.plan_context
    run = plan_context.run
    step = step_context.step
    user_exc = exc.user_exception if isinstance(exc, UserCodeExecutionError) else exc
    retry, delay = decide_retry(step.retry_policy, step_context.retry_number, exc)
    if retry:
        up_for_retry = event_factory.step_up_for_retry(
            run.run_id,
            run.job_name,
            step.key,
            f"Step '{step.key}' failed and will be retried"
            + (f" in {delay:.2f}s" if delay else "")
            + f": {type(user_exc).__name__}: {user_exc}",
            error=ErrorInfo.from_exception(exc),
            seconds_to_wait=delay,
            retry_number=step_context.retry_number,
        )
        plan_context.emit(up_for_retry)
        outcome = StepOutcome(step.key, StepStatus.RETRY, exception=user_exc, retry_delay=delay)
        return outcome, up_for_retry
    if isinstance(user_exc, Failure):
        metadata = normalize_metadata(user_exc.metadata)
        message = f"Step '{step.key}' failed: {user_exc.description}"
    else:
        metadata = {}
        message = f"Step '{step.key}' failed: {type(user_exc).__name__}: {user_exc}"
    failure = event_factory.step_failure(
        run.run_id,
        run.job_name,
        step.key,
        message,
        error=ErrorInfo.from_exception(exc),
        error_source="USER_CODE_ERROR" if isinstance(exc, _USER_FAILURES) else "FRAMEWORK_ERROR",
        duration_ms=(time.perf_counter() - started) * 1000,
        metadata=metadata,
    )
    plan_context.emit(failure)
    return StepOutcome(step.key, StepStatus.FAILURE, exception=user_exc), failure
