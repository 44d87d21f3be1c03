"""Running a step in another process (a pool worker or a Dask worker).

The orchestrator sends a small picklable ``StepRequest`` (run id, step key, code
pointer, instance reference, run config, selection, known outputs), never user
functions. The worker loads the code once, builds the plan once per run, initialises
the resources its steps need once per run, runs the step with the same step code as
the in-process path (``execute_step``), and sends each event back as a dict; the
orchestrator stays the single writer of the event log.
"""

from __future__ import annotations

import pickle
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from trellis.contexts.log_manager import LogManager
from trellis.contexts.system import PlanOrchestrationContext
from trellis.core import event_factory
from trellis.core.events import ErrorInfo, Event
from trellis.core.run import Run
from trellis.core.serialization import event_to_dict
from trellis.execution.data_versions import versions_for_step
from trellis.execution.remote.code_pointer import CodePointer
from trellis.execution.resources import BuiltResources, build_resource
from trellis.execution.run_loggers import LoggerInitError, RunLoggers, build_run_loggers
from trellis.execution.step import StepOutcome, StepStatus, execute_step
from trellis.plan.dynamic_plan import CollectBinding
from trellis.plan.steps import StepOutputHandle


@dataclass(frozen=True)
class StepRequest:
    """Everything a worker needs to run one attempt of one step."""

    run_id: str
    job_name: str
    step_key: str
    retry_number: int
    pointer: CodePointer
    run_config: dict[str, Any]
    tags: dict[str, str]
    instance_ref: Any = None  # None: an ephemeral instance rooted at instance_root
    instance_root: str | None = None
    op_selection: list[str] | None = None
    asset_selection: list[str] | None = None
    asset_check_selection: list[str] | None = None
    step_keys_to_execute: list[str] | None = None
    known_output_run_ids: dict[str, str] = field(default_factory=dict)
    produced: frozenset[StepOutputHandle] = frozenset()
    resource_overrides_key: str | None = None
    # A step that .collect()s a dynamic output: the mapping keys it gathers, as the
    # orchestrator bound them (a step mapped over one is made from its key alone).
    collected: tuple[CollectBinding, ...] = ()
    # For a run whose instance the worker cannot open: the upstream data versions the
    # step records in its provenance, read by the orchestrator.
    data_versions: dict[Any, tuple[str, int | None]] = field(default_factory=dict)


@dataclass
class StepReply:
    """How a step attempt ended, in picklable form."""

    step_key: str
    status: str
    produced: list[StepOutputHandle]
    retry_delay: float = 0.0
    error: ErrorInfo | None = None
    exception: bytes | None = None  # the user's exception, pickled when possible
    dynamic_keys: dict[str, list[str]] | None = None  # mapping keys, per dynamic output

    def to_outcome(self) -> StepOutcome:
        """The ``StepOutcome`` the orchestration loop reads."""
        exception = None
        if self.exception is not None:
            try:
                exception = pickle.loads(self.exception)
            except Exception:
                exception = None
        return StepOutcome(
            self.step_key,
            StepStatus(self.status),
            set(self.produced),
            exception,
            self.retry_delay,
            self.dynamic_keys,
        )


def reply_from_outcome(outcome: StepOutcome) -> StepReply:
    """Turn an outcome into its picklable reply (the exception pickled if it can be)."""
    blob = None
    if outcome.exception is not None:
        try:
            blob = pickle.dumps(outcome.exception)
        except Exception:
            blob = None
    return StepReply(
        outcome.step_key,
        outcome.status.value,
        list(outcome.produced),
        outcome.retry_delay,
        ErrorInfo.from_exception(outcome.exception) if outcome.exception else None,
        blob,
        outcome.dynamic_keys,
    )


def _drop(event: Event) -> None:
    pass


class _RunInWorker:
    """A run as one worker sees it: the plan, lazily built resources, and a context.

    A worker may run several steps of the run at once on threads (a Dask worker with
    ``threads_per_worker > 1``): each thread has its own ``sink``, and resources are
    built under a lock, once."""

    def __init__(self, request: StepRequest) -> None:
        from trellis.api.execute import _job_for_run, default_io_manager_for
        from trellis.defs.asset_job import subset_asset_job
        from trellis.instance.instance import Instance
        from trellis.plan.plan import build_execution_plan

        job = request.pointer.load_job(request.job_name)
        if request.asset_selection is not None or request.asset_check_selection is not None:
            from trellis.core.asset_checks import AssetCheckKey
            from trellis.core.asset_key import AssetKey

            keys = {AssetKey.from_user_string(k) for k in request.asset_selection or ()}
            checks = request.asset_check_selection
            job = subset_asset_job(
                job,
                keys,
                None if checks is None else [AssetCheckKey.from_user_string(k) for k in checks],
            )
        if request.instance_ref is not None:
            self.instance = Instance.from_ref(request.instance_ref)
        else:
            self.instance = Instance.ephemeral(request.instance_root)
        job = _job_for_run(job, None, default_io_manager_for(self.instance, cross_process=True))
        self.plan = build_execution_plan(
            job,
            request.run_config,
            op_selection=request.op_selection,
            step_keys_to_execute=request.step_keys_to_execute,
            known_output_run_ids=request.known_output_run_ids,
        )
        self.run = Run(request.run_id, request.job_name, request.run_config, request.tags)
        self.built = BuiltResources()
        self.loggers: RunLoggers | None = None  # built with the first step's resources
        self._loggers_built = False
        self.lock = threading.RLock()
        self._local = threading.local()
        log = LogManager(self._emit, request.run_id, request.job_name)
        self.context = PlanOrchestrationContext(
            self.run, self.plan, self.instance, self.built.values, self._emit, log
        )

    @property
    def sink(self) -> Callable[[Event], None]:
        """Where this thread's events go (the step it is running)."""
        return getattr(self._local, "sink", _drop)

    @sink.setter
    def sink(self, sink: Callable[[Event], None]) -> None:
        self._local.sink = sink

    def _emit(self, event: Event) -> None:
        loggers = self.loggers
        if loggers is not None:  # the run's loggers, built in this process
            loggers.handle(event)
        self.sink(event)

    def ensure_loggers(self) -> None:
        """Build the run's loggers in this worker, once (``LoggerInitError`` if one fails)."""
        if self._loggers_built:
            return
        with self.lock:
            if not self._loggers_built:
                self.loggers = build_run_loggers(self.plan, self.run.run_id, self.run.tags)
                self._loggers_built = True

    def ensure_resources(self, step_key: str) -> None:
        """Build the resources one step needs that this worker has not built yet."""
        from trellis.defs.resource import resource_init_order

        job = self.plan.job
        node = self.plan.steps[step_key].node  # a mapped step (op[k]) names its node
        needed = job.resource_keys_for_node(node)
        with self.lock:
            for key in resource_init_order(job.resource_defs, needed):
                if key not in self.built.values:
                    self.built.values[key] = build_resource(
                        key,
                        job.resource_defs[key],
                        self.plan.run_config.resource_config(key),
                        self.built.values,
                        self.built.stack,
                        self.instance,
                        self.run,
                        self.context.log,
                    )

    def close(self) -> None:
        """Tear the run's resources down in this worker (and flush its loggers)."""
        if self.loggers is not None:
            self.loggers.flush()
        self.built.close()
        self.context.event_loops.close()


class WorkerState:
    """What one worker process keeps between steps: the runs it is part of."""

    def __init__(self) -> None:
        self.runs: dict[str, _RunInWorker] = {}
        self._lock = threading.Lock()

    def execute(self, request: StepRequest, send: Callable[[dict[str, Any]], None]) -> StepReply:
        """Run one step attempt, sending each event (as a dict) through ``send``.
        Safe to call from several threads at once."""
        state = self.runs.get(request.run_id)
        if state is None:
            with self._lock:  # the code and the plan are loaded once
                state = self.runs.get(request.run_id)
                if state is None:
                    state = self.runs[request.run_id] = _RunInWorker(request)
        state.sink = lambda event: send(event_to_dict(event))
        with state.lock:  # what the orchestrator knows is produced only grows
            produced = state.context.produced_outputs
            if produced is None:
                state.context.produced_outputs = set(request.produced)
            else:
                produced.update(request.produced)
            if request.data_versions:
                known = state.context.known_data_versions
                if known is None:
                    known = state.context.known_data_versions = {}
                known.update(request.data_versions)
            step = state.plan.steps[request.step_key]  # a mapped step: made from its key
            if request.collected:  # gathers dynamic outputs: bound as the orchestrator did
                dynamic = state.plan.dynamic
                assert dynamic is not None
                dynamic.apply_bindings(state.plan, request.step_key, request.collected)
        try:
            state.ensure_loggers()
        except LoggerInitError as exc:
            return failed_reply(
                request,
                exc,
                send,
                f"Step '{step.key}' failed: a logger could not be built: {exc}",
                "USER_CODE_ERROR",
            )
        try:
            state.ensure_resources(request.step_key)
        except Exception as exc:
            return failed_reply(
                request,
                exc,
                send,
                f"Step '{step.key}' failed: a resource could not be built: {exc}",
                "USER_CODE_ERROR",
            )
        from trellis.defs.dynamic_partitions import using_dynamic_partitions_store

        with using_dynamic_partitions_store(state.instance):
            outcome = execute_step(state.context.for_step(step, request.retry_number))
        return reply_from_outcome(outcome)

    def finish_run(self, run_id: str, where: str) -> list[dict[str, Any]]:
        """Tear down what the worker built for a run that has ended; return events (as
        dicts) for the orchestrator to emit: a ``RESOURCE_TEARDOWN_FAILURE`` naming
        ``where`` (" in worker process 123") if the teardown raised."""
        state = self.runs.pop(run_id, None)
        if state is None:
            return []
        try:
            state.close()
        except Exception as exc:
            job_name = state.run.job_name
            failure = event_factory.resource_teardown_failure(run_id, job_name, exc, where)
            return [event_to_dict(failure)]
        return []


def failed_reply(
    request: StepRequest,
    exc: Exception,
    send: Callable[[dict[str, Any]], None],
    message: str,
    error_source: str = "FRAMEWORK_ERROR",
) -> StepReply:
    """Send the ``STEP_FAILURE`` of a step the worker could not run (its code, plan or
    resources could not be prepared) and return the matching reply."""
    error = ErrorInfo.from_exception(exc)
    event = event_factory.step_failure(
        request.run_id,
        request.job_name,
        request.step_key,
        message,
        error=error,
        error_source=error_source,
    )
    send(event_to_dict(event))
    return StepReply(request.step_key, StepStatus.FAILURE.value, [], 0.0, error, None)


WORKER = WorkerState()
"""The state of the current process when it serves as a worker."""


def request_for(plan_context: PlanOrchestrationContext, step_key: str, retry: int) -> StepRequest:
    """The ``StepRequest`` for one attempt of one step of the orchestrator's run."""
    run = plan_context.run
    plan = plan_context.plan
    instance = plan_context.instance
    ref = None if instance.is_ephemeral else instance.get_ref()
    # Only the step's own sources matter to it: O(its inputs), whatever the run's size.
    produced = plan_context.produced_outputs or ()
    step = plan.steps[step_key]
    needed = frozenset(
        h for step_input in step.inputs for h in step_input.upstream_handles if h in produced
    )
    versions = versions_for_step(plan_context, step) if ref is None else {}
    return StepRequest(
        run_id=run.run_id,
        job_name=run.job_name,
        step_key=step_key,
        retry_number=retry,
        pointer=plan_context.code_pointer,
        run_config=plan.run_config.raw,
        tags=dict(run.tags),
        instance_ref=ref,
        instance_root=str(instance.root_directory) if ref is None else None,
        op_selection=run.op_selection,
        asset_selection=run.asset_selection,
        asset_check_selection=run.asset_check_selection,
        step_keys_to_execute=plan.step_keys_to_execute,
        known_output_run_ids=dict(plan.known_output_run_ids),
        produced=needed,
        collected=plan.dynamic.bindings_of(step_key) if plan.dynamic is not None else (),
        data_versions=versions,
    )
