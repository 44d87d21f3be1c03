"""``ExecutionPlan`` and how it is built from a job, a selection and a run config."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from trellis.core.collector import collector_paused
from trellis.core.errors import InvalidDefinitionError
from trellis.defs.dynamic_scope import parse_step_key
from trellis.defs.flat_graph import (
    CollectedFrom,
    FlatNode,
    FromAsset,
    FromGraphInput,
    MappedFrom,
    NodeOutput,
)
from trellis.defs.ins_outs import Nothing
from trellis.plan.op_selection import parse_op_selection
from trellis.plan.run_config import ResolvedRunConfig, resolve_run_config
from trellis.plan.steps import (
    ExecutionStep,
    FromCollectedOutputs,
    FromInputManager,
    FromLoadableAsset,
    FromMappedOutput,
    FromMultipleStepOutputs,
    FromStepOutput,
    FromValue,
    StepInput,
    StepInputSource,
    StepOutput,
    StepOutputHandle,
)

if TYPE_CHECKING:
    from trellis.core.asset_key import AssetKey
    from trellis.defs.job import JobDefinition
    from trellis.plan.dynamic_plan import DynamicPlan


class _PlanSteps(dict[str, ExecutionStep]):
    """The steps of a plan with dynamic outputs: a step mapped over one (``node[k]``) that
    is looked up before the orchestrator's resolution reached this process (a worker)
    is made from its template on first use."""

    dynamic: DynamicPlan
    plan: ExecutionPlan

    def __missing__(self, key: str) -> ExecutionStep:
        return self.dynamic.materialize(self.plan, key)


class ExecutionPlan:
    """The steps of one run in a topological order, with everything resolved that can be
    resolved before user code runs: config, input sources, resources to build."""

    def __init__(
        self,
        job: JobDefinition,
        steps: list[ExecutionStep],
        run_config: ResolvedRunConfig,
        resource_keys_to_init: frozenset[str],
        step_keys_to_execute: list[str] | None = None,
        known_output_run_ids: Mapping[str, str] | None = None,
        dynamic: DynamicPlan | None = None,
    ) -> None:
        self.job = job
        # Steps mapped over dynamic outputs are added as the run resolves them.
        self.dynamic = dynamic
        if dynamic is None:
            self.steps: dict[str, ExecutionStep] = {s.key: s for s in steps}
        else:
            lazy = _PlanSteps((s.key, s) for s in steps)
            lazy.dynamic, lazy.plan = dynamic, self
            self.steps = lazy
        self.run_config = run_config
        self.resource_keys_to_init = resource_keys_to_init
        # Re-execution runs a subset; the other steps' outputs come from earlier runs.
        self.step_keys_to_execute = (
            list(self.steps) if step_keys_to_execute is None else list(step_keys_to_execute)
        )
        self.known_output_run_ids: dict[str, str] = dict(known_output_run_ids or {})
        self.downstream: dict[str, list[str]] = {k: [] for k in self.steps}
        for step in steps:
            for up in step.upstream_step_keys:
                self.downstream[up].append(step.key)

    @property
    def step_keys(self) -> list[str]:
        """Step keys in plan order (a mapped step next to the other steps of its node, in
        the order they were made)."""
        if self.dynamic is None:
            return list(self.steps)
        position, steps = self.dynamic.position, self.steps
        return sorted(steps, key=lambda key: position[steps[key].handle])

    def get_step(self, key: str) -> ExecutionStep:
        """One step by key."""
        return self.steps[key]

    def step_output(self, handle: StepOutputHandle) -> StepOutput:
        """The output a handle names."""
        return self.steps[handle.step_key].step_output(handle.output_name)

    def __len__(self) -> int:
        return len(self.steps)

    def __repr__(self) -> str:
        return f"<ExecutionPlan {self.job.name}: {len(self.steps)} steps>"


def resource_keys_to_init(job: JobDefinition, nodes: Iterable[FlatNode]) -> frozenset[str]:
    """The resources the selected nodes need, closed over resource-to-resource needs."""
    keys: set[str] = set()
    for node in nodes:
        keys.update(job.node_resource_keys(node))
    frontier = list(keys)
    while frontier:
        definition = job.resource_defs.get(frontier.pop())
        if definition is None:
            continue
        for dep in definition.required_resource_keys:
            if dep not in keys:
                keys.add(dep)
                frontier.append(dep)
    return frozenset(keys)


@collector_paused()
def build_execution_plan(
    job: JobDefinition,
    run_config: Any = None,
    *,
    op_selection: Iterable[str] | None = None,
    input_values: Mapping[str, Any] | None = None,
    step_keys_to_execute: Iterable[str] | None = None,
    known_output_run_ids: Mapping[str, str] | None = None,
    known_dynamic_keys: Mapping[tuple[str, str], Sequence[str]] | None = None,
) -> ExecutionPlan:
    """Validate the run config once and build the plan for ``job``.

    ``op_selection`` restricts the steps (Dagster's syntax: ``"*op"``, ``"op+"``, ...);
    inputs whose upstream is left out must then get a value from config or a default.
    ``step_keys_to_execute`` (re-execution) runs only those steps; every other step's
    outputs are read from the run named in ``known_output_run_ids``; the mapping keys an
    earlier run's dynamic outputs yielded (``known_dynamic_keys``: by step key and output
    name) make the mapped steps up front, so that only some of them need to run again.
    """
    if op_selection:
        selected_handles = parse_op_selection(job, list(op_selection))
        nodes = [n for n in job.flat_nodes if n.handle in selected_handles]
    else:
        nodes = list(job.flat_nodes)
        selected_handles = {n.handle for n in nodes}
    job.check_resources()
    dynamic = job.has_dynamic_outputs
    if dynamic and op_selection:
        _check_mapped_selection(nodes, selected_handles)
    to_execute = nodes
    keys_to_execute: list[str] | None = None
    if step_keys_to_execute is not None:
        wanted = list(step_keys_to_execute)
        # A step mapped over a dynamic output (node[k], re-execution) names its node.
        handles = [parse_step_key(k)[0] for k in wanted] if dynamic else wanted
        unknown = [k for k, h in zip(wanted, handles, strict=True) if h not in selected_handles]
        if unknown:
            raise InvalidDefinitionError(
                f"Steps {unknown} are not steps of job '{job.name}'; steps: "
                f"{[n.handle for n in nodes]}."
            )
        to_execute = [n for n in nodes if n.handle in set(handles)]
        if dynamic:
            keys_to_execute = wanted
    resource_keys = resource_keys_to_init(job, to_execute)
    resolved = resolve_run_config(job, run_config, to_execute, resource_keys)
    values = dict(input_values or {})
    steps = [_build_step(job, node, selected_handles, resolved, values) for node in nodes]
    if not dynamic:
        return ExecutionPlan(
            job,
            steps,
            resolved,
            resource_keys,
            step_keys_to_execute=[n.handle for n in to_execute],
            known_output_run_ids=known_output_run_ids,
        )
    from trellis.plan.dynamic_plan import DynamicPlan

    static = [s for s in steps if not s.node.mapped_over]
    templates = [s for s in steps if s.node.mapped_over]
    dynamic_plan = DynamicPlan(nodes, templates)
    for step in steps:
        if step.node.mapped_over:
            step.key = dynamic_plan.template_key(step.handle)
        dynamic_plan.add_collector(step)
    if keys_to_execute is None:
        keys_to_execute = [s.key for s in static if s.node in to_execute]
    plan = ExecutionPlan(
        job,
        static,
        resolved,
        resource_keys,
        step_keys_to_execute=keys_to_execute,
        known_output_run_ids=known_output_run_ids,
        dynamic=dynamic_plan,
    )
    if known_dynamic_keys:
        dynamic_plan.preresolve(plan, known_dynamic_keys)
    return plan


def _check_mapped_selection(nodes: list[FlatNode], selected: set[str]) -> None:
    """Refuse a selection with an op mapped over a dynamic output but not the op that
    yields it: nothing would make its steps."""
    for node in nodes:
        outer = [d for d in node.mapped_over if d.handle not in selected]
        if outer:
            raise InvalidDefinitionError(
                f"Op '{node.handle}' runs once per item of the dynamic output "
                f"'{outer[0].output_name}' of '{outer[0].handle}', which the op selection "
                f"leaves out; select it too (e.g. '*{node.handle.rsplit('.', 1)[-1]}')."
            )


def _build_step(
    job: JobDefinition,
    node: FlatNode,
    selected: set[str],
    resolved: ResolvedRunConfig,
    input_values: dict[str, Any],
) -> ExecutionStep:
    op_def = node.op_def
    inputs: list[StepInput] = []
    upstream: set[str] = {h for h in node.after if h in selected} if node.after else set()
    node_inputs = node.inputs
    for name, in_def in op_def.ins.items():
        source: StepInputSource | None = None
        manager_key = in_def.input_manager_key
        flat = node_inputs.get(name)
        if type(flat) is NodeOutput and flat.handle in selected:
            source = FromStepOutput(StepOutputHandle(flat.handle, flat.output_name))
            upstream.add(flat.handle)
            manager_key = manager_key or _io_manager_key(job, flat)
        elif isinstance(flat, list) and any(s.handle in selected for s in flat):
            kept = [s for s in flat if s.handle in selected]
            source = FromMultipleStepOutputs(
                tuple(StepOutputHandle(s.handle, s.output_name) for s in kept)
            )
            upstream.update(s.handle for s in kept)
            manager_key = manager_key or _io_manager_key(job, kept[0])
        elif isinstance(flat, FromAsset):
            io_key = job.asset_graph.io_manager_key_for(flat.asset_key)
            source = FromLoadableAsset(flat.asset_key, io_key)
            manager_key = manager_key or io_key
        elif isinstance(flat, FromGraphInput) and flat.input_name in input_values:
            source = FromValue(input_values[flat.input_name], "input_values")
        elif flat is None and in_def.asset_key is not None:
            # An op input that reads an asset: loaded by its input manager (or io_manager).
            manager_key = manager_key or "io_manager"
            source = FromLoadableAsset(in_def.asset_key, manager_key)
        elif type(flat) is MappedFrom and flat.handle in selected:
            source = FromMappedOutput(StepOutputHandle(flat.handle, flat.output_name))
            upstream.add(flat.handle)
            manager_key = manager_key or _io_manager_key(job, flat)
        elif type(flat) is CollectedFrom and flat.handle in selected:
            dynamic = _collected_dynamic(job, flat)
            source = FromCollectedOutputs(StepOutputHandle(flat.handle, flat.output_name), dynamic)
            upstream.add(dynamic.step_key)
            manager_key = manager_key or _io_manager_key(job, flat)
        if source is None and in_def.input_manager_key is not None:
            source = FromInputManager(in_def.input_manager_key)
        if source is None:
            source = _unconnected_source(node, name, in_def, resolved, input_values)
        inputs.append(StepInput(name, in_def, source, manager_key))
    assets_def = node.assets_def
    handle = node.handle
    if assets_def is None:
        if op_def.asks_for_asset_context:
            raise InvalidDefinitionError(
                f"Op '{handle}' annotates its context parameter with AssetExecutionContext, "
                "which only ops inside a graph-backed asset receive; annotate it "
                "OpExecutionContext, or leave it unannotated."
            )
        outputs = [StepOutput(handle, n, d, None) for n, d in op_def.outs.items()]
    else:
        asset_keys = node.asset_keys_by_output or {}
        selected_keys: frozenset[AssetKey | None] = assets_def.selected_keys
        outputs = [
            StepOutput(handle, out_name, out_def, asset_keys.get(out_name))
            for out_name, out_def in op_def.outs.items()
            if out_name not in asset_keys or asset_keys[out_name] in selected_keys
        ]
    retry_policy = node.retry_policy or op_def.retry_policy or job.op_retry_policy
    hooks = job.hooks_for_node(node) if node.hook_defs or job.hook_defs else ()
    return ExecutionStep(node, inputs, outputs, frozenset(upstream), retry_policy, hooks)


def _io_manager_key(job: JobDefinition, source: NodeOutput | MappedFrom | CollectedFrom) -> str:
    return job.nodes_by_handle[source.handle].op_def.outs[source.output_name].io_manager_key


def _collected_dynamic(job: JobDefinition, source: CollectedFrom) -> StepOutputHandle:
    """The dynamic output whose items a ``.collect()`` ranges over: the collected output
    itself, or the innermost one its node is mapped over."""
    node = job.nodes_by_handle[source.handle]
    if node.op_def.is_dynamic_output(source.output_name):
        return StepOutputHandle(source.handle, source.output_name)
    innermost = node.mapped_over[-1]
    return StepOutputHandle(innermost.handle, innermost.output_name)


def _type_loader(dagster_type: Any) -> Any:
    """The loader of ``dagster_type`` when it is a Dagster type that has one."""
    if dagster_type is None or dagster_type is Nothing:
        return None
    from trellis.defs.dagster_type import resolve_dagster_type

    resolved = resolve_dagster_type(dagster_type)
    return resolved.loader if resolved is not None else None


def _loader_config(loader: Any, value: Any, node: FlatNode, name: str) -> Any:
    """An input's config checked against its type loader's schema (errors name the path)."""
    if loader.schema_type is None:
        return value
    from trellis.config.validate import validate_config

    path = ":ops:".join(node.handle.split("."))
    return validate_config(
        loader.schema_type, value, header=f"Error in config for root:ops:{path}:inputs:{name}"
    )


def _unconnected_source(
    node: FlatNode,
    name: str,
    in_def: Any,
    resolved: ResolvedRunConfig,
    input_values: dict[str, Any],
) -> FromValue:
    configured = resolved.op_inputs(node.handle)
    if name in configured:
        value = configured[name]
        loader = _type_loader(in_def.dagster_type)
        if loader is not None:
            return FromValue(_loader_config(loader, value, node, name), "config", loader)
        if isinstance(value, Mapping) and set(value) == {"value"}:
            value = value["value"]
        return FromValue(value, "config")
    if "." not in node.handle and name in input_values:
        return FromValue(input_values[name], "input_values")
    if in_def.has_default:
        return FromValue(in_def.default_value, "default")
    if in_def.dagster_type is Nothing:  # an ordering input left unwired: nothing to wait for
        return FromValue(None, "default")
    config_path = ".ops.".join(node.handle.split("."))
    raise InvalidDefinitionError(
        f"Input '{name}' of {node.op_def.kind} '{node.handle}' is not connected to an upstream "
        f"output and has no value. Wire it in the graph, give it a default, or pass it as "
        f"run_config ops.{config_path}.inputs.{name}."
    )
