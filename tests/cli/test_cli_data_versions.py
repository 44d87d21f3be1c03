"""Data versions and table metadata from the command line: ``asset observe`` records an
observable source asset's version, ``asset list`` shows each asset's status (never
materialized, fresh, stale with the cause) and data version, ``run show`` and ``run
trace`` show the data versions and the table metadata of a run."""

from __future__ import annotations

import json
import sys

from cli_fixture_paths import FIXTURES

from trellis import AssetKey, EventType

VERSIONED = str(FIXTURES / "versioned_defs.py")


def _row(listing: str, key: str) -> str:
    (line,) = [line for line in listing.splitlines() if line.startswith(f"│ {key} ")]
    return " ".join(line.replace("│", " ").split())


def test_asset_list_follows_status_from_never_materialized_to_fresh_to_stale(invoke, monkeypatch):
    listed = invoke("asset", "list", "-f", VERSIONED)
    assert listed.exit_code == 0, listed.output
    assert "STATUS" in listed.stdout and "CAUSE" in listed.stdout
    assert "never materialized" in _row(listed.stdout, "orders")
    assert "never observed" in _row(listed.stdout, "raw_orders")

    observed = invoke("asset", "observe", "-f", VERSIONED, "--select", "raw_orders")
    assert observed.exit_code == 0, observed.output
    done = invoke("asset", "materialize", "-f", VERSIONED, "--select", "*")
    assert done.exit_code == 0, done.output
    listed = invoke("asset", "list", "-f", VERSIONED).stdout
    assert _row(listed, "raw_orders").endswith("observed 1 -")
    assert " fresh " in _row(listed, "orders") and " fresh total-6 -" in _row(listed, "summary")

    monkeypatch.setenv("TRELLIS_CLI_TEST_SOURCE_VERSION", "2")
    assert invoke("asset", "observe", "-f", VERSIONED, "--select", "*").exit_code == 0
    listed = invoke("asset", "list", "-f", VERSIONED).stdout
    assert _row(listed, "raw_orders").endswith("observed 2 -")
    for key in ("orders", "summary"):  # summary through orders, transitively
        row = _row(listed, key)
        assert " stale " in row and row.endswith("raw_orders has a new data version"), row


def test_asset_list_names_a_new_code_version(invoke, monkeypatch):
    invoke("asset", "observe", "-f", VERSIONED, "--select", "*")
    assert invoke("asset", "materialize", "-f", VERSIONED, "--select", "*").exit_code == 0
    monkeypatch.setenv("TRELLIS_CLI_TEST_CODE_VERSION", "v2")
    # The next command loads the project again, as a new `trellis` process would.
    monkeypatch.delitem(sys.modules, "versioned_defs", raising=False)
    listed = invoke("asset", "list", "-f", VERSIONED).stdout
    row = _row(listed, "orders")
    assert " stale " in row and row.endswith("orders has a new code version"), row
    assert _row(listed, "summary").endswith("orders has a new code version")


def test_asset_observe_refuses_a_selection_without_observable_assets(invoke):
    result = invoke("asset", "observe", "-f", VERSIONED, "--select", "orders")
    assert result.exit_code == 2
    assert "selects no observable source asset; these can be observed: raw_orders" in (
        result.output
    )


def test_run_show_and_trace_show_data_versions_and_table_metadata(invoke, instance):
    invoke("asset", "observe", "-f", VERSIONED, "--select", "*")
    assert invoke("asset", "materialize", "-f", VERSIONED, "--select", "*").exit_code == 0
    observation_run, materialization_run = sorted(
        instance.get_runs(), key=lambda run: run.create_time
    )
    shown = invoke("run", "show", materialization_run.run_id[:8], env={"COLUMNS": "250"})
    assert shown.exit_code == 0, shown.output
    out = shown.stdout
    assert "DATA VERSION" in out and "total-6 (given), code v1" in out
    assert "dagster/column_schema=[region: string, total: int]" in out
    assert "dagster/row_count=3" in out
    assert "preview=table of 1 rows (region: string, total: int)" in out
    observed = invoke("run", "show", observation_run.run_id[:8]).stdout
    assert "Observations" in observed and "1 (given)" in observed

    trace = invoke("run", "trace", materialization_run.run_id, "--format", "json").stdout
    nodes = []
    pending = [json.loads(trace)]
    while pending:
        node = pending.pop()
        nodes.append(node)
        pending.extend(node["children"])
    (summary,) = [n for n in nodes if n["kind"] == "materialization" and "summary" in n["label"]]
    assert "data version total-6" in summary["label"]
    assert (
        summary["attrs"]["tags"]["dagster/input_data_version/orders"]
        == (
            instance.get_latest_materialization_event(AssetKey("orders")).tags[
                "dagster/data_version"
            ]
        )
    )
    schema = summary["attrs"]["metadata"]["dagster/column_schema"]
    assert [c["name"] for c in schema["columns"]] == ["region", "total"]
    assert schema["columns"][1]["constraints"]["nullable"] is False
    text = invoke("run", "trace", materialization_run.run_id[:8]).stdout
    assert "ASSET_MATERIALIZATION summary data version total-6" in text
    stored = instance.all_logs(observation_run.run_id, of_type=EventType.ASSET_OBSERVATION)
    assert [e.tags["dagster/data_version"] for e in stored] == ["1"]
