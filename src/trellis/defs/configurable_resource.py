"""Pythonic resources: ``ConfigurableResource`` (its pydantic fields are its config),
``ConfigurableIOManager``, their factories, and ``ResourceParam``. Importing this module
imports pydantic; nothing in the engine does so unless a user's code uses these."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Annotated, Any, Generic, TypeVar

from pydantic import SkipValidation

from trellis.config import types as ct
from trellis.config.pythonic import Config, _to_config_value, config_to_dict
from trellis.core.errors import InvalidDefinitionError
from trellis.defs.io_manager import IOManager, IOManagerDefinition
from trellis.defs.resource import ResourceDefinition
from trellis.defs.signature import ResourceParamMarker

T = TypeVar("T")
_Definition = TypeVar("_Definition", bound=ResourceDefinition)

ResourceParam = Annotated[T, ResourceParamMarker()]
"""Annotate an op or asset parameter ``x: ResourceParam[MyClient]`` to receive the
resource bound under the key ``x`` (for resources that are not ``ConfigurableResource``)."""


class ResourceDependencyMarker:
    """Marks ``ResourceDependency[T]``: a field of a pythonic resource that holds another
    resource of any kind (so it is not part of the resource's config)."""

    not_config = True


ResourceDependency = Annotated[T, ResourceDependencyMarker(), SkipValidation]
"""Annotate a field of a ``ConfigurableResource`` ``client: ResourceDependency[Client]`` to
take another resource of any kind: a ``ConfigurableResource``, a ``@resource`` definition
(built, and torn down, with the outer resource) or any object (used as it is). Such a
field is not config."""


def _is_resource_value(value: Any) -> bool:
    return isinstance(value, (ConfigurableResourceFactory, PartialResource, ResourceDefinition))


def _resource_fields(cls: type[Config]) -> set[str]:
    found = set()
    for name, info in cls.model_fields.items():
        annotation = info.annotation
        nested = isinstance(annotation, type) and issubclass(
            annotation, ConfigurableResourceFactory
        )
        if nested or any(isinstance(m, ResourceDependencyMarker) for m in info.metadata):
            found.add(name)
    return found


def _schema_for(cls: type[Config], given: dict[str, Any]) -> ct.Field:
    """The class's config schema without its nested-resource fields; values given on
    the instance become defaults (run config may still override them)."""
    shape = cls.to_config_schema().config_type
    assert isinstance(shape, ct.Shape)  # a Config class compiles to a Shape (or Permissive)
    skip = _resource_fields(cls)
    fields: dict[str, ct.Field] = {}
    for name, fld in shape.fields.items():
        if name in skip:
            continue
        if name in given:
            fields[name] = ct.Field(
                fld.config_type,
                default_value=_to_config_value(given[name]),
                description=fld.description,
            )
        else:
            fields[name] = fld
    return ct.Field(type(shape)(fields, description=shape.description))


class ConfigurableResourceFactory(Config, Generic[T]):
    """A resource configured by its pydantic fields that hands steps the object
    ``create_resource(context)`` makes. ``setup_for_execution`` /
    ``teardown_after_execution`` (or ``yield_for_execution``) wrap its lifetime."""

    model_config = {
        "frozen": False,
        "extra": "forbid",
        "arbitrary_types_allowed": True,
        "populate_by_name": True,  # a field aliased to "schema" may be given as either name
    }

    def create_resource(self, context: Any) -> T:
        """The object steps receive."""
        raise NotImplementedError(f"{type(self).__name__} must implement create_resource")

    def setup_for_execution(self, context: Any) -> None:
        """Called once before the first step that uses the resource."""

    def teardown_after_execution(self, context: Any) -> None:
        """Called once when the run ends, whatever happened."""

    def yield_for_execution(self, context: Any) -> Iterator[T]:
        """Set up, hand over the resource, tear down (override for custom lifetimes)."""
        self.setup_for_execution(context)
        try:
            yield self.create_resource(context)
        finally:
            self.teardown_after_execution(context)

    @classmethod
    def configure_at_launch(cls, **values: Any) -> PartialResource:
        """A resource whose remaining config comes from the run config
        (``resources.<key>.config``) when the run starts."""
        return PartialResource(cls, values)

    def _given_values(self) -> dict[str, Any]:
        # An EnvVar given for a field is kept as such (pydantic stores its name as a plain
        # str), so the run reads the variable instead of taking its name as the value.
        # Keyed as the config schema names them: by alias where a field has one.
        env_vars = self._trellis_env_vars
        fields = type(self).model_fields
        return {
            (fields[k].alias or k) if k in fields else k: env_vars.get(k, getattr(self, k))
            for k in self.model_fields_set
        }

    def get_resource_definition(self) -> ResourceDefinition:
        """The ``ResourceDefinition`` the engine builds this resource from."""
        return _definition(type(self), self, self._given_values(), ResourceDefinition)

    def __setattr__(self, name: str, value: Any) -> None:
        if name.startswith("_"):  # private state set in setup_for_execution
            object.__setattr__(self, name, value)
            return
        super().__setattr__(name, value)


class ConfigurableResource(ConfigurableResourceFactory[T]):
    """A resource that is its own value: subclass it, declare config as typed fields,
    add methods; ops and assets receive it as a typed parameter named by its key."""

    def create_resource(self, context: Any) -> Any:
        """The resource itself."""
        return self


class ConfigurableIOManagerFactory(ConfigurableResourceFactory[T]):
    """Configured like a resource; ``create_io_manager(context)`` returns the IO manager."""

    def create_io_manager(self, context: Any) -> Any:
        """The IO manager steps use."""
        raise NotImplementedError(f"{type(self).__name__} must implement create_io_manager")

    def create_resource(self, context: Any) -> Any:
        """The IO manager (``create_io_manager``)."""
        return self.create_io_manager(context)

    def get_resource_definition(self) -> IOManagerDefinition:
        """An ``IOManagerDefinition`` built from this object."""
        return _definition(type(self), self, self._given_values(), IOManagerDefinition)


class ConfigurableIOManager(ConfigurableIOManagerFactory[T], IOManager):
    """An IO manager configured by its pydantic fields; implement ``handle_output`` and
    ``load_input``."""

    def create_io_manager(self, context: Any) -> Any:
        """The IO manager itself."""
        return self


class ConfigurableLegacyIOManagerAdapter(ConfigurableIOManagerFactory[Any]):
    """A pythonic (typed-field) face for an IO manager written the older way: subclass it,
    declare the config as fields, and return the ``@io_manager`` definition from the
    ``wrapped_io_manager`` property; the fields' values become that definition's config
    (checked against its schema) when the run builds it."""

    @property
    def wrapped_io_manager(self) -> IOManagerDefinition:
        """The legacy ``IOManagerDefinition`` this adapter configures."""
        raise NotImplementedError(
            f"{type(self).__name__} must define the wrapped_io_manager property"
        )

    def create_io_manager(self, context: Any) -> Any:
        """Not used: ``yield_for_execution`` builds the wrapped definition."""
        raise NotImplementedError("the wrapped IO manager is built by yield_for_execution")

    def yield_for_execution(self, context: Any) -> Iterator[Any]:
        """Build the wrapped definition with this adapter's field values as its config,
        hand over its IO manager, and tear it down when the run ends."""
        definition = self.wrapped_io_manager
        if not isinstance(definition, ResourceDefinition):
            raise InvalidDefinitionError(
                f"{type(self).__name__}.wrapped_io_manager returned {definition!r}, not an "
                "IO manager definition."
            )
        with contextlib.ExitStack() as stack:
            yield _enter_nested(
                definition,
                stack,
                context,
                config_to_dict(self),
                f"{type(self).__name__}'s wrapped IO manager",
            )


class PartialResource:
    """A pythonic resource with part of its config still to come from the run config."""

    def __init__(self, cls: type[ConfigurableResourceFactory[Any]], values: dict[str, Any]) -> None:
        self.resource_cls = cls
        self.values = values

    def get_resource_definition(self) -> ResourceDefinition:
        """The definition; the run config supplies the missing fields."""
        io = issubclass(self.resource_cls, ConfigurableIOManagerFactory)
        definition_cls = IOManagerDefinition if io else ResourceDefinition
        return _definition(self.resource_cls, None, self.values, definition_cls)


def _definition(
    cls: type[ConfigurableResourceFactory[Any]],
    template: Any,
    given: dict[str, Any],
    definition_cls: type[_Definition],
) -> _Definition:
    nested = {k: v for k, v in given.items() if _is_resource_value(v)}
    plain = {k: v for k, v in given.items() if k not in nested}

    def resource_fn(context: Any) -> Iterator[Any]:
        config = context.resource_config or {}
        with contextlib.ExitStack() as stack:
            built_nested = {}
            for name, value in nested.items():
                inner = (
                    value
                    if isinstance(value, ResourceDefinition)
                    else value.get_resource_definition()
                )
                built_nested[name] = _enter_nested(inner, stack, context)
            # Built (and so validated) anew: run config arrives as plain values, and a
            # nested Config field must become its class again.
            obj = cls(**{**plain, **config, **built_nested})
            generator = obj.yield_for_execution(context)
            value = next(generator)
            try:
                yield value
            finally:
                with contextlib.suppress(StopIteration):
                    next(generator)

    resource_fn.__name__ = cls.__name__
    definition = definition_cls(
        resource_fn,
        description=(cls.__doc__ or "").strip() or None,
    )
    definition.config_schema = _schema_for(cls, plain)
    definition.source = template if template is not None else cls
    return definition


def _enter_nested(
    definition: ResourceDefinition,
    stack: contextlib.ExitStack,
    context: Any,
    given: Any = None,
    what: str = "nested resource",
) -> Any:
    """Build ``definition`` inside ``stack`` (torn down with it) with config ``given``
    (validated against its schema), for the resource that ``context`` initialises."""
    from trellis.config.validate import validate_config
    from trellis.contexts.init_resource import InitResourceContext

    config = (
        validate_config(
            definition.config_schema,
            given,
            header=f"Error in config for {what} {definition.name}",
        )
        if definition.config_schema is not None
        else given
    )
    inner_context = InitResourceContext(
        config, context.resources, definition, context.instance, context.run, context.log
    )
    made = (
        definition.resource_fn(inner_context)
        if definition.takes_context
        else definition.resource_fn()
    )
    if isinstance(made, contextlib.AbstractContextManager):
        return stack.enter_context(made)  # a @contextmanager resource function
    if not (isinstance(made, Iterator) and hasattr(made, "send")):
        return made  # a plain value: nothing to tear down
    generator = made
    value = next(generator)

    def finish() -> None:
        with contextlib.suppress(StopIteration):
            next(generator)

    stack.callback(finish)
    return value
