"""The DuckDB pandas IO manager: round trips between assets, where tables go (schema per
key prefix, ``schema`` metadata and config), column selection, output metadata, op
outputs, type handlers and the definition built by ``build_duckdb_io_manager``."""

from __future__ import annotations

from collections.abc import Sequence

import duckdb
import pandas as pd
import pytest

from trellis import (
    AssetIn,
    EventType,
    In,
    Out,
    TableColumn,
    TableMetadataSet,
    TableSchema,
    TableSchemaMetadataValue,
    asset,
    job,
    materialize,
    op,
)
from trellis_duckdb import DbTypeHandler, DuckDBIOManager, build_duckdb_io_manager
from trellis_duckdb_pandas import (
    DuckDBPandasIOManager,
    DuckDBPandasTypeHandler,
    duckdb_pandas_io_manager,
)

ORDERS = pd.DataFrame({"region": ["north", "south", "north"], "amount": [3.5, 2.0, 1.0]})


def _tables(database) -> set[str]:
    with duckdb.connect(str(database)) as conn:
        rows = conn.execute("SELECT schema_name, table_name FROM duckdb_tables()").fetchall()
    return {f"{schema}.{table}" for schema, table in rows}


def _read(database, sql) -> pd.DataFrame:
    with duckdb.connect(str(database)) as conn:
        return conn.execute(sql).fetchdf()


def _materialization(result, node):
    (materialization,) = result.asset_materializations_for_node(node)
    return {k: v.value for k, v in materialization.metadata.items()}


def test_round_trip_between_two_assets(tmp_path):
    database = tmp_path / "db.duckdb"

    @asset(key_prefix=["sales"])
    def orders() -> pd.DataFrame:
        return ORDERS

    @asset(ins={"orders": AssetIn(key_prefix=["sales"])})
    def by_region(orders: pd.DataFrame) -> pd.DataFrame:
        return orders.groupby("region", as_index=False)["amount"].sum()

    io = {"io_manager": DuckDBPandasIOManager(database=str(database))}
    result = materialize([orders, by_region], resources=io)

    assert result.success
    assert _tables(database) == {"sales.orders", "public.by_region"}
    pd.testing.assert_frame_equal(_read(database, "SELECT * FROM sales.orders"), ORDERS)
    stored = _read(database, "SELECT * FROM public.by_region ORDER BY region")
    assert stored.to_dict("list") == {"region": ["north", "south"], "amount": [4.5, 2.0]}
    # The downstream asset received what the upstream stored, read back from DuckDB.
    assert result.asset_value("by_region").sort_values("region")["amount"].tolist() == [4.5, 2.0]

    # A second materialization replaces the rows instead of appending.
    assert materialize([orders, by_region], resources=io).success
    assert len(_read(database, "SELECT * FROM sales.orders")) == 3


def test_output_metadata_has_row_count_columns_query_and_table(tmp_path):
    database = tmp_path / "db.duckdb"

    @asset(key_prefix=["sales"])
    def orders() -> pd.DataFrame:
        return ORDERS

    result = materialize(
        [orders], resources={"io_manager": DuckDBPandasIOManager(database=str(database))}
    )
    metadata = _materialization(result, "sales__orders")
    assert metadata["dagster/row_count"] == 3
    expected = TableSchema(
        [TableColumn("region", str(ORDERS.dtypes["region"])), TableColumn("amount", "float64")]
    )
    assert metadata["dagster/column_schema"] == expected
    assert metadata["dataframe_columns"] == expected
    assert metadata["Query"] == 'SELECT * FROM "db"."sales"."orders"'
    assert metadata["dagster/table_name"] == "db.sales.orders"
    assert metadata["dagster/relation_identifier"] == "db.sales.orders"
    (mat,) = result.asset_materializations_for_node("sales__orders")
    assert isinstance(mat.metadata["dagster/column_schema"], TableSchemaMetadataValue)
    assert TableMetadataSet.extract(mat.metadata).row_count == 3


def test_schema_and_table_naming(tmp_path):
    database = tmp_path / "db.duckdb"

    @asset(key_prefix=["a"])
    def b() -> pd.DataFrame:
        return ORDERS

    @asset
    def plain() -> pd.DataFrame:
        return ORDERS

    @asset(key_prefix=["ignored"], metadata={"schema": "chosen"})
    def by_metadata() -> pd.DataFrame:
        return ORDERS

    @asset(key_prefix=["one", "two"])
    def deep() -> pd.DataFrame:
        return ORDERS

    assets = [b, plain, by_metadata, deep]
    assert materialize(
        assets, resources={"io_manager": DuckDBPandasIOManager(database=str(database))}
    ).success
    # The last prefix part is the schema; no prefix (and no config) means public.
    assert _tables(database) == {"a.b", "public.plain", "chosen.by_metadata", "two.deep"}

    # The schema config applies to every asset without schema metadata, prefixed or not
    # (Dagster's order: metadata, then config, then key prefix, then public).
    other = tmp_path / "other.duckdb"
    io = {"io_manager": DuckDBPandasIOManager(database=str(other), schema="analytics")}
    assert materialize(assets, resources=io).success
    assert _tables(other) == {
        "analytics.b",
        "analytics.plain",
        "chosen.by_metadata",
        "analytics.deep",
    }


def test_a_schema_named_like_the_database_file_is_not_ambiguous(tmp_path):
    # DuckDB names a file database's catalog after the file: "sales"."orders" could mean
    # the catalog or the schema, so the IO manager names catalog, schema and table.
    database = tmp_path / "sales.duckdb"

    @asset(key_prefix=["sales"])
    def orders() -> pd.DataFrame:
        return ORDERS

    @asset(ins={"orders": AssetIn(key_prefix=["sales"])})
    def count(orders: pd.DataFrame) -> pd.DataFrame:
        return pd.DataFrame({"n": [len(orders)]})

    io = {"io_manager": DuckDBPandasIOManager(database=str(database))}
    assert materialize([orders, count], resources=io).success
    assert materialize([orders, count], resources=io).success
    assert _tables(database) == {"sales.orders", "public.count"}
    assert _read(database, "SELECT n FROM public.count")["n"].tolist() == [3]


def test_input_columns_metadata_selects_columns(tmp_path):
    database = tmp_path / "db.duckdb"
    seen = {}

    @asset
    def wide() -> pd.DataFrame:
        return pd.DataFrame({"a": [1, 2], "b": ["x", "y"], "c": [0.5, 1.5]})

    @asset(ins={"wide": AssetIn(metadata={"columns": ["a", "c"]})})
    def narrow(wide: pd.DataFrame) -> pd.DataFrame:
        seen["columns"] = list(wide.columns)
        return wide

    assert materialize(
        [wide, narrow], resources={"io_manager": DuckDBPandasIOManager(database=str(database))}
    ).success
    assert seen["columns"] == ["a", "c"]
    assert list(_read(database, "SELECT * FROM public.narrow").columns) == ["a", "c"]


def test_unannotated_input_loads_a_dataframe(tmp_path):
    seen = {}

    @asset
    def source() -> pd.DataFrame:
        return ORDERS

    @asset
    def untyped(source):
        seen["type"] = type(source)
        return source

    io = {"io_manager": DuckDBPandasIOManager(database=str(tmp_path / "db.duckdb"))}
    assert materialize([source, untyped], resources=io).success
    assert seen["type"] is pd.DataFrame


def test_op_outputs_use_the_output_name_and_schema_metadata(tmp_path):
    database = tmp_path / "db.duckdb"

    @op(out=Out(metadata={"schema": "ops"}))
    def make_table() -> pd.DataFrame:
        return ORDERS

    @op(ins={"table": In(metadata={"columns": ["amount"]})})
    def count_amounts(table: pd.DataFrame) -> pd.DataFrame:
        return pd.DataFrame({"n": [len(table.columns)]})

    @job(resource_defs={"io_manager": DuckDBPandasIOManager(database=str(database))})
    def pipeline():
        count_amounts(make_table())

    assert pipeline.execute_in_process().success
    assert _tables(database) == {"ops.result", "public.result"}
    assert _read(database, "SELECT n FROM public.result")["n"].tolist() == [1]


def test_unsupported_output_type_is_a_clear_error(tmp_path):
    @asset
    def numbers() -> list:
        return [1, 2, 3]

    result = materialize(
        [numbers],
        resources={"io_manager": DuckDBPandasIOManager(database=str(tmp_path / "db.duckdb"))},
        raise_on_error=False,
    )
    assert not result.success
    (failure,) = result.get_step_failure_events()
    assert "cannot store outputs of type <class 'list'>" in failure.message
    assert "DataFrame" in failure.message


class _Rows:
    """A toy object stored by a custom type handler."""

    def __init__(self, values):
        self.values = list(values)


class _RowsHandler(DbTypeHandler[_Rows]):
    def handle_output(self, context, table_slice, obj, connection):
        name = f'"{table_slice.schema}"."{table_slice.table}"'
        connection.execute(f"CREATE OR REPLACE TABLE {name} (v INTEGER)")
        connection.executemany(f"INSERT INTO {name} VALUES (?)", [[v] for v in obj.values])
        return {"stored": len(obj.values)}

    def load_input(self, context, table_slice, connection):
        rows = connection.execute(
            f'SELECT v FROM "{table_slice.schema}"."{table_slice.table}" ORDER BY v'
        ).fetchall()
        return _Rows(v for (v,) in rows)

    @property
    def supported_types(self):
        return [_Rows]


def test_custom_type_handlers_with_a_duckdb_io_manager_subclass(tmp_path):
    class RowsAndPandas(DuckDBIOManager):
        @staticmethod
        def type_handlers() -> Sequence[DbTypeHandler]:
            return [_RowsHandler(), DuckDBPandasTypeHandler()]

    @asset
    def rows() -> _Rows:
        return _Rows([3, 1, 2])

    @asset
    def frame(rows: _Rows) -> pd.DataFrame:
        return pd.DataFrame({"v": rows.values})

    database = tmp_path / "db.duckdb"
    result = materialize(
        [rows, frame], resources={"io_manager": RowsAndPandas(database=str(database))}
    )
    assert result.success
    assert _materialization(result, "rows")["stored"] == 3
    assert _read(database, "SELECT v FROM public.frame")["v"].tolist() == [1, 2, 3]


def test_two_handlers_for_one_type_are_refused():
    class Twice(DuckDBIOManager):
        @staticmethod
        def type_handlers() -> Sequence[DbTypeHandler]:
            return [DuckDBPandasTypeHandler(), DuckDBPandasTypeHandler()]

    with pytest.raises(Exception, match="two handlers for the type"):
        Twice(database=":memory:").create_io_manager(None)


def test_duckdb_io_manager_is_abstract():
    with pytest.raises(TypeError, match="abstract"):
        DuckDBIOManager(database=":memory:")


def test_build_duckdb_io_manager_configured(tmp_path):
    database = tmp_path / "db.duckdb"

    @asset
    def source() -> pd.DataFrame:
        return ORDERS

    @asset
    def copy(source: pd.DataFrame) -> pd.DataFrame:
        return source

    configured = duckdb_pandas_io_manager.configured({"database": str(database), "schema": "built"})
    assert materialize([source, copy], resources={"io_manager": configured}).success
    assert _tables(database) == {"built.source", "built.copy"}

    # The same definition, configured by run config instead.
    other = tmp_path / "other.duckdb"
    built = build_duckdb_io_manager([DuckDBPandasTypeHandler()])
    result = materialize(
        [source, copy],
        resources={"io_manager": built},
        run_config={"resources": {"io_manager": {"config": {"database": str(other)}}}},
    )
    assert result.success
    assert _tables(other) == {"public.source", "public.copy"}
    assert [e for e in result.all_events if e.event_type is EventType.LOADED_INPUT]
