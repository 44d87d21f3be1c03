"""What an external process reports is stored with its run, on SQLite and on PostgreSQL,
and read back through the instance: its log lines at their levels, the materialization
with its metadata and data version, the notices of the session, and a failure with the
exit code, the end of stderr and the external traceback."""

from __future__ import annotations

import logging
import sys
from pathlib import Path

import pytest

from trellis import (
    AssetExecutionContext,
    AssetKey,
    EventType,
    MaterializeResult,
    PipesSubprocessClient,
    asset,
    materialize,
)
from trellis.instance.instance import Instance

EXTERNAL = Path(__file__).resolve().parent / "external"


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def instance(request, tmp_path):
    """SQLite in a temporary home, or PostgreSQL in a fresh schema."""
    config = {}
    if request.param == "postgres":
        config = {"storage": {"postgres": {"url": request.getfixturevalue("pg_url")}}}
    inst = Instance.from_config(tmp_path / "home", config)
    yield inst
    inst.dispose()


@asset
def orders(context: AssetExecutionContext, pipes: PipesSubprocessClient) -> MaterializeResult:
    return pipes.run(
        command=[sys.executable, str(EXTERNAL / "materialize.py")],
        context=context,
        extras={"rows": 9},
    ).get_materialize_result()


@asset
def broken(context: AssetExecutionContext, pipes: PipesSubprocessClient) -> MaterializeResult:
    return pipes.run(
        command=[sys.executable, str(EXTERNAL / "crash.py")], context=context
    ).get_materialize_result()


def test_reports_are_stored_and_read_back(instance):
    result = materialize(
        [orders, broken],
        instance=instance,
        resources={"pipes": PipesSubprocessClient()},
        raise_on_error=False,
    )
    stored = instance.all_logs(result.run_id)

    lines = [
        (e.level, e.message)
        for e in stored
        if e.event_type is EventType.LOG_MESSAGE and e.step_key == "orders"
    ]
    assert (logging.WARNING, "1 row had a negative amount") in lines
    assert (logging.DEBUG, "debug detail") in lines

    latest = instance.get_latest_materialization_event(AssetKey("orders"))
    assert latest is not None and latest.run_id == result.run_id
    assert latest.metadata["rows"].value == 9
    assert latest.tags["dagster/data_version"] == "rows-9"
    assert "dagster/data_version" not in latest.metadata
    assert latest.metadata["dashboard"].type_name == "url"
    assert latest.metadata["context"].value["asset_keys"] == ["orders"]

    notices = [e.message for e in stored if e.event_type is EventType.ENGINE_EVENT]
    assert sum("[pipes] started external process" in m for m in notices) == 2
    assert any("exited with code 1" in m for m in notices)

    (failure,) = [e for e in stored if e.event_type is EventType.STEP_FAILURE]
    assert failure.step_key == "broken"
    assert failure.data.metadata["exit_code"].value == 1
    assert "ValueError: bad row 17" in failure.data.metadata["stderr_tail"].value
    (closed,) = [e for e in stored if e.event_type is EventType.ENGINE_EVENT and e.error]
    assert closed.error.cls_name == "ValueError"
    assert "crash.py" in closed.error.to_string()
    assert instance.get_latest_materialization_event(AssetKey("broken")) is None
