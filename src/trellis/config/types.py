"""Classic config schema types: scalars, ``Field``, ``Shape`` and friends.

Also turns the loose shorthands users write (``int``, ``[str]``, ``{"a": int}``) into
these types: ``convert_potential_field`` and ``normalize_config_schema``. Validation
lives in ``trellis.config.validate``; printing in ``trellis.config.printer``.

Note: this module defines a config type called ``Any``; ``typing`` is imported as ``t``.
"""

from __future__ import annotations

import enum as _enum
import types as _pytypes
import typing as t
from collections.abc import Callable, Mapping, Sequence

from trellis.config.detect import is_config_class
from trellis.core.errors import InvalidConfigDefinitionError, InvariantViolationError


class ConfigTypeKind(_enum.StrEnum):
    """What family a config type belongs to; the validator dispatches on it."""

    ANY = "ANY"
    SCALAR = "SCALAR"
    ENUM = "ENUM"
    SHAPE = "SHAPE"
    PERMISSIVE = "PERMISSIVE"
    SELECTOR = "SELECTOR"
    NONEABLE = "NONEABLE"
    ARRAY = "ARRAY"
    MAP = "MAP"
    SCALAR_UNION = "SCALAR_UNION"
    SOURCE = "SOURCE"


class ConfigType:
    """Base class of every config type; describes which config values are valid."""

    __slots__ = ("description",)
    kind: t.ClassVar[ConfigTypeKind]

    def __init__(self, description: str | None = None) -> None:
        self.description = description

    def __repr__(self) -> str:
        from trellis.config.printer import print_type

        return f"<{type(self).__name__} {print_type(self, max_fields=10)}>"


# --- scalars -------------------------------------------------------------------------


def _is_int(value: object) -> bool:
    return type(value) is int or (isinstance(value, int) and not isinstance(value, bool))


def _is_float(value: object) -> bool:
    return type(value) is float or (isinstance(value, (int, float)) and not isinstance(value, bool))


def _is_str(value: object) -> bool:
    return isinstance(value, str)


def _is_bool(value: object) -> bool:
    return isinstance(value, bool)


class ScalarType(ConfigType):
    """A scalar config type (``Int``, ``Float``, ``String``, ``Bool``); values pass unchanged.

    As in Dagster, the same objects may type an op's inputs and outputs (``In(Int)``):
    ``python_type`` is the class the value is then checked against."""

    __slots__ = ("accepts", "name", "python_type")
    kind = ConfigTypeKind.SCALAR

    def __init__(
        self,
        name: str,
        accepts: Callable[[object], bool],
        description: str,
        python_type: type | tuple[type, ...] | None = None,
    ) -> None:
        super().__init__(description)
        self.name = name
        self.accepts = accepts
        self.python_type = python_type

    def __repr__(self) -> str:
        return self.name


class AnyType(ConfigType):
    """The ``Any`` config type: every value, ``None`` included, passes unchecked."""

    __slots__ = ()
    kind = ConfigTypeKind.ANY
    name = "Any"

    def __repr__(self) -> str:
        return "Any"


Int = ScalarType("Int", _is_int, "An integer (bool is rejected).", int)
Float = ScalarType("Float", _is_float, "A float; integers are accepted too.", (float, int))
String = ScalarType("String", _is_str, "A string.", str)
Bool = ScalarType("Bool", _is_bool, "A boolean.", bool)
Any = AnyType("Any value; nothing is checked.")

ConfigSchema = t.Any
"""What a ``config_schema=`` accepts (Dagster's name, for annotations): a ``Field``, a
config type, a Python type, a dict of them, or a ``Config`` class."""

_PYTHON_SCALARS: dict[type, ConfigType] = {int: Int, float: Float, str: String, bool: Bool}


# --- Field ---------------------------------------------------------------------------


class _NoDefault:
    """Marker type for "no default_value given"."""

    def __repr__(self) -> str:
        return "<no default>"


NO_DEFAULT: t.Any = _NoDefault()


def all_optional_type(config_type: ConfigType) -> bool:
    """True for a Shape/Permissive whose fields are all optional, or a Selector with a
    single optional field: such a type can be omitted and is filled from its defaults."""
    kind = config_type.kind
    if kind is ConfigTypeKind.SHAPE or kind is ConfigTypeKind.PERMISSIVE:
        return not any(f.is_required for f in t.cast(Shape, config_type).fields.values())
    if kind is ConfigTypeKind.SELECTOR:
        fields = t.cast(Selector, config_type).fields
        return len(fields) == 1 and not next(iter(fields.values())).is_required
    return False


def has_implicit_default(config_type: ConfigType) -> bool:
    """True when a field of this type is optional without a default (Noneable, or
    all-optional containers)."""
    return config_type.kind is ConfigTypeKind.NONEABLE or all_optional_type(config_type)


class Field:
    """One entry of a config schema: its type, whether it is required, its default and
    description. ``is_required`` defaults to False when a default is given, the type is
    ``Noneable``, or the type is a Shape/Permissive whose fields are all optional."""

    __slots__ = (
        "_default_value",
        "_implicit_default",
        "config_type",
        "default_provided",
        "description",
        "explicit_default",
        "is_required",
    )

    def __init__(
        self,
        config: t.Any = Any,
        default_value: t.Any = NO_DEFAULT,
        is_required: bool | None = None,
        description: str | None = None,
    ) -> None:
        if isinstance(config, Field):
            raise InvalidConfigDefinitionError(
                "Field() was given another Field as its type; pass the type itself, "
                "e.g. Field(int), or use the inner Field directly."
            )
        self.config_type: ConfigType = resolve_config_type(config, "the type of a Field")
        explicit = default_value is not NO_DEFAULT
        if explicit and is_required:
            raise InvalidConfigDefinitionError(
                f"A Field with a default_value ({default_value!r}) cannot also be "
                "is_required=True; remove one of the two."
            )
        implicit = has_implicit_default(self.config_type)
        if is_required is None:
            is_required = not explicit and not implicit
        self.is_required: bool = bool(is_required)
        self.explicit_default: bool = explicit
        self.default_provided: bool = explicit or (not self.is_required and implicit)
        self.description = description
        self._default_value = default_value
        self._implicit_default: t.Any = NO_DEFAULT
        if explicit:
            _check_default_value(self.config_type, default_value)

    @property
    def default_value(self) -> t.Any:
        """The default: the one given, or the value implied by an all-optional type."""
        if self.explicit_default:
            return self._default_value
        if not self.default_provided:
            raise InvariantViolationError(
                "This Field has no default value; check default_provided first."
            )
        if self._implicit_default is NO_DEFAULT:
            from trellis.config.validate import process_config

            result = process_config(self.config_type, None)
            self._implicit_default = result.value if result.success else None
        return self._implicit_default

    def __repr__(self) -> str:
        from trellis.config.printer import print_type

        parts = [print_type(self.config_type, max_fields=10)]
        if self.explicit_default:
            parts.append(f"default_value={self._default_value!r}")
        parts.append(f"is_required={self.is_required}")
        return f"Field({', '.join(parts)})"


def _check_default_value(config_type: ConfigType, value: t.Any) -> None:
    if isinstance(config_type, ScalarType) and config_type.accepts(value):
        return  # the common case, without a full validation pass
    from trellis.config.printer import print_type
    from trellis.config.validate import ConfigErrorReason, process_config

    result = process_config(config_type, value)
    errors = [e for e in result.errors if e.reason is not ConfigErrorReason.FAILED_POST_PROCESSING]
    if errors:
        details = " ".join(e.message for e in errors)
        raise InvalidConfigDefinitionError(
            f"Invalid default_value {value!r} for a Field of type "
            f"{print_type(config_type, max_fields=10)}: {details}"
        )


# --- composite types -----------------------------------------------------------------


def _convert_fields(fields: t.Any, where: str) -> dict[str, Field]:
    if not isinstance(fields, Mapping):
        raise InvalidConfigDefinitionError(
            f"{where} must be a dict of field name to type or Field, got {fields!r}."
        )
    out: dict[str, Field] = {}
    for name, value in fields.items():
        if not isinstance(name, str) or not name:
            raise InvalidConfigDefinitionError(
                f"Config field names must be non-empty strings; {where} has key {name!r}."
            )
        out[name] = convert_potential_field(value, where=f"{where}[{name!r}]")
    return out


class Shape(ConfigType):
    """A dict with a fixed set of keys; unknown keys are errors, missing optional keys
    are filled from their defaults."""

    __slots__ = ("fields",)
    kind = ConfigTypeKind.SHAPE

    def __init__(self, fields: Mapping[str, t.Any], description: str | None = None) -> None:
        super().__init__(description)
        self.fields: dict[str, Field] = _convert_fields(fields, type(self).__name__)


class Permissive(Shape):
    """Like ``Shape`` but extra keys are allowed and passed through unchecked."""

    __slots__ = ()
    kind = ConfigTypeKind.PERMISSIVE

    def __init__(
        self, fields: Mapping[str, t.Any] | None = None, description: str | None = None
    ) -> None:
        super().__init__(fields or {}, description)


class Selector(ConfigType):
    """A dict that must hold exactly one of its fields, e.g. ``{"in_process": {}}``."""

    __slots__ = ("fields",)
    kind = ConfigTypeKind.SELECTOR

    def __init__(self, fields: Mapping[str, t.Any], description: str | None = None) -> None:
        super().__init__(description)
        self.fields: dict[str, Field] = _convert_fields(fields, "Selector")
        if not self.fields:
            raise InvalidConfigDefinitionError("A Selector needs at least one field.")


class Noneable(ConfigType):
    """The inner type, or ``None``. A field of a Noneable type is optional (default None)."""

    __slots__ = ("inner_type",)
    kind = ConfigTypeKind.NONEABLE

    def __init__(self, inner_type: t.Any) -> None:
        super().__init__(None)
        self.inner_type: ConfigType = resolve_config_type(inner_type, "the inner type of Noneable")


class Array(ConfigType):
    """A list whose items all match the inner type."""

    __slots__ = ("inner_type",)
    kind = ConfigTypeKind.ARRAY

    def __init__(self, inner_type: t.Any, description: str | None = None) -> None:
        super().__init__(description)
        self.inner_type: ConfigType = resolve_config_type(inner_type, "the inner type of Array")


class Map(ConfigType):
    """A dict with keys of a scalar type (``str`` by default) and values of one type."""

    __slots__ = ("inner_type", "key_label_name", "key_type")
    kind = ConfigTypeKind.MAP

    def __init__(
        self,
        key_type: t.Any,
        inner_type: t.Any,
        key_label_name: str | None = None,
        description: str | None = None,
    ) -> None:
        super().__init__(description)
        key = resolve_config_type(key_type, "the key type of Map")
        if not isinstance(key, ScalarType):
            raise InvalidConfigDefinitionError(
                f"The key type of Map must be a scalar (str, int, float, bool), got {key_type!r}."
            )
        self.key_type: ScalarType = key
        self.inner_type: ConfigType = resolve_config_type(inner_type, "the value type of Map")
        self.key_label_name = key_label_name


class EnumValue:
    """One allowed value of an ``Enum``: the string users write in config, and the Python
    value it becomes after processing (the string itself by default)."""

    __slots__ = ("config_value", "description", "python_value")

    def __init__(
        self, config_value: str, python_value: t.Any = None, description: str | None = None
    ) -> None:
        if not isinstance(config_value, str) or not config_value:
            raise InvalidConfigDefinitionError(
                f"EnumValue needs a non-empty string config_value, got {config_value!r}."
            )
        self.config_value = config_value
        self.python_value = config_value if python_value is None else python_value
        self.description = description

    def __repr__(self) -> str:
        return f"EnumValue({self.config_value!r}, python_value={self.python_value!r})"


class Enum(ConfigType):
    """One of a fixed set of strings; processing maps each to its ``python_value``."""

    __slots__ = ("_by_config_value", "enum_values", "name")
    kind = ConfigTypeKind.ENUM

    def __init__(
        self, name: str, enum_values: Sequence[EnumValue], description: str | None = None
    ) -> None:
        super().__init__(description)
        if not isinstance(name, str) or not name:
            raise InvalidConfigDefinitionError(
                f"An Enum needs a non-empty string name, got {name!r}."
            )
        values = list(enum_values)
        if not values:
            raise InvalidConfigDefinitionError(f"Enum {name!r} needs at least one EnumValue.")
        by_config: dict[str, t.Any] = {}
        for value in values:
            if not isinstance(value, EnumValue):
                raise InvalidConfigDefinitionError(
                    f"Enum {name!r} takes EnumValue objects, got {value!r}; "
                    f"write EnumValue({value!r})."
                )
            if value.config_value in by_config:
                raise InvalidConfigDefinitionError(
                    f"Enum {name!r} lists the value {value.config_value!r} twice."
                )
            by_config[value.config_value] = value.python_value
        self.name = name
        self.enum_values = values
        self._by_config_value = by_config

    @property
    def config_values(self) -> list[str]:
        """The strings accepted in config, in declaration order."""
        return list(self._by_config_value)

    def to_python_value(self, config_value: str) -> t.Any:
        """Map an accepted config string to its Python value (KeyError if not allowed)."""
        return self._by_config_value[config_value]

    def is_valid_config_value(self, value: object) -> bool:
        """True when ``value`` is one of the accepted config strings."""
        return isinstance(value, str) and value in self._by_config_value

    @classmethod
    def from_python_enum(cls, enum_cls: type[_enum.Enum], description: str | None = None) -> Enum:
        """Build an Enum from a Python ``enum.Enum``: members are written by name in config
        and processed into the member itself."""
        if not (isinstance(enum_cls, type) and issubclass(enum_cls, _enum.Enum)):
            raise InvalidConfigDefinitionError(
                f"Enum.from_python_enum needs an enum.Enum class, got {enum_cls!r}."
            )
        values = [EnumValue(m.name, python_value=m) for m in enum_cls]
        return cls(enum_cls.__name__, values, description or enum_cls.__doc__)


_NON_SCALAR_KINDS = frozenset(
    {
        ConfigTypeKind.SHAPE,
        ConfigTypeKind.PERMISSIVE,
        ConfigTypeKind.SELECTOR,
        ConfigTypeKind.ARRAY,
        ConfigTypeKind.MAP,
    }
)


class ScalarUnion(ConfigType):
    """Either a scalar or a non-scalar (dict or list) form; the value's shape decides
    which of the two is checked."""

    __slots__ = ("non_scalar_type", "scalar_type")
    kind = ConfigTypeKind.SCALAR_UNION

    def __init__(
        self, scalar_type: t.Any, non_scalar_schema: t.Any, description: str | None = None
    ) -> None:
        super().__init__(description)
        scalar = resolve_config_type(scalar_type, "the scalar type of ScalarUnion")
        if scalar.kind not in (ConfigTypeKind.SCALAR, ConfigTypeKind.ANY, ConfigTypeKind.ENUM):
            raise InvalidConfigDefinitionError(
                f"ScalarUnion needs a scalar type first (int, str, ...), got {scalar_type!r}."
            )
        non_scalar = resolve_config_type(non_scalar_schema, "the non-scalar type of ScalarUnion")
        if non_scalar.kind not in _NON_SCALAR_KINDS:
            raise InvalidConfigDefinitionError(
                "ScalarUnion needs a dict or list schema second (Shape, Selector, Array, ...), "
                f"got {non_scalar_schema!r}."
            )
        self.scalar_type: ConfigType = scalar
        self.non_scalar_type: ConfigType = non_scalar


def _parse_bool(raw: str) -> bool:
    lowered = raw.strip().lower()
    if lowered in ("true", "1", "yes", "on"):
        return True
    if lowered in ("false", "0", "no", "off"):
        return False
    raise ValueError(raw)


class SourceType(ScalarUnion):
    """A scalar given directly, or ``{"env": "VAR"}`` read from ``os.environ`` when the
    config is processed (``StringSource``, ``IntSource``, ``BoolSource``)."""

    __slots__ = ("name", "parse_env")
    kind = ConfigTypeKind.SOURCE

    def __init__(
        self, name: str, scalar_type: ScalarType, parse_env: Callable[[str], t.Any]
    ) -> None:
        super().__init__(
            scalar_type,
            Shape({"env": Field(String)}),
            f"A {scalar_type.name}, or {{env: VAR}} to read it from an environment variable.",
        )
        self.name = name
        self.parse_env = parse_env


# --- converting shorthands -----------------------------------------------------------

_EXPECTED = (
    "a Python type (int, float, str, bool, list, dict), a one-item list such as [int], "
    "a dict of field names to types, a config type (Shape, Permissive, Selector, Array, "
    "Map, Noneable, Enum, ScalarUnion, StringSource, ...), a Config class, or a Field"
)


def resolve_config_type(value: t.Any, where: str = "config schema") -> ConfigType:
    """Turn a type shorthand (``int``, ``[str]``, ``{"a": int}``, ``list[int]``, a Config
    class, a config type) into a ``ConfigType``; ``where`` names the spot in errors."""
    if isinstance(value, ConfigType):
        return value
    if isinstance(value, Field):
        raise InvalidConfigDefinitionError(
            f"{where} is a Field, but a type is needed there; pass the type itself "
            "(e.g. Array(int), not Array(Field(int)))."
        )
    if isinstance(value, type):
        scalar = _PYTHON_SCALARS.get(value)
        if scalar is not None:
            return scalar
        if value is list:
            return Array(Any)
        if value is dict:
            return Permissive()
        if value is object:
            return Any
        if is_config_class(value):
            return value.to_config_schema().config_type
    if value is t.Any:
        return Any
    if isinstance(value, list):
        if len(value) != 1:
            raise InvalidConfigDefinitionError(
                f"Invalid config schema at {where}: a list schema must hold exactly one "
                f"type, such as [int]; got {value!r}."
            )
        return Array(resolve_config_type(value[0], f"{where}[0]"))
    if isinstance(value, dict):
        return Shape(_convert_fields(value, where))
    origin = t.get_origin(value)
    if origin is list:
        (item,) = t.get_args(value) or (Any,)
        return Array(resolve_config_type(item, f"{where}[item]"))
    if origin is dict:
        key, item = t.get_args(value) or (str, Any)
        return Map(key, resolve_config_type(item, f"{where}[value]"))
    if origin is t.Union or origin is _pytypes.UnionType:
        args = [a for a in t.get_args(value) if a is not type(None)]
        if len(args) == 1 and len(t.get_args(value)) == 2:
            return Noneable(resolve_config_type(args[0], where))
    raise InvalidConfigDefinitionError(
        f"Invalid config schema at {where}: got {value!r} (Python type "
        f"'{type(value).__name__}'). Expected {_EXPECTED}."
    )


def convert_potential_field(value: t.Any, *, where: str = "config schema") -> Field:
    """Turn anything accepted as a config schema into a ``Field``; raises
    ``InvalidConfigDefinitionError`` naming ``where`` and what was wrong."""
    if isinstance(value, Field):
        return value
    if value is None:
        raise InvalidConfigDefinitionError(
            f"Invalid config schema at {where}: None is not a type. Use Noneable(T) for "
            "a value that may be None, or Any for an unchecked one."
        )
    return Field(resolve_config_type(value, where))


def normalize_config_schema(value: t.Any, *, where: str = "config schema") -> Field | None:
    """Like ``convert_potential_field`` but ``None`` means "takes no config" and gives None."""
    if value is None:
        return None
    return convert_potential_field(value, where=where)


# Built last: they need Field and resolve_config_type.
StringSource = SourceType("StringSource", String, str)
IntSource = SourceType("IntSource", Int, lambda raw: int(raw.strip()))
BoolSource = SourceType("BoolSource", Bool, _parse_bool)
