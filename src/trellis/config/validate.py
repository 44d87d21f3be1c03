"""Config validation and processing in one pass.

``process_config(schema, value)`` checks a value against a schema and, in the same walk,
builds the processed value: defaults filled (nested too), ``{"env": VAR}`` sources read,
enum strings mapped to their Python values. Every problem is collected, each with its
path from ``root``; nothing stops at the first error. The walk is linear in the size of
the value plus the schema fields it touches.
"""

from __future__ import annotations

import enum
import os
import typing as t
from dataclasses import dataclass, field

from trellis.config.env_var import EnvVar, IntEnvVar
from trellis.config.printer import example_value, print_type
from trellis.config.types import (
    Array,
    ConfigType,
    ConfigTypeKind,
    Enum,
    Field,
    Map,
    Noneable,
    ScalarType,
    ScalarUnion,
    Selector,
    Shape,
    SourceType,
    convert_potential_field,
    has_implicit_default,
)
from trellis.core.errors import InvalidConfigError

_K = ConfigTypeKind
_MAX_PRINTED_FIELDS = 30


class ConfigErrorReason(enum.StrEnum):
    """Why a config value was rejected."""

    RUNTIME_TYPE_MISMATCH = "RUNTIME_TYPE_MISMATCH"
    MISSING_REQUIRED_FIELD = "MISSING_REQUIRED_FIELD"
    MISSING_REQUIRED_FIELDS = "MISSING_REQUIRED_FIELDS"
    FIELD_NOT_DEFINED = "FIELD_NOT_DEFINED"
    FIELDS_NOT_DEFINED = "FIELDS_NOT_DEFINED"
    SELECTOR_FIELD_ERROR = "SELECTOR_FIELD_ERROR"
    FAILED_POST_PROCESSING = "FAILED_POST_PROCESSING"


def format_path(path: t.Sequence[str]) -> str:
    """Join a path with ``:``; list indexes (``[0]``) attach to the previous part."""
    out = ""
    for part in path:
        out += part if (not out or part.startswith("[")) else ":" + part
    return out


@dataclass(frozen=True, slots=True)
class ConfigError:
    """One problem in a config value: where (``path`` from ``"root"``), why, and a sentence."""

    path: tuple[str, ...]
    reason: ConfigErrorReason
    message: str

    @property
    def path_str(self) -> str:
        """The path joined with colons, e.g. ``root:ops:one:config:x``."""
        return format_path(self.path)

    def __str__(self) -> str:
        return self.message


@dataclass(frozen=True, slots=True)
class ConfigResult:
    """The outcome of ``process_config``: ``value`` is the processed value when
    ``success``, else None, and ``errors`` lists every problem found."""

    success: bool
    value: t.Any
    errors: list[ConfigError] = field(default_factory=list)


def _show(value: t.Any) -> str:
    text = repr(value)
    return text if len(text) <= 120 else text[:117] + "..."


def _type_name(value: t.Any) -> str:
    return type(value).__name__


class _Walk:
    """One validation pass: the current path as a stack, and the errors found so far."""

    __slots__ = ("errors", "path")

    def __init__(self) -> None:
        self.path: list[str] = ["root"]
        self.errors: list[ConfigError] = []

    def error(self, reason: ConfigErrorReason, message: str) -> None:
        self.errors.append(ConfigError(tuple(self.path), reason, message))

    def where(self) -> str:
        return format_path(self.path)

    def eval(self, config_type: ConfigType, value: t.Any) -> t.Any:
        return _DISPATCH[config_type.kind](self, config_type, value)

    def mismatch(self, config_type: ConfigType, value: t.Any) -> None:
        printed = print_type(config_type, _MAX_PRINTED_FIELDS)
        noun = "scalar" if config_type.kind is _K.SCALAR else "value"
        self.error(
            ConfigErrorReason.RUNTIME_TYPE_MISMATCH,
            f"Invalid {noun} at path {self.where()}: value {_show(value)} of Python type "
            f"'{_type_name(value)}' is not valid for expected type {printed}.",
        )

    # --- leaves ------------------------------------------------------------------------

    def scalar(self, config_type: ScalarType, value: t.Any) -> t.Any:
        if not config_type.accepts(value):
            self.mismatch(config_type, value)
        return value

    def any(self, config_type: ConfigType, value: t.Any) -> t.Any:
        return value

    def enum(self, config_type: Enum, value: t.Any) -> t.Any:
        if config_type.is_valid_config_value(value):
            return config_type.to_python_value(value)
        allowed = ", ".join(repr(v) for v in config_type.config_values)
        self.error(
            ConfigErrorReason.RUNTIME_TYPE_MISMATCH,
            f"Invalid value at path {self.where()} for enum {config_type.name}: received "
            f"{_show(value)}; allowed values are {allowed}.",
        )
        return None

    def noneable(self, config_type: Noneable, value: t.Any) -> t.Any:
        return None if value is None else self.eval(config_type.inner_type, value)

    def scalar_union(self, config_type: ScalarUnion, value: t.Any) -> t.Any:
        if isinstance(value, (dict, list)):
            return self.eval(config_type.non_scalar_type, value)
        return self.eval(config_type.scalar_type, value)

    def source(self, config_type: SourceType, value: t.Any) -> t.Any:
        if isinstance(value, (EnvVar, IntEnvVar)):
            return self.read_env(config_type, value.env_var_name)
        if not isinstance(value, dict):
            return self.eval(config_type.scalar_type, value)
        count = len(self.errors)
        checked = self.eval(config_type.non_scalar_type, value)
        if len(self.errors) > count:
            return None
        return self.read_env(config_type, checked["env"])

    def read_env(self, config_type: SourceType, name: str) -> t.Any:
        raw = os.environ.get(name)
        if raw is None:
            self.error(
                ConfigErrorReason.FAILED_POST_PROCESSING,
                f"Environment variable '{name}' is not set; the config at path "
                f"{self.where()} reads it ({config_type.name}). Set it in the environment "
                "that runs this code.",
            )
            return None
        try:
            return config_type.parse_env(raw)
        except ValueError:
            self.error(
                ConfigErrorReason.FAILED_POST_PROCESSING,
                f"Environment variable '{name}', read by the config at path {self.where()}, "
                f"cannot be parsed as {t.cast(ScalarType, config_type.scalar_type).name}.",
            )
            return None

    # --- containers --------------------------------------------------------------------

    def array(self, config_type: Array, value: t.Any) -> t.Any:
        if not isinstance(value, (list, tuple)):
            self.mismatch(config_type, value)
            return None
        inner = config_type.inner_type
        out = []
        path = self.path
        for index, item in enumerate(value):
            path.append(f"[{index}]")
            out.append(self.eval(inner, item))
            path.pop()
        return out

    def map(self, config_type: Map, value: t.Any) -> t.Any:
        if not isinstance(value, dict):
            self.mismatch(config_type, value)
            return None
        key_type, inner = config_type.key_type, config_type.inner_type
        out = {}
        path = self.path
        for key, item in value.items():
            if not key_type.accepts(key):
                self.error(
                    ConfigErrorReason.RUNTIME_TYPE_MISMATCH,
                    f"Invalid map key at path {self.where()}: key {_show(key)} of Python type "
                    f"'{_type_name(key)}' is not valid for the key type {key_type.name}.",
                )
                continue
            path.append(str(key))
            out[key] = self.eval(inner, item)
            path.pop()
        return out

    def field_default(self, fld: Field) -> t.Any:
        """The processed default of an absent optional field."""
        if fld.explicit_default:
            return self.eval(fld.config_type, fld.default_value)
        if fld.config_type.kind is _K.NONEABLE:
            return None
        return self.eval(fld.config_type, {})

    def shape(self, config_type: Shape, value: t.Any) -> t.Any:
        if value is None:
            value = {}
        elif not isinstance(value, dict):
            self.mismatch(config_type, value)
            return None
        fields = config_type.fields
        permissive = config_type.kind is _K.PERMISSIVE
        out: dict[str, t.Any] = {}
        unexpected: list[str] = []
        path = self.path
        matched = 0
        for key, item in value.items():
            fld = fields.get(key)
            if fld is None:
                if permissive:
                    out[key] = item
                else:
                    unexpected.append(key)
                continue
            matched += 1
            path.append(key)
            out[key] = self.eval(fld.config_type, item)
            path.pop()
        if matched == len(fields) and not unexpected:
            return out
        missing: list[str] = []
        absent: list[str] = []
        for name, fld in fields.items():
            if name in value:
                continue
            absent.append(name)
            if fld.is_required:
                missing.append(name)
            elif fld.default_provided:
                path.append(name)
                out[name] = self.field_default(fld)
                path.pop()
        hinted = self.report_unexpected(config_type, unexpected, absent) if unexpected else set()
        missing = [name for name in missing if name not in hinted]
        if missing:
            self.report_missing(fields, missing)
        return out

    def report_unexpected(
        self, config_type: ConfigType, keys: list[str], absent: list[str]
    ) -> set[str]:
        """Report unknown keys; a key close to an absent field gets its own error with a
        "Did you mean" hint, and that field is not reported missing as well."""
        hinted: set[str] = set()
        plain: list[str] = []
        printed = print_type(config_type, _MAX_PRINTED_FIELDS)
        for key in keys:
            import difflib  # lazily: only this path needs it

            close = difflib.get_close_matches(str(key), absent, n=1) if absent else []
            if not close:
                plain.append(key)
                continue
            hinted.add(close[0])
            self.error(
                ConfigErrorReason.FIELD_NOT_DEFINED,
                f"Received unexpected config entry {key!r} at path {self.where()}. "
                f"Did you mean {close[0]!r}? Expected: {printed}.",
            )
        if len(plain) == 1:
            self.error(
                ConfigErrorReason.FIELD_NOT_DEFINED,
                f"Received unexpected config entry {plain[0]!r} at path {self.where()}. "
                f"Expected: {printed}.",
            )
        elif plain:
            self.error(
                ConfigErrorReason.FIELDS_NOT_DEFINED,
                f"Received unexpected config entries {plain!r} at path {self.where()}. "
                f"Expected: {printed}.",
            )
        return hinted

    def report_missing(self, fields: dict[str, Field], missing: list[str]) -> None:
        sample = {name: example_value(fields[name].config_type) for name in missing}
        if len(missing) == 1:
            self.error(
                ConfigErrorReason.MISSING_REQUIRED_FIELD,
                f"Missing required config entry {missing[0]!r} at path {self.where()}. "
                f"It must be supplied, for example: {sample!r}.",
            )
        else:
            self.error(
                ConfigErrorReason.MISSING_REQUIRED_FIELDS,
                f"Missing required config entries {missing!r} at path {self.where()}. "
                f"They must be supplied, for example: {sample!r}.",
            )

    def selector(self, config_type: Selector, value: t.Any) -> t.Any:
        if value is None:
            value = {}
        elif not isinstance(value, dict):
            self.mismatch(config_type, value)
            return None
        fields = config_type.fields
        names = sorted(fields)
        if not value:
            if len(fields) == 1 and fields[names[0]].default_provided:
                self.path.append(names[0])
                result = {names[0]: self.field_default(fields[names[0]])}
                self.path.pop()
                return result
            example = example_value(config_type)
            self.error(
                ConfigErrorReason.SELECTOR_FIELD_ERROR,
                f"Selector at path {self.where()} must be given exactly one of the fields "
                f"{names!r}, but none was given; for example: {example!r}.",
            )
            return None
        if len(value) > 1:
            self.error(
                ConfigErrorReason.SELECTOR_FIELD_ERROR,
                f"Selector at path {self.where()} must be given exactly one of the fields "
                f"{names!r}, but received {len(value)}: {list(value)!r}.",
            )
            return None
        ((key, item),) = value.items()
        fld = fields.get(key)
        if fld is None:
            self.report_unexpected(config_type, [key], names)
            return None
        self.path.append(key)
        if item is None and fld.default_provided:
            processed = self.field_default(fld)
        else:
            processed = self.eval(fld.config_type, item)
        self.path.pop()
        return {key: processed}


_DISPATCH: dict[ConfigTypeKind, t.Callable[[_Walk, t.Any, t.Any], t.Any]] = {
    _K.ANY: _Walk.any,
    _K.SCALAR: _Walk.scalar,
    _K.ENUM: _Walk.enum,
    _K.SHAPE: _Walk.shape,
    _K.PERMISSIVE: _Walk.shape,
    _K.SELECTOR: _Walk.selector,
    _K.NONEABLE: _Walk.noneable,
    _K.ARRAY: _Walk.array,
    _K.MAP: _Walk.map,
    _K.SCALAR_UNION: _Walk.scalar_union,
    _K.SOURCE: _Walk.source,
}


def process_config(schema: Field | ConfigType | t.Any, value: t.Any) -> ConfigResult:
    """Validate ``value`` against ``schema`` (a Field, a config type, or any schema
    shorthand) and build the processed value; every error is reported at once."""
    if isinstance(schema, ConfigType):
        config_type, fld = schema, None
    else:
        fld = convert_potential_field(schema)
        config_type = fld.config_type
    walk = _Walk()
    if value is None and fld is not None and fld.explicit_default:
        processed = walk.eval(config_type, fld.default_value)
    elif value is None and has_implicit_default(config_type):
        processed = None if config_type.kind is _K.NONEABLE else walk.eval(config_type, {})
    else:
        processed = walk.eval(config_type, value)
    if walk.errors:
        return ConfigResult(False, None, walk.errors)
    return ConfigResult(True, processed, [])


def validate_config(schema: Field | ConfigType | t.Any, value: t.Any, *, header: str) -> t.Any:
    """Return the processed config, or raise ``InvalidConfigError(header, errors, value)``
    listing every problem."""
    result = process_config(schema, value)
    if not result.success:
        raise InvalidConfigError(header, result.errors, value)
    return result.value
