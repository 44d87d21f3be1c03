"""``DuckDBPandasTypeHandler`` stores pandas DataFrames as DuckDB tables and loads them
back; ``DuckDBPandasIOManager`` and ``duckdb_pandas_io_manager`` are the DuckDB IO manager
with that handler, loading unannotated inputs as DataFrames."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

import duckdb
import pandas as pd

from trellis import (
    InputContext,
    MetadataValue,
    OutputContext,
    TableColumn,
    TableMetadataSet,
    TableSchema,
)
from trellis_duckdb import (
    DbTypeHandler,
    DuckDBIOManager,
    TableSlice,
    build_duckdb_io_manager,
)
from trellis_duckdb.io_manager import get_select_statement, qualified_table_name


def dataframe_schema(obj: pd.DataFrame) -> TableSchema:
    """The DataFrame's columns and their dtypes as a ``TableSchema``."""
    return TableSchema([TableColumn(str(name), str(dtype)) for name, dtype in obj.dtypes.items()])


class DuckDBPandasTypeHandler(DbTypeHandler[pd.DataFrame]):
    """Stores pandas DataFrames in DuckDB tables and loads them back.

    Give it to a ``DuckDBIOManager`` subclass (``type_handlers``) or to
    ``build_duckdb_io_manager``. Writing an unpartitioned asset replaces its table (so new
    columns are picked up); writing partitions inserts the rows by column name into the
    table, whose old rows for those partitions the IO manager has deleted. The index is
    not stored.
    """

    def handle_output(
        self,
        context: OutputContext,
        table_slice: TableSlice,
        obj: pd.DataFrame,
        connection: duckdb.DuckDBPyConnection,
    ) -> dict[str, Any]:
        """Write ``obj`` into the slice; the metadata has its row count and columns."""
        view = f"__trellis_df_{uuid.uuid4().hex}"
        target = qualified_table_name(table_slice)
        connection.register(view, obj)
        try:
            if not table_slice.partition_dimensions:
                connection.execute(f"CREATE OR REPLACE TABLE {target} AS SELECT * FROM {view}")
            else:
                connection.execute(
                    f"CREATE TABLE IF NOT EXISTS {target} AS SELECT * FROM {view} LIMIT 0"
                )
                connection.execute(f"INSERT INTO {target} BY NAME SELECT * FROM {view}")
        finally:
            connection.unregister(view)
        # A write of partitions counts that slice's rows, not the whole table's.
        rows = int(obj.shape[0])
        schema = dataframe_schema(obj)
        counted = (
            TableMetadataSet(partition_row_count=rows)
            if table_slice.partition_dimensions
            else TableMetadataSet(row_count=rows)
        )
        return {
            **counted,
            **TableMetadataSet(column_schema=schema),
            "dataframe_columns": MetadataValue.table_schema(schema),
        }

    def load_input(
        self, context: InputContext, table_slice: TableSlice, connection: duckdb.DuckDBPyConnection
    ) -> pd.DataFrame:
        """The slice's rows (its selected columns) as a DataFrame."""
        if table_slice.partition_dimensions and not context.asset_partition_keys:
            return pd.DataFrame()
        return connection.execute(get_select_statement(table_slice)).fetchdf()

    @property
    def supported_types(self) -> Sequence[type]:
        """``pandas.DataFrame``."""
        return [pd.DataFrame]


duckdb_pandas_io_manager = build_duckdb_io_manager(
    [DuckDBPandasTypeHandler()], default_load_type=pd.DataFrame
)
"""An IO manager definition storing pandas DataFrames in DuckDB; configure it with
``duckdb_pandas_io_manager.configured({"database": "db.duckdb"})`` (and optionally
``schema`` and ``connection_config``). Unannotated inputs are loaded as DataFrames."""


class DuckDBPandasIOManager(DuckDBIOManager):
    """Stores pandas DataFrames as DuckDB tables, one per asset, in a schema per key prefix;
    unannotated inputs are loaded as DataFrames::

        @asset(key_prefix=["sales"])  # the table sales.orders
        def orders() -> pd.DataFrame: ...

        defs = Definitions(
            assets=[orders], resources={"io_manager": DuckDBPandasIOManager(database="db.duckdb")}
        )
    """

    @staticmethod
    def type_handlers() -> Sequence[DbTypeHandler]:
        """The pandas type handler."""
        return [DuckDBPandasTypeHandler()]

    @staticmethod
    def default_load_type() -> type | None:
        """``pandas.DataFrame``."""
        return pd.DataFrame
