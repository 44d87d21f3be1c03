"""Pythonic config: ``Config`` classes whose annotations are the schema.

``class MyCfg(Config): limit: int = 10`` compiles (once per class) to the classic
``Shape`` through ``to_config_schema()``, so a ``Config`` class validates with exactly the
machinery and messages of a classic schema. This is the only config module that imports
pydantic; ``trellis.config.detect`` answers "is this a Config?" without importing it.

Mapping of annotations: ``str``/``int``/``bool`` → ``StringSource``/``IntSource``/
``BoolSource`` (so ``{"env": VAR}`` and ``EnvVar`` work), ``float`` → ``Float``,
``list[T]`` → ``Array``, ``dict[K, V]`` → ``Map``, ``T | None`` → ``Noneable``,
``Literal["a", "b"]`` and ``enum.Enum`` → ``Enum``, a nested ``Config`` → its ``Shape``.
"""

from __future__ import annotations

import enum
import inspect
import types as _pytypes
import typing as t
import weakref
from typing import TYPE_CHECKING

from pydantic import BaseModel, ConfigDict, PrivateAttr

if TYPE_CHECKING:
    # What type(BaseModel) is at runtime; type checkers need the class by name.
    from pydantic._internal._model_construction import ModelMetaclass
else:
    ModelMetaclass = type(BaseModel)

from trellis.config import types as ct
from trellis.config.env_var import EnvVar, IntEnvVar, env_var_config_value
from trellis.core.errors import InvalidDefinitionError

_SCHEMAS: weakref.WeakKeyDictionary[type, ct.Field] = weakref.WeakKeyDictionary()
_SOURCES: dict[type, ct.ConfigType] = {
    str: ct.StringSource,
    int: ct.IntSource,
    bool: ct.BoolSource,
    float: ct.Float,
}
_MAP_KEYS: dict[type, ct.ConfigType] = {str: ct.String, int: ct.Int, float: ct.Float, bool: ct.Bool}


def _reject_classic_fields(class_name: str, namespace: dict[str, t.Any]) -> None:
    for name, value in namespace.items():
        if isinstance(value, ct.Field):
            raise InvalidDefinitionError(
                f"Config class {class_name!r} sets field {name!r} to trellis.Field(...). "
                "Inside a Config class, declare the type as an annotation and use "
                "pydantic.Field for the default and description, e.g. "
                f"`{name}: int = pydantic.Field(default=1, description='...')`."
            )


class _ConfigMeta(ModelMetaclass):
    """Metaclass of ``Config``: catches ``trellis.Field`` used where pydantic.Field belongs,
    before pydantic sees the class body."""

    def __new__(
        mcs, name: str, bases: tuple[type, ...], namespace: dict[str, t.Any], **kw: t.Any
    ) -> type:
        _reject_classic_fields(name, namespace)
        return super().__new__(mcs, name, bases, namespace, **kw)


class Config(BaseModel, metaclass=_ConfigMeta):
    """Base class for typed config: subclass it and annotate fields
    (``class MyCfg(Config): limit: int = 10``). Instances are immutable; unknown keys are
    rejected; ``to_config_schema()`` gives the equivalent classic schema."""

    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)
    _trellis_env_vars: dict[str, t.Any] = PrivateAttr(default_factory=dict)

    def __init__(self, **data: t.Any) -> None:
        env_vars = {k: v for k, v in data.items() if isinstance(v, (EnvVar, IntEnvVar))}
        super().__init__(**data)
        if env_vars:
            self._trellis_env_vars.update(env_vars)

    @classmethod
    def to_config_schema(cls) -> ct.Field:
        """The classic schema of this class: a ``Field`` of a ``Shape`` (``Permissive``
        when extra keys are allowed), built once per class and cached."""
        schema = _SCHEMAS.get(cls)
        if schema is None:
            schema = _build_schema(cls)
            _SCHEMAS[cls] = schema
        return schema


class PermissiveConfig(Config):
    """A ``Config`` that also accepts, and keeps, keys it does not declare."""

    model_config = ConfigDict(frozen=True, extra="allow")


def config_to_dict(config: Config) -> dict[str, t.Any]:
    """The config-dict form of a ``Config`` instance: nested configs become dicts,
    enum members their names, ``EnvVar`` fields ``{"env": NAME}``."""
    env_vars = config._trellis_env_vars
    out: dict[str, t.Any] = {}
    for name, info in type(config).model_fields.items():
        key = info.alias or name
        env = env_vars.get(key) or env_vars.get(name)
        out[key] = (
            env.to_config_value() if env is not None else _to_config_value(getattr(config, name))
        )
    for key, value in (config.model_extra or {}).items():
        out[key] = _to_config_value(value)
    return out


def _to_config_value(value: t.Any) -> t.Any:
    env = env_var_config_value(value)
    if env is not None:
        return env
    if isinstance(value, Config):
        return config_to_dict(value)
    if isinstance(value, enum.Enum):
        return value.name
    if isinstance(value, (list, tuple)):
        return [_to_config_value(v) for v in value]
    if isinstance(value, dict):
        return {k: _to_config_value(v) for k, v in value.items()}
    return value


def _build_schema(cls: type[Config]) -> ct.Field:
    fields: dict[str, ct.Field] = {}
    for name, info in cls.model_fields.items():
        if any(getattr(marker, "not_config", False) for marker in info.metadata):
            continue  # e.g. a ResourceDependency field: a resource, not config
        where = f"field {name!r} of Config class {cls.__name__!r}"
        try:
            config_type = _annotation_to_type(info.annotation, where, f"{cls.__name__}.{name}")
            kwargs: dict[str, t.Any] = {"description": info.description}
            if not info.is_required():
                default = info.get_default(call_default_factory=True)
                kwargs["default_value"] = _to_config_value(default)
            fields[info.alias or name] = ct.Field(config_type, **kwargs)
        except InvalidDefinitionError as exc:
            if where in str(exc):
                raise
            raise InvalidDefinitionError(f"In {where}: {exc}") from exc
    description = inspect.cleandoc(cls.__doc__) if cls.__doc__ else None
    shape_cls = ct.Permissive if cls.model_config.get("extra") == "allow" else ct.Shape
    return ct.Field(shape_cls(fields, description=description))


def _annotation_to_type(annotation: t.Any, where: str, enum_name: str) -> ct.ConfigType:
    source = _SOURCES.get(annotation) if isinstance(annotation, type) else None
    if source is not None:
        return source
    if annotation is t.Any or annotation is object:
        return ct.Any
    if isinstance(annotation, type):
        if issubclass(annotation, Config):
            return annotation.to_config_schema().config_type
        if issubclass(annotation, enum.Enum):
            return ct.Enum.from_python_enum(annotation)
        if annotation is list:
            return ct.Array(ct.Any)
        if annotation is dict:
            return ct.Permissive()
    origin = t.get_origin(annotation)
    args = t.get_args(annotation)
    if origin is t.Annotated:
        return _annotation_to_type(args[0], where, enum_name)
    if origin is t.Union or origin is _pytypes.UnionType:
        rest = [a for a in args if a is not type(None)]
        if len(rest) == 1 and len(args) == 2:
            return ct.Noneable(_annotation_to_type(rest[0], where, enum_name))
        raise InvalidDefinitionError(
            f"Unsupported annotation {annotation!r} for {where}: a union may only be `T | None`."
        )
    if origin is t.Literal:
        if not all(isinstance(a, str) for a in args):
            raise InvalidDefinitionError(
                f"Unsupported annotation {annotation!r} for {where}: Literal values must be "
                "strings."
            )
        return ct.Enum(enum_name, [ct.EnumValue(a) for a in args])
    if origin is list:
        item = args[0] if args else t.Any
        return ct.Array(_annotation_to_type(item, where, enum_name))
    if origin is dict:
        key, value = args if args else (str, t.Any)
        key_type = _MAP_KEYS.get(key)
        if key_type is None:
            raise InvalidDefinitionError(
                f"Unsupported annotation {annotation!r} for {where}: dict keys must be "
                "str, int, float or bool."
            )
        return ct.Map(key_type, _annotation_to_type(value, where, enum_name))
    raise InvalidDefinitionError(
        f"Unsupported annotation {annotation!r} for {where}. Config fields may be int, "
        "float, str, bool, list[T], dict[K, V], T | None, Literal[...], an enum.Enum or "
        "another Config class."
    )
