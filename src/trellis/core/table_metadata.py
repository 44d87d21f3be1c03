"""Table metadata: the schema, records, constraints and column lineage of a table.

These are the plain values behind ``MetadataValue.table``, ``.table_schema`` and
``.column_lineage`` (``trellis.core.metadata_kinds``), named and shaped as Dagster's, so a
ported project builds them unchanged and readers of ``dagster/column_schema`` find what
they expect. Each is immutable, compares by value, and has one JSON form
(``to_json`` / ``from_json``) that the event log stores.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, NamedTuple

from trellis.core.asset_key import AssetKey, CoercibleToAssetKey

_SCALARS = (str, int, float, bool, type(None))


def _strings(value: Sequence[str] | None, what: str) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str) or not all(isinstance(v, str) for v in value):
        raise TypeError(f"{what} must be a list of strings, got {value!r}")
    return tuple(value)


class _TableColumnConstraintsFields(NamedTuple):
    nullable: bool
    unique: bool
    other: tuple[str, ...]


class TableColumnConstraints(_TableColumnConstraintsFields):
    """What holds for the values of one column: ``nullable``, ``unique``, and ``other``
    constraints described in words."""

    __slots__ = ()

    def __new__(
        cls, nullable: bool = True, unique: bool = False, other: Sequence[str] | None = None
    ) -> TableColumnConstraints:
        return super().__new__(
            cls, bool(nullable), bool(unique), _strings(other, "TableColumnConstraints.other")
        )

    def to_json(self) -> dict[str, Any]:
        """The stored form."""
        return {"nullable": self.nullable, "unique": self.unique, "other": list(self.other)}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> TableColumnConstraints:
        """The inverse of ``to_json``."""
        return cls(data.get("nullable", True), data.get("unique", False), data.get("other"))


class _TableConstraintsFields(NamedTuple):
    other: tuple[str, ...]


class TableConstraints(_TableConstraintsFields):
    """Constraints on a whole table, described in words (``other``)."""

    __slots__ = ()

    def __new__(cls, other: Sequence[str] | None = None) -> TableConstraints:
        return super().__new__(cls, _strings(other, "TableConstraints.other"))

    def to_json(self) -> dict[str, Any]:
        """The stored form."""
        return {"other": list(self.other)}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> TableConstraints:
        """The inverse of ``to_json``."""
        return cls(data.get("other"))


class _TableColumnFields(NamedTuple):
    name: str
    type: str
    description: str | None
    constraints: TableColumnConstraints
    tags: Mapping[str, str]


class TableColumn(_TableColumnFields):
    """One column of a table: its ``name``, its ``type`` as text (``"string"`` unless
    given), a ``description``, its ``constraints`` and ``tags``."""

    __slots__ = ()

    def __new__(
        cls,
        name: str,
        type: str = "string",
        description: str | None = None,
        constraints: TableColumnConstraints | None = None,
        tags: Mapping[str, str] | None = None,
    ) -> TableColumn:
        if not isinstance(name, str):
            raise TypeError(f"TableColumn name must be a string, got {name!r}")
        if not isinstance(type, str):
            raise TypeError(f"TableColumn '{name}': type must be a string, got {type!r}")
        if constraints is not None and not isinstance(constraints, TableColumnConstraints):
            raise TypeError(
                f"TableColumn '{name}': constraints must be TableColumnConstraints, got "
                f"{constraints!r}"
            )
        return super().__new__(
            cls,
            name,
            type,
            description,
            constraints or TableColumnConstraints(),
            dict(tags or {}),
        )

    def to_json(self) -> dict[str, Any]:
        """The stored form."""
        return {
            "name": self.name,
            "type": self.type,
            "description": self.description,
            "constraints": self.constraints.to_json(),
            "tags": dict(self.tags),
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> TableColumn:
        """The inverse of ``to_json``."""
        constraints = data.get("constraints")
        return cls(
            data["name"],
            data.get("type", "string"),
            data.get("description"),
            TableColumnConstraints.from_json(constraints) if constraints else None,
            data.get("tags"),
        )


class _TableSchemaFields(NamedTuple):
    columns: tuple[TableColumn, ...]
    constraints: TableConstraints


class TableSchema(_TableSchemaFields):
    """The columns of a table (``TableColumn``s, in order) and its ``constraints``:
    the value of ``dagster/column_schema`` metadata."""

    __slots__ = ()

    def __new__(
        cls, columns: Sequence[TableColumn], constraints: TableConstraints | None = None
    ) -> TableSchema:
        columns = tuple(columns)
        for column in columns:
            if not isinstance(column, TableColumn):
                raise TypeError(f"TableSchema columns must be TableColumn, got {column!r}")
        if constraints is not None and not isinstance(constraints, TableConstraints):
            raise TypeError(
                f"TableSchema constraints must be TableConstraints, got {constraints!r}"
            )
        return super().__new__(cls, columns, constraints or TableConstraints())

    @staticmethod
    def from_name_type_dict(name_type_dict: Mapping[str, str]) -> TableSchema:
        """A schema of one column per ``name: type`` pair, in order."""
        return TableSchema([TableColumn(name, type_) for name, type_ in name_type_dict.items()])

    def to_json(self) -> dict[str, Any]:
        """The stored form."""
        return {
            "columns": [c.to_json() for c in self.columns],
            "constraints": self.constraints.to_json(),
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> TableSchema:
        """The inverse of ``to_json``."""
        constraints = data.get("constraints")
        return cls(
            [TableColumn.from_json(c) for c in data.get("columns", ())],
            TableConstraints.from_json(constraints) if constraints else None,
        )

    def __str__(self) -> str:
        return ", ".join(f"{c.name}: {c.type}" for c in self.columns)


class _TableRecordFields(NamedTuple):
    data: Mapping[str, str | int | float | bool | None]


class TableRecord(_TableRecordFields):
    """One row of a table: column names to plain values (text, numbers, bools, None)."""

    __slots__ = ()

    def __new__(cls, data: Mapping[str, Any]) -> TableRecord:
        if not isinstance(data, Mapping):
            raise TypeError(f"TableRecord data must be a mapping, got {data!r}")
        for name, value in data.items():
            if not isinstance(value, _SCALARS):
                raise TypeError(
                    f"TableRecord value of column '{name}' must be a string, number, bool or "
                    f"None, got {type(value).__name__}"
                )
        return super().__new__(cls, dict(data))

    def to_json(self) -> dict[str, Any]:
        """The stored form."""
        return dict(self.data)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> TableRecord:
        """The inverse of ``to_json``."""
        return cls(data)


class _TableColumnDepFields(NamedTuple):
    asset_key: AssetKey
    column_name: str


class TableColumnDep(_TableColumnDepFields):
    """A column that another column is computed from: its asset and column name."""

    __slots__ = ()

    def __new__(cls, asset_key: CoercibleToAssetKey, column_name: str) -> TableColumnDep:
        if not isinstance(column_name, str):
            raise TypeError(f"TableColumnDep column_name must be a string, got {column_name!r}")
        return super().__new__(cls, AssetKey.from_coercible(asset_key), column_name)

    def to_json(self) -> dict[str, Any]:
        """The stored form."""
        return {"asset_key": list(self.asset_key.parts), "column_name": self.column_name}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> TableColumnDep:
        """The inverse of ``to_json``."""
        return cls(AssetKey(data["asset_key"]), data["column_name"])


class _TableColumnLineageFields(NamedTuple):
    deps_by_column: Mapping[str, tuple[TableColumnDep, ...]]


class TableColumnLineage(_TableColumnLineageFields):
    """Which upstream columns each column of a table is computed from: the value of
    ``dagster/column_lineage`` metadata."""

    __slots__ = ()

    def __new__(cls, deps_by_column: Mapping[str, Sequence[TableColumnDep]]) -> TableColumnLineage:
        checked: dict[str, tuple[TableColumnDep, ...]] = {}
        for column, deps in deps_by_column.items():
            deps = tuple(deps)
            for dep in deps:
                if not isinstance(dep, TableColumnDep):
                    raise TypeError(
                        f"TableColumnLineage deps of column '{column}' must be TableColumnDep, "
                        f"got {dep!r}"
                    )
            checked[column] = deps
        return super().__new__(cls, checked)

    def to_json(self) -> dict[str, Any]:
        """The stored form."""
        return {c: [d.to_json() for d in deps] for c, deps in self.deps_by_column.items()}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> TableColumnLineage:
        """The inverse of ``to_json``."""
        return cls({c: [TableColumnDep.from_json(d) for d in deps] for c, deps in data.items()})

    def __str__(self) -> str:
        parts = []
        for column, deps in self.deps_by_column.items():
            sources = ", ".join(f"{d.asset_key.to_user_string()}.{d.column_name}" for d in deps)
            parts.append(f"{column} <- {sources}")
        return "; ".join(parts)


_PYTHON_COLUMN_TYPES = {bool: "bool", int: "int", float: "float", str: "string"}


def infer_schema(records: Sequence[TableRecord]) -> TableSchema:
    """The schema of a list of records when none was given: the first record's columns,
    typed by their Python values (``string`` for None)."""
    if not records:
        return TableSchema([])
    return TableSchema(
        [
            TableColumn(name, _PYTHON_COLUMN_TYPES.get(type(value), "string"))
            for name, value in records[0].data.items()
        ]
    )
