"""Assets for the multiprocess DuckDB test. Workers load them by reference (this file and
the ``defs`` attribute), so they live at module level here, not inside the test.

Both assets write to the same DuckDB file from different worker processes. Each first
waits until the other has started (a file per asset next to the database), then holds a
connection for ``HOLD_SECONDS``: whichever connects second meets the first's lock and
must retry. Each returns when it asked for and when it got its connection.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import pandas as pd

from trellis import Definitions, asset, define_asset_job, multiprocess_executor
from trellis_duckdb import DuckDBResource
from trellis_duckdb_pandas import DuckDBPandasIOManager

HOLD_SECONDS = 0.6
RENDEZVOUS_TIMEOUT = 60.0


def _meet(directory: Path, me: str, other: str) -> None:
    (directory / f"{me}.started").write_text(str(os.getpid()))
    deadline = time.monotonic() + RENDEZVOUS_TIMEOUT
    while not (directory / f"{other}.started").exists():
        if time.monotonic() > deadline:
            raise TimeoutError(f"{other} never started: the steps did not run concurrently")
        time.sleep(0.01)


def _write(duckdb: DuckDBResource, me: str, other: str) -> pd.DataFrame:
    _meet(Path(duckdb.database).parent, me, other)
    asked = time.time()
    with duckdb.get_connection() as conn:
        got = time.time()
        conn.execute(f"CREATE TABLE {me}_log AS SELECT {os.getpid()} AS pid")
        time.sleep(HOLD_SECONDS)
    return pd.DataFrame({"side": [me], "pid": [os.getpid()], "asked": [asked], "got": [got]})


@asset(key_prefix=["mp"])
def left(duckdb: DuckDBResource) -> pd.DataFrame:
    """Writes through the resource, then through the IO manager."""
    return _write(duckdb, "left", "right")


@asset(key_prefix=["mp"])
def right(duckdb: DuckDBResource) -> pd.DataFrame:
    """The same, from the other worker."""
    return _write(duckdb, "right", "left")


both_job = define_asset_job(
    "duckdb_both",
    selection=[left, right],
    executor_def=multiprocess_executor.configured({"max_concurrent": 2}),
)

defs = Definitions(
    assets=[left, right],
    jobs=[both_job],
    resources={
        "io_manager": DuckDBPandasIOManager.configure_at_launch(),
        "duckdb": DuckDBResource.configure_at_launch(),
    },
)
