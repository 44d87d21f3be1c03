"""``@resource`` and ``ResourceDefinition``: long-lived objects (clients, connections)
that the engine initialises once per run and hands to the steps that declare them."""

from __future__ import annotations

import inspect
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping, Sequence
from typing import Any, overload

from trellis.core.errors import InvalidDefinitionError
from trellis.core.topological import topological_order


def _takes_context(fn: Callable[..., Any]) -> bool:
    try:
        params = [
            p
            for p in inspect.signature(fn).parameters.values()
            if p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)
        ]
    except (TypeError, ValueError):
        return False
    return bool(params)


class IAttachDifferentObjectToOpContext(ABC):
    """A resource that hands ``context.resources.<key>`` another object than itself
    (``get_object_to_set_on_execution_context()``, e.g. a client it wraps); a typed
    parameter of an op or asset still receives the resource itself (Dagster's rule)."""

    @abstractmethod
    def get_object_to_set_on_execution_context(self) -> Any:
        """The object ``context.resources.<key>`` gives."""


class ResourceDefinition:
    """How to build a resource: a function of its ``InitResourceContext``, its config
    schema, and the other resources it needs.

    The function may return the resource, or be a generator (or ``@contextmanager``)
    that yields it once; the code after ``yield`` is teardown and always runs when the
    run ends, in reverse order of set-up.
    """

    def __init__(
        self,
        resource_fn: Callable[..., Any],
        config_schema: Any = None,
        description: str | None = None,
        required_resource_keys: Sequence[str] | set[str] | None = None,
        version: str | None = None,
    ) -> None:
        from trellis.defs.op import normalize_op_config_schema

        self.resource_fn = resource_fn
        name = getattr(resource_fn, "__name__", "resource")
        self.config_schema, self.config_class = normalize_op_config_schema(
            config_schema, f"resource '{name}'"
        )
        self.description = description
        self.required_resource_keys = frozenset(required_resource_keys or ())
        self.version = version
        self.takes_context = _takes_context(resource_fn)
        # The object that was turned into this definition (a ConfigurableResource, a
        # plain value), kept so that errors and traces can name it.
        self.source: Any = None

    @property
    def name(self) -> str:
        """A readable name for messages: the function's name."""
        return getattr(self.resource_fn, "__name__", type(self).__name__)

    def configured(
        self,
        config_or_config_fn: Any,
        name: str | None = None,
        config_schema: Any = None,
        description: str | None = None,
    ) -> ResourceDefinition:
        """A copy of this definition whose config is fixed to ``config_or_config_fn``, or,
        given a function, computed by it from the copy's own config (``config_schema``,
        which the run config then fills): ``fn(config) -> config of this resource``."""
        from trellis.defs.configured import ConfiguredConfig

        label = name or self.name
        how, schema = ConfiguredConfig.of(
            f"resource '{label}'", self.config_schema, config_or_config_fn, config_schema
        )

        def configured_fn(context: Any) -> Any:
            if not self.takes_context:
                return self.resource_fn()
            return self.resource_fn(context.replace_config(how.resolve(context.resource_config)))

        configured_fn.__name__ = label
        copy = type(self).__new__(type(self))
        copy.__dict__.update(self.__dict__)
        copy.resource_fn = configured_fn
        copy.config_schema = schema
        copy.takes_context = True
        if description is not None:
            copy.description = description
        return copy

    @staticmethod
    def hardcoded_resource(value: Any, description: str | None = None) -> ResourceDefinition:
        """A resource that is always ``value``."""
        definition = ResourceDefinition(lambda: value, description=description)
        definition.source = value
        return definition

    @staticmethod
    def none_resource(description: str | None = None) -> ResourceDefinition:
        """A resource that is ``None``."""
        return ResourceDefinition.hardcoded_resource(None, description)

    @staticmethod
    def mock_resource(description: str | None = None) -> ResourceDefinition:
        """A resource that is a ``MagicMock``."""
        from unittest import mock

        return ResourceDefinition(lambda: mock.MagicMock(), description=description)

    @staticmethod
    def string_resource(description: str | None = None) -> ResourceDefinition:
        """A resource whose value is its string config."""
        return ResourceDefinition(lambda ctx: ctx.resource_config, str, description)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        """Call the resource function directly (for tests)."""
        if self.takes_context and not args and not kwargs:
            from trellis.api.testing import build_init_resource_context

            return self.resource_fn(build_init_resource_context())
        return self.resource_fn(*args, **kwargs)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name}>"


# A class passed positionally is a config schema (``@resource(str)``), as at runtime, although
# a class is also a callable: the overlap with the next overload is deliberate.
@overload
def resource(  # type: ignore[overload-overlap]
    fn: type | Mapping[str, Any],
    *,
    description: str | None = None,
    required_resource_keys: set[str] | Sequence[str] | None = None,
    version: str | None = None,
) -> Callable[[Callable[..., Any]], ResourceDefinition]: ...
@overload
def resource(fn: Callable[..., Any]) -> ResourceDefinition: ...
@overload
def resource(
    fn: None = None,
    *,
    config_schema: Any = None,
    description: str | None = None,
    required_resource_keys: set[str] | Sequence[str] | None = None,
    version: str | None = None,
) -> Callable[[Callable[..., Any]], ResourceDefinition]: ...


def resource(
    fn: Callable[..., Any] | type | Mapping[str, Any] | None = None,
    *,
    config_schema: Any = None,
    description: str | None = None,
    required_resource_keys: set[str] | Sequence[str] | None = None,
    version: str | None = None,
) -> ResourceDefinition | Callable[[Callable[..., Any]], ResourceDefinition]:
    """Define a resource from a function of its ``InitResourceContext`` (or of nothing):
    ``@resource`` or ``@resource(config_schema=..., required_resource_keys=...)``; as in
    Dagster, a config schema (a dict or a type) may also be passed positionally."""

    def decorate(f: Callable[..., Any]) -> ResourceDefinition:
        return ResourceDefinition(
            f,
            config_schema=config_schema,
            description=description if description is not None else inspect.getdoc(f),
            required_resource_keys=required_resource_keys,
            version=version,
        )

    if fn is not None and not isinstance(fn, (dict, type)) and callable(fn):
        return decorate(fn)
    if fn is not None:  # @resource(schema) positional, as Dagster allows
        config_schema = fn
    return decorate


def coerce_resource(value: Any, key: str) -> ResourceDefinition:
    """A ``ResourceDefinition`` for anything a user binds under a resource key: a
    definition, a ``ConfigurableResource``, an IO manager class or object, or any value."""
    if isinstance(value, ResourceDefinition):
        return value
    # Looked up on the class, not the object: a unittest.mock.Mock answers any attribute,
    # and is a plain value to use as it is.
    get_def = getattr(type(value), "get_resource_definition", None)
    if callable(get_def) and not isinstance(value, type):
        definition = value.get_resource_definition()
        if isinstance(definition, ResourceDefinition):
            return definition
    if isinstance(value, type):
        from trellis.defs.io_manager import is_io_manager_like

        if is_io_manager_like(value):
            raise InvalidDefinitionError(
                f"Resource '{key}' is the class {value.__name__}; pass an instance, or "
                "decorate the class with @io_manager."
            )
    return ResourceDefinition.hardcoded_resource(value)


def coerce_resources(resources: Mapping[str, Any] | None) -> dict[str, ResourceDefinition]:
    """``coerce_resource`` over a mapping."""
    return {key: coerce_resource(value, key) for key, value in (resources or {}).items()}


def resource_init_order(
    resource_defs: Mapping[str, ResourceDefinition], keys: set[str] | frozenset[str]
) -> list[str]:
    """``keys`` (closed over their dependencies) in an order where each resource comes
    after the resources it needs; a cycle or unknown key is a definition error."""

    def upstream(key: str, path: list[str]) -> list[str]:
        definition = resource_defs.get(key)
        if definition is None:
            needed_by = f" (needed by resource '{path[-1]}')" if path else ""
            raise InvalidDefinitionError(
                f"Resource '{key}'{needed_by} is not provided. Available resource keys: "
                f"{sorted(resource_defs)}."
            )
        return sorted(definition.required_resource_keys)

    return topological_order(
        sorted(keys),
        upstream,
        lambda cycle: InvalidDefinitionError(
            f"Resources depend on each other in a cycle: {cycle}."
        ),
    )


def make_values_resource(**kwargs: Any) -> ResourceDefinition:
    """A resource whose value is its config: ``make_values_resource(table=str,
    limit=Field(int, default_value=10))`` reads ``resources.<key>.config`` and hands steps
    the resulting dict. Without arguments, any config value is accepted and handed over."""
    from trellis.config.types import Any as AnyConfig, Field

    schema: Any = dict(kwargs) if kwargs else Field(AnyConfig, is_required=False)
    definition = ResourceDefinition(lambda ctx: ctx.resource_config, config_schema=schema)
    definition.resource_fn.__name__ = "values_resource"
    return definition
