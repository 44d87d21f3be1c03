"""IO managers: how an output is stored (``handle_output``) and how a downstream input
is loaded (``load_input``)."""

from __future__ import annotations

import inspect
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping, Sequence
from typing import Any, overload

from trellis.defs.resource import ResourceDefinition


class InputManager(ABC):
    """Loads inputs: ``load_input(context) -> value``."""

    @abstractmethod
    def load_input(self, context: Any) -> Any:
        """Return the value for the input that ``context`` (an ``InputContext``) describes."""


class OutputManager(ABC):
    """Stores outputs: ``handle_output(context, obj)``."""

    @abstractmethod
    def handle_output(self, context: Any, obj: Any) -> None:
        """Store ``obj``, the output that ``context`` (an ``OutputContext``) describes."""


class IOManager(InputManager, OutputManager):
    """Stores each output and loads it again for the inputs downstream.

    Subclass it and implement ``handle_output(context, obj)`` and ``load_input(context)``.
    """


def is_io_manager_like(obj: Any) -> bool:
    """True for classes or objects that have ``handle_output`` and ``load_input``."""
    return callable(getattr(obj, "handle_output", None)) and callable(
        getattr(obj, "load_input", None)
    )


class IOManagerDefinition(ResourceDefinition):
    """A resource definition whose value is an IO manager, with optional per-input and
    per-output config schemas."""

    def __init__(
        self,
        resource_fn: Callable[..., Any],
        config_schema: Any = None,
        description: str | None = None,
        required_resource_keys: Sequence[str] | set[str] | None = None,
        version: str | None = None,
        input_config_schema: Any = None,
        output_config_schema: Any = None,
    ) -> None:
        super().__init__(resource_fn, config_schema, description, required_resource_keys, version)
        self.input_config_schema = input_config_schema
        self.output_config_schema = output_config_schema

    @staticmethod
    def hardcoded_io_manager(value: Any, description: str | None = None) -> IOManagerDefinition:
        """An IO manager definition that is always ``value``."""
        definition = IOManagerDefinition(lambda: value, description=description)
        definition.source = value
        return definition


def _definition_for_class(cls: type[Any], **kwargs: Any) -> IOManagerDefinition:
    """``@io_manager`` on a class: each run builds one instance of it, passing the init
    context when ``__init__`` accepts an argument."""
    try:
        params = [
            p
            for p in list(inspect.signature(cls.__init__).parameters.values())[1:]
            if p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)
        ]
    except (TypeError, ValueError):
        params = []
    takes_context = bool(params) and params[0].default is inspect.Parameter.empty

    def build(context: Any) -> Any:
        return cls(context) if takes_context else cls()

    build.__name__ = cls.__name__
    definition = IOManagerDefinition(build, **kwargs)
    definition.source = cls
    return definition


@overload
def io_manager(fn: Callable[..., Any]) -> IOManagerDefinition: ...
@overload
def io_manager(
    fn: Mapping[str, Any] | None = None,
    *,
    config_schema: Any = None,
    description: str | None = None,
    output_config_schema: Any = None,
    input_config_schema: Any = None,
    required_resource_keys: set[str] | Sequence[str] | None = None,
    version: str | None = None,
) -> Callable[[Callable[..., Any]], IOManagerDefinition]: ...


def io_manager(
    fn: Callable[..., Any] | Mapping[str, Any] | None = None,
    *,
    config_schema: Any = None,
    description: str | None = None,
    output_config_schema: Any = None,
    input_config_schema: Any = None,
    required_resource_keys: set[str] | Sequence[str] | None = None,
    version: str | None = None,
) -> IOManagerDefinition | Callable[[Callable[..., Any]], IOManagerDefinition]:
    """Define an IO manager: on a function of the init context that returns an
    ``IOManager``, or directly on a class with ``handle_output`` and ``load_input``
    (``@io_manager`` or ``@io_manager(config_schema=...)``; a config dict may also be
    passed positionally)."""
    kwargs = dict(
        config_schema=config_schema,
        output_config_schema=output_config_schema,
        input_config_schema=input_config_schema,
        required_resource_keys=required_resource_keys,
        version=version,
    )

    def decorate(f: Callable[..., Any] | type) -> IOManagerDefinition:
        doc = description if description is not None else inspect.getdoc(f)
        if isinstance(f, type):
            return _definition_for_class(f, description=doc, **kwargs)
        return IOManagerDefinition(f, description=doc, **kwargs)

    if fn is not None and (callable(fn) and not isinstance(fn, dict)):
        return decorate(fn)
    if fn is not None:
        kwargs["config_schema"] = fn
    return decorate


class InputManagerDefinition(ResourceDefinition):
    """A resource definition whose value loads inputs (an ``InputManager``), named by
    ``In(input_manager_key=...)`` / ``AssetIn(input_manager_key=...)``; with an optional
    per-input config schema."""

    def __init__(
        self,
        resource_fn: Callable[..., Any],
        config_schema: Any = None,
        description: str | None = None,
        input_config_schema: Any = None,
        required_resource_keys: Sequence[str] | set[str] | None = None,
        version: str | None = None,
    ) -> None:
        super().__init__(resource_fn, config_schema, description, required_resource_keys, version)
        self.input_config_schema = input_config_schema


class _FunctionInputManager(InputManager):
    """The input manager an ``@input_manager`` function makes: ``load_input`` calls the
    function with the ``InputContext`` (or with nothing, when it takes no argument); an
    ``InputManager`` it returns loads the value in turn."""

    def __init__(self, load_fn: Callable[..., Any]) -> None:
        self._load_fn = load_fn
        try:
            self._takes_context = bool(inspect.signature(load_fn).parameters)
        except (TypeError, ValueError):
            self._takes_context = True

    def load_input(self, context: Any) -> Any:
        """The function's value for the input ``context`` describes."""
        value = self._load_fn(context) if self._takes_context else self._load_fn()
        if isinstance(value, InputManager):
            return value.load_input(context)
        return value


@overload
def input_manager(config_schema: Callable[..., Any]) -> InputManagerDefinition: ...
@overload
def input_manager(
    config_schema: Any = None,
    description: str | None = None,
    input_config_schema: Any = None,
    required_resource_keys: set[str] | Sequence[str] | None = None,
    version: str | None = None,
) -> Callable[[Callable[..., Any]], InputManagerDefinition]: ...


def input_manager(
    config_schema: Any = None,
    description: str | None = None,
    input_config_schema: Any = None,
    required_resource_keys: set[str] | Sequence[str] | None = None,
    version: str | None = None,
) -> InputManagerDefinition | Callable[[Callable[..., Any]], InputManagerDefinition]:
    """Define an input manager on a function of the ``InputContext`` that returns the
    input's value (or an ``InputManager``): ``@input_manager`` or
    ``@input_manager(config_schema=...)``; its config is ``context.resource_config``."""

    def decorate(load_fn: Callable[..., Any]) -> InputManagerDefinition:
        def build(_init_context: Any) -> InputManager:
            return _FunctionInputManager(load_fn)

        build.__name__ = getattr(load_fn, "__name__", "input_manager")
        definition = InputManagerDefinition(
            build,
            config_schema=None if callable(config_schema) else config_schema,
            description=description if description is not None else inspect.getdoc(load_fn),
            input_config_schema=input_config_schema,
            required_resource_keys=required_resource_keys,
            version=version,
        )
        definition.source = load_fn
        return definition

    if callable(config_schema) and not isinstance(config_schema, (dict, type)):
        return decorate(config_schema)
    return decorate
