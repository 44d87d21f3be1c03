"""The function of a schedule or sensor: which parameter is the context, which take
resources (``def my_sensor(context, db: MyDatabase)``), and calling it for a tick or
directly in a test."""

from __future__ import annotations

import inspect
import typing
from collections.abc import Callable
from typing import Any

from trellis.core.errors import InvalidDefinitionError, InvalidInvocationError
from trellis.defs.run_request import call_user_fn
from trellis.defs.signature import _is_resource_annotation


def _hints(fn: Callable[..., Any]) -> dict[str, Any]:
    try:
        return typing.get_type_hints(fn, include_extras=True)
    except Exception:  # unresolvable forward references: the raw annotations
        return dict(getattr(fn, "__annotations__", {}))


class EvaluationFunction:
    """A schedule's or sensor's function: it takes an optional first parameter, the
    evaluation context, and parameters annotated with a resource type (a
    ``ConfigurableResource`` subclass or ``ResourceParam[...]``), which receive the
    resource of their name. Any other required parameter is a definition error."""

    def __init__(self, fn: Callable[..., Any], owner: str) -> None:
        self.fn = fn
        hints = _hints(fn)
        params = [
            p
            for p in inspect.signature(fn).parameters.values()
            if p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)
        ]
        self.resource_args = tuple(
            p.name for p in params if _is_resource_annotation(hints.get(p.name, p.annotation))
        )
        rest = [p for p in params if p.name not in self.resource_args]
        positional = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
        first = next(iter(params), None)
        self.context_param = (
            first.name
            if first is not None
            and first.kind in positional
            and first.name not in self.resource_args
            else None
        )
        required = [p.name for p in rest if p.name != self.context_param and p.default is p.empty]
        if required:
            raise InvalidDefinitionError(
                f"The function of {owner} requires the parameter(s) {', '.join(required)}; it "
                "may take the context and resources (parameters annotated with a "
                "ConfigurableResource class or ResourceParam[...])."
            )

    @property
    def takes_context(self) -> bool:
        """Whether the function takes the evaluation context."""
        return self.context_param is not None

    def _resource_values(self, context: Any, given: dict[str, Any], owner: str) -> dict[str, Any]:
        values: dict[str, Any] = {}
        resources = getattr(context, "resources", None)
        for name in self.resource_args:
            if name in given:
                values[name] = given[name]
            elif resources is not None and name in resources:
                values[name] = resources[name]
            else:
                raise InvalidInvocationError(
                    f"{owner} takes the resource '{name}', which its context does not "
                    "provide; build the context with resources={...} or pass it by keyword."
                )
        return values

    def call_for_tick(self, context: Any, error_cls: Any, owner: str) -> Any:
        """Call the function for one tick, its resources read from ``context.resources``;
        user errors are raised as ``error_cls`` naming ``owner``."""
        if not self.resource_args:
            return call_user_fn(self.fn, self.takes_context, context, error_cls, owner)
        values = self._resource_values(context, {}, owner)

        def with_resources(*args: Any) -> Any:
            return self.fn(*args, **values)

        return call_user_fn(with_resources, self.takes_context, context, error_cls, owner)

    def call_directly(self, args: tuple[Any, ...], kwargs: dict[str, Any], owner: str) -> Any:
        """A direct call in a test: ``my_sensor(context)`` or ``my_sensor(context=...)``,
        resources by keyword or from the context's resources."""
        given = {k: v for k, v in kwargs.items() if k in self.resource_args}
        others = {k: v for k, v in kwargs.items() if k not in self.resource_args}
        if len(args) + len(others) > 1:
            raise InvalidInvocationError(
                f"{owner} was called with {len(args) + len(others)} arguments besides "
                "resources; pass only the context (and resources by keyword)."
            )
        context = args[0] if args else next(iter(others.values()), None)
        if others and self.context_param is not None and self.context_param not in others:
            raise InvalidInvocationError(f"{owner} expects its context as '{self.context_param}'.")
        if self.takes_context and context is None:
            raise InvalidInvocationError(
                f"{owner} takes a context: call it with one (build_sensor_context() or "
                "build_schedule_context())."
            )
        # As in Dagster, a context given to a function that takes none is accepted (its
        # resources still serve the function's resource parameters) and not passed on.
        values = self._resource_values(context, given, owner)
        return self.fn(context, **values) if self.takes_context else self.fn(**values)
