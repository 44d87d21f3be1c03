"""One constructor per event type: every ``Event`` a run emits is built here, with its
typed payload (``trellis.core.event_payloads``), its level and, where the wording is the
same wherever the event comes from, its message.

Callers pass the run's id and job name first (a worker knows them from its request, the
orchestrator from the run record), then the step key for step events.

The constructors of the events every step emits (start, loaded input, output,
materialization, handled output, success, log lines) call ``Event`` positionally and build
their payload with ``tuple.__new__``, every field given in order: keyword arguments and the
payload's generated ``__new__`` cost ~0.3 µs an event, about 4 % of a trivial step
(``bench/instructions.py``: chain 361k -> 340k instructions a step).
"""

from __future__ import annotations

import logging
from collections.abc import Collection, Mapping, Sequence
from typing import Any

from trellis.core.asset_checks import AssetCheckEvaluation, AssetCheckKey
from trellis.core.asset_key import AssetKey
from trellis.core.event_payloads import (
    AssetCheckEvaluationData,
    AssetCheckEvaluationPlannedData,
    AssetMaterializationData,
    AssetObservationData,
    EngineEventData,
    HandledOutputData,
    HookCompletedData,
    HookErroredData,
    HookSkippedData,
    LoadedInputData,
    Metadata,
    ResourceErrorData,
    ResourceInitStartedData,
    ResourceInitSuccessData,
    ResourceTeardownData,
    RunFailureData,
    StepFailureData,
    StepOutputData,
    StepSkippedData,
    StepStartData,
    StepSuccessData,
    StepUpForRetryData,
)
from trellis.core.events import ErrorInfo, Event, EventType, NoData
from trellis.core.outputs import AssetMaterialization, AssetObservation

_NO_DATA = NoData()
_tuple_new = tuple.__new__  # a payload without its generated __new__: every field, in order
_EMPTY: Mapping[str, Any] = {}
_DEBUG, _INFO, _WARNING, _ERROR = logging.DEBUG, logging.INFO, logging.WARNING, logging.ERROR

# -- the run ----------------------------------------------------------------------------


def run_enqueued(run_id: str, job_name: str) -> Event:
    """``RUN_ENQUEUED``: the run was submitted to the run queue (status QUEUED)."""
    message = f"Run for '{job_name}' entered the run queue."
    return Event(EventType.RUN_ENQUEUED, run_id, job_name, message=message, level=_INFO)


def run_starting(run_id: str, job_name: str, message: str) -> Event:
    """``RUN_STARTING``: the run queue took the run and hands it to a run launcher
    (status STARTING)."""
    return Event(EventType.RUN_STARTING, run_id, job_name, message=message, level=_INFO)


def run_start(run_id: str, job_name: str) -> Event:
    """``RUN_START``: the run began executing."""
    message = f"Started execution of run for '{job_name}'."
    return Event(EventType.RUN_START, run_id, job_name, message=message, level=_INFO)


def run_success(run_id: str, job_name: str) -> Event:
    """``RUN_SUCCESS``: every step succeeded (or was skipped for an optional output)."""
    message = f"Finished execution of run for '{job_name}'."
    return Event(EventType.RUN_SUCCESS, run_id, job_name, message=message, level=_INFO)


def run_failure(
    run_id: str,
    job_name: str,
    message: str,
    *,
    reason: str | None = None,
    pid: int | None = None,
    host: str | None = None,
) -> Event:
    """``RUN_FAILURE``: the run ended without success (``reason``, ``pid`` and ``host`` when
    the liveness check found its process dead)."""
    data = RunFailureData(reason, pid, host) if reason is not None else RunFailureData()
    return Event(EventType.RUN_FAILURE, run_id, job_name, message=message, level=_ERROR, data=data)


def run_canceling(run_id: str, job_name: str, cause: str = "") -> Event:
    """``RUN_CANCELING``: someone asked to cancel the run (``cause``: how, e.g. "SIGTERM
    received", when it was not ``trellis run cancel``)."""
    message = f"Cancellation of run {run_id} requested" + (f": {cause}." if cause else ".")
    return Event(EventType.RUN_CANCELING, run_id, job_name, message=message, level=_WARNING)


def run_canceled(run_id: str, job_name: str, message: str) -> Event:
    """``RUN_CANCELED``: the run stopped after a cancellation."""
    return Event(EventType.RUN_CANCELED, run_id, job_name, message=message, level=_WARNING)


def engine_event(
    run_id: str,
    job_name: str,
    message: str,
    *,
    level: int = _DEBUG,
    error: ErrorInfo | None = None,
    step_key: str | None = None,
    pool: str | None = None,
    waiting: bool = False,
) -> Event:
    """``ENGINE_EVENT``: a notice from the engine (a worker killed at shutdown, a
    framework error, a step waiting for a slot of concurrency ``pool`` or getting one,
    ...)."""
    return Event(
        EventType.ENGINE_EVENT,
        run_id,
        job_name,
        step_key=step_key,
        message=message,
        level=level,
        data=EngineEventData(error, pool, waiting),
    )


# -- resources --------------------------------------------------------------------------


def resource_init_started(run_id: str, job_name: str, keys: Collection[str]) -> Event:
    """``RESOURCE_INIT_STARTED``: the run is about to build ``keys``."""
    keys = sorted(keys)
    return Event(
        EventType.RESOURCE_INIT_STARTED,
        run_id,
        job_name,
        message=f"Starting initialization of resources [{', '.join(keys)}].",
        data=ResourceInitStartedData(keys),
    )


def resource_init_success(
    run_id: str,
    job_name: str,
    keys: Collection[str],
    timings_ms: dict[str, float],
    duration_ms: float,
) -> Event:
    """``RESOURCE_INIT_SUCCESS``: ``keys`` were built (``timings_ms`` per resource)."""
    names = ", ".join(sorted(keys))
    return Event(
        EventType.RESOURCE_INIT_SUCCESS,
        run_id,
        job_name,
        message=f"Finished initialization of resources [{names}] in {duration_ms:.1f}ms.",
        data=ResourceInitSuccessData(timings_ms),
    )


def resource_init_failure(run_id: str, job_name: str, exc: BaseException) -> Event:
    """``RESOURCE_INIT_FAILURE``: building a resource raised ``exc``."""
    return Event(
        EventType.RESOURCE_INIT_FAILURE,
        run_id,
        job_name,
        message=str(exc),
        level=_ERROR,
        data=ResourceErrorData(ErrorInfo.from_exception(exc)),
    )


def resource_teardown(run_id: str, job_name: str, keys: Sequence[str], duration_ms: float) -> Event:
    """``RESOURCE_TEARDOWN``: ``keys`` were torn down, in that order."""
    return Event(
        EventType.RESOURCE_TEARDOWN,
        run_id,
        job_name,
        message=f"Tore down resources [{', '.join(keys)}] in {duration_ms:.1f}ms.",
        data=ResourceTeardownData(list(keys), duration_ms),
    )


def resource_teardown_failure(
    run_id: str, job_name: str, exc: BaseException, where: str = ""
) -> Event:
    """``RESOURCE_TEARDOWN_FAILURE``: tearing resources down raised ``exc`` (``where``
    names the process, e.g. " in worker process 123")."""
    return Event(
        EventType.RESOURCE_TEARDOWN_FAILURE,
        run_id,
        job_name,
        message=f"Error while tearing down resources{where}: {exc}",
        level=_ERROR,
        data=ResourceErrorData(ErrorInfo.from_exception(exc)),
    )


# -- steps ------------------------------------------------------------------------------


def step_start(
    run_id: str, job_name: str, step_key: str, retry_number: int, context_type: str | None
) -> Event:
    """``STEP_START`` for a first attempt, ``STEP_RESTARTED`` for a retry."""
    if retry_number:
        event_type = EventType.STEP_RESTARTED
        message = f"Started execution of step '{step_key}' (attempt {retry_number + 1})."
    else:
        event_type = EventType.STEP_START
        message = f"Started execution of step '{step_key}'."
    data = _tuple_new(StepStartData, (retry_number, context_type))
    return Event(event_type, run_id, job_name, step_key, message, _DEBUG, data)


def loaded_input(
    run_id: str,
    job_name: str,
    step_key: str,
    input_name: str,
    manager_key: str | None,
    upstream_step_key: str | None,
    upstream_output_name: str | None,
    metadata: Metadata,
    duration_ms: float,
    asset_key: AssetKey | None,
    upstream_mapping_key: str | None = None,
) -> Event:
    """``LOADED_INPUT``: an input was loaded by its IO (or input) manager."""
    data = _tuple_new(
        LoadedInputData,
        (
            input_name,
            manager_key,
            upstream_step_key,
            upstream_output_name,
            metadata,
            duration_ms,
            upstream_mapping_key,
        ),
    )
    message = f"Loaded input '{input_name}' using IO manager '{manager_key}'"
    return Event(
        EventType.LOADED_INPUT, run_id, job_name, step_key, message, _DEBUG, data, asset_key
    )


def step_output(
    run_id: str,
    job_name: str,
    step_key: str,
    output_name: str,
    metadata: Metadata,
    mapping_key: str | None = None,
) -> Event:
    """``STEP_OUTPUT``: the function produced an output (``mapping_key``: an item of a
    dynamic output)."""
    data = _tuple_new(StepOutputData, (output_name, metadata, mapping_key))
    message = f"Yielded output '{output_name}'"
    if mapping_key is not None:
        message += f" with mapping key '{mapping_key}'"
    return Event(EventType.STEP_OUTPUT, run_id, job_name, step_key, message, _DEBUG, data)


def asset_materialization(
    run_id: str,
    job_name: str,
    step_key: str | None,
    materialization: AssetMaterialization,
    message: str | None = None,
) -> Event:
    """``ASSET_MATERIALIZATION``: an asset (partition) was written."""
    key = materialization.asset_key
    return Event(
        EventType.ASSET_MATERIALIZATION,
        run_id,
        job_name,
        step_key,
        message or f"Materialized value {key.to_user_string()}",
        _DEBUG,
        _tuple_new(AssetMaterializationData, (materialization,)),
        key,
        materialization.partition,
    )


def asset_observation(
    run_id: str,
    job_name: str,
    step_key: str | None,
    observation: AssetObservation,
    message: str | None = None,
) -> Event:
    """``ASSET_OBSERVATION``: something was recorded about an asset without writing it."""
    key = observation.asset_key
    return Event(
        EventType.ASSET_OBSERVATION,
        run_id,
        job_name,
        step_key=step_key,
        message=message or f"Observed {key.to_user_string()}",
        data=AssetObservationData(observation),
        asset_key=key,
        partition=observation.partition,
    )


def asset_check_evaluation_planned(
    run_id: str, job_name: str, check_key: AssetCheckKey, step_key: str | None
) -> Event:
    """``ASSET_CHECK_EVALUATION_PLANNED``: the run will evaluate ``check_key`` (in step
    ``step_key``); a run-level event, emitted after ``RUN_START``."""
    key = check_key.asset_key
    return Event(
        EventType.ASSET_CHECK_EVALUATION_PLANNED,
        run_id,
        job_name,
        None,
        f"Asset check '{check_key.name}' on '{key.to_user_string()}' is planned "
        f"(step '{step_key}').",
        _DEBUG,
        AssetCheckEvaluationPlannedData(key, check_key.name, step_key),
        key,
    )


def asset_check_evaluation(
    run_id: str, job_name: str, step_key: str | None, evaluation: AssetCheckEvaluation
) -> Event:
    """``ASSET_CHECK_EVALUATION``: a check ran and passed or failed (a failure is logged at
    WARNING)."""
    key = evaluation.asset_key
    outcome = "passed" if evaluation.passed else f"failed ({evaluation.severity.value})"
    message = f"Asset check '{evaluation.check_name}' on '{key.to_user_string()}' {outcome}."
    if evaluation.description:
        message += f" {evaluation.description}"
    return Event(
        EventType.ASSET_CHECK_EVALUATION,
        run_id,
        job_name,
        step_key,
        message,
        _DEBUG if evaluation.passed else _WARNING,
        AssetCheckEvaluationData(evaluation),
        key,
        evaluation.partition,
    )


def handled_output(
    run_id: str,
    job_name: str,
    step_key: str,
    output_name: str,
    manager_key: str,
    metadata: Metadata,
    duration_ms: float,
    asset_key: AssetKey | None,
    mapping_key: str | None = None,
) -> Event:
    """``HANDLED_OUTPUT``: an IO manager stored an output (an item of a dynamic output
    under its ``mapping_key``)."""
    data = _tuple_new(
        HandledOutputData, (output_name, manager_key, metadata, duration_ms, mapping_key)
    )
    message = f"Handled output '{output_name}' using IO manager '{manager_key}'"
    return Event(
        EventType.HANDLED_OUTPUT, run_id, job_name, step_key, message, _DEBUG, data, asset_key
    )


def step_success(run_id: str, job_name: str, step_key: str, duration_ms: float) -> Event:
    """``STEP_SUCCESS``: the attempt finished without error."""
    message = f"Finished execution of step '{step_key}' in {duration_ms:.1f}ms."
    data = _tuple_new(StepSuccessData, (duration_ms,))
    return Event(EventType.STEP_SUCCESS, run_id, job_name, step_key, message, _DEBUG, data)


def step_failure(
    run_id: str,
    job_name: str,
    step_key: str,
    message: str,
    *,
    error: ErrorInfo | None,
    error_source: str | None,
    duration_ms: float | None = None,
    metadata: Metadata = _EMPTY,
    reason: str | None = None,
    crashed: bool = False,
    exit_code: int | None = None,
) -> Event:
    """``STEP_FAILURE``: the attempt failed and will not be retried."""
    return Event(
        EventType.STEP_FAILURE,
        run_id,
        job_name,
        step_key=step_key,
        message=message,
        level=_ERROR,
        data=StepFailureData(
            error, error_source, duration_ms, metadata, reason, crashed, exit_code
        ),
    )


def step_up_for_retry(
    run_id: str,
    job_name: str,
    step_key: str,
    message: str,
    *,
    error: ErrorInfo | None,
    seconds_to_wait: float,
    retry_number: int,
    crashed: bool = False,
    exit_code: int | None = None,
) -> Event:
    """``STEP_UP_FOR_RETRY``: the attempt failed and the step will run again."""
    return Event(
        EventType.STEP_UP_FOR_RETRY,
        run_id,
        job_name,
        step_key=step_key,
        message=message,
        level=_WARNING,
        data=StepUpForRetryData(error, seconds_to_wait, retry_number, crashed, exit_code),
    )


def step_skipped(run_id: str, job_name: str, step_key: str, reason: str) -> Event:
    """``STEP_SKIPPED``: the step could not run (``reason`` says why)."""
    return Event(
        EventType.STEP_SKIPPED,
        run_id,
        job_name,
        step_key=step_key,
        message=f"Skipped step '{step_key}': {reason}.",
        level=_WARNING,
        data=StepSkippedData(reason),
    )


def log_message(
    run_id: str, job_name: str, step_key: str | None, message: str, level: int
) -> Event:
    """``LOG_MESSAGE``: a line user code logged with ``context.log``."""
    return Event(EventType.LOG_MESSAGE, run_id, job_name, step_key, message, level, _NO_DATA)


# -- hooks -----------------------------------------------------------------------------


def hook_completed(
    run_id: str, job_name: str, step_key: str, hook_name: str, duration_ms: float
) -> Event:
    """``HOOK_COMPLETED``: a hook ran after the step's success or failure."""
    return Event(
        EventType.HOOK_COMPLETED,
        run_id,
        job_name,
        step_key=step_key,
        message=f"Hook '{hook_name}' ran after step '{step_key}' in {duration_ms:.1f}ms.",
        level=_DEBUG,
        data=HookCompletedData(hook_name, duration_ms),
    )


def hook_skipped(run_id: str, job_name: str, step_key: str, hook_name: str, reason: str) -> Event:
    """``HOOK_SKIPPED``: a hook's condition was not met (``reason`` says why)."""
    return Event(
        EventType.HOOK_SKIPPED,
        run_id,
        job_name,
        step_key=step_key,
        message=f"Skipped hook '{hook_name}' of step '{step_key}': {reason}.",
        level=_DEBUG,
        data=HookSkippedData(hook_name, reason),
    )


def hook_errored(
    run_id: str,
    job_name: str,
    step_key: str,
    hook_name: str,
    exc: BaseException,
    duration_ms: float,
) -> Event:
    """``HOOK_ERRORED``: a hook raised; the step's result stands."""
    return Event(
        EventType.HOOK_ERRORED,
        run_id,
        job_name,
        step_key=step_key,
        message=(
            f"Hook '{hook_name}' of step '{step_key}' raised {type(exc).__name__}: {exc} "
            "(the step's result stands)."
        ),
        level=_ERROR,
        data=HookErroredData(hook_name, ErrorInfo.from_exception(exc), duration_ms),
    )
