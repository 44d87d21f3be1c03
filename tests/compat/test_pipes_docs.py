"""Dagster's Pipes subprocess tutorial and reference, ported by changing imports only
(``pipes_docs/``: ``dagster`` → ``trellis``, ``dagster_pipes`` → ``trellis_pipes``). The
tests run the definitions and look at what the external scripts reported."""

from __future__ import annotations

import logging
import sys
from pathlib import Path

import pytest

import trellis as dg

DOCS = Path(__file__).resolve().parent / "pipes_docs"


@pytest.fixture
def docs_defs(monkeypatch):
    monkeypatch.syspath_prepend(str(DOCS))
    sys.modules.pop("dagster_code", None)
    import dagster_code

    yield dagster_code
    sys.modules.pop("dagster_code", None)


def test_the_tutorial_asset_reports_its_metadata_and_logs(docs_defs):
    job = docs_defs.defs.get_implicit_global_asset_job_def()
    result = job.execute_in_process(asset_selection=[dg.AssetKey("subprocess_asset")])
    assert result.success
    (mat,) = result.get_asset_materialization_events()
    assert mat.asset_key == dg.AssetKey("subprocess_asset")
    assert mat.metadata["total_orders"].value == 2
    assert mat.metadata["region"].value == "emea"
    lines = [(e.level, e.message) for e in result.event_log if e.step_key == "subprocess_asset"]
    assert (logging.INFO, "processing 2 orders") in lines


def test_the_multi_asset_and_the_custom_session(docs_defs):
    result = dg.materialize(
        [docs_defs.subprocess_multi_asset, docs_defs.custom_session_asset],
        resources={"pipes_subprocess_client": dg.PipesSubprocessClient()},
    )
    assert result.success
    by_key = {e.asset_key.to_user_string(): e for e in result.get_asset_materialization_events()}
    assert by_key["orders"].metadata["rows"].value == 2
    assert by_key["users"].metadata["rows"].value == 5
    assert by_key["custom_session_asset"].metadata["region"].value == "apac"
