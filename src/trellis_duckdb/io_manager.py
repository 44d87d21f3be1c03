"""The DuckDB IO manager: each asset is a table, written and read through type handlers.

``DbIOManager`` works out which table (and which rows of it) an output or input is about,
as a ``TableSlice``; a ``DbTypeHandler`` moves one kind of in-memory object (a pandas
DataFrame, ...) in and out of that slice. ``DuckDBIOManager`` (a configurable IO manager
to subclass) and ``build_duckdb_io_manager`` (a function) put the two together.

Where an asset is stored:

- the table is the last part of the asset key (an op output: the output's name);
- the schema is the asset's ``schema`` definition metadata, else the IO manager's
  ``schema`` config, else the key's prefix (``["sales", "orders"]`` → ``sales.orders``),
  else ``public``;
- a partitioned asset names the column (or SQL expression) that holds its partition in
  its ``partition_expr`` definition metadata. Writing a partition first deletes that
  partition's rows; reading selects the partitions the input covers: a time window as
  ``expr >= 'start' AND expr < 'end'``, other partitions as ``expr in ('a', 'b')``;
- an input's ``columns`` metadata (``AssetIn(metadata={"columns": [...]})``) selects
  only those columns.
"""

from __future__ import annotations

import typing
import warnings
from abc import ABC, abstractmethod
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any, Generic, NamedTuple, TypeVar

import duckdb
from pydantic import Field

from trellis import (
    ConfigurableIOManagerFactory,
    InputContext,
    InvalidDefinitionError,
    IOManager,
    IOManagerDefinition,
    OutputContext,
    TableMetadataSet,
    TimeWindow,
    TimeWindowPartitionsDefinition,
    io_manager,
)
from trellis_duckdb.resource import connect_duckdb, quote_identifier, quote_literal

T = TypeVar("T")

DUCKDB_DATETIME_FORMAT = "%Y-%m-%d %H:%M:%S"
"""How a time window's bounds are written in the ``WHERE`` clause (wall-clock time of the
partitions definition's timezone)."""


class MissingPartitionExprError(InvalidDefinitionError, ValueError):
    """A partitioned asset is stored in DuckDB without ``partition_expr`` metadata, so there
    is no column to select its partitions by."""


class TablePartitionDimension(NamedTuple):
    """The rows of one partition dimension: ``partition_expr`` (a column or SQL expression)
    within a ``TimeWindow``, or equal to one of a list of partition keys."""

    partition_expr: str
    partitions: TimeWindow | Sequence[str]


class TableSlice(NamedTuple):
    """The part of a table an IO call is about: which table, which columns (None: all)
    and which partitions (none: every row). ``database`` is the DuckDB catalog the table
    is in (the database file's name without extension), filled in once connected; SQL
    names the table with it, so a schema named like the file is not ambiguous."""

    table: str
    schema: str
    database: str | None = None
    columns: Sequence[str] | None = None
    partition_dimensions: Sequence[TablePartitionDimension] | None = None


class DbTypeHandler(ABC, Generic[T]):
    """Moves one kind of object between memory and a table slice.

    ``handle_output`` writes ``obj`` into the slice (the IO manager has already created
    the schema and deleted the slice's old rows) and may return output metadata;
    ``load_input`` reads the slice. ``supported_types`` lists the classes it handles.
    """

    @abstractmethod
    def handle_output(
        self,
        context: OutputContext,
        table_slice: TableSlice,
        obj: T,
        connection: duckdb.DuckDBPyConnection,
    ) -> Mapping[str, Any] | None:
        """Write ``obj`` into ``table_slice``; return metadata for the output, or None."""

    @abstractmethod
    def load_input(
        self, context: InputContext, table_slice: TableSlice, connection: duckdb.DuckDBPyConnection
    ) -> T:
        """Read ``table_slice`` as an object of this handler's type."""

    @property
    @abstractmethod
    def supported_types(self) -> Sequence[type]:
        """The classes this handler stores and loads."""


# -- SQL -------------------------------------------------------------------------------


def qualified_schema_name(table_slice: TableSlice) -> str:
    """``"catalog"."schema"`` (or ``"schema"`` without a catalog) for use in SQL."""
    schema = quote_identifier(table_slice.schema)
    return f"{quote_identifier(table_slice.database)}.{schema}" if table_slice.database else schema


def qualified_table_name(table_slice: TableSlice) -> str:
    """``"catalog"."schema"."table"`` (or ``"schema"."table"``) for use in SQL."""
    return f"{qualified_schema_name(table_slice)}.{quote_identifier(table_slice.table)}"


def _time_window_condition(dimension: TablePartitionDimension) -> str:
    start, end = dimension.partitions  # type: ignore[misc]
    expr = dimension.partition_expr
    return (
        f"{expr} >= '{start.strftime(DUCKDB_DATETIME_FORMAT)}' AND "
        f"{expr} < '{end.strftime(DUCKDB_DATETIME_FORMAT)}'"
    )


def _static_condition(dimension: TablePartitionDimension) -> str:
    keys = ", ".join(quote_literal(key) for key in dimension.partitions)
    return f"{dimension.partition_expr} in ({keys})"


def partition_where_clause(dimensions: Sequence[TablePartitionDimension]) -> str:
    """The ``WHERE`` condition (without the keyword) that selects the partitions."""
    return " AND\n".join(
        _time_window_condition(d) if isinstance(d.partitions, TimeWindow) else _static_condition(d)
        for d in dimensions
    )


def get_select_statement(table_slice: TableSlice) -> str:
    """The ``SELECT`` that reads ``table_slice``."""
    columns = (
        ", ".join(quote_identifier(c) for c in table_slice.columns) if table_slice.columns else "*"
    )
    query = f"SELECT {columns} FROM {qualified_table_name(table_slice)}"
    if table_slice.partition_dimensions:
        query += " WHERE\n" + partition_where_clause(table_slice.partition_dimensions)
    return query


def get_cleanup_statement(table_slice: TableSlice) -> str:
    """The ``DELETE`` that makes room for a new write of ``table_slice``."""
    query = f"DELETE FROM {qualified_table_name(table_slice)}"
    if table_slice.partition_dimensions:
        query += " WHERE\n" + partition_where_clause(table_slice.partition_dimensions)
    return query


def table_exists(connection: duckdb.DuckDBPyConnection, table_slice: TableSlice) -> bool:
    """Whether the slice's table exists in the connected database."""
    # fetchall, not fetchone: DuckDB refuses other work (registering a DataFrame, ...) on
    # a connection whose last result was not read to the end.
    rows = connection.execute(
        "SELECT count(*) FROM duckdb_tables() "
        "WHERE lower(database_name) = lower(coalesce(?, current_database())) "
        "AND lower(schema_name) = lower(?) AND lower(table_name) = lower(?)",
        [table_slice.database, table_slice.schema, table_slice.table],
    ).fetchall()
    return bool(rows[0][0])


def current_catalog(connection: duckdb.DuckDBPyConnection) -> str:
    """The name of the connection's default catalog (a file database's name)."""
    return connection.execute("SELECT current_database()").fetchall()[0][0]


# -- the IO manager --------------------------------------------------------------------


def _load_type(context: InputContext) -> Any:
    """The class an input asks for: its annotation (Trellis keeps the annotation itself
    as ``dagster_type``; a Dagster-style type object offers ``typing_type``), or ``Any``."""
    declared = context.dagster_type
    declared = getattr(declared, "typing_type", declared)
    return Any if declared is None or declared is typing.Any else declared


class DbIOManager(IOManager):
    """Stores outputs in and loads inputs from a DuckDB database through type handlers.

    ``default_load_type`` is the type an unannotated input is loaded as; with a single
    handler of a single type, that type.
    """

    def __init__(
        self,
        *,
        type_handlers: Sequence[DbTypeHandler],
        database: str,
        schema: str | None = None,
        connection_config: Mapping[str, Any] | None = None,
        default_load_type: type | None = None,
        io_manager_name: str = "DuckDBIOManager",
    ) -> None:
        self._name = io_manager_name
        self._handlers_by_type: dict[type, DbTypeHandler] = {}
        for handler in type_handlers:
            for handled in handler.supported_types:
                if handled in self._handlers_by_type:
                    raise InvalidDefinitionError(
                        f"{self._name} was given two handlers for the type '{handled}': "
                        f"{type(self._handlers_by_type[handled]).__name__} and "
                        f"{type(handler).__name__}."
                    )
                self._handlers_by_type[handled] = handler
        self.database = database
        self.schema = schema
        self.connection_config = dict(connection_config or {})
        if (
            default_load_type is None
            and len(type_handlers) == 1
            and len(type_handlers[0].supported_types) == 1
        ):
            default_load_type = type_handlers[0].supported_types[0]
        self.default_load_type = default_load_type

    @contextmanager
    def connect(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """A connection to the database (retrying on lock conflicts), closed afterwards."""
        connection = connect_duckdb(self.database, self.connection_config)
        try:
            yield connection
        finally:
            connection.close()

    def handle_output(self, context: OutputContext, obj: object) -> None:
        """Replace the output's table (or the partitions the output covers) with ``obj``."""
        if obj is None:
            raise TypeError(
                f"{self._name} got None for output '{context.name}'"
                + (f" of asset {context.asset_key.to_user_string()}" if context.asset_key else "")
                + ". If no value is meant, annotate the function's return type as None."
            )
        handler = self._handler_for(type(obj), "store outputs of")
        table_slice = self.get_table_slice(context, context)
        with self.connect() as connection:
            table_slice = table_slice._replace(database=current_catalog(connection))
            # One transaction: a failed write leaves the old rows in place.
            connection.begin()
            try:
                connection.execute(
                    f"CREATE SCHEMA IF NOT EXISTS {qualified_schema_name(table_slice)}"
                )
                if table_exists(connection, table_slice):
                    connection.execute(get_cleanup_statement(table_slice))
                metadata = handler.handle_output(context, table_slice, obj, connection)
            except BaseException:
                connection.rollback()
                raise
            connection.commit()
        name = ".".join((table_slice.database or "", table_slice.schema, table_slice.table))
        context.add_output_metadata(
            {
                **(metadata or {}),
                "Query": get_select_statement(table_slice),
                **TableMetadataSet(table_name=name),
                "dagster/relation_identifier": name,  # the key older readers look for
            }
        )

    def load_input(self, context: InputContext) -> object:
        """Read the upstream output's table (its columns and partitions this input asks
        for) as the input's type."""
        load_type = _load_type(context)
        if load_type is Any and self.default_load_type is not None:
            load_type = self.default_load_type
        handler = self._handler_for(load_type, "load inputs as")
        if context.upstream_output is None:
            raise InvalidDefinitionError(
                f"{self._name} cannot load input '{context.name}': it has no upstream output."
            )
        table_slice = self.get_table_slice(context, context.upstream_output)
        with self.connect() as connection:
            table_slice = table_slice._replace(database=current_catalog(connection))
            return handler.load_input(context, table_slice, connection)

    def _handler_for(self, cls: Any, doing: str) -> DbTypeHandler:
        if isinstance(cls, type):
            for handled, handler in self._handlers_by_type.items():
                if issubclass(cls, handled):
                    return handler
        known = ", ".join(getattr(t, "__qualname__", str(t)) for t in self._handlers_by_type)
        hint = (
            f" Annotate the input with one of them ({known})."
            if cls is Any
            else f" Give {self._name} a type handler for {cls!r}."
        )
        raise TypeError(
            f"{self._name} cannot {doing} type {cls!r}: its type handlers support {known}.{hint}"
        )

    def get_table_slice(
        self, context: OutputContext | InputContext, output_context: OutputContext
    ) -> TableSlice:
        """The table, columns and partitions ``context`` is about (``database``, the
        catalog, is filled in once connected); ``output_context`` is the output that wrote
        the table (the context itself when storing)."""
        metadata = output_context.definition_metadata or {}
        dimensions: list[TablePartitionDimension] = []
        if context.has_asset_key:
            path = context.asset_key.path
            table = path[-1]
            schema = metadata.get("schema") or self.schema or (path[-2] if len(path) > 1 else None)
            if context.has_asset_partitions:
                dimensions.append(self._partition_dimension(context, metadata))
        else:
            table = output_context.name
            schema = metadata.get("schema") or self.schema
        return TableSlice(
            table=table,
            schema=schema or "public",
            columns=(context.definition_metadata or {}).get("columns"),
            partition_dimensions=dimensions,
        )

    @staticmethod
    def _partition_dimension(
        context: OutputContext | InputContext, metadata: Mapping[str, Any]
    ) -> TablePartitionDimension:
        asset = context.asset_key.to_user_string()
        expr = metadata.get("partition_expr")
        if expr is None:
            raise MissingPartitionExprError(
                f"Asset {asset} is partitioned but has no 'partition_expr' metadata, so the "
                "DuckDB IO manager does not know which column holds its partition. Name the "
                "column (or a SQL expression) in the asset's definition metadata, e.g. "
                '@asset(partitions_def=..., metadata={"partition_expr": "day"}).'
            )
        if not isinstance(expr, str):
            raise InvalidDefinitionError(
                f"Asset {asset}: 'partition_expr' must be a column name or SQL expression "
                f"(a string), got {expr!r}."
            )
        keys = context.asset_partition_keys
        if isinstance(context.asset_partitions_def, TimeWindowPartitionsDefinition) and keys:
            return TablePartitionDimension(expr, context.asset_partitions_time_window)
        return TablePartitionDimension(expr, list(keys))


# ``schema`` is the config key in Dagster's API too; pydantic warns that the field shadows
# BaseModel's deprecated ``schema()`` method.
with warnings.catch_warnings():
    warnings.filterwarnings("ignore", message='Field name "schema"', category=UserWarning)

    class DuckDBIOManager(ConfigurableIOManagerFactory):
        """Base class of configurable IO managers that store assets as DuckDB tables.

        Subclass it and say which type handlers to use::

            class MyDuckDBIOManager(DuckDBIOManager):
                @staticmethod
                def type_handlers() -> Sequence[DbTypeHandler]:
                    return [DuckDBPandasTypeHandler()]

            @asset(key_prefix=["sales"])  # the table sales.orders
            def orders() -> pd.DataFrame: ...

            defs = Definitions(
                assets=[orders], resources={"io_manager": MyDuckDBIOManager(database="db.duckdb")}
            )

        The schema is the asset's ``schema`` metadata, else this ``schema`` config, else the
        asset key's prefix, else ``public``. A partitioned asset needs ``partition_expr``
        metadata; an input's ``columns`` metadata selects columns.
        """

        database: str = Field(description="Path to the DuckDB database file.")
        connection_config: dict[str, Any] = Field(
            default_factory=dict,
            description="DuckDB settings for each connection (duckdb.connect's config).",
        )
        schema: str | None = Field(
            default=None,
            description="The schema for assets that name none in their metadata.",
        )

        @property
        def schema_(self) -> str | None:
            """The ``schema`` config (the attribute's name in Dagster's class)."""
            return self.schema

        @staticmethod
        @abstractmethod
        def type_handlers() -> Sequence[DbTypeHandler]:
            """The type handlers that store and load objects."""

        @staticmethod
        def default_load_type() -> type | None:
            """The type an input without an annotation is loaded as (None: the single
            handler's type when there is exactly one)."""
            return None

        def create_io_manager(self, context: Any) -> DbIOManager:
            """The IO manager a run uses."""
            return DbIOManager(
                type_handlers=self.type_handlers(),
                database=self.database,
                schema=self.schema,
                connection_config=self.connection_config,
                default_load_type=self.default_load_type(),
                io_manager_name=type(self).__name__,
            )


def build_duckdb_io_manager(
    type_handlers: Sequence[DbTypeHandler], default_load_type: type | None = None
) -> IOManagerDefinition:
    """An IO manager definition that stores assets as DuckDB tables with ``type_handlers``,
    configured like ``DuckDBIOManager`` (``database``, ``schema``, ``connection_config``)::

        duckdb_io_manager = build_duckdb_io_manager([DuckDBPandasTypeHandler()])
        defs = Definitions(
            assets=[orders],
            resources={"io_manager": duckdb_io_manager.configured({"database": "db.duckdb"})},
        )

    ``default_load_type`` is the type unannotated inputs are loaded as.
    """
    handlers = list(type_handlers)

    @io_manager(config_schema=DuckDBIOManager.to_config_schema())
    def duckdb_io_manager(init_context: Any) -> DbIOManager:
        """Stores assets as DuckDB tables (one schema per key prefix, one table per asset)."""
        config = init_context.resource_config or {}
        return DbIOManager(
            type_handlers=handlers,
            database=config["database"],
            schema=config.get("schema"),
            connection_config=config.get("connection_config"),
            default_load_type=default_load_type,
        )

    return duckdb_io_manager
