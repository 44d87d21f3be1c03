"""Running a plan: the run's lifecycle from ``RUN_START`` to ``RUN_SUCCESS``,
``RUN_FAILURE`` or ``RUN_CANCELED``. This is where the run's ``PlanOrchestrationContext``
is created, with its ``Cancellation``, signal handlers and monitor thread.

Order of events: run start, resource init started/success, the steps, resource
teardown, run success, failure or canceled. Resources are torn down whatever happens
(a second signal during the teardown interrupts it; the run still ends CANCELED).
"""

from __future__ import annotations

import logging
import signal
import time
from collections.abc import Callable
from typing import Any

from trellis.contexts.log_manager import LogManager
from trellis.contexts.partitions import RunPartitions
from trellis.contexts.system import PlanOrchestrationContext
from trellis.core import event_factory
from trellis.core.errors import (
    USER_CODE_ERRORS,
    ResourceFunctionError,
    RunTerminated,
    StepTerminated,
)
from trellis.core.events import ErrorInfo, Event
from trellis.core.run import Run, RunStatus, max_runtime_seconds
from trellis.execution.cancellation import Cancellation, shield
from trellis.execution.engine import ActiveExecution, run_plan
from trellis.execution.event_stream import RunEventStream
from trellis.execution.executors.base import Executor, InProcessExecutor
from trellis.execution.partition_status_tracker import PartitionStatusTracker
from trellis.execution.resources import BuiltResources, init_resources
from trellis.execution.run_loggers import LoggerInitError, build_run_loggers
from trellis.execution.run_monitor import RunMonitor
from trellis.execution.signals import RunSignals, term_grace_seconds
from trellis.execution.step_checks import planned_checks
from trellis.plan.plan import ExecutionPlan
from trellis.views.console import ConsoleLogger


class RunOutcome:
    """What a finished run leaves behind: its events, success, the resources it built
    (IO managers stay readable for the result), and the first user exception."""

    def __init__(
        self,
        run: Run,
        plan: ExecutionPlan,
        stream: RunEventStream,
        success: bool,
        resources: dict[str, Any],
        exception: BaseException | None,
        active: ActiveExecution | None,
    ) -> None:
        self.run = run
        self.plan = plan
        self.stream = stream
        self.success = success
        self.resources = resources
        self.exception = exception
        self.active = active


def _init_resources(
    plan: ExecutionPlan, run: Run, instance: Any, log: LogManager, emit: Any
) -> BuiltResources | None:
    keys = plan.resource_keys_to_init
    if not keys:
        return BuiltResources()
    emit(event_factory.resource_init_started(run.run_id, run.job_name, keys))
    started = time.perf_counter()
    built = init_resources(
        plan.job.resource_defs,
        keys,
        plan.run_config.resource_config,
        instance=instance,
        run=run,
        log=log,
    )
    timings = {k: round(v * 1000, 3) for k, v in built.timings.items()}
    emit(
        event_factory.resource_init_success(
            run.run_id, run.job_name, keys, timings, (time.perf_counter() - started) * 1000
        )
    )
    return built


def execute_run(
    plan: ExecutionPlan,
    run: Run,
    instance: Any,
    *,
    executor: Executor | None = None,
    console: ConsoleLogger | None = None,
    raise_on_error: bool = False,
    on_event: Callable[[Event], None] | None = None,
    code_pointer: Any = None,
    grace_seconds: float | None = None,
) -> RunOutcome:
    """Run ``plan`` as ``run``: start, build resources, run the steps, tear down, end.

    Never raises for a failing step; the outcome says what happened (the API layer
    re-raises when asked to). A run canceled by a signal (``signals.py``) re-raises it
    once it has ended: ``KeyboardInterrupt`` for SIGINT, ``RunTerminated`` for SIGTERM;
    so does a ``KeyboardInterrupt`` raised in the run. ``grace_seconds``: how long a run
    has to end after SIGTERM (default ``$TRELLIS_TERM_GRACE_SECONDS``, or 30).
    """
    executor = executor or InProcessExecutor()
    sequential = isinstance(executor, InProcessExecutor)
    stream = RunEventStream(run, instance, console, on_event, one_step_at_a_time=sequential)
    stream.status_tracker = PartitionStatusTracker.for_run(plan, RunPartitions(run.tags), instance)
    grace = term_grace_seconds() if grace_seconds is None else grace_seconds
    cancellation = Cancellation(run, stream, grace)
    monitor = RunMonitor(cancellation, _cancel_poller(instance, run))
    signals = RunSignals(cancellation)
    try:
        signals.install(monitor.wakeup_fd)
        monitor.owns_sigterm = signals.handles_sigterm
        monitor.start()
        outcome = _execute(
            plan, run, instance, stream, monitor, executor, raise_on_error, code_pointer
        )
    finally:
        _stop_watching(monitor, signals)
    if cancellation.signum == signal.SIGINT or cancellation.interrupted:
        raise KeyboardInterrupt
    if cancellation.signum is not None:
        raise RunTerminated(run.run_id, cancellation.signum)
    return outcome


def _execute(
    plan: ExecutionPlan,
    run: Run,
    instance: Any,
    stream: RunEventStream,
    monitor: RunMonitor,
    executor: Executor,
    raise_on_error: bool,
    code_pointer: Any,
) -> RunOutcome:
    cancellation = monitor.cancellation
    emit = stream.emit
    log = LogManager(emit, run.run_id, run.job_name)
    logger_error: LoggerInitError | None = None
    try:
        stream.loggers = build_run_loggers(plan, run.run_id, run.tags)
    except LoggerInitError as exc:
        logger_error = exc
    run_id, job_name = run.run_id, run.job_name
    emit(event_factory.run_start(run_id, job_name))
    monitor.limit_runtime(_max_runtime(run, stream))
    for check_key, step_key in planned_checks(plan):
        emit(event_factory.asset_check_evaluation_planned(run_id, job_name, check_key, step_key))
    built: BuiltResources | None = None
    active: ActiveExecution | None = None
    exception: BaseException | None = None
    failure_message = ""
    canceled = False
    try:
        try:
            if logger_error is not None:
                raise logger_error
            if executor.crosses_processes:  # their workers build the resources
                built = BuiltResources()
            else:
                try:
                    cancellation.enter("resources")  # user code: a signal interrupts it
                    built = _init_resources(plan, run, instance, log, emit)
                finally:
                    cancellation.leave()
        except LoggerInitError as exc:
            exception = exc.user_exception or exc
            failure_message = f"Logger initialization failed: {exc}"
            emit(
                event_factory.engine_event(
                    run.run_id,
                    run.job_name,
                    failure_message,
                    level=logging.ERROR,
                    error=ErrorInfo.from_exception(exc),
                )
            )
        except USER_CODE_ERRORS as exc:
            exception = exc.user_exception if isinstance(exc, ResourceFunctionError) else exc
            emit(event_factory.resource_init_failure(run.run_id, run.job_name, exc))
            failure_message = f"Resource initialization failed: {exc}"
        if built is not None:
            plan_context = PlanOrchestrationContext(
                run,
                plan,
                instance,
                built.values,
                emit,
                log,
                executor=executor,
                raise_on_error=raise_on_error,
                code_pointer=code_pointer,  # how workers load the job
                cancellation=cancellation,
            )
            active = run_plan(
                plan_context,
                executor,
                stop_on_failure=raise_on_error,
                cancellation=cancellation,
            )
            plan_context.event_loops.close()
            if active.canceled:
                canceled = not cancellation.fails_run
                failure_message = _canceled_message(run, cancellation)
            elif active.failed:
                failed = [k for k in plan.steps if k in active.failed]
                failure_message = f"Execution of run for '{run.job_name}' failed. Steps failed: "
                failure_message += f"{failed}."
                if active.first_failure is not None:
                    exception = active.first_failure.exception
    except (KeyboardInterrupt, StepTerminated) as exc:  # outside the steps: init, shutdown
        if cancellation.request(f"{type(exc).__name__} raised"):
            cancellation.interrupted = isinstance(exc, KeyboardInterrupt)
        cancellation.announce()
        canceled = not cancellation.fails_run
        failure_message = _canceled_message(run, cancellation)
        if cancellation.forced:
            emit(
                event_factory.engine_event(
                    run.run_id,
                    run.job_name,
                    f"Stopped waiting for the run's steps and workers: a second signal "
                    f"({type(exc).__name__}) arrived while the run was being canceled.",
                    level=logging.WARNING,
                )
            )
    except BaseException as exc:  # a framework error: the run still ends
        exception = exc
        failure_message = f"Execution of run for '{run.job_name}' failed: {exc!r}"
        emit(
            event_factory.engine_event(
                run.run_id,
                run.job_name,
                failure_message,
                level=logging.ERROR,
                error=ErrorInfo.from_exception(exc),
            )
        )
        if not isinstance(exc, Exception):
            _finish(run, emit, built, False, failure_message)
            raise
    _finish(run, emit, built, not failure_message, failure_message, canceled)
    stream.flush()
    if stream.loggers is not None:
        stream.loggers.flush()
    return RunOutcome(
        run,
        plan,
        stream,
        not failure_message,
        dict(built.values) if built else {},
        exception,
        active,
    )


def _stop_watching(monitor: RunMonitor, signals: RunSignals) -> None:
    """Stop the monitor (first: it sends no more wake-up signals), give the signal
    handlers back, close the monitor's pipe. A signal's interruption waits until this
    has returned (``cancellation.shield``)."""
    monitor.stop()
    signals.restore()
    monitor.close()


shield(_stop_watching)


def _max_runtime(run: Run, stream: RunEventStream) -> float | None:
    """The run's ``dagster/max_runtime`` in seconds; a value that is not a positive number
    is reported on the run (a warning naming the tag) and ignored."""
    try:
        return max_runtime_seconds(run.tags)
    except ValueError as exc:
        stream.emit(
            event_factory.engine_event(
                run.run_id,
                run.job_name,
                f"{exc} The run has no maximum runtime.",
                level=logging.WARNING,
            )
        )
        return None


def _canceled_message(run: Run, cancellation: Cancellation) -> str:
    if cancellation.fails_run:
        return f"Run for '{run.job_name}' was stopped: {cancellation.cause}."
    cause = cancellation.cause
    return f"Run for '{run.job_name}' was canceled" + (f" ({cause})." if cause else ".")


def _cancel_poller(instance: Any, run: Run) -> Callable[[], bool]:
    """Whether someone asked to cancel the run (status CANCELING in storage); the run's
    monitor asks every ``run_monitor.POLL_SECONDS``."""

    def should_cancel() -> bool:
        stored = instance.get_run(run.run_id)
        return stored is not None and stored.status is RunStatus.CANCELING

    return should_cancel


def _finish(
    run: Run,
    emit: Any,
    built: BuiltResources | None,
    success: bool,
    failure_message: str,
    canceled: bool = False,
) -> None:
    """Tear the resources down, then emit the run's last event. A second signal during
    the teardown interrupts it, and the run still ends (CANCELED) before it propagates."""
    interrupted: BaseException | None = None
    if built is not None:
        started = time.perf_counter()
        try:
            built.close()
            if built.values:
                keys = list(reversed(built.values))  # torn down in reverse order of set-up
                duration_ms = (time.perf_counter() - started) * 1000
                emit(event_factory.resource_teardown(run.run_id, run.job_name, keys, duration_ms))
        except Exception as exc:
            emit(event_factory.resource_teardown_failure(run.run_id, run.job_name, exc))
        except (KeyboardInterrupt, StepTerminated) as exc:
            emit(event_factory.resource_teardown_failure(run.run_id, run.job_name, exc))
            interrupted = exc
            canceled = True
            failure_message = failure_message or f"Run for '{run.job_name}' was canceled."
    if canceled:
        emit(event_factory.run_canceled(run.run_id, run.job_name, failure_message))
    elif success:
        emit(event_factory.run_success(run.run_id, run.job_name))
    else:
        emit(event_factory.run_failure(run.run_id, run.job_name, failure_message))
    if interrupted is not None:
        raise interrupted
