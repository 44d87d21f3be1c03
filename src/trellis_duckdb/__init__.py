"""DuckDB for Trellis: ``DuckDBResource`` for assets that run their own SQL, and the DuckDB
IO manager (``DuckDBIOManager``, ``build_duckdb_io_manager``) that stores each asset as a
table through type handlers (``DbTypeHandler``; pandas: ``trellis_duckdb_pandas``).

Install with ``pip install 'trellis[duckdb]'``. The names follow ``dagster_duckdb``'s, so
a Dagster project ports by changing its imports.
"""

from trellis_duckdb.io_manager import (
    DbIOManager,
    DbTypeHandler,
    DuckDBIOManager,
    MissingPartitionExprError,
    TablePartitionDimension,
    TableSlice,
    build_duckdb_io_manager,
)
from trellis_duckdb.resource import DuckDBResource, connect_duckdb

__all__ = [
    "DbIOManager",
    "DbTypeHandler",
    "DuckDBIOManager",
    "DuckDBResource",
    "MissingPartitionExprError",
    "TablePartitionDimension",
    "TableSlice",
    "build_duckdb_io_manager",
    "connect_duckdb",
]
