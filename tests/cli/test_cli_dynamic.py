"""Dynamic outputs and graph-backed assets through the ``trellis`` command: mapped steps
in ``run show`` (each one, and summed up per node), ``run trace``, ``job diagram``,
re-execution from failure of the failed mapped step only; a graph asset's inner ops."""

from __future__ import annotations

from cli_fixture_paths import DYNAMIC

from trellis.core.events import EventType
from trellis.core.run import RunStatus


def test_run_show_lists_mapped_steps_and_reexecute_reruns_only_the_failed_one(
    invoke, instance, monkeypatch
):
    monkeypatch.setenv("TRELLIS_CLI_TEST_FAIL", "1")
    failed = invoke("job", "execute", "-f", DYNAMIC, "-j", "letters_job")
    monkeypatch.delenv("TRELLIS_CLI_TEST_FAIL")
    assert failed.exit_code == 1, failed.output
    (parent,) = instance.get_runs()

    shown = invoke("run", "show", parent.run_id[:8])
    assert shown.exit_code == 0, shown.output
    steps = shown.stdout.split("Steps", 1)[1].split("Mapped steps", 1)[0]
    rows = {line.split()[1]: line for line in steps.splitlines() if line.startswith("│")}
    assert "SUCCESS" in rows["shout[c]"] and "SUCCESS" in rows["shout[a]"]
    assert "FAILURE" in rows["shout[b]"] and "SKIPPED" in rows["joined"]
    mapped = shown.stdout.split("Mapped steps", 1)[1].split("Materializations", 1)[0]
    assert "shout[...]" in mapped and "1 FAILURE, 2 SUCCESS" in mapped and "c, a, b" in mapped

    trace = invoke("run", "trace", parent.run_id[:8], "--step", "shout")
    assert trace.exit_code == 0, trace.output
    assert trace.stdout.count("StepExecutionContext shout[") == 3
    assert "from letters.result[b]" in trace.stdout

    again = invoke("run", "reexecute", parent.run_id[:8], "-f", DYNAMIC, "--from-failure")
    assert again.exit_code == 0, again.output
    child = instance.get_runs(limit=1)[0]
    assert child.status is RunStatus.SUCCESS and child.parent_run_id == parent.run_id
    started = [
        e.step_key for e in instance.all_logs(child.run_id) if e.event_type is EventType.STEP_START
    ]
    assert started == ["shout[b]", "joined"]


def test_job_diagram_shows_the_mapped_node_as_a_template(invoke):
    result = invoke("job", "diagram", "-f", DYNAMIC, "-j", "letters_job")
    assert result.exit_code == 0, result.output
    assert '["shout[?]<br/>OpExecutionContext"]' in result.stdout
    assert "result[*] → parts" in result.stdout


def test_a_graph_asset_materializes_through_its_inner_ops(invoke, instance):
    result = invoke("asset", "materialize", "-f", DYNAMIC, "--select", "*")
    assert result.exit_code == 0, result.output
    (run,) = instance.get_runs()
    succeeded = [
        e.step_key for e in instance.all_logs(run.run_id) if e.event_type is EventType.STEP_SUCCESS
    ]
    assert succeeded == ["words", "longest_word.lengths", "longest_word.longest"]
    record = instance.get_latest_materialization_event("longest_word")
    assert record is not None and record.step_key == "longest_word.longest"
    listed = invoke("asset", "list", "-f", DYNAMIC)
    assert listed.exit_code == 0 and "longest_word" in listed.stdout
