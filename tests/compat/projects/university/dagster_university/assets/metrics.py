from trellis import asset
from trellis_duckdb import DuckDBResource

from . import constants


@asset(deps=["taxi_trips"])
def trips_by_borough(database: DuckDBResource) -> None:
    """Trips per pickup borough."""
    query = """
        select pickup_borough as borough, count(*) as num_trips
        from trips group by pickup_borough order by pickup_borough
    """
    with database.get_connection() as conn:
        df = conn.execute(query).fetch_df()
    df.to_csv(constants.TRIPS_BY_BOROUGH_FILE_PATH, index=False)


@asset(deps=["taxi_trips"])
def trips_by_week(database: DuckDBResource) -> None:
    """Trips and revenue per week."""
    query = """
        select date_trunc('week', pickup_date) as period,
               count(*) as num_trips, sum(total_amount) as total_amount
        from trips group by 1 order by 1
    """
    with database.get_connection() as conn:
        df = conn.execute(query).fetch_df()
    df.to_csv(constants.TRIPS_BY_WEEK_FILE_PATH, index=False)
