"""Metadata values attached to outputs, materializations and definitions."""

from __future__ import annotations

import builtins
from collections.abc import Mapping
from typing import Any


class MetadataValue:
    """A typed metadata value: ``MetadataValue.int(3)``, ``MetadataValue.md("# hi")``, ...

    Plain Python values given as metadata are wrapped automatically (``normalize_metadata``);
    ``.value`` is the raw value and ``.type_name`` says how to show it.
    """

    __slots__ = ("type_name", "value")

    def __init__(self, value: Any, type_name: str) -> None:
        self.value = value
        self.type_name = type_name

    @staticmethod
    def text(value: str) -> MetadataValue:
        """Plain text."""
        return MetadataValue(str(value), "text")

    @staticmethod
    def int(value: int) -> MetadataValue:
        """An integer."""
        return MetadataValue(value, "int")

    @staticmethod
    def float(value: float) -> MetadataValue:
        """A float."""
        return MetadataValue(float(value), "float")

    @staticmethod
    def bool(value: bool) -> MetadataValue:
        """A boolean."""
        return MetadataValue(bool(value), "bool")

    @staticmethod
    def json(value: Any) -> MetadataValue:
        """A JSON-serialisable structure."""
        return MetadataValue(value, "json")

    @staticmethod
    def md(value: str) -> MetadataValue:
        """Markdown text."""
        return MetadataValue(value, "md")

    @staticmethod
    def path(value: Any) -> MetadataValue:
        """A filesystem path."""
        return MetadataValue(str(value), "path")

    @staticmethod
    def url(value: str) -> MetadataValue:
        """A URL."""
        return MetadataValue(value, "url")

    @staticmethod
    def timestamp(value: builtins.float) -> MetadataValue:
        """A POSIX timestamp in seconds."""
        return MetadataValue(float(value), "timestamp")

    @staticmethod
    def null() -> MetadataValue:
        """No value."""
        return MetadataValue(None, "null")

    # The static methods int, float and bool shadow the builtins inside this class body.
    def __eq__(self, other: object) -> builtins.bool:
        if isinstance(other, MetadataValue):
            return self.value == other.value and self.type_name == other.type_name
        return NotImplemented

    def __hash__(self) -> builtins.int:
        return hash((self.type_name, repr(self.value)))

    def __repr__(self) -> str:
        return f"MetadataValue.{self.type_name}({self.value!r})"

    def __reduce__(self) -> tuple[Any, ...]:
        return (MetadataValue, (self.value, self.type_name))


_TYPE_NAMES: dict[type, str] = {
    bool: "bool",
    int: "int",
    float: "float",
    str: "text",
    dict: "json",
    list: "json",
    type(None): "null",
}


def as_metadata_value(value: Any) -> MetadataValue:
    """Wrap a plain Python value as a ``MetadataValue`` (an existing one passes through)."""
    if isinstance(value, MetadataValue):
        return value
    type_name = _TYPE_NAMES.get(type(value))
    if type_name is None:
        # Paths and other objects are shown by their string form.
        return MetadataValue(str(value), "path" if hasattr(value, "__fspath__") else "text")
    return MetadataValue(value, type_name)


def normalize_metadata(metadata: Mapping[str, Any] | None) -> dict[str, MetadataValue]:
    """A new dict of ``MetadataValue``s; keys must be strings."""
    if not metadata:
        return {}
    out: dict[str, MetadataValue] = {}
    for key, value in metadata.items():
        if not isinstance(key, str):
            raise TypeError(f"Metadata keys must be strings, got {key!r}")
        out[key] = as_metadata_value(value)
    return out


def metadata_to_raw(metadata: Mapping[str, MetadataValue]) -> dict[str, Any]:
    """The raw values of a metadata dict, for display and JSON."""
    return {k: (v.value if isinstance(v, MetadataValue) else v) for k, v in metadata.items()}
