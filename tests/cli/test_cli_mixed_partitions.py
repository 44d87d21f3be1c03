"""A project whose assets are daily, weekly, monthly and unpartitioned: every command
works on it, any selection of one partitions definition (with unpartitioned assets) runs,
and a selection that mixes them is refused up front, naming the assets of each."""

from __future__ import annotations

from cli_fixture_paths import FIXTURES

from trellis.core.events import EventType
from trellis.core.run import PARTITION_TAG, RunStatus

MIXED = str(FIXTURES / "mixed_partitions_defs.py")


def _materialize(invoke, select: str, partition: str | None = None):
    args = ["asset", "materialize", "-f", MIXED, "--select", select]
    if partition is not None:
        args += ["--partition", partition]
    return invoke(*args)


def _materialized(instance, run) -> set[str]:
    return {
        e.asset_key.to_user_string()
        for e in instance.all_logs(run.run_id)
        if e.event_type is EventType.ASSET_MATERIALIZATION
    }


def test_a_selection_of_each_kind_materializes(invoke, instance):
    plain = _materialize(invoke, "customers")
    assert plain.exit_code == 0, plain.output
    daily = _materialize(invoke, "page_views+", "2024-01-02")
    assert daily.exit_code == 0, daily.output
    weekly = _materialize(invoke, 'key:"weekly_digest"', "2024-01-07")
    assert weekly.exit_code == 0, weekly.output
    monthly = _materialize(invoke, "group:monthly", "2024-01-01")
    assert monthly.exit_code == 0, monthly.output
    runs = list(reversed(instance.get_runs()))
    assert [r.status for r in runs] == [RunStatus.SUCCESS] * 4
    assert [_materialized(instance, r) for r in runs] == [
        {"customers"},
        {"page_views", "daily_sessions"},
        {"weekly_digest"},
        {"monthly_invoices"},
    ]
    assert PARTITION_TAG not in runs[0].tags
    assert [r.tags[PARTITION_TAG] for r in runs[1:]] == ["2024-01-02", "2024-01-07", "2024-01-01"]


def test_unpartitioned_assets_run_with_a_partitioned_one(invoke, instance):
    result = _materialize(invoke, "group:reference or group:daily", "2024-01-03")
    assert result.exit_code == 0, result.output
    (run,) = instance.get_runs()
    assert _materialized(instance, run) == {
        "customers",
        "customer_count",
        "page_views",
        "daily_sessions",
    }


def test_a_selection_mixing_partitions_definitions_is_exit_2_naming_them(invoke, instance):
    result = _materialize(invoke, "page_views or weekly_digest", "2024-01-07")
    assert result.exit_code == 2
    message = result.stderr
    assert "--select 'page_views or weekly_digest' selects assets with different" in message
    daily_line = next(line for line in message.splitlines() if "page_views:" in line)
    weekly_line = next(line for line in message.splitlines() if "weekly_digest:" in line)
    assert "DailyPartitionsDefinition(start='2024-01-01'" in daily_line
    assert "WeeklyPartitionsDefinition(start='2024-01-07'" in weekly_line
    assert "Traceback" not in result.output
    everything = _materialize(invoke, "*")
    assert everything.exit_code == 2
    for name in ("daily_sessions, page_views:", "weekly_digest:", "monthly_invoices:"):
        assert name in everything.stderr
    assert "customers" not in everything.stderr  # unpartitioned assets are not the problem
    assert instance.get_runs() == []  # refused before any run started


def test_defs_validate_and_lists_work(invoke):
    validated = invoke("defs", "validate", "-f", MIXED)
    assert validated.exit_code == 0, validated.output
    jobs = invoke("job", "list", "-f", MIXED)
    assert jobs.exit_code == 0, jobs.output
    rows = {line.split()[1]: line for line in jobs.stdout.splitlines() if line.startswith("│")}
    assert set(rows) == {"daily_job", "weekly_job", "monthly_job", "reference_job"}
    assert "DailyPartitionsDefinition" in rows["daily_job"]
    assert "WeeklyPartitionsDefinition" in rows["weekly_job"]
    assert "MonthlyPartitionsDefinition" in rows["monthly_job"]
    assert "Partitions" not in rows["reference_job"]
    assert "__ASSET_JOB" not in jobs.stdout
    assets = invoke("asset", "list", "-f", MIXED)
    assert assets.exit_code == 0 and "6 assets" in assets.stdout


def test_jobs_of_one_partitions_definition_run(invoke, instance):
    assert invoke("job", "execute", "-f", MIXED, "-j", "reference_job").exit_code == 0
    result = invoke("job", "execute", "-f", MIXED, "-j", "monthly_job", "--partition", "2024-02-01")
    assert result.exit_code == 0, result.output


def test_diagram_of_a_mixed_selection_is_exit_2(invoke):
    one = invoke("asset", "diagram", "--select", "group:daily", "-f", MIXED)
    assert one.exit_code == 0, one.output
    assert "page_views" in one.stdout
    mixed = invoke("asset", "diagram", "--select", "roots(not group:reference)", "-f", MIXED)
    assert mixed.exit_code == 2
    assert "monthly_invoices" in mixed.stderr and "weekly_digest" in mixed.stderr


def test_reexecute_a_partitioned_materialization(invoke, instance):
    first = _materialize(invoke, "customers or group:daily", "2024-01-05")
    assert first.exit_code == 0, first.output
    (parent,) = instance.get_runs()
    again = invoke("run", "reexecute", parent.run_id, "-f", MIXED)
    assert again.exit_code == 0, again.output
    child = instance.get_runs(limit=1)[0]
    assert child.parent_run_id == parent.run_id and child.status is RunStatus.SUCCESS
    assert child.tags[PARTITION_TAG] == "2024-01-05"
    assert _materialized(instance, child) == _materialized(instance, parent)
