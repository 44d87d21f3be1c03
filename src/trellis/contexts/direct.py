"""The state behind contexts built for tests (``build_op_context``,
``build_asset_context``) and for direct calls of ops and assets: a one-step "run" with
plain values instead of a plan. It is bound to an op or asset when one is called with it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, cast

from trellis.contexts.event_loops import EventLoops
from trellis.contexts.log_manager import LogManager
from trellis.contexts.partitions import RunPartitions
from trellis.contexts.resources_view import ResourcesView
from trellis.contexts.system import StepExecutionContext
from trellis.core.errors import InvariantViolationError
from trellis.core.events import Event
from trellis.core.run import Run, new_run_id

if TYPE_CHECKING:
    from trellis.defs.asset import AssetsDefinition
    from trellis.defs.job import JobDefinition
    from trellis.defs.op import OpDefinition
    from trellis.plan.plan import ExecutionPlan
    from trellis.plan.steps import ExecutionStep, StepOutputHandle

DIRECT_JOB_NAME = "__direct_invocation__"


class DirectPlanContext:
    """What a direct context stands on instead of a run's ``PlanOrchestrationContext``
    (it provides the same ``PlanContext``): a run record, the given resources, instance,
    partitions and a logger whose events are kept in ``events``."""

    def __init__(
        self,
        resources: Mapping[str, Any],
        instance: Any,
        tags: Mapping[str, str],
        partitions_def: Any,
        close: Callable[[], None] | None,
        console: Callable[[Event], None] | None = None,
    ) -> None:
        self.run = Run(new_run_id(), DIRECT_JOB_NAME, tags=dict(tags))
        self.plan: ExecutionPlan | None = None
        self.instance = instance
        self.resources: Mapping[str, Any] = dict(resources)
        self.events: list[Event] = []
        self._console = console
        self.log = LogManager(self.emit, self.run.run_id, DIRECT_JOB_NAME)
        self.partitions = RunPartitions(tags, partitions_def)
        self.io_cache: dict[Any, Any] = {}
        self.produced_outputs: set[StepOutputHandle] | None = None
        self.event_loops = EventLoops()
        self.close = close or (lambda: None)
        self.resources_view = ResourcesView(self.resources, owner="this test context")

    def emit(self, event: Event) -> None:
        """Keep the event (and show it on the console when one is set)."""
        self.events.append(event)
        if self._console is not None and event.level >= logging.INFO:
            self._console(event)

    def scoped_resources(self, op_def: Any, step_key: str) -> ResourcesView:
        """Every resource given to the test context."""
        return self.resources_view


class _UnboundStep:
    """The step of a direct context before an op or asset is called with it: reading
    anything of it says how to bind the context."""

    __slots__ = ()

    def __getattr__(self, name: str) -> Any:
        raise InvariantViolationError(
            "This context is not bound to an op or asset yet: call the op (or asset) with "
            "it, e.g. my_op(context)."
        )


_UNBOUND = cast("ExecutionStep", _UnboundStep())


class DirectStepContext(StepExecutionContext):
    """A ``StepExecutionContext`` for a direct call: config and resources come from the
    ``build_*`` arguments; the step is made when the context is bound to an op."""

    __slots__ = (
        "__weakref__",
        "_config",
        "_config_resolved",
        "_direct",
        "_raw_config",
        "mapping_key",
    )

    def __init__(self, plan_context: DirectPlanContext, config: Any) -> None:
        super().__init__(plan_context, _UNBOUND, 0)
        self._direct = plan_context
        self._raw_config = config
        self._config: Any = None
        self._config_resolved = False
        self.mapping_key: str | None = None  # build_op_context(mapping_key=...)

    @property
    def is_bound(self) -> bool:
        """Whether an op or asset has been called with this context."""
        return self.step is not _UNBOUND

    def bind(
        self, op_def: OpDefinition, assets_def: AssetsDefinition | None, checks_def: Any = None
    ) -> None:
        """Attach the context to the op (or asset, or asset check) being called."""
        from trellis.defs.flat_graph import FlatNode
        from trellis.plan.steps import ExecutionStep, StepOutput

        node = FlatNode(op_def.name, op_def, {}, assets_def=assets_def, checks_def=checks_def)
        partitions = self._direct.partitions
        if partitions.partitions_def is None and assets_def is not None:
            partitions.partitions_def = assets_def.partitions_def  # the asset's, when not given
        keys = assets_def.keys_by_output_name if assets_def else {}
        outputs = [StepOutput(op_def.name, n, o, keys.get(n)) for n, o in op_def.outs.items()]
        mapping_keys = (self.mapping_key,) if self.mapping_key else ()
        key = f"{op_def.name}[{self.mapping_key}]" if self.mapping_key else None
        self.step = ExecutionStep(
            node,
            [],
            outputs,
            frozenset(),
            op_def.retry_policy,
            key=key,
            mapping_keys=mapping_keys,
        )
        self._config_resolved = False
        self._output_metadata = {}
        self.seen_outputs = set()
        self.check_evaluations = None

    @property
    def op_config(self) -> Any:
        """The given config, validated against the bound op's schema."""
        if not self._config_resolved:
            bound = self.is_bound
            schema = self.step.op_def.config_schema if bound else None
            if schema is not None:
                from trellis.config.validate import validate_config

                op_def = self.step.op_def
                self._config = validate_config(
                    schema,
                    self._raw_config,
                    header=f"Error in config for {op_def.kind} '{op_def.name}'",
                )
            else:
                self._config = self._raw_config
            self._config_resolved = bound
        return self._config

    @property
    def resources(self) -> ResourcesView:
        """Every resource given to the test context (bound or not)."""
        return self._direct.resources_view

    @property
    def log(self) -> LogManager:
        """A logger tagged with the bound op's name."""
        return self._direct.log.with_step(self.step.key if self.is_bound else None)

    @property
    def job_def(self) -> JobDefinition | None:
        """No job: the op is called directly."""
        return None

    def output_metadata_by_name(self) -> dict[str, dict[str, Any]]:
        """Metadata added with ``add_output_metadata``, by output (readable after a call)."""
        return dict(self._output_metadata)

    def close(self) -> None:
        """Tear down the resources the test context built."""
        self._direct.close()
