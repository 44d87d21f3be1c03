"""Calling the user's op or asset function and turning what it returns or yields into
outputs and events."""

from __future__ import annotations

import inspect
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from trellis.core.asset_checks import AssetCheckResult
from trellis.core.dynamic_output import DynamicOutput
from trellis.core.errors import InvariantViolationError
from trellis.core.outputs import AssetMaterialization, AssetObservation, MaterializeResult, Output
from trellis.defs.ins_outs import Nothing

if TYPE_CHECKING:
    from trellis.contexts.system import StepExecutionContext
    from trellis.defs.op import OpDefinition

UserEvent = (
    Output
    | MaterializeResult
    | AssetMaterialization
    | AssetObservation
    | AssetCheckResult
    | DynamicOutput
)
_USER_EVENTS = (
    Output,
    MaterializeResult,
    AssetMaterialization,
    AssetObservation,
    AssetCheckResult,
    DynamicOutput,
)


def build_config_value(op_def: OpDefinition, op_config: Any) -> Any:
    """The value for a ``Config``-typed parameter: the processed config as the class."""
    cls = op_def.spec.config_class
    if cls is None:
        return op_config
    return cls.model_validate(op_config or {})


def compute_kwargs(
    op_def: OpDefinition, inputs: dict[str, Any], op_config: Any, resources: Any
) -> dict[str, Any]:
    """Keyword arguments for the compute function: inputs, config, typed resources."""
    spec = op_def.spec
    if spec.accepts_kwargs:  # declared ins without a parameter go to **kwargs
        ins = op_def.ins
        kwargs = {k: v for k, v in inputs.items() if ins[k].dagster_type is not Nothing}
    else:
        kwargs = {k: v for k, v in inputs.items() if k in spec.input_params}
    if spec.config_param is not None:
        kwargs[spec.config_param] = build_config_value(op_def, op_config)
    for name in spec.resource_params:
        kwargs[name] = resources[name]
    return kwargs


async def _collect(agen: Any) -> list[Any]:
    return [item async for item in agen]


def invoke_compute(
    step_context: StepExecutionContext, user_context: Any, kwargs: dict[str, Any]
) -> Any:
    """Call the compute function; async functions run on the run's event loop."""
    op_def = step_context.step.op_def
    spec = op_def.spec
    args = (user_context,) if spec.context_param is not None else ()
    names = spec.positional_names
    if names is not None and len(names) == len(kwargs):  # every parameter given
        result = op_def.compute_fn(*args, *[kwargs[name] for name in names])
    else:
        result = op_def.compute_fn(*args, **kwargs)
    if inspect.isasyncgen(result):
        loop = step_context.plan_context.event_loops.current()
        return iter(loop.run_until_complete(_collect(result)))
    if inspect.iscoroutine(result):
        return step_context.plan_context.event_loops.current().run_until_complete(result)
    return result


def yielded_events(op_def: OpDefinition, result: Any) -> Iterator[UserEvent]:
    """The user events a generator compute function yields (``returned_events`` for a
    function that returns its outputs)."""
    for item in result:
        yield _coerce_yielded(op_def, item)


def _coerce_yielded(op_def: OpDefinition, item: Any) -> UserEvent:
    if isinstance(item, _USER_EVENTS):
        return item
    if len(op_def.outs) == 1:
        return Output(item, next(iter(op_def.outs)))
    raise InvariantViolationError(
        f"{op_def.kind} '{op_def.name}' yielded {item!r}; with several outputs, yield "
        "Output(value, output_name) for each."
    )


def _keyed_results(items: list[Any] | tuple[Any, ...]) -> bool:
    """Whether ``items`` are results that name what they answer (Pipes' ``get_results()``:
    materializations of named assets, asset check results)."""
    return all(
        (isinstance(i, MaterializeResult) and i.asset_key is not None)
        or isinstance(i, AssetCheckResult)
        for i in items
    )


def returned_events(op_def: OpDefinition, result: Any) -> list[UserEvent]:
    """The user events of a function that returned (not yielded) ``result``."""
    if isinstance(result, (Output, MaterializeResult, AssetCheckResult, DynamicOutput)):
        return [result]
    outs = op_def.outs
    if len(outs) == 1:
        (name, out_def) = next(iter(outs.items()))
        if out_def.is_dynamic and isinstance(result, (list, tuple)):
            return list(result)  # the items of a dynamic output, returned as a list
        if out_def.dagster_type is Nothing and result is not None:
            raise InvariantViolationError(
                f"{op_def.kind} '{op_def.name}' is annotated to return None but returned "
                f"{type(result).__name__}."
            )
        return [Output(result, name)]
    if not outs:
        if op_def.kind == "asset_check":
            if isinstance(result, (list, tuple)) and all(
                isinstance(r, AssetCheckResult) for r in result
            ):
                return list(result)  # several checks' results, returned together
            raise InvariantViolationError(
                f"asset check '{op_def.name}' returned {result!r}; a check returns or yields "
                "AssetCheckResult(passed=...) for each of its checks."
            )
        if result is not None:
            raise InvariantViolationError(
                f"{op_def.kind} '{op_def.name}' has no outputs but returned {result!r}."
            )
        return []
    if result is None and not any(o.is_required for o in outs.values()):
        return []
    if isinstance(result, (list, tuple)) and result and _keyed_results(result):
        return list(result)  # materializations that name their assets (Pipes results)
    if isinstance(result, tuple) and len(result) == len(outs):
        return [
            value if isinstance(value, (Output, MaterializeResult)) else Output(value, name)
            for name, value in zip(outs, result, strict=True)
        ]
    raise InvariantViolationError(
        f"{op_def.kind} '{op_def.name}' has outputs {list(outs)} but returned "
        f"{type(result).__name__}; return a tuple of {len(outs)} values in that order, or "
        "yield Output(value, name)."
    )
