"""Metadata values attached to outputs, materializations and definitions."""

from __future__ import annotations

import builtins
from collections.abc import Mapping, Sequence
from datetime import datetime
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
    def of_type(value: Any, type_name: str) -> MetadataValue:
        """The value as the class Dagster names for its type (``IntMetadataValue`` for
        ``"int"``, ...), or a plain ``MetadataValue`` for another type name."""
        cls = _CLASSES.get(type_name)
        if cls is not None:
            return cls(value)
        from trellis.core.metadata_kinds import decode

        return decode(type_name, value) or MetadataValue(value, type_name)

    @staticmethod
    def text(value: str) -> MetadataValue:
        """Plain text."""
        return TextMetadataValue(str(value))

    @staticmethod
    def int(value: int) -> MetadataValue:
        """An integer."""
        return IntMetadataValue(value)

    @staticmethod
    def float(value: float) -> MetadataValue:
        """A float."""
        return FloatMetadataValue(float(value))

    @staticmethod
    def bool(value: bool) -> MetadataValue:
        """A boolean."""
        return BoolMetadataValue(bool(value))

    @staticmethod
    def json(value: Any) -> MetadataValue:
        """A JSON-serialisable structure."""
        return JsonMetadataValue(value)

    @staticmethod
    def md(value: str) -> MetadataValue:
        """Markdown text."""
        return MarkdownMetadataValue(value)

    @staticmethod
    def path(value: Any) -> MetadataValue:
        """A filesystem path."""
        return PathMetadataValue(str(value))

    @staticmethod
    def url(value: str) -> MetadataValue:
        """A URL."""
        return UrlMetadataValue(value)

    @staticmethod
    def timestamp(value: builtins.float | datetime) -> MetadataValue:
        """A point in time: a POSIX timestamp in seconds, or a timezone-aware datetime."""
        if isinstance(value, datetime):
            if value.tzinfo is None:
                raise ValueError(
                    f"MetadataValue.timestamp needs a timezone-aware datetime, got {value!r}"
                )
            return TimestampMetadataValue(value.timestamp())
        return TimestampMetadataValue(float(value))

    @staticmethod
    def table(records: Sequence[Any], schema: Any = None) -> MetadataValue:
        """Rows of a table (``TableRecord``s) with its ``TableSchema`` (inferred from the
        first row when not given)."""
        from trellis.core.metadata_kinds import TableMetadataValue

        return TableMetadataValue(records, schema)

    @staticmethod
    def table_schema(schema: Any) -> MetadataValue:
        """A table's columns (a ``TableSchema``), as ``dagster/column_schema`` holds."""
        from trellis.core.metadata_kinds import TableSchemaMetadataValue

        return TableSchemaMetadataValue(schema)

    @staticmethod
    def column_lineage(lineage: Any) -> MetadataValue:
        """Which upstream columns each column comes from (a ``TableColumnLineage``)."""
        from trellis.core.metadata_kinds import TableColumnLineageMetadataValue

        return TableColumnLineageMetadataValue(lineage)

    @staticmethod
    def asset(asset_key: Any) -> MetadataValue:
        """A reference to an asset, by key."""
        from trellis.core.metadata_kinds import DagsterAssetMetadataValue

        return DagsterAssetMetadataValue(asset_key)

    @staticmethod
    def job(
        job_name: str, location_name: str | None = None, *, repository_name: str | None = None
    ) -> MetadataValue:
        """A reference to a job, by name (and code location)."""
        from trellis.core.metadata_kinds import DagsterJobMetadataValue

        return DagsterJobMetadataValue(job_name, location_name, repository_name)

    @staticmethod
    def dagster_run(run_id: str) -> MetadataValue:
        """A reference to a run, by id."""
        from trellis.core.metadata_kinds import DagsterRunMetadataValue

        return DagsterRunMetadataValue(run_id)

    @staticmethod
    def notebook(path: Any) -> MetadataValue:
        """The path of a notebook."""
        from trellis.core.metadata_kinds import NotebookMetadataValue

        return NotebookMetadataValue(path)

    @staticmethod
    def python_artifact(python_artifact: Any) -> MetadataValue:
        """A reference to a Python object (a function or class) by module and name."""
        from trellis.core.metadata_kinds import PythonArtifactMetadataValue

        return PythonArtifactMetadataValue(python_artifact.__module__, python_artifact.__name__)

    @staticmethod
    def pool(value: str) -> MetadataValue:
        """The name of a concurrency pool (``@op(pool=...)``)."""
        return PoolMetadataValue(str(value))

    @staticmethod
    def null() -> MetadataValue:
        """No value."""
        return NullMetadataValue(None)

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
        return (MetadataValue.of_type, (self.value, self.type_name))


class _TypedMetadataValue(MetadataValue):
    """A ``MetadataValue`` whose class names its type, as Dagster's classes do."""

    __slots__ = ()
    TYPE_NAME = ""

    def __init__(self, value: Any, type_name: str | None = None) -> None:
        super().__init__(value, type_name or self.TYPE_NAME)


class TextMetadataValue(_TypedMetadataValue):
    """Plain text metadata (``MetadataValue.text``)."""

    __slots__ = ()
    TYPE_NAME = "text"


class IntMetadataValue(_TypedMetadataValue):
    """Integer metadata (``MetadataValue.int``)."""

    __slots__ = ()
    TYPE_NAME = "int"


class FloatMetadataValue(_TypedMetadataValue):
    """Float metadata (``MetadataValue.float``)."""

    __slots__ = ()
    TYPE_NAME = "float"


class BoolMetadataValue(_TypedMetadataValue):
    """Boolean metadata (``MetadataValue.bool``)."""

    __slots__ = ()
    TYPE_NAME = "bool"


class JsonMetadataValue(_TypedMetadataValue):
    """JSON-serialisable metadata (``MetadataValue.json``)."""

    __slots__ = ()
    TYPE_NAME = "json"


class MarkdownMetadataValue(_TypedMetadataValue):
    """Markdown metadata (``MetadataValue.md``)."""

    __slots__ = ()
    TYPE_NAME = "md"


class PathMetadataValue(_TypedMetadataValue):
    """A filesystem path (``MetadataValue.path``)."""

    __slots__ = ()
    TYPE_NAME = "path"


class UrlMetadataValue(_TypedMetadataValue):
    """A URL (``MetadataValue.url``)."""

    __slots__ = ()
    TYPE_NAME = "url"


class TimestampMetadataValue(_TypedMetadataValue):
    """A POSIX timestamp in seconds (``MetadataValue.timestamp``)."""

    __slots__ = ()
    TYPE_NAME = "timestamp"


class PoolMetadataValue(_TypedMetadataValue):
    """The name of a concurrency pool (``MetadataValue.pool``)."""

    __slots__ = ()
    TYPE_NAME = "pool"


class NullMetadataValue(_TypedMetadataValue):
    """No value (``MetadataValue.null``)."""

    __slots__ = ()
    TYPE_NAME = "null"


_CLASSES: dict[str, type[_TypedMetadataValue]] = {
    cls.TYPE_NAME: cls
    for cls in (
        TextMetadataValue,
        IntMetadataValue,
        FloatMetadataValue,
        BoolMetadataValue,
        JsonMetadataValue,
        MarkdownMetadataValue,
        PathMetadataValue,
        PoolMetadataValue,
        UrlMetadataValue,
        TimestampMetadataValue,
        NullMetadataValue,
    )
}


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
        if hasattr(value, "__fspath__"):
            return PathMetadataValue(str(value))
        if isinstance(value, datetime):
            return MetadataValue.timestamp(value)
        from trellis.core.metadata_kinds import WRAPPERS

        wrap = WRAPPERS.get(type(value))
        if wrap is not None:  # a TableSchema, a TableColumnLineage or an AssetKey
            return wrap(value)
        # Other objects are shown by their string form.
        return TextMetadataValue(str(value))
    return _CLASSES[type_name](value)


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


def metadata_display(value: Any) -> str:
    """One line of text for a metadata value, as the CLI shows it (a table schema as its
    columns, a table as its size and columns, a reference as what it names)."""
    if isinstance(value, MetadataValue):
        if type(value).__str__ is not object.__str__:
            return str(value)
        return str(value.value)
    return str(value)


def metadata_to_raw(metadata: Mapping[str, MetadataValue]) -> dict[str, Any]:
    """The raw values of a metadata dict, for display and JSON."""
    return {k: (v.value if isinstance(v, MetadataValue) else v) for k, v in metadata.items()}
