"""``ExecutionPlan`` and how it is built from a job, a selection and a run config."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from trellis.core.collector import collector_paused
from trellis.core.errors import InvalidDefinitionError
from trellis.defs.flat_graph import FlatNode, FromAsset, FromGraphInput, NodeOutput
from trellis.defs.ins_outs import Nothing
from trellis.plan.op_selection import parse_op_selection
from trellis.plan.run_config import ResolvedRunConfig, resolve_run_config
from trellis.plan.steps import (
    ExecutionStep,
    FromInputManager,
    FromLoadableAsset,
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
    ) -> None:
        self.job = job
        self.steps: dict[str, ExecutionStep] = {s.key: s for s in steps}
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
        """Step keys in plan order."""
        return list(self.steps)

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
) -> ExecutionPlan:
    """Validate the run config once and build the plan for ``job``.

    ``op_selection`` restricts the steps (Dagster's syntax: ``"*op"``, ``"op+"``, ...);
    inputs whose upstream is left out must then get a value from config or a default.
    ``step_keys_to_execute`` (re-execution) runs only those steps; every other step's
    outputs are read from the run named in ``known_output_run_ids``.
    """
    if op_selection:
        selected_handles = parse_op_selection(job, list(op_selection))
        nodes = [n for n in job.flat_nodes if n.handle in selected_handles]
    else:
        nodes = list(job.flat_nodes)
        selected_handles = {n.handle for n in nodes}
    job.check_resources()
    to_execute = nodes
    if step_keys_to_execute is not None:
        wanted = list(step_keys_to_execute)
        unknown = [k for k in wanted if k not in selected_handles]
        if unknown:
            raise InvalidDefinitionError(
                f"Steps {unknown} are not steps of job '{job.name}'; steps: "
                f"{[n.handle for n in nodes]}."
            )
        to_execute = [n for n in nodes if n.handle in set(wanted)]
    resource_keys = resource_keys_to_init(job, to_execute)
    resolved = resolve_run_config(job, run_config, to_execute, resource_keys)
    values = dict(input_values or {})
    steps = [_build_step(job, node, selected_handles, resolved, values) for node in nodes]
    return ExecutionPlan(
        job,
        steps,
        resolved,
        resource_keys,
        step_keys_to_execute=[n.handle for n in to_execute],
        known_output_run_ids=known_output_run_ids,
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
            _check_same_partitions(job, node, flat.asset_key)
            io_key = job.asset_graph.io_manager_key_for(flat.asset_key)
            source = FromLoadableAsset(flat.asset_key, io_key)
            manager_key = manager_key or io_key
        elif isinstance(flat, FromGraphInput) and flat.input_name in input_values:
            source = FromValue(input_values[flat.input_name], "input_values")
        elif flat is None and in_def.asset_key is not None:
            # An op input that reads an asset: loaded by its input manager (or io_manager).
            manager_key = manager_key or "io_manager"
            source = FromLoadableAsset(in_def.asset_key, manager_key)
        if source is None and in_def.input_manager_key is not None:
            source = FromInputManager(in_def.input_manager_key)
        if source is None:
            source = _unconnected_source(node, name, in_def, resolved, input_values)
        inputs.append(StepInput(name, in_def, source, manager_key))
    assets_def = node.assets_def
    handle = node.handle
    if assets_def is None:
        outputs = [StepOutput(handle, n, d, None) for n, d in op_def.outs.items()]
    else:
        asset_keys = assets_def.keys_by_output_name
        selected_keys = assets_def.selected_keys
        outputs = [
            StepOutput(handle, out_name, out_def, asset_keys.get(out_name))
            for out_name, out_def in op_def.outs.items()
            if out_name not in asset_keys or asset_keys[out_name] in selected_keys
        ]
    retry_policy = node.retry_policy or op_def.retry_policy or job.op_retry_policy
    hooks = job.hooks_for_node(node) if node.hook_defs or job.hook_defs else ()
    return ExecutionStep(node, inputs, outputs, frozenset(upstream), retry_policy, hooks)


def _check_same_partitions(job: JobDefinition, node: FlatNode, upstream: AssetKey) -> None:
    """Refuse to read a partitioned asset outside the run from a partitioned asset with
    another partitions definition: without a partition mapping, the run's partition key
    would name a partition of the wrong definition (a month's key read as a day's)."""
    assets_def = node.assets_def
    if assets_def is None or job.asset_graph is None:
        return
    upstream_def = job.asset_graph.partitions_def_for(upstream)
    own_def = assets_def.partitions_def
    if upstream_def is None or own_def is None or upstream_def == own_def:
        return  # an unpartitioned asset reads every partition of its upstream
    names = ", ".join(k.to_user_string() for k in assets_def.keys)
    raise InvalidDefinitionError(
        f"Asset '{names}' ({own_def!r}) reads asset '{upstream.to_user_string()}' "
        f"({upstream_def!r}), which is partitioned differently. Reading across partitions "
        "definitions needs a partition mapping, which Trellis does not support yet; give "
        "both assets the same partitions definition, or materialize them together."
    )


def _io_manager_key(job: JobDefinition, source: NodeOutput) -> str:
    return job.nodes_by_handle[source.handle].op_def.outs[source.output_name].io_manager_key


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
