"""``trellis asset backfill`` and ``trellis backfill list|show|cancel|retry``: a backfill
stored for the daemon with its plan, its runs found with ``trellis run list --tag``,
canceled and retried; bad input refused with exit 2."""

from __future__ import annotations

from cli_fixture_paths import REPO

from trellis.daemon.backfill_loop import BackfillLoop
from trellis.daemon.code_location import CodeLocation
from trellis.execution.remote.code_pointer import CodePointer
from trellis.instance.backfills import BACKFILL_TAG, BackfillStatus

DEFS = str(REPO / "tests" / "daemon" / "backfill_defs.py")


def _only_id(output: str) -> str:
    assert output.startswith("Backfill "), output
    return output.split()[1]


def test_backfill_a_range_list_show_and_find_its_runs(invoke, instance):
    out = invoke(
        "asset", "backfill", "-f", DEFS, "--select", "history",
        "--from", "2019-01-01", "--to", "2019-03-31",
    )  # fmt: skip
    assert out.exit_code == 0, out.output
    assert "90 partition(s) of history in 3 run(s) (BackfillPolicy.multi_run(30))" in out.output
    backfill_id = _only_id(out.output)
    record = instance.get_backfill(backfill_id)
    assert record.status is BackfillStatus.REQUESTED
    assert [(c.partition_keys[0], c.partition_keys[-1]) for c in record.chunks] == [
        ("2019-01-01", "2019-01-30"),
        ("2019-01-31", "2019-03-01"),
        ("2019-03-02", "2019-03-31"),
    ]
    location = CodeLocation.load(CodePointer(file=DEFS, attribute="defs"))
    BackfillLoop(instance, location).run_iteration(0.0)  # what the daemon does
    listed = invoke("run", "list", "--tag", f"{BACKFILL_TAG}={backfill_id}")
    assert listed.exit_code == 0, listed.output
    run_ids = instance.get_backfill(backfill_id).run_ids
    assert len(run_ids) == 3 and all(r[:8] in listed.output for r in run_ids)
    assert "QUEUED" in listed.output
    shown = invoke("backfill", "show", backfill_id)
    assert shown.exit_code == 0, shown.output
    assert f"Backfill {backfill_id}: REQUESTED" in shown.output
    assert "90 (2019-01-01 ... 2019-03-31)" in shown.output
    assert "90 in_progress" in shown.output and run_ids[0] in shown.output
    table = invoke("backfill", "list")
    assert backfill_id in table.output and "REQUESTED" in table.output


def test_cancel_then_retry_what_was_not_materialized(invoke, instance):
    out = invoke(
        "asset", "backfill", "-f", DEFS, "--select", "raw", "--partitions",
        "2024-01-02,2024-01-05",
    )  # fmt: skip
    assert out.exit_code == 0, out.output
    backfill_id = _only_id(out.output)
    early = invoke("backfill", "retry", "-f", DEFS, backfill_id)
    assert early.exit_code == 2 and "once it has finished" in early.output
    canceled = invoke("backfill", "cancel", backfill_id)
    assert canceled.exit_code == 0, canceled.output
    assert instance.get_backfill(backfill_id).status is BackfillStatus.CANCELING
    location = CodeLocation.load(CodePointer(file=DEFS, attribute="defs"))
    BackfillLoop(instance, location).run_iteration(0.0)  # nothing was launched: CANCELED
    assert instance.get_backfill(backfill_id).status is BackfillStatus.CANCELED
    retried = invoke("backfill", "retry", "-f", DEFS, backfill_id)
    assert retried.exit_code == 0, retried.output
    new_id = _only_id(retried.output)
    record = instance.get_backfill(new_id)
    assert record.parent_backfill_id == backfill_id
    assert record.partition_keys == ["2024-01-02", "2024-01-05"]
    again = invoke("backfill", "cancel", backfill_id)
    assert again.exit_code == 2 and "is CANCELED" in again.output


def test_bad_input_exits_2_naming_the_problem(invoke, instance):
    def refused(*args: str) -> str:
        result = invoke("asset", "backfill", "-f", DEFS, *args)
        assert result.exit_code == 2, result.output
        return result.output

    assert "Did you mean '2024-01-05'" in refused("--select", "raw", "--partitions", "2024-01-055")
    assert "comes after its end" in refused(
        "--select", "raw", "--from", "2024-01-09", "--to", "2024-01-02"
    )
    assert "summary has no partitions_def" in refused("--select", "summary", "--all")
    assert "--from and --to go together" in refused("--select", "raw", "--from", "2024-01-09")
    assert "one of --from/--to, --partitions or --all" in refused("--select", "raw")
    unknown = invoke("backfill", "show", "zzzz")
    assert unknown.exit_code == 2 and "There is no backfill 'zzzz'" in unknown.output
    assert instance.get_backfills() == []
