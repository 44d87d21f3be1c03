"""A step's dynamic outputs: storing each ``DynamicOutput`` it yields under its mapping
key, and what the step reports about them when it ends.

Each item is stored like any output (``STEP_OUTPUT``, the IO manager's
``handle_output`` with ``OutputContext.mapping_key`` set, ``HANDLED_OUTPUT``, all carrying
the mapping key) and produces the handle ``(step, output, mapping_key)``. The step's
``StepOutcome.dynamic_keys`` lists each dynamic output's keys in the order they were
yielded; the orchestration loop resolves the steps mapped over them from it."""

from __future__ import annotations

from typing import TYPE_CHECKING

from trellis.core.dynamic_output import DynamicOutput
from trellis.core.errors import InvariantViolationError
from trellis.execution.step_io import check_type, handle_output
from trellis.plan.steps import StepOutputHandle

if TYPE_CHECKING:
    from trellis.contexts.system import StepExecutionContext


def start_dynamic_outputs(step_context: StepExecutionContext) -> None:
    """Give the attempt an empty key list per dynamic output it is to produce."""
    step_context.dynamic_keys = {
        o.name: [] for o in step_context.step.outputs if o.out_def.is_dynamic
    }


def handle_dynamic_output(
    step_context: StepExecutionContext, item: DynamicOutput, produced: set[StepOutputHandle]
) -> None:
    """Store one yielded item of a dynamic output."""
    step = step_context.step
    name = item.output_name
    kind = step.op_def.kind.capitalize()
    keys = step_context.dynamic_keys
    if keys is None or name not in keys:
        if name not in step.op_def.outs:
            raise InvariantViolationError(
                f"{kind} '{step.key}' yielded a DynamicOutput for output '{name}', but its "
                f"outputs are {list(step.op_def.outs)}."
            )
        raise InvariantViolationError(
            f"{kind} '{step.key}' yielded a DynamicOutput for output '{name}', which is not "
            "dynamic; declare it with DynamicOut() (or yield Output(value) for it)."
        )
    handle = StepOutputHandle(step.key, name, item.mapping_key)
    if handle in produced:
        raise InvariantViolationError(
            f"{kind} '{step.key}' yielded a DynamicOutput with mapping key "
            f"'{item.mapping_key}' for output '{name}' more than once; mapping keys must be "
            "unique within an output."
        )
    step_output = step.step_output(name)
    check_type(item.value, step_output.out_def.dagster_type, "output", name, step.key)
    added = step_context.item_metadata(name, item.mapping_key)
    metadata = {**added, **item.metadata} if added else item.metadata
    handle_output(step_context, step_output, item.value, metadata, mapping_key=item.mapping_key)
    produced.add(handle)
    keys[name].append(item.mapping_key)


def finish_dynamic_outputs(
    step_context: StepExecutionContext, produced: set[StepOutputHandle]
) -> None:
    """Mark each dynamic output produced as a whole when it yielded an item, or when it is
    required (a required dynamic output with no items gives its collectors an empty list;
    an optional one skips them, as in Dagster)."""
    keys = step_context.dynamic_keys or {}
    for step_output in step_context.step.outputs:
        name = step_output.name
        if name in keys and (keys[name] or step_output.out_def.is_required):
            produced.add(step_output.handle)


def check_not_dynamic(step_context: StepExecutionContext, output_name: str) -> None:
    """Raise when a plain ``Output`` was yielded for a dynamic output."""
    keys = step_context.dynamic_keys
    if keys is not None and output_name in keys:
        step = step_context.step
        raise InvariantViolationError(
            f"{step.op_def.kind.capitalize()} '{step.key}' yielded Output for output "
            f"'{output_name}', which is a DynamicOut; yield DynamicOutput(value, "
            "mapping_key=...) for each item."
        )
