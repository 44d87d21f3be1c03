"""The structured metadata values: tables, table schemas, column lineage, and references
to assets, jobs, runs and notebooks (``MetadataValue.table(...)`` and friends).

Each is a ``MetadataValue`` whose ``value`` is a plain immutable object (a ``TableSchema``,
an ``AssetKey``, ...), with the attributes Dagster's classes have (``.schema``,
``.records``, ``.asset_key``, ``.run_id``, ...). ``encode`` and ``decode`` are their one
JSON form, which ``trellis.core.serialization`` stores: every value reads back equal.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, NamedTuple

from trellis.core.asset_key import AssetKey, CoercibleToAssetKey
from trellis.core.metadata import MetadataValue
from trellis.core.table_metadata import (
    TableColumnLineage,
    TableRecord,
    TableSchema,
    infer_schema,
)


class _Structured(MetadataValue):
    """A metadata value with a structured ``value`` and a JSON form of its own."""

    __slots__ = ()
    TYPE_NAME = ""

    def __init__(self, value: Any) -> None:
        super().__init__(value, self.TYPE_NAME)

    def encode(self) -> Any:
        """The JSON form of ``value``."""
        raise NotImplementedError

    @classmethod
    def decode(cls, data: Any) -> _Structured:
        """The value ``encode`` stored (an already built value passes through)."""
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.value!r})"


class _TableData(NamedTuple):
    records: tuple[TableRecord, ...]
    schema: TableSchema


class TableMetadataValue(_Structured):
    """Rows of a table with its schema (``MetadataValue.table(records, schema)``); the
    schema is inferred from the first record when not given."""

    __slots__ = ()
    TYPE_NAME = "table"

    def __init__(self, records: Sequence[TableRecord], schema: TableSchema | None = None) -> None:
        records = tuple(records)
        for record in records:
            if not isinstance(record, TableRecord):
                raise TypeError(f"MetadataValue.table records must be TableRecord, got {record!r}")
        if schema is not None and not isinstance(schema, TableSchema):
            raise TypeError(f"MetadataValue.table schema must be a TableSchema, got {schema!r}")
        super().__init__(_TableData(records, schema or infer_schema(records)))

    @property
    def records(self) -> tuple[TableRecord, ...]:
        """The rows."""
        return self.value.records  # type: ignore[no-any-return]

    @property
    def schema(self) -> TableSchema:
        """The columns."""
        return self.value.schema  # type: ignore[no-any-return]

    def encode(self) -> Any:
        return {
            "records": [r.to_json() for r in self.records],
            "schema": self.schema.to_json(),
        }

    @classmethod
    def decode(cls, data: Any) -> TableMetadataValue:
        if isinstance(data, _TableData):
            return cls(data.records, data.schema)
        records = [TableRecord.from_json(r) for r in data.get("records", ())]
        return cls(records, TableSchema.from_json(data["schema"]))

    def __str__(self) -> str:
        return f"table of {len(self.records)} rows ({self.schema})"


class TableSchemaMetadataValue(_Structured):
    """A table's columns (``MetadataValue.table_schema(schema)``): the kind of value
    stored under ``dagster/column_schema``."""

    __slots__ = ()
    TYPE_NAME = "table_schema"

    def __init__(self, schema: TableSchema) -> None:
        if not isinstance(schema, TableSchema):
            raise TypeError(f"MetadataValue.table_schema needs a TableSchema, got {schema!r}")
        super().__init__(schema)

    @property
    def schema(self) -> TableSchema:
        """The schema."""
        return self.value  # type: ignore[no-any-return]

    def encode(self) -> Any:
        return self.schema.to_json()

    @classmethod
    def decode(cls, data: Any) -> TableSchemaMetadataValue:
        return cls(data if isinstance(data, TableSchema) else TableSchema.from_json(data))

    def __str__(self) -> str:
        return f"[{self.schema}]"


class TableColumnLineageMetadataValue(_Structured):
    """Where each column comes from (``MetadataValue.column_lineage(lineage)``): the kind
    of value stored under ``dagster/column_lineage``."""

    __slots__ = ()
    TYPE_NAME = "table_column_lineage"

    def __init__(self, column_lineage: TableColumnLineage) -> None:
        if not isinstance(column_lineage, TableColumnLineage):
            raise TypeError(
                f"MetadataValue.column_lineage needs a TableColumnLineage, got {column_lineage!r}"
            )
        super().__init__(column_lineage)

    @property
    def column_lineage(self) -> TableColumnLineage:  # type: ignore[override]
        """The lineage."""
        return self.value  # type: ignore[no-any-return]

    def encode(self) -> Any:
        return self.column_lineage.to_json()

    @classmethod
    def decode(cls, data: Any) -> TableColumnLineageMetadataValue:
        if isinstance(data, TableColumnLineage):
            return cls(data)
        return cls(TableColumnLineage.from_json(data))

    def __str__(self) -> str:
        return str(self.column_lineage)


class DagsterAssetMetadataValue(_Structured):
    """A reference to an asset (``MetadataValue.asset(key)``)."""

    __slots__ = ()
    TYPE_NAME = "asset"

    def __init__(self, asset_key: CoercibleToAssetKey) -> None:
        super().__init__(AssetKey.from_coercible(asset_key))

    @property
    def asset_key(self) -> AssetKey:
        """The asset referred to."""
        return self.value  # type: ignore[no-any-return]

    def encode(self) -> Any:
        return list(self.asset_key.parts)

    @classmethod
    def decode(cls, data: Any) -> DagsterAssetMetadataValue:
        return cls(data if isinstance(data, AssetKey) else AssetKey(data))

    def __str__(self) -> str:
        return self.asset_key.to_user_string()


class _JobReference(NamedTuple):
    job_name: str
    location_name: str | None = None
    repository_name: str | None = None


class DagsterJobMetadataValue(_Structured):
    """A reference to a job (``MetadataValue.job(job_name, location_name)``)."""

    __slots__ = ()
    TYPE_NAME = "job"

    def __init__(
        self,
        job_name: str,
        location_name: str | None = None,
        repository_name: str | None = None,
    ) -> None:
        if not isinstance(job_name, str):
            raise TypeError(f"MetadataValue.job needs a job name string, got {job_name!r}")
        super().__init__(_JobReference(job_name, location_name, repository_name))

    @property
    def job_name(self) -> str:
        """The job's name."""
        return self.value.job_name  # type: ignore[no-any-return]

    @property
    def location_name(self) -> str | None:
        """The code location the job is in, if given."""
        return self.value.location_name  # type: ignore[no-any-return]

    @property
    def repository_name(self) -> str | None:
        """The repository the job is in, if given."""
        return self.value.repository_name  # type: ignore[no-any-return]

    def encode(self) -> Any:
        return self.value._asdict()

    @classmethod
    def decode(cls, data: Any) -> DagsterJobMetadataValue:
        if isinstance(data, _JobReference):
            return cls(*data)
        return cls(data["job_name"], data.get("location_name"), data.get("repository_name"))

    def __str__(self) -> str:
        return self.job_name


class DagsterRunMetadataValue(_Structured):
    """A reference to a run (``MetadataValue.dagster_run(run_id)``)."""

    __slots__ = ()
    TYPE_NAME = "dagster_run"

    def __init__(self, run_id: str) -> None:
        if not isinstance(run_id, str):
            raise TypeError(f"MetadataValue.dagster_run needs a run id string, got {run_id!r}")
        super().__init__(run_id)

    @property
    def run_id(self) -> str:
        """The run's id."""
        return self.value  # type: ignore[no-any-return]

    def encode(self) -> Any:
        return self.run_id

    @classmethod
    def decode(cls, data: Any) -> DagsterRunMetadataValue:
        return cls(data)

    def __str__(self) -> str:
        return self.run_id


class NotebookMetadataValue(_Structured):
    """The path of a notebook (``MetadataValue.notebook(path)``)."""

    __slots__ = ()
    TYPE_NAME = "notebook"

    def __init__(self, path: Any) -> None:
        super().__init__(str(path))

    @property
    def path(self) -> str:  # type: ignore[override]
        """The notebook's path."""
        return self.value  # type: ignore[no-any-return]

    def encode(self) -> Any:
        return self.path

    @classmethod
    def decode(cls, data: Any) -> NotebookMetadataValue:
        return cls(data)

    def __str__(self) -> str:
        return self.path


class LocalFileCodeReference(NamedTuple):
    """Where an asset's code lives on disk: a file and, optionally, a line and a label."""

    file_path: str
    line_number: int | None = None
    label: str | None = None


class UrlCodeReference(NamedTuple):
    """Where an asset's code lives online (a source-control URL), with a label."""

    url: str
    label: str | None = None


CodeReference = LocalFileCodeReference | UrlCodeReference


class CodeReferencesMetadataValue(_Structured):
    """The places an asset's code lives (``dagster/code_references`` metadata):
    ``LocalFileCodeReference`` and ``UrlCodeReference`` objects."""

    __slots__ = ()
    TYPE_NAME = "code_references"

    def __init__(
        self, code_references: Sequence[LocalFileCodeReference | UrlCodeReference]
    ) -> None:
        references = tuple(code_references)
        for reference in references:
            if not isinstance(reference, (LocalFileCodeReference, UrlCodeReference)):
                raise TypeError(
                    "CodeReferencesMetadataValue takes LocalFileCodeReference and "
                    f"UrlCodeReference objects, got {reference!r}"
                )
        super().__init__(references)

    @property
    def code_references(self) -> list[CodeReference]:
        """The references, in order."""
        return list(self.value)

    def encode(self) -> Any:
        return [
            {"url": r.url, "label": r.label}
            if isinstance(r, UrlCodeReference)
            else {"file_path": r.file_path, "line_number": r.line_number, "label": r.label}
            for r in self.value
        ]

    @classmethod
    def decode(cls, data: Any) -> CodeReferencesMetadataValue:
        if isinstance(data, tuple):
            return cls(data)
        return cls(
            [
                UrlCodeReference(**item) if "url" in item else LocalFileCodeReference(**item)
                for item in data
            ]
        )


class _PythonArtifact(NamedTuple):
    module: str
    name: str


class PythonArtifactMetadataValue(_Structured):
    """A reference to a Python object by module and name
    (``MetadataValue.python_artifact(fn)``)."""

    __slots__ = ()
    TYPE_NAME = "python_artifact"

    def __init__(self, module: str, name: str) -> None:
        super().__init__(_PythonArtifact(str(module), str(name)))

    @property
    def module(self) -> str:
        """The module that holds the object."""
        return self.value.module  # type: ignore[no-any-return]

    @property
    def name(self) -> str:
        """The object's name in its module."""
        return self.value.name  # type: ignore[no-any-return]

    def encode(self) -> Any:
        return {"module": self.module, "name": self.name}

    @classmethod
    def decode(cls, data: Any) -> PythonArtifactMetadataValue:
        return cls(data["module"], data["name"]) if isinstance(data, dict) else cls(*data)

    def __str__(self) -> str:
        return f"{self.module}.{self.name}"


KIND_CLASSES: Mapping[str, type[_Structured]] = {
    cls.TYPE_NAME: cls
    for cls in (
        TableMetadataValue,
        TableSchemaMetadataValue,
        TableColumnLineageMetadataValue,
        DagsterAssetMetadataValue,
        DagsterJobMetadataValue,
        DagsterRunMetadataValue,
        NotebookMetadataValue,
        CodeReferencesMetadataValue,
        PythonArtifactMetadataValue,
    )
}

# Plain objects given as metadata that become one of these kinds, as in Dagster.
WRAPPERS: Mapping[type, Callable[[Any], MetadataValue]] = {
    TableSchema: TableSchemaMetadataValue,
    TableColumnLineage: TableColumnLineageMetadataValue,
    AssetKey: DagsterAssetMetadataValue,
}


def encode(value: MetadataValue) -> tuple[bool, Any]:
    """``(True, json)`` for a structured value, ``(False, None)`` for any other."""
    if isinstance(value, _Structured):
        return True, value.encode()
    return False, None


def decode(type_name: str, data: Any) -> MetadataValue | None:
    """The structured value of ``type_name`` stored as ``data`` (None: not such a kind)."""
    cls = KIND_CLASSES.get(type_name)
    return cls.decode(data) if cls is not None else None


class TableMetadataSet(Mapping[str, Any]):
    """Dagster's standard table metadata under its ``dagster/`` keys: ``column_schema``
    (``dagster/column_schema``), ``column_lineage``, ``row_count``,
    ``partition_row_count``, ``table_name`` and ``storage_kind``.

    A mapping of the keys that were given, so ``metadata={**TableMetadataSet(row_count=3)}``
    attaches them; ``TableMetadataSet.extract(metadata)`` reads them back from any
    metadata dict (plain values, as they were given; the older key
    ``dagster/relation_identifier`` is read as ``table_name``). Dagster keeps this class
    out of its top-level names; Trellis exports it.
    """

    NAMESPACE = "dagster"
    FIELDS = (
        "column_schema",
        "column_lineage",
        "row_count",
        "partition_row_count",
        "table_name",
        "storage_kind",
    )
    LEGACY_KEYS: Mapping[str, str] = {"relation_identifier": "table_name"}
    _TYPES: Mapping[str, tuple[type, ...]] = {
        "column_schema": (TableSchema,),
        "column_lineage": (TableColumnLineage,),
        "row_count": (int,),
        "partition_row_count": (int,),
        "table_name": (str,),
        "storage_kind": (str,),
    }

    def __init__(
        self,
        *,
        column_schema: TableSchema | None = None,
        column_lineage: TableColumnLineage | None = None,
        row_count: int | None = None,
        partition_row_count: int | None = None,
        table_name: str | None = None,
        storage_kind: str | None = None,
    ) -> None:
        given = {
            "column_schema": column_schema,
            "column_lineage": column_lineage,
            "row_count": row_count,
            "partition_row_count": partition_row_count,
            "table_name": table_name,
            "storage_kind": storage_kind,
        }
        for name, value in given.items():
            types = self._TYPES[name]
            if value is not None and (
                not isinstance(value, types) or (types == (int,) and isinstance(value, bool))
            ):
                raise TypeError(
                    f"TableMetadataSet {name} must be {types[0].__name__}, got {value!r}"
                )
        self._values = {name: value for name, value in given.items() if value is not None}

    @classmethod
    def namespaced(cls, field: str) -> str:
        """The metadata key of ``field``: ``dagster/<field>``."""
        return f"{cls.NAMESPACE}/{field}"

    @classmethod
    def extract(cls, metadata: Mapping[str, Any]) -> TableMetadataSet:
        """The table fields found in ``metadata`` (metadata values unwrapped)."""
        found: dict[str, Any] = {}
        for legacy, name in cls.LEGACY_KEYS.items():
            value = metadata.get(cls.namespaced(legacy))
            if value is not None:
                found[name] = value.value if isinstance(value, MetadataValue) else value
        for name in cls.FIELDS:
            value = metadata.get(cls.namespaced(name))
            if value is not None:
                found[name] = value.value if isinstance(value, MetadataValue) else value
        return cls(**found)

    def __getattr__(self, name: str) -> Any:
        if name in TableMetadataSet.FIELDS:
            return self._values.get(name)
        raise AttributeError(name)

    def __getitem__(self, key: str) -> Any:
        prefix = f"{self.NAMESPACE}/"
        if key.startswith(prefix) and key[len(prefix) :] in self._values:
            return self._values[key[len(prefix) :]]
        raise KeyError(key)

    def __iter__(self) -> Any:
        return iter([self.namespaced(name) for name in self._values])

    def __len__(self) -> int:
        return len(self._values)

    def __repr__(self) -> str:
        fields = ", ".join(f"{k}={v!r}" for k, v in self._values.items())
        return f"TableMetadataSet({fields})"
