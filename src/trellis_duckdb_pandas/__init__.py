"""pandas DataFrames in DuckDB for Trellis: ``DuckDBPandasIOManager`` (configurable),
``duckdb_pandas_io_manager`` (a definition to ``.configured(...)``) and the type handler
behind both, ``DuckDBPandasTypeHandler``. The names follow ``dagster_duckdb_pandas``'s.
"""

from trellis_duckdb_pandas.type_handler import (
    DuckDBPandasIOManager,
    DuckDBPandasTypeHandler,
    duckdb_pandas_io_manager,
)

__all__ = ["DuckDBPandasIOManager", "DuckDBPandasTypeHandler", "duckdb_pandas_io_manager"]
