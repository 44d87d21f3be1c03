"""``trellis run trace``: the trace of a stored run of the example project."""

from __future__ import annotations

import json

from cli_fixture_paths import QUICKSTART


def test_run_trace_of_the_quickstart_sales_job(invoke, instance):
    executed = invoke("job", "execute", "-f", QUICKSTART, "-j", "sales_job")
    assert executed.exit_code == 0, executed.output
    (run,) = instance.get_runs()
    result = invoke("run", "trace", run.run_id[:8])
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert "PlanOrchestrationContext" in out
    assert "StepExecutionContext" in out
    assert "AssetExecutionContext" in out
    assert "handle_output" in out and "InitResourceContext" in out
    as_json = invoke("run", "trace", run.run_id, "--format", "json", "--depth", "1")
    assert as_json.exit_code == 0, as_json.output
    data = json.loads(as_json.stdout)
    assert data["kind"] == "run"
    assert all(child["children"] == [] for child in data["children"])
    mermaid = invoke("run", "trace", run.run_id, "--format", "mermaid")
    assert mermaid.stdout.startswith("sequenceDiagram") and "handle_output" in mermaid.stdout
    errors = invoke("run", "trace", run.run_id, "--only-errors")
    assert errors.exit_code == 0 and "StepExecutionContext" not in errors.stdout
