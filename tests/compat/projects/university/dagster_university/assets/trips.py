from trellis import MaterializeResult, MetadataValue, asset
from trellis_duckdb import DuckDBResource

from . import constants


@asset
def taxi_trips_file() -> MaterializeResult:
    """The raw taxi trips file (bundled here; the course downloads it)."""
    with open(constants.TAXI_TRIPS_TEMPLATE_FILE_PATH) as f:
        num_rows = sum(1 for _ in f) - 1
    return MaterializeResult(metadata={"Number of records": MetadataValue.int(num_rows)})


@asset(deps=["taxi_trips_file"])
def taxi_trips(database: DuckDBResource) -> None:
    """The raw taxi trips, loaded into a DuckDB table."""
    query = f"""
        create or replace table trips as (
          select * from read_csv_auto('{constants.TAXI_TRIPS_TEMPLATE_FILE_PATH}')
        );
    """
    with database.get_connection() as conn:
        conn.execute(query)
