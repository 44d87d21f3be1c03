"""``ExecuteInProcessResult``: what ``execute_in_process`` and ``materialize`` return.

The result keeps no second copy of the outputs: ``output_for_node`` and ``asset_value``
read the value from the in-memory IO manager when that is where it lives, and load it
through the output's IO manager otherwise.
"""

from __future__ import annotations

from typing import Any

from trellis.api.result_events import ResultEvents
from trellis.contexts.io import OutputFacts, input_context_for_upstream
from trellis.contexts.partitions import RunPartitions
from trellis.core.asset_key import AssetKey, CoercibleToAssetKey
from trellis.core.errors import InvariantViolationError, StepOutputNotFoundError
from trellis.core.events import Event, EventType
from trellis.core.run import Run
from trellis.defs.builtin_io_managers import InMemoryIOManager, output_identifier
from trellis.defs.ins_outs import Nothing
from trellis.execution.run import RunOutcome
from trellis.plan.steps import StepOutput, StepOutputHandle


class ExecuteInProcessResult(ResultEvents):
    """The outcome of an in-process run: success, events (the queries of
    ``ResultEvents``), and access to outputs."""

    def __init__(self, outcome: RunOutcome) -> None:
        self._outcome = outcome
        self.job_def = outcome.plan.job
        self._built: list[Any] = []

    # -- run ---------------------------------------------------------------------------
    @property
    def success(self) -> bool:
        """Whether the run succeeded."""
        return self._outcome.success

    @property
    def run_id(self) -> str:
        """The run's id."""
        return self._outcome.run.run_id

    @property
    def run(self) -> Run:
        """The run record."""
        return self._outcome.run

    dagster_run = run

    @property
    def event_log(self) -> list[Event]:
        """Every event of the run, log messages included, in order."""
        return self._outcome.stream.events

    @property
    def all_events(self) -> list[Event]:
        """The run's framework events in order (``context.log`` lines are in
        ``event_log``)."""
        return [e for e in self._outcome.stream.events if e.event_type is not EventType.LOG_MESSAGE]

    def _step_key(self, node_name: str) -> str:
        steps = self._outcome.plan.steps
        if node_name in steps:
            return node_name
        matches = [k for k in steps if k.rsplit(".", 1)[-1] == node_name]
        if len(matches) == 1:
            return matches[0]
        raise InvariantViolationError(
            f"No single step named '{node_name}' in this run; steps: {list(steps)}."
        )

    # -- trace -------------------------------------------------------------------------
    def trace(
        self,
        format: str = "text",
        step: str | None = None,
        only_errors: bool = False,
        depth: int | None = None,
    ) -> str:
        """The run's trace (contexts created, IO manager calls, timings) rendered as
        ``"text"``, ``"json"`` or ``"mermaid"``; see ``trellis.views.trace``."""
        from trellis.views.trace import build_trace
        from trellis.views.trace_render import render_trace

        tree = build_trace(self.event_log, self.run)
        return render_trace(tree, format, step=step, only_errors=only_errors, depth=depth)

    # -- values ------------------------------------------------------------------------
    def output_for_node(self, node_str: str, output_name: str = "result") -> Any:
        """The value of one output of one node (an op, or a graph by its dotted handle,
        whose output mapping is followed), read where its IO manager keeps it. A dynamic
        output, or a node mapped over one, gives ``{mapping_key: value}`` in the order the
        keys were yielded (as Dagster does); ``node[key]`` names one mapped step."""
        mapped = self._graph_output(node_str, output_name)
        if mapped is not None:
            node_str, output_name = mapped
        plan = self._outcome.plan
        if plan.dynamic is not None:
            found = self._mapped_outputs(node_str, output_name)
            if found is not None:
                return found
        key = self._step_key(node_str)
        return self._load(self._step_output(key, output_name))

    def _step_output(self, key: str, output_name: str) -> StepOutput:
        step = self._outcome.plan.steps[key]
        try:
            return step.step_output(output_name)
        except KeyError:
            raise InvariantViolationError(
                f"Node '{key}' has no output '{output_name}'; outputs: "
                f"{[o.name for o in step.outputs]}."
            ) from None

    def _mapped_outputs(self, node_str: str, output_name: str) -> dict[str, Any] | None:
        """``{mapping_key: value}`` for a dynamic output or a node mapped over one, else
        None (the node runs once: read its output as usual)."""
        plan = self._outcome.plan
        dynamic = plan.dynamic
        assert dynamic is not None
        handle = node_str if node_str in dynamic.position else None
        if handle is None:
            matches = [h for h in dynamic.position if h.rsplit(".", 1)[-1] == node_str]
            handle = matches[0] if len(matches) == 1 else None
        if handle is None:
            return None
        if handle in dynamic.templates:
            produced = self._outcome.active.produced if self._outcome.active else set()
            values: dict[str, Any] = {}
            for step in list(plan.steps.values()):
                if step.handle == handle and step.mapping_key is not None:
                    step_output = self._step_output(step.key, output_name)
                    if step_output.handle in produced:  # a failed or skipped one has none
                        values[step.mapping_key] = self._load(step_output)
            return values
        if output_name in dynamic.dynamic_outputs.get(handle, ()):
            step_output = self._step_output(handle, output_name)
            keys = dynamic.keys.get((handle, output_name), ())
            return {k: self._load(step_output, k) for k in keys}
        return None

    def output_value(self, output_name: str = "result") -> Any:
        """The value of a job output: the graph output ``output_name`` of the job's graph
        (a job without graph outputs falls back to its last step's output)."""
        graph_def = self.job_def.graph_def
        if graph_def is not None and output_name in graph_def.output_mappings:
            handle, op_output = _op_output_for(graph_def, "", output_name)
            return self.output_for_node(handle, op_output)
        steps = list(self._outcome.plan.steps)
        return self.output_for_node(steps[-1], output_name)

    def _graph_output(self, node_str: str, output_name: str) -> tuple[str, str] | None:
        """``(op handle, output)`` behind output ``output_name`` of the graph node at
        dotted handle ``node_str``, or None when ``node_str`` is not a graph node."""
        from trellis.defs.graph import GraphDefinition

        definition: Any = self.job_def.graph_def
        for part in node_str.split("."):
            nodes = definition.nodes if isinstance(definition, GraphDefinition) else {}
            invocation = nodes.get(part)
            if invocation is None:
                return None
            definition = invocation.definition
        if not isinstance(definition, GraphDefinition):
            return None
        if output_name not in definition.output_mappings:
            raise InvariantViolationError(
                f"Graph '{node_str}' has no output '{output_name}'; outputs: "
                f"{list(definition.output_mappings)}."
            )
        return _op_output_for(definition, node_str + ".", output_name)

    def asset_value(self, asset_key: CoercibleToAssetKey) -> Any:
        """The value of an asset this run materialized."""
        key = AssetKey.from_coercible(asset_key)
        for step in self._outcome.plan.steps.values():
            for step_output in step.outputs:
                if step_output.asset_key == key:
                    return self._load(step_output)
        raise InvariantViolationError(
            f"This run did not materialize asset '{key.to_user_string()}'."
        )

    def _load(self, step_output: StepOutput, mapping_key: str | None = None) -> Any:
        outcome = self._outcome
        active = outcome.active
        handle = step_output.handle
        if mapping_key is not None:
            handle = StepOutputHandle(handle.step_key, handle.output_name, mapping_key)
        if active is None or handle not in active.produced:
            raise StepOutputNotFoundError(
                f"Output '{step_output.name}' of step '{step_output.handle.step_key}' was not "
                "produced in this run."
            )
        manager = outcome.resources.get(step_output.io_manager_key)
        if manager is None:  # the steps ran elsewhere: build the IO manager here to read
            manager = self._build_io_manager(step_output.io_manager_key)
        partitions = RunPartitions(outcome.run.tags, outcome.plan.job.partitions_def)
        facts = OutputFacts(outcome.plan, step_output.handle, outcome.run.run_id, partitions)
        output_context = facts.context(facts.run_id, None, None, None, partitions, mapping_key)
        if step_output.out_def.dagster_type is Nothing:  # nothing was stored
            return None
        if isinstance(manager, InMemoryIOManager):
            return manager.values[output_identifier(output_context)]
        if manager is None:
            raise InvariantViolationError(
                f"IO manager '{step_output.io_manager_key}' is not available after the run."
            )
        return manager.load_input(
            input_context_for_upstream(
                step_output.name,
                output_context,
                None,
                step_output.out_def.dagster_type,
                None,
                None,
                None,
            )
        )

    def _build_io_manager(self, key: str) -> Any:
        from trellis.execution.resources import init_resources

        outcome = self._outcome
        plan = outcome.plan
        built = init_resources(
            plan.job.resource_defs,
            {key},
            plan.run_config.resource_config,
            instance=outcome.stream.instance,
            run=outcome.run,
        )
        self._built.append(built)  # kept open while the result is used
        outcome.resources.update(built.values)
        return built.values[key]

    def __repr__(self) -> str:
        return f"<ExecuteInProcessResult {self.run_id} success={self.success}>"


def _op_output_for(graph_def: Any, prefix: str, output_name: str) -> tuple[str, str]:
    """Follow a graph output mapping down nested graphs to ``(op handle, op output)``."""
    from trellis.defs.graph import GraphDefinition

    mapping = graph_def.output_mappings[output_name]
    definition = graph_def.nodes[mapping.node_name].definition
    handle = prefix + mapping.node_name
    if isinstance(definition, GraphDefinition):
        return _op_output_for(definition, handle + ".", mapping.output_name)
    return handle, mapping.output_name
