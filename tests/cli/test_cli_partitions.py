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


def test_asset_partitions_of_a_multi_partitioned_asset_prints_a_line_per_region(invoke):
    for key in ("2024-01-02|eu", "2024-01-03|eu", "2024-01-10|us"):
        done = invoke(
            "asset", "materialize", "-f", STATUS, "--select", "regional_visits", "--partition", key
        )
        assert done.exit_code == 0, done.output
    shown = invoke("asset", "partitions", "-f", STATUS, "regional_visits")
    assert shown.exit_code == 0, shown.output
    assert shown.output.splitlines() == [
        "region=eu: 2024-01-01 missing, 2024-01-02…2024-01-03 materialized, "
        "2024-01-04…2024-01-10 missing",
        "region=us: 2024-01-01…2024-01-09 missing, 2024-01-10 materialized",
    ]
    one = invoke(
        "asset", "partitions", "-f", STATUS, "regional_visits", "--partition", "2024-01-03|eu"
    )
    assert one.output.strip() == "region=eu: 2024-01-03 materialized", one.output
    wrong = invoke(
        "asset", "partitions", "-f", STATUS, "regional_visits", "--partition", "2024-01-03|ue"
    )
    assert wrong.exit_code == 2
    assert "'ue' is not a key of dimension 'region'" in wrong.output


def test_asset_partitions_of_a_dynamic_asset(invoke, instance):
    empty = invoke("asset", "partitions", "-f", STATUS, "upload_rows")
    assert empty.exit_code == 0, empty.output
    assert "'uploads' has no keys; add some with `trellis partitions add uploads KEY`" in (
        empty.output
    )
    invoke("partitions", "add", "-f", STATUS, "uploads", "jan.csv", "feb.csv", "mar.csv")
    done = invoke(
        "asset", "materialize", "-f", STATUS, "--select", "upload_rows", "--partition", "feb.csv"
    )
    assert done.exit_code == 0, done.output
    invoke("partitions", "delete", "-f", STATUS, "uploads", "jan.csv")
    shown = invoke("asset", "partitions", "-f", STATUS, "upload_rows")
    assert shown.output.strip() == "feb.csv materialized, mar.csv missing"
    wrong = invoke("asset", "partitions", "-f", STATUS, "upload_rows", "--partition", "fb.csv")
    assert wrong.exit_code == 2
    assert "Did you mean 'feb.csv'?" in wrong.output
    assert "trellis partitions add uploads KEY" in wrong.output
    gone = invoke("asset", "partitions", "-f", STATUS, "upload_rows", "--partition", "jan.csv")
    assert gone.exit_code == 2 and "'jan.csv' is not a partition" in gone.output


def test_instance_reindex_partitions(invoke, instance):
    from trellis.core.run import Run, RunStatus

    done = invoke(
        "asset",
        "materialize",
        "-f",
        STATUS,
        "--select",
        "daily_visits",
        "--partition",
        "2024-01-04",
    )
    assert done.exit_code == 0, done.output
    rebuilt = invoke("instance", "reindex-partitions", "-f", STATUS, "daily_visits")
    assert rebuilt.exit_code == 0, rebuilt.output
    assert rebuilt.output.splitlines() == [
        "daily_visits: 1 range(s)",
        "Rebuilt the partition status of 1 asset(s).",
    ]
    shown = invoke("asset", "partitions", "-f", STATUS, "daily_visits")
    assert "2024-01-04 materialized" in shown.output
    unknown = invoke("instance", "reindex-partitions", "-f", STATUS, "daily_visit")
    assert unknown.exit_code == 2
    assert "Not a partitioned asset of these definitions: daily_visit." in unknown.output
    assert "daily_visits, regional_visits, upload_rows" in unknown.output
    instance.add_run(Run(run_id="still-running", job_name="j", status=RunStatus.STARTED))
    busy = invoke("instance", "reindex-partitions", "-f", STATUS)
    assert busy.exit_code == 2
    assert "1 run(s) in progress (still-running)" in busy.output
