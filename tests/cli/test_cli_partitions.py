"""``trellis partitions add|delete|list NAME`` on a project with dynamic partitions, and
``asset materialize --partition`` checking a dynamic key against the instance."""

from __future__ import annotations

from cli_fixture_paths import FIXTURES

DYNAMIC = str(FIXTURES / "dynamic_partitions_defs.py")


def test_add_list_delete_and_materialize(invoke, instance):
    added = invoke("partitions", "add", "-f", DYNAMIC, "files", "a.csv", "bb.csv", "a.csv")
    assert added.exit_code == 0, added.output
    assert "Added 2 partitions to 'files'" in added.output
    assert instance.get_dynamic_partitions("files") == ["a.csv", "bb.csv"]
    listed = invoke("partitions", "list", "-f", DYNAMIC, "files")
    assert listed.exit_code == 0, listed.output
    assert listed.output.splitlines() == ["a.csv", "bb.csv"]
    run = invoke(
        "asset", "materialize", "-f", DYNAMIC, "--select", "file_sizes", "--partition", "bb.csv"
    )
    assert run.exit_code == 0, run.output
    deleted = invoke("partitions", "delete", "-f", DYNAMIC, "files", "a.csv")
    assert deleted.exit_code == 0, deleted.output
    assert instance.get_dynamic_partitions("files") == ["bb.csv"]


def test_unknown_names_and_keys_are_refused(invoke, instance):
    wrong = invoke("partitions", "list", "-f", DYNAMIC, "fils")
    assert wrong.exit_code == 2
    assert "No dynamic partitions definition is named 'fils'. Did you mean 'files'?" in (
        wrong.output
    )
    missing = invoke("partitions", "delete", "-f", DYNAMIC, "files", "nope.csv")
    assert missing.exit_code == 2
    assert "'files' has no partition 'nope.csv'" in missing.output
    invoke("partitions", "add", "-f", DYNAMIC, "files", "a.csv")
    unknown = invoke(
        "asset", "materialize", "-f", DYNAMIC, "--select", "file_sizes", "--partition", "b.csv"
    )
    assert unknown.exit_code != 0
    assert "Did you mean 'a.csv'" in unknown.output
    assert instance.get_runs() == []


STATUS = str(FIXTURES / "partition_status_defs.py")


def test_asset_partitions_prints_the_status_as_ranges(invoke):
    for day in ("2024-01-02", "2024-01-03"):
        done = invoke(
            "asset", "materialize", "-f", STATUS, "--select", "daily_visits", "--partition", day
        )
        assert done.exit_code == 0, done.output
    shown = invoke("asset", "partitions", "-f", STATUS, "daily_visits")
    assert shown.exit_code == 0, shown.output
    assert shown.output.strip() == (
        "2024-01-01 missing, 2024-01-02…2024-01-03 materialized, 2024-01-04…2024-01-10 missing"
    )
    as_json = invoke("asset", "partitions", "-f", STATUS, "daily_visits", "--json")
    assert '"status": "MATERIALIZED"' in as_json.output
    wrong = invoke("asset", "partitions", "-f", STATUS, "daily_visit")
    assert wrong.exit_code == 2
    assert "Did you mean 'daily_visits'?" in wrong.output
