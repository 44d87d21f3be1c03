"""Hooks and loggers outside a run, for tests: ``build_hook_context`` and
``build_init_logger_context``, and calling a hook or logger definition with them
(``my_hook(build_hook_context(...))``, ``my_logger(build_init_logger_context(...))``).

A hook context built here has what it was given (resources, op, run id, job name, the
exception, the instance); reading anything else (its step key, the outputs) says it is
only set in a run. Resources with a teardown are torn down when the context is closed
(``with`` or ``close()``) or garbage-collected.
"""

from __future__ import annotations

import inspect
import weakref
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from trellis.api.testing import _build
from trellis.contexts.compute import NodeInfo
from trellis.contexts.hook import HookContext
from trellis.contexts.init_logger import InitLoggerContext
from trellis.contexts.log_manager import LogManager
from trellis.contexts.resources_view import ResourcesView
from trellis.core.errors import InvalidInvocationError
from trellis.core.events import Event
from trellis.defs.composition import PendingInvocation
from trellis.defs.op import OpDefinition

if TYPE_CHECKING:
    import logging

    from trellis.defs.hook import HookDefinition
    from trellis.defs.logger import LoggerDefinition

_TEST_JOB = "__hook_test__"


def _node_of(op: Any) -> NodeInfo | None:
    if op is None:
        return None
    if isinstance(op, OpDefinition):
        return NodeInfo(op.name, op.name, dict(op.tags))
    if isinstance(op, PendingInvocation):
        name = op.name
        return NodeInfo(name, name, {**op.definition.tags, **op.tags})
    raise InvalidInvocationError(
        f"build_hook_context(op=...) takes an op definition (or my_op.alias(...)), got {op!r}."
    )


def build_hook_context(
    resources: Mapping[str, Any] | None = None,
    op: OpDefinition | PendingInvocation | None = None,
    run_id: str | None = None,
    job_name: str | None = None,
    op_exception: BaseException | None = None,
    instance: Any = None,
) -> HookContext:
    """A ``HookContext`` for calling a hook directly in a test:
    ``my_hook(build_hook_context(resources={"slack": fake}, op_exception=ValueError()))``.
    ``resources`` are values or resource definitions (built here); ``op`` is an op
    definition whose node the context names."""
    if op_exception is not None and not isinstance(op_exception, BaseException):
        raise InvalidInvocationError(
            f"build_hook_context(op_exception=...) takes an exception, got {op_exception!r}."
        )
    node = _node_of(op)
    built = _build(resources, instance=instance)
    events: list[Event] = []
    log = LogManager(events.append, run_id or "__hook_test__", job_name or _TEST_JOB)
    context = HookContext(
        hook_def=None,
        resources=ResourcesView(built.values, owner="build_hook_context"),
        log=log,
        op=node,
        run_id=run_id,
        job_name=job_name,
        instance=instance,
        op_exception=op_exception,
        close=built.close,
    )
    weakref.finalize(context, built.close)
    return context


def invoke_hook(hook_def: HookDefinition, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    """Call a hook's function with a ``HookContext`` (and, for a function of two
    parameters, an event list): ``my_hook(context)``; what the function returns."""
    fn = hook_def.decorated_fn or hook_def.hook_fn
    names = [
        p.name
        for p in inspect.signature(fn).parameters.values()
        if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)
    ]
    wanted = names[:2] if hook_def.decorated_fn is None or len(names) >= 2 else names[:1]
    values = list(args)
    for name in wanted[len(values) :]:
        if name in kwargs:
            values.append(kwargs.pop(name))
    if kwargs or len(values) > len(wanted):
        raise InvalidInvocationError(
            f"Hook '{hook_def.name}' takes {wanted}; it was called with {len(args)} positional "
            f"argument(s) and {sorted(kwargs) or 'no'} keyword(s)."
        )
    context = values[0] if values else None
    if context is None:
        context = build_hook_context()
    if not isinstance(context, HookContext):
        raise InvalidInvocationError(
            f"Hook '{hook_def.name}' takes a HookContext (build_hook_context(...)), got "
            f"{context!r}."
        )
    bound = context.bind(hook_def)
    if len(wanted) == 2:
        event_list = values[1] if len(values) > 1 else []
        return fn(bound, list(event_list or []))
    return fn(bound)


def build_init_logger_context(logger_config: Any = None, job_def: Any = None) -> InitLoggerContext:
    """An ``InitLoggerContext`` for building a logger directly in a test:
    ``my_logger(build_init_logger_context(logger_config={"log_level": "DEBUG"}))``."""
    return InitLoggerContext(logger_config, None, job_def, None)


def invoke_logger(
    logger_def: LoggerDefinition, args: tuple[Any, ...], kwargs: dict[str, Any]
) -> logging.Logger:
    """Build a logger from its definition with an ``InitLoggerContext``: its config is
    validated against the definition's schema first (defaults filled)."""
    if len(args) + len(kwargs) != 1:
        raise InvalidInvocationError(
            f"Logger '{logger_def.name}' is built with one argument, an InitLoggerContext "
            "(build_init_logger_context(...))."
        )
    context = args[0] if args else next(iter(kwargs.values()))
    if not isinstance(context, InitLoggerContext):
        raise InvalidInvocationError(
            f"Logger '{logger_def.name}' takes an InitLoggerContext "
            f"(build_init_logger_context(...)), got {context!r}."
        )
    config = logger_def.process_config(context.logger_config, logger_def.name)
    bound = InitLoggerContext(config, logger_def, context.job_def, context.run_id)
    built: logging.Logger = logger_def.logger_fn(bound)
    return built
