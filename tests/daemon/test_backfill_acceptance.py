"""The acceptance test of backfills: a daily asset over five years (1,826 partitions)
with ``BackfillPolicy.multi_run(30)``, backfilled through a real daemon process that is
SIGKILLed halfway through launching the runs (some runs queued, the backfill's cursor
not yet recording them) and started again; every partition is materialized by exactly
one run, and no run of the plan is made twice."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest

from trellis.api.backfill import launch_backfill
from trellis.core.run import (
    PARTITION_RANGE_END_TAG,
    PARTITION_RANGE_START_TAG,
    RunStatus,
)
from trellis.daemon.code_location import CodeLocation
from trellis.execution.remote.code_pointer import CodePointer
from trellis.instance.backfills import BACKFILL_CHUNK_TAG, BACKFILL_TAG, BackfillStatus
from trellis.instance.instance import Instance

HERE = Path(__file__).resolve().parent
DEFS = str(HERE / "backfill_defs.py")
CRASH_DAEMON = str(HERE / "crash_daemon.py")
pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")


def _spawn(*args: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )


def _wait(predicate, what: str, timeout: float = 120.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def test_five_years_daily_multi_run_30_survives_a_killed_daemon(tmp_path, monkeypatch):
    home, out, paused = tmp_path / "home", tmp_path / "out", tmp_path / "paused"
    out.mkdir()
    monkeypatch.setenv("TRELLIS_HOME", str(home))
    monkeypatch.setenv("DAEMON_TEST_OUT", str(out))
    location = CodeLocation.load(CodePointer(file=DEFS, attribute="defs"))
    with Instance.get() as instance:
        record = launch_backfill(instance, location.definitions, ["history"], all_partitions=True)
    assert len(record.partition_keys) == 1826 and len(record.chunks) == 61

    first = _spawn(CRASH_DAEMON, "backfill-mid-launch", DEFS, str(paused))
    _wait(paused.exists, "the daemon to pause after queuing 20 runs of the backfill")
    os.kill(first.pid, signal.SIGKILL)
    first.communicate(timeout=30)
    with Instance.get() as instance:
        stored = instance.get_backfill(record.backfill_id)
        made = instance.get_runs(tags={BACKFILL_TAG: record.backfill_id})
    assert len(made) == 20 and stored.launched == {}  # the cursor did not record them

    second = _spawn("-m", "trellis", "daemon", "-f", DEFS)
    try:

        def finished():
            with Instance.get() as instance:
                found = instance.get_backfill(record.backfill_id)
            return found if found.status.is_finished else None

        done = _wait(finished, "the backfill to finish", timeout=300)
    finally:
        second.send_signal(signal.SIGTERM)
        log, _ = second.communicate(timeout=60)
    assert done.status is BackfillStatus.COMPLETED, log
    assert done.counts == {"materialized": 1826}
    with Instance.get() as instance:
        runs = instance.get_runs(tags={BACKFILL_TAG: record.backfill_id})
        status = instance.get_partition_status_ranges(["history"])
    assert len(runs) == 61 and {r.status for r in runs} == {RunStatus.SUCCESS}
    assert sorted(done.run_ids) == sorted(r.run_id for r in runs)
    assert Counter(r.tags[BACKFILL_CHUNK_TAG] for r in runs) == {str(i): 1 for i in range(61)}
    covered = Counter()
    keys = record.partition_keys
    for run in runs:
        start = keys.index(run.tags[PARTITION_RANGE_START_TAG])
        end = keys.index(run.tags[PARTITION_RANGE_END_TAG])
        assert end - start + 1 <= 30
        covered.update(keys[start : end + 1])
    assert covered == dict.fromkeys(keys, 1)
    computed = (out / "history.log").read_text().split()
    assert Counter(computed) == dict.fromkeys(keys, 1)  # each partition computed once
    [(_, ranges)] = status.items()  # the status index: one materialized range of 1,826
    assert [(r.last - r.first + 1, r.status) for r in ranges] == [(1826, "MATERIALIZED")]
