"""``DuckDBResource`` in assets, and connecting while another process holds the database
file's lock (``connect_duckdb`` retries lock conflicts, and only those)."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import time

import duckdb
import pytest

from trellis import Definitions, asset, materialize
from trellis_duckdb import DuckDBResource, connect_duckdb
from trellis_duckdb.resource import is_lock_conflict


def _rows(database, sql):
    with duckdb.connect(str(database)) as conn:
        return conn.execute(sql).fetchall()


def test_resource_gives_assets_a_connection(tmp_path):
    database = tmp_path / "warehouse.duckdb"

    @asset
    def numbers(duckdb: DuckDBResource) -> None:
        with duckdb.get_connection() as conn:
            conn.execute("CREATE TABLE numbers AS SELECT range AS n FROM range(5)")

    @asset(deps=[numbers])
    def total(duckdb: DuckDBResource) -> int:
        with duckdb.get_connection() as conn:
            return conn.execute("SELECT sum(n) FROM numbers").fetchall()[0][0]

    defs = Definitions(
        assets=[numbers, total], resources={"duckdb": DuckDBResource(database=str(database))}
    )
    result = defs.get_implicit_global_asset_job_def().execute_in_process()

    assert result.success
    assert result.output_for_node("total") == 10
    assert _rows(database, "SELECT count(*) FROM main.numbers") == [(5,)]


def test_connection_is_closed_after_the_block_even_on_error(tmp_path):
    resource = DuckDBResource(database=str(tmp_path / "db.duckdb"))
    with pytest.raises(ZeroDivisionError), resource.get_connection() as conn:
        kept = conn
        1 / 0  # noqa: B018
    with pytest.raises(duckdb.ConnectionException):
        kept.execute("SELECT 1")


def test_resource_schema_is_created_and_used_for_unqualified_names(tmp_path):
    database = tmp_path / "db.duckdb"

    @asset
    def made(duckdb: DuckDBResource) -> None:
        with duckdb.get_connection() as conn:
            conn.execute("CREATE TABLE made AS SELECT 1 AS one")

    assert materialize(
        [made], resources={"duckdb": DuckDBResource(database=str(database), schema="staging")}
    ).success
    assert _rows(database, "SELECT one FROM staging.made") == [(1,)]


def test_resource_config_from_run_config(tmp_path):
    database = tmp_path / "late.duckdb"
    seen = {}

    @asset
    def probe(duckdb: DuckDBResource) -> None:
        with duckdb.get_connection() as conn:
            seen["threads"] = conn.execute("SELECT current_setting('threads')").fetchall()[0][0]
            conn.execute("CREATE TABLE t AS SELECT 1 AS x")

    result = materialize(
        [probe],
        resources={"duckdb": DuckDBResource.configure_at_launch()},
        run_config={
            "resources": {
                "duckdb": {
                    "config": {"database": str(database), "connection_config": {"threads": 1}}
                }
            }
        },
    )
    assert result.success
    assert seen["threads"] == 1
    assert _rows(database, "SELECT x FROM t") == [(1,)]


HOLDER = textwrap.dedent(
    """
    import sys, time, duckdb
    conn = duckdb.connect(sys.argv[1])
    print("locked", flush=True)
    time.sleep(float(sys.argv[2]))
    conn.close()
    """
)


def _hold_lock(database, seconds):
    """A child process that holds ``database``'s write lock for ``seconds``."""
    child = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(database), str(seconds)],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert child.stdout.readline().strip() == "locked"
    return child


def test_connect_waits_while_another_process_holds_the_lock(tmp_path):
    database = tmp_path / "busy.duckdb"
    child = _hold_lock(database, 0.8)
    waits = []
    try:
        started = time.monotonic()
        conn = connect_duckdb(str(database), sleep=lambda s: (waits.append(s), time.sleep(s))[-1])
        waited = time.monotonic() - started
        conn.execute("CREATE TABLE ok AS SELECT 1 AS x")
        conn.close()
    finally:
        child.wait(timeout=30)
    assert waits, "the first attempt should have met the other process's lock"
    assert waits[1] > waits[0]  # exponential backoff
    assert waited >= 0.5
    assert _rows(database, "SELECT x FROM ok") == [(1,)]


def test_connect_gives_up_after_its_retries(tmp_path):
    database = tmp_path / "busy.duckdb"
    child = _hold_lock(database, 3)
    try:
        with pytest.raises(duckdb.IOException, match="lock") as info:
            connect_duckdb(str(database), max_retries=2, first_delay=0.01)
        assert is_lock_conflict(info.value)
    finally:
        child.wait(timeout=30)


def test_other_errors_are_not_retried(tmp_path):
    slept = []
    with pytest.raises(duckdb.IOException, match="No such file"):
        connect_duckdb(str(tmp_path / "missing" / "db.duckdb"), sleep=slept.append)
    assert slept == []
