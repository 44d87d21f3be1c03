"""Reads a compute function's signature: which parameter is the context, which are
inputs, which take config, which take resources."""

from __future__ import annotations

import inspect
import sys
import typing
import weakref
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from trellis.config.detect import is_config_class

if TYPE_CHECKING:
    from trellis.config.pythonic import Config

CONTEXT_PARAM_NAMES = frozenset({"context", "_context", "_", "ctx", "_ctx", "context_"})
_CONTEXT_TYPE_NAMES = frozenset({"OpExecutionContext", "AssetExecutionContext"})


class ResourceParamMarker:
    """Marks ``ResourceParam[T]``: a parameter that receives the resource of its name."""


class TreatAsResourceParam:
    """A base class whose subclasses, as a parameter's annotation, make it a resource
    parameter without ``ResourceParam[...]`` (``client: PipesSubprocessClient``)."""


def _is_resource_annotation(annotation: Any) -> bool:
    if isinstance(annotation, type) and issubclass(annotation, TreatAsResourceParam):
        return True
    if typing.get_origin(annotation) is typing.Annotated:
        return any(isinstance(m, ResourceParamMarker) for m in annotation.__metadata__)
    module = sys.modules.get("trellis.defs.configurable_resource")
    if module is None or not isinstance(annotation, type):
        return False
    return issubclass(annotation, module.ConfigurableResourceFactory)


def context_annotation_name(annotation: Any) -> str | None:
    """``"AssetExecutionContext"`` / ``"OpExecutionContext"`` when a parameter is annotated
    with one of the context classes (strings accepted), else None."""
    if annotation is inspect.Parameter.empty:
        return None
    name = annotation if isinstance(annotation, str) else getattr(annotation, "__name__", None)
    if isinstance(name, str):
        name = name.rsplit(".", 1)[-1]
        if name in _CONTEXT_TYPE_NAMES:
            return name
    return None


class FunctionSpec:
    """What the engine needs to know about a compute function to call it."""

    __slots__ = (
        "accepts_kwargs",
        "config_class",
        "config_param",
        "context_annotation",
        "context_param",
        "input_params",
        "is_async",
        "is_generator",
        "param_order",
        "positional_names",
        "resource_params",
        "return_annotation",
    )

    def __init__(self) -> None:
        self.context_param: str | None = None
        self.context_annotation: str | None = None
        self.config_param: str | None = None
        self.config_class: type[Config] | None = None
        self.resource_params: dict[str, Any] = {}
        self.input_params: dict[str, inspect.Parameter] = {}
        self.is_generator = False
        self.is_async = False
        self.return_annotation: Any = inspect.Parameter.empty
        # The parameters after the context, in order, when all of them may be passed by
        # position: the engine then calls positionally (binding N keyword arguments to N
        # named parameters costs CPython O(N^2), which a sum over 10,000 inputs feels).
        self.positional_names: tuple[str, ...] | None = None
        # The function takes **kwargs: declared ins that are not parameters arrive there.
        self.accepts_kwargs = False
        # Every named parameter after the context (inputs, config, resources), in order:
        # how a direct call binds its positional arguments.
        self.param_order: tuple[str, ...] = ()


def _resolved_hints(fn: Callable[..., Any]) -> dict[str, Any]:
    try:
        return typing.get_type_hints(fn, include_extras=True)
    except Exception:  # unresolvable forward references: fall back to raw annotations
        return dict(getattr(fn, "__annotations__", {}))


_SPECS: weakref.WeakKeyDictionary[Any, FunctionSpec] = weakref.WeakKeyDictionary()


def analyse_function(fn: Callable[..., Any], owner: str) -> FunctionSpec:
    """Classify each parameter of ``fn`` (the compute function of ``owner``); done once
    per function (``@asset`` and its op, or a factory decorating one function many
    times, share the result)."""
    try:
        cached = _SPECS.get(fn)
    except TypeError:  # not weak-referenceable (a builtin, a partial): no cache
        return _analyse(fn, owner)
    if cached is None:
        cached = _SPECS[fn] = _analyse(fn, owner)
    return cached


def _analyse(fn: Callable[..., Any], owner: str) -> FunctionSpec:
    spec = FunctionSpec()
    sig = inspect.signature(fn)
    hints = _resolved_hints(fn)
    params = list(sig.parameters.values())
    for index, param in enumerate(params):
        if param.kind in (param.VAR_POSITIONAL, param.VAR_KEYWORD):
            # *args receive nothing; **kwargs receive the declared ins without a parameter.
            spec.accepts_kwargs = spec.accepts_kwargs or param.kind is param.VAR_KEYWORD
            continue
        annotation = hints.get(param.name, param.annotation)
        ctx_name = context_annotation_name(annotation)
        if index == 0 and (param.name in CONTEXT_PARAM_NAMES or ctx_name):
            spec.context_param = param.name
            spec.context_annotation = ctx_name
        elif _is_resource_annotation(annotation):
            spec.resource_params[param.name] = annotation
        elif is_config_class(annotation):
            spec.config_param = param.name
            spec.config_class = annotation
        else:
            spec.input_params[param.name] = param.replace(annotation=annotation)
    rest = params[1:] if spec.context_param is not None else params
    spec.param_order = tuple(
        p.name for p in rest if p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)
    )
    if all(p.kind is p.POSITIONAL_OR_KEYWORD for p in rest):
        spec.positional_names = tuple(p.name for p in rest)
    spec.is_async = inspect.iscoroutinefunction(fn) or inspect.isasyncgenfunction(fn)
    spec.is_generator = inspect.isgeneratorfunction(fn) or inspect.isasyncgenfunction(fn)
    spec.return_annotation = hints.get("return", sig.return_annotation)
    return spec


def type_from_annotation(annotation: Any) -> Any:
    """The type an input or output is checked against, or None (no check)."""
    if annotation is inspect.Parameter.empty or annotation is typing.Any:
        return None
    return annotation


_CHECKABLE: dict[Any, type | tuple[type, ...] | None] = {}


def forget_checkable_types() -> None:
    """Drop what ``runtime_checkable_type`` worked out (a class was just registered as a
    Dagster type)."""
    _CHECKABLE.clear()


def runtime_checkable_type(dagster_type: Any) -> Any:
    """What a value is checked against: a class (or tuple of classes) for ``isinstance``,
    a ``DagsterType`` (its check function; also for a class registered as one), or None
    when the annotation cannot be checked at runtime (generics, strings, typing
    constructs); computed once per annotation."""
    try:
        return _CHECKABLE[dagster_type]
    except KeyError:
        result = _CHECKABLE[dagster_type] = _checkable(dagster_type)
        return result
    except TypeError:  # an unhashable annotation
        return _checkable(dagster_type)


def _checkable(dagster_type: Any) -> Any:
    if dagster_type is None or dagster_type is typing.Any or dagster_type is type(None):
        return None
    from trellis.defs.dagster_type import resolve_dagster_type

    resolved = resolve_dagster_type(dagster_type)
    if resolved is not None:
        return resolved
    python_type = getattr(dagster_type, "python_type", None)  # Int, String, ... as types
    if python_type is not None and not isinstance(dagster_type, type):
        return python_type
    if isinstance(dagster_type, type) and typing.get_origin(dagster_type) is None:
        if dagster_type is float:
            return (float, int)
        return dagster_type
    origin: type | None = typing.get_origin(dagster_type)
    if origin in (list, dict, set, tuple, frozenset):
        return origin
    return None
