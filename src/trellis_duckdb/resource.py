"""``DuckDBResource``: a DuckDB connection for assets and ops that write their own SQL, and
``connect_duckdb``, the connect-with-retry that the resource and the IO manager share.

DuckDB lets one process at a time open a database file for writing. A second process
that tries gets an ``IOException`` about a lock; steps that run in parallel processes
(the multiprocess or Dask executor) would fail on it, so connecting retries with an
exponential backoff while the error is a lock conflict (as Dagster's integration does),
and fails at once on any other error.
"""

from __future__ import annotations

import random
import time
import warnings
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any

import duckdb
from pydantic import Field

from trellis import ConfigurableResource

LOCK_RETRIES = 10
"""How many times a connection is tried again after a lock conflict (11 tries in all)."""

FIRST_RETRY_DELAY = 0.1
"""Seconds before the first retry; each later retry waits twice as long (about 100 s in
all for ten retries), plus up to a tenth more at random so that waiting processes do not
retry in lockstep."""


def is_lock_conflict(error: BaseException) -> bool:
    """Whether ``error`` (raised by ``duckdb.connect``) says another process holds the
    database file's lock, the one failure worth waiting out."""
    return isinstance(error, (duckdb.IOException, RuntimeError)) and "lock" in str(error).lower()


def connect_duckdb(
    database: str,
    connection_config: Mapping[str, Any] | None = None,
    *,
    read_only: bool = False,
    max_retries: int = LOCK_RETRIES,
    first_delay: float = FIRST_RETRY_DELAY,
    sleep: Callable[[float], None] = time.sleep,
) -> duckdb.DuckDBPyConnection:
    """Open ``database`` (a file path, or ``":memory:"``) with DuckDB's ``connection_config``
    settings, retrying while another process holds the file's lock.

    Raises the last error when the lock is still held after ``max_retries`` retries, and
    any other error at once.
    """
    config = dict(connection_config or {})
    delay = first_delay
    for attempt in range(max_retries + 1):
        try:
            return duckdb.connect(database, read_only=read_only, config=config)
        except (duckdb.IOException, RuntimeError) as error:
            if attempt == max_retries or not is_lock_conflict(error):
                raise
        sleep(delay * (1 + random.random() / 10))
        delay *= 2
    raise AssertionError("unreachable")  # pragma: no cover


def quote_identifier(name: str) -> str:
    """``name`` as a quoted SQL identifier (DuckDB still matches it case-insensitively)."""
    return '"' + str(name).replace('"', '""') + '"'


def quote_literal(value: object) -> str:
    """``value`` as a single-quoted SQL string literal."""
    return "'" + str(value).replace("'", "''") + "'"


# ``schema`` is the field's name in Dagster's API too. Pydantic warns that it shadows
# BaseModel's deprecated ``schema()`` method; the field is what this class means.
with warnings.catch_warnings():
    warnings.filterwarnings("ignore", message='Field name "schema"', category=UserWarning)

    class DuckDBResource(ConfigurableResource):
        """A DuckDB database for assets and ops that run their own SQL.

        ``get_connection()`` is a context manager that yields a ``duckdb`` connection and
        closes it afterwards; connecting retries while another process holds the
        database file's lock::

            @asset
            def small_petals(duckdb: DuckDBResource) -> None:
                with duckdb.get_connection() as conn:
                    conn.execute("CREATE TABLE small AS SELECT * FROM iris WHERE petal < 1")

            defs = Definitions(
                assets=[small_petals],
                resources={"duckdb": DuckDBResource(database="path/to/db.duckdb")},
            )

        With ``schema`` set, the connection creates that schema if needed and uses it for
        names written without one.
        """

        database: str = Field(
            description=(
                "Path to the DuckDB database file; ':memory:' is a database that lives as "
                "long as the connection."
            )
        )
        connection_config: dict[str, Any] = Field(
            default_factory=dict,
            description="DuckDB settings for the connection (duckdb.connect's config).",
        )
        schema: str | None = Field(
            default=None,
            description="The schema that unqualified table names refer to (created if needed).",
        )

        @contextmanager
        def get_connection(self) -> Iterator[duckdb.DuckDBPyConnection]:
            """A connection to ``database``, closed when the ``with`` block ends."""
            connection = connect_duckdb(self.database, self.connection_config)
            try:
                if self.schema:
                    connection.execute(
                        f"CREATE SCHEMA IF NOT EXISTS {quote_identifier(self.schema)}"
                    )
                    connection.execute(f"SET schema = {quote_literal(self.schema)}")
                yield connection
            finally:
                connection.close()
