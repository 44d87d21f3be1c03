"""The system contexts: ``PlanOrchestrationContext`` (one per run) and
``StepExecutionContext`` (one per step, made by ``PlanOrchestrationContext.for_step``).

User code never receives these directly; the user-facing contexts are views over them
(``context.get_step_execution_context()`` is the escape hatch).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from trellis.contexts.event_loops import EventLoops
from trellis.contexts.io import input_context_for_step, output_context_for_step
from trellis.contexts.log_manager import LogManager
from trellis.contexts.partitions import RunPartitions
from trellis.contexts.resources_view import ResourcesView
from trellis.core.asset_key import AssetKey
from trellis.core.errors import InvariantViolationError
from trellis.core.events import Event
from trellis.core.metadata import MetadataValue, normalize_metadata
from trellis.core.run import Run

if TYPE_CHECKING:
    from trellis.contexts.io import InputContext, OutputContext
    from trellis.contexts.plan_context import PlanContext
    from trellis.defs.job import JobDefinition
    from trellis.defs.op import OpDefinition
    from trellis.plan.plan import ExecutionPlan
    from trellis.plan.steps import ExecutionStep, StepInput, StepOutput, StepOutputHandle


class PlanOrchestrationContext:
    """The state of one run, shared by all its steps: the run record, the plan with its
    resolved config, the initialised resources, the instance, the executor, the event
    sink, where the job's code lives (``code_pointer``, for workers in other processes)
    and the run's ``Cancellation`` (``trellis.execution.cancellation``; None in a worker
    process, whose orchestrator cancels its steps). Created once per run by the
    execution layer (``trellis.execution.run``); provides ``PlanContext``
    (``plan_context.py``), what a step needs from its run."""

    def __init__(
        self,
        run: Run,
        plan: ExecutionPlan,
        instance: Any,
        resources: Mapping[str, Any],
        emit: Callable[[Event], None],
        log: LogManager,
        executor: Any = None,
        raise_on_error: bool = False,
        code_pointer: Any = None,
        cancellation: Any = None,
    ) -> None:
        self.run = run
        self.plan: ExecutionPlan = plan
        self.instance = instance
        self.resources = resources
        self.emit = emit
        self.log = log
        self.executor = executor
        self.raise_on_error = raise_on_error
        self.code_pointer = code_pointer
        self.cancellation = cancellation
        self.partitions = RunPartitions(run.tags, plan.job.partitions_def)
        self._scoped_resources: dict[int, ResourcesView] = {}
        self.io_cache: dict[Any, Any] = {}
        self.produced_outputs: set[StepOutputHandle] | None = None
        # Upstream data versions handed to a worker process with its steps (a run whose
        # instance it cannot open): (asset key, partition) -> (version, storage id).
        self.known_data_versions: dict[Any, tuple[str, int | None]] | None = None
        self.event_loops = EventLoops()

    # -- identity ----------------------------------------------------------------------
    @property
    def run_id(self) -> str:
        """The run's id."""
        return self.run.run_id

    @property
    def job(self) -> JobDefinition:
        """The job being run."""
        return self.plan.job

    @property
    def job_name(self) -> str:
        """The job's name."""
        return self.run.job_name

    @property
    def run_config(self) -> dict[str, Any]:
        """The run config as the user gave it."""
        return self.run.run_config

    @property
    def resolved_run_config(self) -> Any:
        """The validated run config (``ResolvedRunConfig``)."""
        return self.plan.run_config

    def has_tag(self, key: str) -> bool:
        """Whether the run has tag ``key``."""
        return key in self.run.tags

    def get_tag(self, key: str) -> str | None:
        """The value of run tag ``key``, or None."""
        return self.run.tags.get(key)

    # -- steps -------------------------------------------------------------------------
    def scoped_resources(self, op_def: OpDefinition, step_key: str) -> ResourcesView:
        """The resources one op may read (its declared keys and its IO managers); built
        once per op definition per run, never per step."""
        view = self._scoped_resources.get(id(op_def))
        if view is None:
            keys = set(op_def.resource_keys)
            for out in op_def.outs.values():
                keys.add(out.io_manager_key)
            values = {k: self.resources[k] for k in keys if k in self.resources}
            view = ResourcesView(values, owner=f"{op_def.kind} '{op_def.name}'")
            self._scoped_resources[id(op_def)] = view
        return view

    def for_step(self, step: ExecutionStep, retry_number: int = 0) -> StepExecutionContext:
        """The context of one attempt of one step."""
        return StepExecutionContext(self, step, retry_number)


class StepExecutionContext:
    """The state of one step attempt: the step, its op (or asset) definition, config,
    scoped resources, a step-tagged logger, and the metadata and events user code adds.

    ``plan_context`` is the run's ``PlanOrchestrationContext`` (any ``PlanContext``: a
    ``DirectPlanContext`` for contexts built in tests).
    """

    __slots__ = (
        "_input_metadata",
        "_log",
        "_output_metadata",
        "check_evaluations",
        "data_versions",
        "dynamic_keys",
        "output_capture",
        "plan_context",
        "retry_number",
        "seen_outputs",
        "step",
        "user_events",
    )

    def __init__(
        self, plan_context: PlanContext, step: ExecutionStep, retry_number: int = 0
    ) -> None:
        self.plan_context = plan_context
        self.step = step
        self.retry_number = retry_number
        self._log: LogManager | None = None
        self._output_metadata: dict[str, dict[str, MetadataValue]] = {}
        self._input_metadata: dict[str, dict[str, MetadataValue]] = {}
        self.user_events: list[Any] = []
        self.seen_outputs: set[str] = set()
        # Each output's value and metadata, kept only for a step with hooks (``HookContext``).
        self.output_capture: dict[str, tuple[Any, Mapping[str, Any]]] | None = None
        # The asset checks evaluated so far in this attempt (``execution/step_checks.py``).
        self.check_evaluations: dict[Any, Any] | None = None
        # A step with dynamic outputs: each one's mapping keys so far, in the order yielded.
        self.dynamic_keys: dict[str, list[str]] | None = None
        # The data versions of the assets materialized (or set) so far in this attempt.
        self.data_versions: dict[AssetKey, Any] | None = None

    # -- identity ----------------------------------------------------------------------
    @property
    def step_key(self) -> str:
        """The step's key."""
        return self.step.key

    @property
    def run(self) -> Run:
        """The run record."""
        return self.plan_context.run

    @property
    def run_id(self) -> str:
        """The run's id."""
        return self.plan_context.run.run_id

    @property
    def job_name(self) -> str:
        """The job's name."""
        return self.plan_context.run.job_name

    @property
    def plan(self) -> ExecutionPlan:
        """The run's execution plan."""
        plan = self.plan_context.plan
        if plan is None:
            raise InvariantViolationError(
                f"Step '{self.step.key}' has no execution plan: its context was built for a "
                "direct call or a test, not by a run."
            )
        return plan

    @property
    def job_def(self) -> JobDefinition | None:
        """The job definition."""
        return self.plan.job

    @property
    def instance(self) -> Any:
        """The instance the run belongs to."""
        return self.plan_context.instance

    @property
    def op_def(self) -> OpDefinition:
        """The op (or asset op) this step runs."""
        return self.step.op_def

    @property
    def op_config(self) -> Any:
        """The op's processed config (``ops.<name>.config``)."""
        return self.plan.run_config.op_config(self.step.handle)

    @property
    def log(self) -> LogManager:
        """A logger tagged with this step."""
        log = self._log
        if log is None:
            log = self._log = self.plan_context.log.with_step(self.step.key)
        return log

    @property
    def resources(self) -> ResourcesView:
        """The resources this step declared."""
        return self.plan_context.scoped_resources(self.step.op_def, self.step.key)

    @property
    def partitions(self) -> RunPartitions:
        """The run's partitions."""
        return self.plan_context.partitions

    @property
    def is_asset_step(self) -> bool:
        """Whether the step materializes assets."""
        return self.step.assets_def is not None

    # -- assets ------------------------------------------------------------------------
    def asset_key_for_output(self, output_name: str = "result") -> AssetKey | None:
        """The asset an output makes, or None for op outputs (and for the intermediate
        outputs of the ops inside a graph-backed asset)."""
        keys = self.step.node.asset_keys_by_output
        return keys.get(output_name) if keys is not None else None

    def asset_key_for_input(self, input_name: str) -> AssetKey | None:
        """The asset an input reads, or None."""
        keys = self.step.node.asset_keys_by_input
        if keys is not None:  # an asset's own, or an op's inside a graph-backed asset
            return keys.get(input_name)
        return self.step.op_def.ins[input_name].asset_key

    def output_name_for_asset_key(self, asset_key: AssetKey) -> str:
        """The output of this step that makes ``asset_key`` (inside a graph-backed asset:
        the inner op's output)."""
        step = self.step
        keys = step.node.asset_keys_by_output
        if keys is None:
            self.assets_def_or_raise()  # a plain op makes no assets
            raise InvariantViolationError(f"Step '{step.key}' does not make assets.")
        for name, key in keys.items():
            if key == asset_key:
                return name
        raise InvariantViolationError(
            f"Step '{step.key}' does not make asset '{asset_key.to_user_string()}'; it makes "
            f"{[k.to_user_string() for k in keys.values() if k is not None]}."
        )

    def assets_def_or_raise(self) -> Any:
        """The step's ``AssetsDefinition`` (raises for a plain op)."""
        assets_def = self.step.assets_def
        if assets_def is None:
            raise InvariantViolationError(f"Op '{self.step.op_def.name}' does not make assets.")
        return assets_def

    # -- metadata added by user code ---------------------------------------------------
    def add_output_metadata(
        self,
        metadata: Mapping[str, Any],
        output_name: str | None,
        mapping_key: str | None = None,
    ) -> None:
        """Attach metadata to an output (the only one when ``output_name`` is None; one
        item of a dynamic output with ``mapping_key``)."""
        if output_name is None:
            names = [o.name for o in self.step.outputs] or list(self.step.op_def.outs)
            if len(names) != 1:
                raise InvariantViolationError(
                    f"Step '{self.step.key}' has outputs {names}: pass output_name to "
                    "add_output_metadata."
                )
            output_name = names[0]
        if output_name not in self.step.op_def.outs:
            raise InvariantViolationError(f"Step '{self.step.key}' has no output '{output_name}'.")
        if mapping_key is not None:
            output_name = f"{output_name}[{mapping_key}]"
        if output_name in self.seen_outputs:
            raise InvariantViolationError(
                f"Output '{output_name}' of step '{self.step.key}' was already emitted; add its "
                "metadata before yielding it (or with Output(metadata=...))."
            )
        self._output_metadata.setdefault(output_name, {}).update(normalize_metadata(metadata))

    def output_metadata(self, output_name: str) -> dict[str, MetadataValue]:
        """The metadata user code added to an output so far."""
        return self._output_metadata.get(output_name, {})

    def item_metadata(self, output_name: str, mapping_key: str) -> dict[str, MetadataValue]:
        """The metadata added to one item of a dynamic output: what was added to that item,
        over what was added to the whole output."""
        found = self._output_metadata.get(output_name, {})
        item = self._output_metadata.get(f"{output_name}[{mapping_key}]")
        return {**found, **item} if item else found

    def add_input_metadata(self, input_name: str, metadata: Mapping[str, Any]) -> None:
        """Attach metadata to a loaded input (from ``InputContext.add_input_metadata``)."""
        self._input_metadata.setdefault(input_name, {}).update(normalize_metadata(metadata))

    def input_metadata(self, input_name: str) -> dict[str, MetadataValue]:
        """The metadata added while an input was loaded."""
        return self._input_metadata.get(input_name, {})

    # -- IO contexts -------------------------------------------------------------------
    def for_output(
        self, step_output: StepOutput, metadata: Mapping[str, Any], mapping_key: str | None = None
    ) -> OutputContext:
        """The ``OutputContext`` handed to ``handle_output`` for one output (one item of a
        dynamic output with ``mapping_key``)."""
        return output_context_for_step(self, step_output, metadata, mapping_key)

    def for_input(self, step_input: StepInput, handle: StepOutputHandle | None) -> InputContext:
        """The ``InputContext`` handed to ``load_input`` (for one upstream ``handle`` of a
        fan-in input, or for the single source)."""
        return input_context_for_step(self, step_input, handle)

    def __repr__(self) -> str:
        return f"<StepExecutionContext {self.step.key} attempt {self.retry_number + 1}>"
