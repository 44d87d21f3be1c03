"""A Dagster DuckDB project, ported by changing its imports only.

The module-level code below is written the way Dagster's DuckDB guides write it (iris
data in a DuckDB database through the pandas IO manager, a downstream asset reading some
columns, a static-partitioned asset, and an asset running its own SQL through the
resource), with ``dagster`` → ``trellis``, ``dagster_duckdb`` → ``trellis_duckdb`` and
``dagster_duckdb_pandas`` → ``trellis_duckdb_pandas``. The data is made here instead of
downloaded. The tests run it and look at the database.
"""

import pandas as pd

from trellis import (
    AssetExecutionContext,
    AssetIn,
    Definitions,
    EnvVar,
    StaticPartitionsDefinition,
    asset,
    materialize,
)
from trellis_duckdb import DuckDBResource
from trellis_duckdb_pandas import DuckDBPandasIOManager

IRIS_COLUMNS = ["sepal_length_cm", "sepal_width_cm", "petal_length_cm", "petal_width_cm"]


def get_iris_data() -> pd.DataFrame:
    rows = [
        (5.1, 3.5, 1.4, 0.2, "Iris-setosa"),
        (4.9, 3.0, 1.4, 0.2, "Iris-setosa"),
        (4.3, 3.0, 0.9, 0.1, "Iris-setosa"),
        (7.0, 3.2, 4.7, 1.4, "Iris-versicolor"),
        (6.4, 3.2, 4.5, 1.5, "Iris-versicolor"),
        (6.3, 3.3, 6.0, 2.5, "Iris-virginica"),
    ]
    return pd.DataFrame.from_records(rows, columns=[*IRIS_COLUMNS, "species"])


# -- as in the guides, imports changed -------------------------------------------------


@asset
def iris_dataset() -> pd.DataFrame:
    return get_iris_data()


@asset
def iris_setosa(iris_dataset: pd.DataFrame) -> pd.DataFrame:
    return iris_dataset[iris_dataset["species"] == "Iris-setosa"]


@asset(
    ins={
        "iris_sepal": AssetIn(
            key="iris_dataset",
            metadata={"columns": ["sepal_length_cm", "sepal_width_cm"]},
        )
    }
)
def sepal_data(iris_sepal: pd.DataFrame) -> pd.DataFrame:
    iris_sepal["sepal_area_cm2"] = iris_sepal["sepal_length_cm"] * iris_sepal["sepal_width_cm"]
    return iris_sepal


@asset(deps=[iris_dataset])
def small_petals(duckdb: DuckDBResource) -> None:
    with duckdb.get_connection() as conn:
        conn.execute(
            "CREATE TABLE iris.small_petals AS SELECT * FROM iris.iris_dataset "
            "WHERE petal_length_cm < 1 AND petal_width_cm < 1"
        )


defs = Definitions(
    assets=[iris_dataset, iris_setosa, sepal_data, small_petals],
    resources={
        "io_manager": DuckDBPandasIOManager(database=EnvVar("IRIS_DUCKDB"), schema="IRIS"),
        "duckdb": DuckDBResource(database=EnvVar("IRIS_DUCKDB")),
    },
)


@asset(
    partitions_def=StaticPartitionsDefinition(["Iris-setosa", "Iris-virginica", "Iris-versicolor"]),
    metadata={"partition_expr": "SPECIES"},
)
def iris_dataset_partitioned(context: AssetExecutionContext) -> pd.DataFrame:
    species = context.partition_key
    full_df = get_iris_data()
    return full_df[full_df["species"] == species]


@asset
def iris_cleaned(iris_dataset_partitioned: pd.DataFrame) -> pd.DataFrame:
    return iris_dataset_partitioned.dropna().drop_duplicates()


# -- the checks ------------------------------------------------------------------------


def _query(database, sql):
    resource = DuckDBResource(database=str(database))
    with resource.get_connection() as conn:
        return conn.execute(sql).fetchdf()


def test_the_guide_project_runs(tmp_path, monkeypatch):
    database = tmp_path / "warehouse.duckdb"
    monkeypatch.setenv("IRIS_DUCKDB", str(database))

    result = defs.get_implicit_global_asset_job_def().execute_in_process()

    assert result.success
    assert len(_query(database, "SELECT * FROM iris.iris_dataset")) == 6
    assert set(_query(database, "SELECT species FROM iris.iris_setosa")["species"]) == {
        "Iris-setosa"
    }
    sepal = _query(database, "SELECT * FROM iris.sepal_data")
    assert list(sepal.columns) == ["sepal_length_cm", "sepal_width_cm", "sepal_area_cm2"]
    assert _query(database, "SELECT count(*) AS n FROM iris.small_petals")["n"].tolist() == [1]


def test_the_partitioned_guide_assets_run(tmp_path):
    database = tmp_path / "warehouse.duckdb"
    io_manager = DuckDBPandasIOManager(database=str(database), schema="IRIS")

    for species in ["Iris-setosa", "Iris-virginica", "Iris-versicolor"]:
        result = materialize(
            [iris_dataset_partitioned],
            partition_key=species,
            resources={"io_manager": io_manager},
        )
        assert result.success
    result = materialize(
        [iris_dataset_partitioned, iris_cleaned],
        selection=[iris_cleaned],
        resources={"io_manager": io_manager},
    )

    assert result.success
    counts = _query(
        database, "SELECT species, count(*) AS n FROM iris.iris_dataset_partitioned GROUP BY ALL"
    )
    assert dict(zip(counts["species"], counts["n"], strict=True)) == {
        "Iris-setosa": 3,
        "Iris-versicolor": 2,
        "Iris-virginica": 1,
    }
    assert len(_query(database, "SELECT * FROM iris.iris_cleaned")) == 6
