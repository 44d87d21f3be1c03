"""Dagster types: a check a value must pass, beyond what an ``isinstance`` of the Python
annotation says (Trellis checks plain annotations with ``isinstance`` on its own).

``DagsterType(type_check_fn, name=...)`` wraps ``fn(context, value) -> bool | TypeCheck``;
it goes where a type goes (``In(dagster_type=...)``, ``Out(dagster_type=...)``, an
annotation, ``AssetIn``/``AssetOut``). A value that fails is a ``TypeCheckError``
(Dagster's ``DagsterTypeCheckDidNotPass``) naming the step, the input or output, the type
and the check's description; a check function that raises is a ``DagsterTypeCheckError``.
``PythonObjectDagsterType(cls)`` checks ``isinstance``; ``usable_as_dagster_type`` and
``make_python_type_usable_as_dagster_type`` let a Python class in an annotation stand for
a Dagster type; ``List[int]``, ``Dict[str, int]``, ``Set[...]``, ``Tuple[...]`` and
``Optional[...]`` check containers and their items. A type's ``loader``
(``@dagster_type_loader(config_schema)``) turns an unconnected input's run config
(``ops.<op>.inputs.<name>``) into its value when the step runs.
``check_dagster_type(type, value)`` runs a check in a test.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from trellis.core.errors import InvalidDefinitionError, UserCodeExecutionError
from trellis.core.metadata import MetadataValue, normalize_metadata


class DagsterTypeCheckError(UserCodeExecutionError):
    """A Dagster type's check function raised (Dagster's ``DagsterTypeCheckError``)."""


class TypeCheck:
    """What a check function may return: ``success``, with a ``description`` and
    ``metadata`` shown on failure."""

    def __init__(
        self,
        success: bool,
        description: str | None = None,
        metadata: Mapping[str, Any] | None = None,
    ) -> None:
        self.success = bool(success)
        self.description = description
        self.metadata: dict[str, MetadataValue] = normalize_metadata(metadata)

    def __repr__(self) -> str:
        return f"TypeCheck(success={self.success}, description={self.description!r})"


class TypeCheckContext:
    """Given to a check function: the run id, its logger and the step's resources."""

    def __init__(self, run_id: str | None = None, log: Any = None, resources: Any = None) -> None:
        self.run_id = run_id
        self.log = log
        self.resources = resources


class DagsterTypeLoaderContext:
    """Given to a type loader: the run id, its logger and the step's resources."""

    def __init__(self, run_id: str | None = None, log: Any = None, resources: Any = None) -> None:
        self.run_id = run_id
        self.log = log
        self.resources = resources


class DagsterTypeLoader:
    """Turns config into a value of a type: ``schema_type`` (a config schema) and
    ``construct_from_config_value(context, config_value)``."""

    schema_type: Any = None
    required_resource_keys: frozenset[str] = frozenset()

    def construct_from_config_value(
        self, context: DagsterTypeLoaderContext, config_value: Any
    ) -> Any:
        """The value the config describes."""
        raise NotImplementedError(f"{type(self).__name__} must define construct_from_config_value")


class _FunctionLoader(DagsterTypeLoader):
    def __init__(
        self, fn: Callable[[Any, Any], Any], schema: Any, required_resource_keys: Any
    ) -> None:
        from trellis.config.types import normalize_config_schema

        self.fn = fn
        self.schema_type = normalize_config_schema(
            schema, where=f"dagster_type_loader '{getattr(fn, '__name__', fn)}'"
        )
        self.required_resource_keys = frozenset(required_resource_keys or ())

    def construct_from_config_value(
        self, context: DagsterTypeLoaderContext, config_value: Any
    ) -> Any:
        """Call the decorated function."""
        return self.fn(context, config_value)


def dagster_type_loader(
    config_schema: Any, required_resource_keys: set[str] | Sequence[str] | None = None
) -> Callable[[Callable[[Any, Any], Any]], DagsterTypeLoader]:
    """Make a ``DagsterTypeLoader`` of ``fn(context, config) -> value`` over
    ``config_schema``."""

    def decorate(fn: Callable[[Any, Any], Any]) -> DagsterTypeLoader:
        return _FunctionLoader(fn, config_schema, required_resource_keys)

    return decorate


class DagsterType:
    """A named check of values (see the module docstring)."""

    def __init__(
        self,
        type_check_fn: Callable[[TypeCheckContext, Any], bool | TypeCheck],
        key: str | None = None,
        name: str | None = None,
        is_builtin: bool = False,
        description: str | None = None,
        loader: DagsterTypeLoader | None = None,
        required_resource_keys: set[str] | Sequence[str] | None = None,
        kind: Any = None,
        typing_type: Any = Any,
        metadata: Mapping[str, Any] | None = None,
    ) -> None:
        if not callable(type_check_fn):
            raise InvalidDefinitionError(
                f"DagsterType needs a check function, got {type_check_fn!r}."
            )
        if loader is not None and not isinstance(loader, DagsterTypeLoader):
            raise InvalidDefinitionError(
                f"DagsterType loader= takes a @dagster_type_loader, got {loader!r}."
            )
        self.type_check_fn = type_check_fn
        self.name: str = str(name or key or getattr(type_check_fn, "__name__", "DagsterType"))
        self.key: str = str(key or self.name)
        self.is_builtin = is_builtin
        self.description = description
        self.loader = loader
        self.required_resource_keys = frozenset(required_resource_keys or ())
        self.kind = kind
        self.typing_type = typing_type
        self.metadata = normalize_metadata(metadata)

    @property
    def display_name(self) -> str:
        """The name messages use."""
        return self.name

    @property
    def unique_name(self) -> str:
        """The key that identifies the type."""
        return self.key

    def type_check(self, context: TypeCheckContext, value: Any) -> TypeCheck:
        """Run the check on ``value``; its verdict as a ``TypeCheck``."""
        try:
            verdict = self.type_check_fn(context, value)
        except Exception as exc:
            raise DagsterTypeCheckError(
                f"The type check function of Dagster type '{self.name}' raised "
                f"{type(exc).__name__}: {exc}",
                exc,
            ) from exc
        if isinstance(verdict, TypeCheck):
            return verdict
        if isinstance(verdict, bool):
            return TypeCheck(verdict)
        raise InvalidDefinitionError(
            f"The type check function of Dagster type '{self.name}' returned {verdict!r}; it "
            "must return a bool or a TypeCheck."
        )

    def __repr__(self) -> str:
        return f"<DagsterType {self.name}>"


class PythonObjectDagsterType(DagsterType):
    """The Dagster type of the instances of ``python_type`` (a class or a tuple of
    classes)."""

    def __init__(
        self,
        python_type: type | tuple[type, ...],
        key: str | None = None,
        name: str | None = None,
        **kwargs: Any,
    ) -> None:
        classes = python_type if isinstance(python_type, tuple) else (python_type,)
        if not classes or not all(isinstance(c, type) for c in classes):
            raise InvalidDefinitionError(
                f"PythonObjectDagsterType takes a class or a tuple of classes, got {python_type!r}."
            )
        self.python_type = python_type
        label = name or key or " | ".join(c.__name__ for c in classes)

        def is_instance(_context: TypeCheckContext, value: Any) -> TypeCheck:
            if isinstance(value, python_type):
                return TypeCheck(True)
            return TypeCheck(
                False, f"Value of type {type(value).__name__} is not an instance of {label}."
            )

        kwargs.setdefault("typing_type", python_type)
        super().__init__(is_instance, key=key, name=label, **kwargs)


_REGISTERED: dict[type, DagsterType] = {}


def make_python_type_usable_as_dagster_type(python_type: type, dagster_type: DagsterType) -> None:
    """Let ``python_type`` in an annotation stand for ``dagster_type``."""
    if not isinstance(dagster_type, DagsterType):
        raise InvalidDefinitionError(
            f"make_python_type_usable_as_dagster_type takes a DagsterType, got {dagster_type!r}."
        )
    existing = _REGISTERED.get(python_type)
    if existing is not None and existing is not dagster_type:
        raise InvalidDefinitionError(
            f"{python_type.__name__} already stands for Dagster type '{existing.name}'."
        )
    _REGISTERED[python_type] = dagster_type
    _forget_checks()


def usable_as_dagster_type(
    name: str | None = None,
    description: str | None = None,
    loader: DagsterTypeLoader | None = None,
) -> Callable[[type], type]:
    """Class decorator: the class in an annotation stands for a
    ``PythonObjectDagsterType`` of itself (``@usable_as_dagster_type`` or with arguments)."""

    def decorate(cls: type) -> type:
        dagster_type = PythonObjectDagsterType(
            cls, name=name or cls.__name__, description=description, loader=loader
        )
        make_python_type_usable_as_dagster_type(cls, dagster_type)
        return cls

    if isinstance(name, type):  # used bare: @usable_as_dagster_type
        cls, name = name, None
        return decorate(cls)
    return decorate


def registered_dagster_type(python_type: Any) -> DagsterType | None:
    """The Dagster type a Python class stands for, if one was registered."""
    try:
        return _REGISTERED.get(python_type)
    except TypeError:
        return None


def _forget_checks() -> None:
    from trellis.defs.signature import forget_checkable_types

    forget_checkable_types()


def resolve_dagster_type(dagster_type: Any) -> DagsterType | None:
    """``dagster_type`` as a ``DagsterType``: itself, or the one its class was registered
    for (None when it is neither)."""
    if isinstance(dagster_type, DagsterType):
        return dagster_type
    return registered_dagster_type(dagster_type)


def check_dagster_type(dagster_type: Any, value: Any) -> TypeCheck:
    """Check ``value`` against ``dagster_type`` (a ``DagsterType`` or a Python type), as a
    test would; the verdict as a ``TypeCheck``."""
    resolved = resolve_dagster_type(dagster_type)
    if resolved is not None:
        return resolved.type_check(TypeCheckContext(), value)
    from trellis.defs.signature import runtime_checkable_type

    expected = runtime_checkable_type(dagster_type)
    if expected is None or isinstance(value, expected):
        return TypeCheck(True)
    name = getattr(dagster_type, "__name__", repr(dagster_type))
    return TypeCheck(False, f"Value of type {type(value).__name__} is not a {name}.")


# -- containers --------------------------------------------------------------------------


def _container_type(
    label: str,
    container: type | tuple[type, ...],
    items: Callable[[Any], list[tuple[str, Any, Any]]],
) -> DagsterType:
    """A type whose values are ``container`` instances whose items (path, item, type) pass."""

    def check(_context: TypeCheckContext, value: Any) -> TypeCheck:
        if not isinstance(value, container):
            return TypeCheck(False, f"Value of type {type(value).__name__} is not a {label}.")
        for path, item, inner in items(value):
            verdict = check_dagster_type(inner, item)
            if not verdict.success:
                return TypeCheck(False, f"{label} item {path}: {verdict.description}")
        return TypeCheck(True)

    return DagsterType(check, name=label)


def _name(t: Any) -> str:
    return getattr(t, "name", None) or getattr(t, "__name__", None) or repr(t)


class _ListFactory:
    def __getitem__(self, inner: Any) -> DagsterType:
        return _container_type(
            f"List[{_name(inner)}]", list, lambda v: [(f"[{i}]", x, inner) for i, x in enumerate(v)]
        )


class _SetFactory:
    def __getitem__(self, inner: Any) -> DagsterType:
        return _container_type(
            f"Set[{_name(inner)}]", (set, frozenset), lambda v: [(repr(x), x, inner) for x in v]
        )


class _DictFactory:
    def __getitem__(self, types: tuple[Any, Any]) -> DagsterType:
        key_type, value_type = types
        return _container_type(
            f"Dict[{_name(key_type)}, {_name(value_type)}]",
            dict,
            lambda v: [
                entry
                for k, x in v.items()
                for entry in ((f"key {k!r}", k, key_type), (f"[{k!r}]", x, value_type))
            ],
        )


class _TupleFactory:
    def __getitem__(self, types: Any) -> DagsterType:
        types = types if isinstance(types, tuple) else (types,)
        label = f"Tuple[{', '.join(_name(t) for t in types)}]"

        def items(value: Any) -> list[tuple[str, Any, Any]]:
            if len(value) != len(types):
                return [("length", value, _Never(f"{len(types)} items, got {len(value)}"))]
            return [(f"[{i}]", x, t) for i, (x, t) in enumerate(zip(value, types, strict=True))]

        return _container_type(label, tuple, items)


class _OptionalFactory:
    def __getitem__(self, inner: Any) -> DagsterType:
        label = f"Optional[{_name(inner)}]"

        def check(_context: TypeCheckContext, value: Any) -> TypeCheck:
            return TypeCheck(True) if value is None else check_dagster_type(inner, value)

        return DagsterType(check, name=label)


def _Never(reason: str) -> DagsterType:
    return DagsterType(lambda _c, _v: TypeCheck(False, f"expected {reason}"), name="length")


List = _ListFactory()
Set = _SetFactory()
Dict = _DictFactory()
Tuple = _TupleFactory()
Optional = _OptionalFactory()
