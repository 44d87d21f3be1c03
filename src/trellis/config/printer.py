"""Compact, one-line printing of config types, and example values for error messages.

``print_type(Shape({"x": int, "name": Field(str, default_value="a")}))`` gives
``{ name?: String x: Int }``: fields sorted by name, ``?`` marks an optional field,
``[Int]`` is an array, ``Int?`` a Noneable, ``{ [String]: Int }`` a map, ``{ a: X | b: Y }``
a selector, and a trailing ``...`` a permissive shape.
"""

from __future__ import annotations

import typing as t

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
)

_K = ConfigTypeKind
_SCALAR_EXAMPLES: dict[str, t.Any] = {"Int": 0, "Float": 0.0, "String": "...", "Bool": True}


def print_type(config_type: ConfigType, max_fields: int | None = None) -> str:
    """Print a config type on one line; ``max_fields`` caps the fields shown per dict."""
    parts: list[str] = []
    _print(config_type, parts, max_fields)
    return "".join(parts)


def _print_fields(
    fields: dict[str, Field], out: list[str], max_fields: int | None, sep: str, optional: bool
) -> None:
    names = sorted(fields)
    shown = names if max_fields is None else names[:max_fields]
    for i, name in enumerate(shown):
        if i:
            out.append(sep)
        field = fields[name]
        out.append(name)
        out.append("?: " if optional and not field.is_required else ": ")
        _print(field.config_type, out, max_fields)
    if len(shown) < len(names):
        out.append(f" ({len(names) - len(shown)} more)")


def _print(config_type: ConfigType, out: list[str], max_fields: int | None) -> None:
    kind = config_type.kind
    if kind is _K.SCALAR:
        out.append(t.cast(ScalarType, config_type).name)
    elif kind is _K.ANY:
        out.append("Any")
    elif kind is _K.ENUM:
        out.append(t.cast(Enum, config_type).name)
    elif kind is _K.SOURCE:
        out.append(t.cast(SourceType, config_type).name)
    elif kind is _K.SHAPE or kind is _K.PERMISSIVE:
        fields = t.cast(Shape, config_type).fields
        permissive = kind is _K.PERMISSIVE
        if not fields:
            out.append("{ ... }" if permissive else "{}")
            return
        out.append("{ ")
        _print_fields(fields, out, max_fields, " ", optional=True)
        out.append(" ... }" if permissive else " }")
    elif kind is _K.SELECTOR:
        out.append("{ ")
        _print_fields(t.cast(Selector, config_type).fields, out, max_fields, " | ", False)
        out.append(" }")
    elif kind is _K.NONEABLE:
        _print(t.cast(Noneable, config_type).inner_type, out, max_fields)
        out.append("?")
    elif kind is _K.ARRAY:
        out.append("[")
        _print(t.cast(Array, config_type).inner_type, out, max_fields)
        out.append("]")
    elif kind is _K.MAP:
        map_type = t.cast(Map, config_type)
        label = f"{map_type.key_label_name}: " if map_type.key_label_name else ""
        out.append(f"{{ [{label}{map_type.key_type.name}]: ")
        _print(map_type.inner_type, out, max_fields)
        out.append(" }")
    elif kind is _K.SCALAR_UNION:
        union = t.cast(ScalarUnion, config_type)
        out.append("(")
        _print(union.scalar_type, out, max_fields)
        out.append(" | ")
        _print(union.non_scalar_type, out, max_fields)
        out.append(")")
    else:  # pragma: no cover - every kind is handled above
        out.append(type(config_type).__name__)


def example_value(config_type: ConfigType) -> t.Any:
    """A small valid-looking value of the type, for "for example: ..." in error messages:
    required fields only, ``0`` for Int, ``'...'`` for String, the first enum value."""
    kind = config_type.kind
    if kind is _K.SCALAR:
        return _SCALAR_EXAMPLES[t.cast(ScalarType, config_type).name]
    if kind is _K.ENUM:
        return t.cast(Enum, config_type).enum_values[0].config_value
    if kind is _K.SHAPE or kind is _K.PERMISSIVE:
        fields = t.cast(Shape, config_type).fields
        return {
            name: example_value(fields[name].config_type)
            for name in sorted(fields)
            if fields[name].is_required
        }
    if kind is _K.SELECTOR:
        fields = t.cast(Selector, config_type).fields
        first = sorted(fields)[0]
        return {first: example_value(fields[first].config_type)}
    if kind is _K.ARRAY:
        return [example_value(t.cast(Array, config_type).inner_type)]
    if kind is _K.MAP:
        map_type = t.cast(Map, config_type)
        return {example_value(map_type.key_type): example_value(map_type.inner_type)}
    if kind is _K.SCALAR_UNION or kind is _K.SOURCE:
        return example_value(t.cast(ScalarUnion, config_type).scalar_type)
    return None  # Any, Noneable
