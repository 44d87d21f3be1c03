"""Asset checks from the command line: ``asset check`` evaluates the checks of the
selected assets against their latest materializations, ``asset list`` shows each check's
status, ``run show`` and ``run trace`` show the evaluations of a run."""

from __future__ import annotations

import json

from cli_fixture_paths import FIXTURES

from trellis import EventType

CHECKS = str(FIXTURES / "checks_defs.py")


def _run_ids(instance):
    return [run.run_id for run in instance.get_runs()]


def test_asset_list_shows_each_checks_status_from_its_latest_evaluation(invoke, monkeypatch):
    listed = invoke("asset", "list", "-f", CHECKS)
    assert listed.exit_code == 0, listed.output
    assert "CHECKS" in listed.stdout
    assert "orders_has_rows: never, orders_small: never" in listed.stdout
    done = invoke("asset", "materialize", "-f", CHECKS, "--select", "*")
    assert done.exit_code == 0, done.output
    assert "Asset checks" in done.stdout and "orders:orders_small" in done.stdout
    listed = invoke("asset", "list", "-f", CHECKS).stdout
    assert "orders_has_rows: passed, orders_small: warned" in listed
    assert "positive: passed" in listed
    monkeypatch.setenv("TRELLIS_CLI_TEST_ROWS", "0")
    invoke("asset", "materialize", "-f", CHECKS, "--select", "orders")
    listed = invoke("asset", "list", "-f", CHECKS).stdout
    assert "orders_has_rows: failed, orders_small: passed" in listed


def test_asset_check_runs_the_checks_alone_against_the_latest_materialization(
    invoke, instance, monkeypatch
):
    first = invoke("asset", "materialize", "-f", CHECKS, "--select", "orders")
    assert first.exit_code == 0, first.output
    materialized = instance.get_latest_materialization_record("orders")
    monkeypatch.setenv("TRELLIS_CLI_TEST_ROWS", "0")  # would make orders empty: not run
    checked = invoke("asset", "check", "-f", CHECKS, "--select", "orders")
    assert checked.exit_code == 0, checked.output
    newest = instance.get_runs(limit=1)[0]
    events = instance.all_logs(newest.run_id)
    assert {e.step_key for e in events if e.step_key} == {
        "orders_orders_has_rows",
        "orders_orders_small",
    }
    assert newest.asset_selection == [] and newest.asset_check_selection == [
        "orders:orders_has_rows",
        "orders:orders_small",
    ]
    evaluations = [
        e.data.evaluation for e in events if e.event_type is EventType.ASSET_CHECK_EVALUATION
    ]
    assert {e.check_name: e.passed for e in evaluations} == {
        "orders_has_rows": True,
        "orders_small": False,
    }
    for evaluation in evaluations:
        target = evaluation.target_materialization_data
        assert target.storage_id == materialized.storage_id
        assert target.run_id == materialized.run_id


def test_asset_check_explains_what_it_cannot_run(invoke):
    only_in_step = invoke("asset", "check", "-f", CHECKS, "--select", "revenue")
    assert only_in_step.exit_code == 2
    assert "run with `trellis asset materialize`" in only_in_step.output
    none = invoke("asset", "check", "-f", CHECKS, "--select", "report")
    assert none.exit_code == 2 and "selects no asset that has asset checks" in none.output
    bad = invoke("asset", "check", "-f", CHECKS, "--select", "key:nope")
    assert bad.exit_code == 2 and "nope" in bad.output


def test_a_failed_blocking_check_fails_the_run_and_shows_in_run_show_and_trace(
    invoke, instance, monkeypatch
):
    monkeypatch.setenv("TRELLIS_CLI_TEST_ROWS", "0")
    done = invoke("asset", "materialize", "-f", CHECKS, "--select", "*")
    assert done.exit_code == 1
    (run_id,) = _run_ids(instance)
    shown = invoke("run", "show", run_id[:8])
    assert shown.exit_code == 0, shown.output
    out = shown.stdout
    assert "Asset checks" in out
    lines = {
        line.split("│")[1].strip(): line
        for line in out.splitlines()
        if "│ orders:" in line or "│ revenue:" in line
    }
    assert (
        "failed" in lines["orders:orders_has_rows"] and "rows=0" in lines["orders:orders_has_rows"]
    )
    assert "yes" in lines["orders:orders_has_rows"]  # blocking
    assert "passed" in lines["orders:orders_small"]
    assert "not evaluated" in lines["revenue:positive"]  # its step was skipped
    assert "SKIPPED" in out
    traced = invoke("run", "trace", run_id, "--format", "json")
    tree = json.loads(traced.stdout)

    def walk(node):
        yield node
        for child in node["children"]:
            yield from walk(child)

    nodes = list(walk(tree))
    checks = {n["attrs"]["check"]: n for n in nodes if n["kind"] == "check_evaluation"}
    assert set(checks) == {"orders:orders_has_rows", "orders:orders_small"}
    failed = checks["orders:orders_has_rows"]["attrs"]
    assert failed["status"] == "failed" and failed["blocking"] is True
    assert failed["metadata"] == {"rows": 0}
    planned = [n for n in nodes if n["kind"] == "checks_planned"]
    assert len(planned) == 1 and "revenue:positive" in planned[0]["attrs"]["checks"]
    skipped = [n for n in nodes if n["kind"] == "step_skipped"]
    assert any(
        "blocking asset check 'orders:orders_has_rows' failed" in n["attrs"]["message"]
        for n in skipped
    )
    errors = invoke("run", "trace", run_id, "--only-errors").stdout
    assert "ASSET_CHECK_EVALUATION orders:orders_has_rows failed (ERROR, blocking)" in errors
    assert "orders_small" not in errors
