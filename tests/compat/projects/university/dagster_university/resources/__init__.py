from trellis import EnvVar
from trellis_duckdb import DuckDBResource

database_resource = DuckDBResource(
    database=EnvVar("DUCKDB_DATABASE"),
)
