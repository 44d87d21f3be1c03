"""The part of a plan that is resolved while the run goes: steps mapped over dynamic
outputs.

A node mapped over a dynamic output has a *template* step (key ``node[?]``) whose inputs
name other nodes by handle. When the step yielding the dynamic output has run and its
mapping keys are known, ``DynamicPlan.resolve`` makes one concrete step per key for
every template in that output's scope (``node[k]``, inputs rewritten to ``emit[k]``'s
item and ``node[k]``'s upstream ``other[k]``), and *binds* the steps that ``.collect()``
the output: their list input becomes the concrete outputs, one per key, in the order
the keys were yielded.

Each resolution costs O(1) per concrete step: a step is built from its template without
looking at any other step, and nothing is rebuilt. A worker in another process builds the
same steps the same way (``materialize``: a concrete step from its key alone, on first
use; ``bind``: a collecting step from the keys its ``StepRequest`` carries), so both sides
agree by construction.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, NamedTuple

from trellis.core.errors import InvariantViolationError
from trellis.defs.dynamic_scope import parse_step_key, step_key_for
from trellis.plan.steps import (
    ExecutionStep,
    FromCollectedOutputs,
    FromMappedOutput,
    FromMultipleStepOutputs,
    FromStepOutput,
    StepInput,
    StepOutput,
    StepOutputHandle,
)

if TYPE_CHECKING:
    from trellis.defs.flat_graph import FlatNode
    from trellis.plan.plan import ExecutionPlan

INDEX_SHIFT = 32
"""Scheduling order: a step's ``ActiveExecution`` index is its node's position in plan
order shifted by this, plus (for a concrete mapped step) the order it was made in."""


class CollectBinding(NamedTuple):
    """How one collecting input was bound: to the items of the dynamic output
    ``output_name`` of step ``dynamic_step_key`` (``produced``: whether the output was
    produced at all; an optional dynamic output that yielded nothing was not)."""

    input_name: str
    dynamic_step_key: str
    output_name: str
    mapping_keys: tuple[str, ...]
    produced: bool


class DynamicPlan:
    """The templates of a plan and what resolving them needs, with the keys resolved so
    far (a plan is built per run, so this state is the run's)."""

    def __init__(self, nodes: Sequence[FlatNode], templates: Iterable[ExecutionStep]) -> None:
        self.position: dict[str, int] = {node.handle: i for i, node in enumerate(nodes)}
        self.templates: dict[str, ExecutionStep] = {t.handle: t for t in templates}
        self.depth: dict[str, int] = {
            t.handle: len(t.node.mapped_over) for t in self.templates.values()
        }
        # (dynamic node handle, output) -> templates whose innermost scope it is / whose
        # scope holds it; -> (collecting node handle, input name).
        self.by_dynamic: dict[tuple[str, str], list[str]] = {}
        self.under: dict[tuple[str, str], list[str]] = {}
        self.collectors: dict[tuple[str, str], list[tuple[str, str]]] = {}
        self.collect_sources: dict[tuple[str, str], FromCollectedOutputs] = {}
        self.dynamic_outputs: dict[str, tuple[str, ...]] = {}
        for node in nodes:
            names = tuple(n for n, out in node.op_def.outs.items() if out.is_dynamic)
            if names:
                self.dynamic_outputs[node.handle] = names
        for template in self.templates.values():
            scope = template.node.mapped_over
            innermost = scope[-1]
            self.by_dynamic.setdefault((innermost.handle, innermost.output_name), []).append(
                template.handle
            )
            for level in scope:
                self.under.setdefault((level.handle, level.output_name), []).append(template.handle)
        self.keys: dict[tuple[str, str], tuple[str, ...]] = {}
        self.bound: dict[str, dict[str, CollectBinding]] = {}
        self._made = 0

    # -- building ----------------------------------------------------------------------
    def add_collector(self, step: ExecutionStep) -> None:
        """Record the collecting inputs of ``step`` (a static step or a template)."""
        for step_input in step.inputs:
            source = step_input.source
            if isinstance(source, FromCollectedOutputs):
                dynamic = source.dynamic
                self.collectors.setdefault((dynamic.step_key, dynamic.output_name), []).append(
                    (step.handle, step_input.name)
                )
                self.collect_sources[(step.handle, step_input.name)] = source

    def template_key(self, handle: str, mapping_keys: tuple[str, ...] = ()) -> str:
        """The key of a template, or of a step not yet made: ``?`` for each unknown key."""
        unknown = self.depth.get(handle, 0) - len(mapping_keys)
        return step_key_for(handle, (*mapping_keys, *("?",) * unknown))

    def concrete(self, template: ExecutionStep, mapping_keys: tuple[str, ...]) -> ExecutionStep:
        """The step of ``template`` for ``mapping_keys`` (one per level of its scope)."""
        depth = self.depth
        key = step_key_for(template.handle, mapping_keys)
        inputs: list[StepInput] = []
        for step_input in template.inputs:
            source = step_input.source
            kind = type(source)
            new: FromStepOutput | FromMultipleStepOutputs
            if kind is FromMappedOutput:
                handle = source.handle  # type: ignore[union-attr]
                level = depth.get(handle.step_key, 0)
                new = FromStepOutput(
                    StepOutputHandle(
                        step_key_for(handle.step_key, mapping_keys[:level]),
                        handle.output_name,
                        mapping_keys[level],
                    )
                )
            elif kind is FromStepOutput:
                handle = source.handle  # type: ignore[union-attr]
                level = depth.get(handle.step_key, 0)
                if not level:
                    inputs.append(step_input)
                    continue
                new = FromStepOutput(self._at(handle, mapping_keys))
            elif kind is FromMultipleStepOutputs:
                handles = source.handles  # type: ignore[union-attr]
                new = FromMultipleStepOutputs(tuple(self._at(h, mapping_keys) for h in handles))
            else:  # values, assets, and collecting inputs (bound when their keys are known)
                inputs.append(step_input)
                continue
            inputs.append(
                StepInput(step_input.name, step_input.in_def, new, step_input.manager_key)
            )
        outputs = [StepOutput(key, o.name, o.out_def, o.asset_key) for o in template.outputs]
        upstream = frozenset(
            step_key_for(u, mapping_keys[: depth.get(u, 0)]) for u in template.upstream_step_keys
        )
        return ExecutionStep(
            template.node,
            inputs,
            outputs,
            upstream,
            template.retry_policy,
            template.hook_defs,
            key=key,
            mapping_keys=mapping_keys,
        )

    def _at(self, handle: StepOutputHandle, mapping_keys: tuple[str, ...]) -> StepOutputHandle:
        level = self.depth.get(handle.step_key, 0)
        if not level:
            return handle
        return StepOutputHandle(
            step_key_for(handle.step_key, mapping_keys[:level]), handle.output_name
        )

    def materialize(self, plan: ExecutionPlan, step_key: str) -> ExecutionStep:
        """The concrete step ``step_key`` (``node[k]``), made from its template and added to
        the plan: how a worker in another process gets the mapped step it is sent."""
        handle, mapping_keys = parse_step_key(step_key)
        template = self.templates.get(handle)
        if template is None or len(mapping_keys) != self.depth[handle] or "?" in mapping_keys:
            raise KeyError(step_key)
        step = self.concrete(template, mapping_keys)
        plan.steps[step_key] = step
        return step

    def next_index(self, step: ExecutionStep) -> int:
        """The scheduling index of a concrete step made now: after the steps of earlier
        nodes, and after the steps of its own node made before it."""
        self._made += 1
        return (self.position[step.handle] << INDEX_SHIFT) + self._made

    def static_index(self, plan: ExecutionPlan) -> dict[str, int]:
        """The scheduling index of every step in the plan (static and already made)."""
        index: dict[str, int] = {}
        for key, step in plan.steps.items():
            if step.mapping_keys:
                index[key] = self.next_index(step)
            else:
                index[key] = self.position[step.handle] << INDEX_SHIFT
        return index

    # -- resolving ---------------------------------------------------------------------
    def resolve(
        self,
        plan: ExecutionPlan,
        step: ExecutionStep,
        output_name: str,
        mapping_keys: Sequence[str],
        produced: bool = True,
    ) -> tuple[list[ExecutionStep], list[tuple[ExecutionStep, list[str]]]]:
        """``step`` has yielded ``mapping_keys`` (in order) from dynamic output
        ``output_name``: make the steps mapped over it and bind the steps collecting it.
        Returns the new steps (template by template, each in key order) and, for each
        collecting step, the upstream step keys its binding added."""
        keys = tuple(mapping_keys) if produced else ()
        self.keys[(step.key, output_name)] = keys
        prefix = step.mapping_keys
        steps = plan.steps
        made: list[ExecutionStep] = []
        for handle in self.by_dynamic.get((step.handle, output_name), ()):
            template = self.templates[handle]
            for key in keys:
                new = self.concrete(template, (*prefix, key))
                steps[new.key] = new
                made.append(new)
        bound = [
            self.bind(
                plan,
                step_key_for(collector, prefix),
                CollectBinding(input_name, step.key, output_name, keys, produced),
            )
            for collector, input_name in self.collectors.get((step.handle, output_name), ())
        ]
        return made, bound

    def bind(
        self, plan: ExecutionPlan, collector_key: str, binding: CollectBinding
    ) -> tuple[ExecutionStep, list[str]]:
        """Point the collecting input ``binding.input_name`` of step ``collector_key`` at the
        concrete outputs of its dynamic output's items; return the step and the upstream
        step keys this added. Binding twice gives the same step."""
        collector = plan.steps[collector_key]
        name = binding.input_name
        source = self.collect_sources[(collector.handle, name)]
        dynamic_key = binding.dynamic_step_key
        gathered = source.handle
        if not binding.produced:  # the output itself is missing: the step will be skipped
            handles: tuple[StepOutputHandle, ...] = (
                StepOutputHandle(dynamic_key, binding.output_name),
            )
        elif gathered == source.dynamic:  # the dynamic output's own items
            handles = tuple(
                StepOutputHandle(dynamic_key, binding.output_name, k) for k in binding.mapping_keys
            )
        else:  # the results of a node mapped over it
            prefix = collector.mapping_keys
            handles = tuple(
                StepOutputHandle(
                    step_key_for(gathered.step_key, (*prefix, k)), gathered.output_name
                )
                for k in binding.mapping_keys
            )
        for i, step_input in enumerate(collector.inputs):
            if step_input.name == name:
                collector.inputs[i] = StepInput(
                    name,
                    step_input.in_def,
                    FromMultipleStepOutputs(handles),
                    step_input.manager_key,
                )
                break
        else:  # pragma: no cover - collect_sources only holds inputs of the step
            raise InvariantViolationError(f"Step '{collector_key}' has no input '{name}'.")
        known = collector.upstream_step_keys
        added = [h.step_key for h in handles if h.step_key not in known]
        if added:
            collector.upstream_step_keys = known.union(added)
        self.bound.setdefault(collector.key, {})[name] = binding
        return collector, added

    def bindings_of(self, step_key: str) -> tuple[CollectBinding, ...]:
        """How the collecting inputs of ``step_key`` were bound (for its ``StepRequest``)."""
        return tuple(self.bound.get(step_key, {}).values())

    def apply_bindings(
        self, plan: ExecutionPlan, step_key: str, bindings: Iterable[CollectBinding]
    ) -> None:
        """Bind a collecting step as the orchestrator did (a worker, from its request)."""
        for binding in bindings:
            self.bind(plan, step_key, binding)

    def produced_items(self, step_key: str) -> list[StepOutputHandle]:
        """The item handles a resolved dynamic step produced (``emit.result[k]``)."""
        return [
            StepOutputHandle(step_key, name, key)
            for name in self.dynamic_outputs.get(parse_step_key(step_key)[0], ())
            for key in self.keys.get((step_key, name), ())
        ]

    def abandoned(self, step: ExecutionStep) -> list[str]:
        """The keys (``node[?]``) of the steps that will never be made because ``step``,
        which yields dynamic outputs, failed or was skipped."""
        found: list[str] = []
        for name in self.dynamic_outputs.get(step.handle, ()):
            for handle in self.under.get((step.handle, name), ()):
                found.append(self.template_key(handle, step.mapping_keys))
        return found

    def preresolve(
        self, plan: ExecutionPlan, known: Mapping[tuple[str, str], Sequence[str]]
    ) -> None:
        """Resolve the dynamic outputs an earlier run produced (re-execution: steps that
        are not run again), outer levels first, as the run that made them did."""
        order = sorted(known, key=lambda k: (self.position[parse_step_key(k[0])[0]], k[0]))
        for step_key, output_name in order:
            handle = parse_step_key(step_key)[0]
            if output_name not in self.dynamic_outputs.get(handle, ()):
                continue  # the job changed since: the output is no longer dynamic
            if step_key not in plan.steps and handle not in self.templates:
                continue  # the node is not part of this plan (another selection)
            step = plan.steps[step_key]
            made, bound = self.resolve(plan, step, output_name, known[(step_key, output_name)])
            downstream = plan.downstream
            for new in made:
                downstream.setdefault(new.key, [])
                for up in new.upstream_step_keys:
                    downstream.setdefault(up, []).append(new.key)
            for collector, added in bound:
                for up in added:
                    downstream.setdefault(up, []).append(collector.key)
