"""Backfills through the daemon's loops (a manual clock; runs executed in this process
as the run queue launches them, on every back end): a downstream partition waits for
the upstream partitions its mapping reads, a self-dependent asset goes oldest first, a
failure stops what depends on it and the backfill ends FAILED, a retry re-executes only
what did not materialize, cancel stops launching and cancels queued runs."""

from __future__ import annotations

from pathlib import Path

import pytest
from daemon_helpers import RecordingLauncher

from trellis.api.backfill import (
    PARENT_BACKFILL_TAG,
    cancel_backfill,
    launch_backfill,
    retry_backfill,
)
from trellis.core.errors import InvalidInvocationError, InvariantViolationError
from trellis.core.run import PARTITION_TAG, RunStatus
from trellis.daemon.clock import ManualClock
from trellis.daemon.code_location import CodeLocation
from trellis.daemon.daemon import TrellisDaemon
from trellis.daemon.launcher import RunLauncher
from trellis.daemon.run_worker import execute_launched_run
from trellis.execution.remote.code_pointer import CodePointer
from trellis.instance.backfills import BACKFILL_TAG, BackfillStatus
from trellis.instance.daemon_config import DaemonSettings
from trellis.instance.instance import Instance

DEFS = str(Path(__file__).resolve().parent / "backfill_defs.py")


class InlineLauncher(RunLauncher):
    """Runs each launched run to its end in this process, in launch order."""

    def __init__(self) -> None:
        self.order: list[str] = []

    def launch_run(self, run, instance) -> None:
        self.order.append(run.run_id)
        execute_launched_run(instance, run.run_id)


class Backfills:
    """An instance, the backfill definitions and a daemon stepped by hand."""

    def __init__(self, instance: Instance, launcher: RunLauncher, max_runs: int = -1) -> None:
        self.instance = instance
        self.location = CodeLocation.load(CodePointer(file=DEFS, attribute="defs"))
        self.launcher = launcher
        self.daemon = TrellisDaemon(
            instance,
            self.location,
            clock=ManualClock(1000.0),
            launcher=launcher,
            settings=DaemonSettings(max_concurrent_runs=max_runs),
        )

    def launch(self, select, **kwargs):
        return launch_backfill(self.instance, self.location.definitions, select, **kwargs)

    def step(self, rounds: int = 1) -> None:
        for _ in range(rounds):
            self.daemon.step(every_loop=True)

    def until_finished(self, backfill_id: str, limit: int = 60):
        for _ in range(limit):
            record = self.instance.get_backfill(backfill_id)
            if record.status.is_finished:
                return record
            self.step()
        raise AssertionError(f"backfill {backfill_id} did not finish: {record}")

    def runs(self, backfill_id: str):
        runs = self.instance.get_runs(tags={BACKFILL_TAG: backfill_id})
        return sorted(runs, key=lambda r: self.launcher.order.index(r.run_id))


@pytest.fixture
def instance(daemon_instance, tmp_path, monkeypatch):
    monkeypatch.setenv("DAEMON_TEST_OUT", str(tmp_path))
    return daemon_instance


def _log(tmp_path: Path, name: str) -> list[str]:
    path = tmp_path / f"{name}.log"
    return path.read_text().split() if path.exists() else []


def test_a_weekly_partition_waits_for_the_days_it_reads(instance, tmp_path):
    bf = Backfills(instance, InlineLauncher())
    record = bf.launch(["raw", "by_week"], partition_range=("2024-01-01", "2024-01-14"))
    by_asset = {c.asset_keys[0]: [] for c in record.chunks}
    for chunk in record.chunks:
        by_asset[chunk.asset_keys[0]].append(chunk)
    assert len(by_asset["raw"]) == 14  # no policy: a run per partition, as in Dagster
    # The plan lists a run after those it waits for (by_week sorts before raw by name).
    assert all(i < n for n, chunk in enumerate(record.chunks) for i in chunk.after)
    assert record.chunks[0].asset_keys == ["raw"]
    done = bf.until_finished(record.backfill_id)
    assert done.status is BackfillStatus.COMPLETED
    runs = bf.runs(record.backfill_id)
    assert {r.status for r in runs} == {RunStatus.SUCCESS}
    position = {r.tags[PARTITION_TAG] + "/" + r.asset_selection[0]: i for i, r in enumerate(runs)}
    weekly = [r for r in runs if r.asset_selection == ["by_week"]]
    assert weekly
    for run in weekly:
        chunk = next(
            c
            for c in record.chunks
            if c.asset_keys == ["by_week"] and c.partition_keys == [run.tags[PARTITION_TAG]]
        )
        days = [k for i in chunk.after for k in record.chunks[i].partition_keys]
        assert len(days) == 7  # the seven days of its week, all in the backfill
        assert all(
            position[f"{d}/raw"] < position[f"{run.tags[PARTITION_TAG]}/by_week"] for d in days
        )
        assert all(
            r.end_time <= run.create_time
            for r in runs
            if r.tags[PARTITION_TAG] in days and r.asset_selection == ["raw"]
        )
    assert done.counts == {"materialized": 14 + len(weekly)}


def test_a_self_dependent_asset_goes_oldest_first_one_run_at_a_time(instance, tmp_path):
    bf = Backfills(instance, InlineLauncher())
    record = bf.launch(["running"], partition_range=("2024-01-01", "2024-01-06"))
    assert [c.after for c in record.chunks] == [[], [0], [1], [2], [3], [4]]
    bf.step()
    assert len(instance.get_runs(tags={BACKFILL_TAG: record.backfill_id})) == 1
    done = bf.until_finished(record.backfill_id)
    assert done.status is BackfillStatus.COMPLETED
    days = [f"2024-01-0{d}" for d in range(1, 7)]
    assert _log(tmp_path, "running") == days
    assert [r.tags[PARTITION_TAG] for r in bf.runs(record.backfill_id)] == days


def test_a_failure_blocks_what_reads_it_and_retry_runs_only_what_is_left(
    instance, tmp_path, monkeypatch
):
    monkeypatch.setenv("BACKFILL_FAIL_KEYS", "2024-01-10")
    bf = Backfills(instance, InlineLauncher())
    record = bf.launch(["raw", "by_week"], partition_range=("2024-01-01", "2024-01-21"))
    done = bf.until_finished(record.backfill_id)
    assert done.status is BackfillStatus.FAILED
    assert done.counts["failed"] == 1
    blocked = done.counts["pending"]  # the week of 2024-01-10 was never launched
    assert blocked == 1
    weeks_run = [
        r.tags[PARTITION_TAG]
        for r in bf.runs(record.backfill_id)
        if r.asset_selection == ["by_week"]
    ]
    week_chunks = [c for c in record.chunks if c.asset_keys == ["by_week"]]
    left = [c.partition_keys[0] for c in week_chunks if c.partition_keys[0] not in weeks_run]
    assert len(left) == 1

    monkeypatch.setenv("BACKFILL_FAIL_KEYS", "")
    retry = retry_backfill(instance, bf.location.definitions, record.backfill_id)
    assert retry.parent_backfill_id == record.backfill_id
    assert retry.tags[PARENT_BACKFILL_TAG] == record.backfill_id
    assert sorted(retry.partition_keys) == sorted(["2024-01-10", *left])
    again = bf.until_finished(retry.backfill_id)
    assert again.status is BackfillStatus.COMPLETED
    assert again.counts == {"materialized": 2}
    assert _log(tmp_path, "raw").count("2024-01-10") == 2  # failed once, then materialized
    assert _log(tmp_path, "raw").count("2024-01-09") == 1  # not run again
    with pytest.raises(InvalidInvocationError, match="nothing to retry"):
        retry_backfill(instance, bf.location.definitions, retry.backfill_id)


def test_cancel_stops_launching_and_cancels_queued_runs(instance):
    launcher = RecordingLauncher()  # runs stay STARTING: one in progress at a time
    bf = Backfills(instance, launcher, max_runs=1)
    record = bf.launch(["history"], partition_range=("2019-01-01", "2019-03-31"))
    assert len(record.chunks) == 3  # multi_run(30) over 90 days
    bf.step()
    runs = instance.get_runs(tags={BACKFILL_TAG: record.backfill_id})
    assert sorted(r.status.value for r in runs) == ["QUEUED", "QUEUED", "STARTING"]
    assert cancel_backfill(instance, record.backfill_id).status is BackfillStatus.CANCELING
    bf.step(2)
    runs = {r.run_id: r for r in instance.get_runs(tags={BACKFILL_TAG: record.backfill_id})}
    assert sorted(r.status.value for r in runs.values()) == ["CANCELED", "CANCELED", "CANCELING"]
    assert launcher.launched == [r.run_id for r in runs.values() if r.status.value == "CANCELING"]
    assert instance.get_backfill(record.backfill_id).status is BackfillStatus.CANCELING
    [live] = [r for r in runs.values() if r.status is RunStatus.CANCELING]
    # Canceled while its launch was under way: its process ends it CANCELED, unrun.
    assert execute_launched_run(instance, live.run_id) == 0
    ended = instance.get_run(live.run_id)
    assert ended.status is RunStatus.CANCELED and ended.start_time is None
    bf.step()
    done = instance.get_backfill(record.backfill_id)
    assert done.status is BackfillStatus.CANCELED and done.end_timestamp is not None
    assert done.counts == {"canceled": 90}
    with pytest.raises(InvalidInvocationError, match="only a backfill in progress"):
        cancel_backfill(instance, record.backfill_id)


def test_bad_input_is_refused_before_anything_is_stored(instance):
    bf = Backfills(instance, RecordingLauncher())
    with pytest.raises(InvariantViolationError, match=r"'2024-01-055'.*Did you mean '2024-01-05'"):
        bf.launch(["raw"], partition_keys=["2024-01-02", "2024-01-055"])
    with pytest.raises(InvalidInvocationError, match="summary has no partitions_def"):
        bf.launch(["raw", "summary"], all_partitions=True)
    with pytest.raises(InvariantViolationError, match="comes after its end"):
        bf.launch(["raw"], partition_range=("2024-01-09", "2024-01-02"))
    with pytest.raises(InvalidInvocationError, match="exactly one of"):
        bf.launch(["raw"], partition_keys=["2024-01-05"], all_partitions=True)
    with pytest.raises(InvalidInvocationError, match="exactly one of"):
        bf.launch(["raw"])
    with pytest.raises(InvalidInvocationError, match="selects no asset"):
        bf.launch([], all_partitions=True)
    with pytest.raises(InvalidInvocationError, match="There is no backfill 'nope'"):
        cancel_backfill(instance, "nope")
    assert instance.get_backfills() == []
