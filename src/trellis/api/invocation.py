"""Calling an op or asset directly, outside any run (``my_op(context, x=1)``), for tests.

The function runs with a context bound to it (one built on the spot when none is
given); inputs are passed as arguments and no IO manager is involved.
"""

from __future__ import annotations

import inspect
from typing import TYPE_CHECKING, Any

from trellis.contexts.asset_check import AssetCheckExecutionContext
from trellis.contexts.compute import (
    AssetExecutionContext,
    OpExecutionContext,
    _ComputeContextMembers,
    reset_current_context,
    set_current_context,
)
from trellis.contexts.direct import DirectStepContext
from trellis.core.errors import InvalidInvocationError
from trellis.core.outputs import Output
from trellis.defs.ins_outs import Nothing
from trellis.execution.compute import build_config_value, returned_events
from trellis.execution.step_io import check_type

if TYPE_CHECKING:
    from trellis.defs.asset import AssetsDefinition
    from trellis.defs.op import OpDefinition


_USER_CONTEXTS = (_ComputeContextMembers, AssetCheckExecutionContext)


def _user_context(
    op_def: OpDefinition, given: Any, assets_def: AssetsDefinition | None, checks_def: Any = None
) -> Any:
    from trellis.api.testing import (
        build_asset_check_context,
        build_asset_context,
        build_op_context,
    )

    if given is None:
        if checks_def is not None:
            given = build_asset_check_context()
        else:
            given = build_asset_context() if assets_def is not None else build_op_context()
    if not isinstance(given, _USER_CONTEXTS):
        raise InvalidInvocationError(
            f"{op_def.kind} '{op_def.name}' was called with {given!r} as its context; build one "
            "with build_op_context() or build_asset_context()."
        )
    step_context = given.get_step_execution_context()
    if not isinstance(step_context, DirectStepContext):
        raise InvalidInvocationError(
            f"{op_def.kind} '{op_def.name}' was called directly with the context of a running "
            "step; build a test context with build_op_context() instead."
        )
    missing = sorted(op_def.required_resource_keys - set(step_context.resources))
    if missing:
        raise InvalidInvocationError(
            f"{op_def.kind} '{op_def.name}' requires resource '{missing[0]}', which its context "
            f"does not provide; build the context with resources={{...}}. Available: "
            f"{sorted(step_context.resources)}."
        )
    step_context.bind(op_def, assets_def, checks_def)
    if checks_def is not None:
        if isinstance(given, AssetCheckExecutionContext):
            return given
        return AssetCheckExecutionContext(step_context)
    wants_op = op_def.spec.context_annotation == "OpExecutionContext" or assets_def is None
    if wants_op and not isinstance(given, OpExecutionContext):
        return OpExecutionContext(step_context)
    if not wants_op and not isinstance(given, AssetExecutionContext):
        return AssetExecutionContext(step_context)
    return given


def _bind_arguments(
    op_def: OpDefinition, positional: list[Any], kwargs: dict[str, Any]
) -> dict[str, Any]:
    """Arguments by parameter name: positional ones in the function's parameter order
    after the context (inputs, config and resources alike, as Dagster binds them),
    keyword ones by name."""
    spec = op_def.spec
    order = spec.param_order
    if len(positional) > len(order):
        raise InvalidInvocationError(
            f"{op_def.kind} '{op_def.name}' takes {len(order)} arguments after the context "
            f"{list(order)} but was called with {len(positional)} positional arguments."
        )
    bound = dict(zip(order, positional, strict=False))
    declared_extra = set(op_def.ins) if spec.accepts_kwargs else set()
    for name, value in kwargs.items():
        if name in bound:
            raise InvalidInvocationError(f"{op_def.kind} '{op_def.name}' got '{name}' twice.")
        if (
            name not in spec.input_params
            and name != spec.config_param
            and name not in spec.resource_params
            and name not in declared_extra
        ):
            inputs = [*spec.input_params, *sorted(declared_extra - set(spec.input_params))]
            raise InvalidInvocationError(
                f"{op_def.kind} '{op_def.name}' has no parameter '{name}'; inputs: {inputs}."
            )
        bound[name] = value
    return bound


def _check_missing_inputs(op_def: OpDefinition, bound: dict[str, Any]) -> None:
    spec = op_def.spec
    for name, param in spec.input_params.items():
        if name not in bound and param.default is inspect.Parameter.empty:
            raise InvalidInvocationError(
                f"{op_def.kind} '{op_def.name}' was called without a value for input '{name}'."
            )
    if spec.accepts_kwargs:
        for name, in_def in op_def.ins.items():
            if (
                name not in bound
                and name not in spec.input_params
                and in_def.dagster_type is not Nothing
                and not in_def.has_default
            ):
                raise InvalidInvocationError(
                    f"{op_def.kind} '{op_def.name}' was called without a value for input '{name}'."
                )


def _check_output_types(op_def: OpDefinition, result: Any) -> None:
    """Check what a direct call returned against the declared output types, as a run
    does (``TypeCheckError``, Dagster's ``DagsterTypeCheckDidNotPass``)."""
    outs = op_def.outs
    for event in returned_events(op_def, result):
        if isinstance(event, Output) and event.output_name in outs:
            dagster_type = outs[event.output_name].dagster_type
            check_type(event.value, dagster_type, "output", event.output_name, op_def.name)


def invoke_directly(
    op_def: OpDefinition,
    args: tuple[Any, ...],
    kwargs: dict[str, Any],
    assets_def: AssetsDefinition | None = None,
    checks_def: Any = None,
) -> Any:
    """Run ``op_def``'s function now with the given context, inputs, config and resources;
    return what the function returns (checked against the declared output types).

    Positional arguments after the context bind to the function's parameters in order,
    whatever they are (``my_asset(context, config, resource)``); a resource given as an
    argument is used as it is."""
    spec = op_def.spec
    positional = list(args)
    kwargs = dict(kwargs)
    given_context = None
    if positional and isinstance(positional[0], _USER_CONTEXTS):
        # A function without a context parameter still reads its resources and config
        # from a given context; the context itself is not passed to it.
        given_context = positional.pop(0)
    elif spec.context_param is not None and spec.context_param in kwargs:
        given_context = kwargs.pop(spec.context_param)
    context = _user_context(op_def, given_context, assets_def, checks_def)
    step_context = context.get_step_execution_context()
    call_kwargs = _bind_arguments(op_def, positional, kwargs)
    _check_missing_inputs(op_def, call_kwargs)
    if spec.config_param is not None and spec.config_param not in call_kwargs:
        call_kwargs[spec.config_param] = build_config_value(op_def, step_context.op_config)
    for name in spec.resource_params:
        if name not in call_kwargs:
            call_kwargs[name] = getattr(step_context.resources, name)
        elif name in step_context.resources:
            raise InvalidInvocationError(
                f"{op_def.kind} '{op_def.name}' got resource '{name}' both in its context and "
                "as an argument; pass it one way only."
            )
    call_args = (context,) if spec.context_param is not None else ()
    token = set_current_context(context)
    try:
        result = op_def.compute_fn(*call_args, **call_kwargs)
        if inspect.iscoroutine(result):
            import asyncio

            result = asyncio.run(result)
    finally:
        reset_current_context(token)
    if not spec.is_generator:
        _check_output_types(op_def, result)
    return result
