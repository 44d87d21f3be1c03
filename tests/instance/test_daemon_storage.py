"""The daemon's records on every back end (in-memory, SQLite, PostgreSQL): instigator
state, ticks and their retention, run-key de-duplication, heartbeats, the daemon lease,
and the run queue (submit, list in order, claim exactly once, even across processes)."""

from __future__ import annotations

import subprocess
import sys
import textwrap

from instance_workers import encode_ref

from trellis.core.events import EventType
from trellis.core.run import Run, RunStatus, new_run_id
from trellis.instance.daemon_records import (
    DaemonHeartbeat,
    InstigatorState,
    InstigatorStatus,
    InstigatorTick,
    InstigatorType,
    TickStatus,
)

SENSOR = InstigatorType.SENSOR


def test_instigator_state_round_trips_and_start_records_the_time(any_instance):
    assert any_instance.get_instigator_state("s") is None
    state = any_instance.set_instigator_status("s", SENSOR, InstigatorStatus.RUNNING, now=100.0)
    assert state.start_timestamp == 100.0
    any_instance.set_instigator_cursor("s", SENSOR, "c1")
    again = any_instance.set_instigator_status("s", SENSOR, InstigatorStatus.RUNNING, now=200.0)
    assert again.start_timestamp == 100.0  # already running: not a new start
    stopped = any_instance.set_instigator_status("s", SENSOR, InstigatorStatus.STOPPED, now=300.0)
    restarted = any_instance.set_instigator_status("s", SENSOR, InstigatorStatus.RUNNING, 400.0)
    assert (stopped.status, restarted.start_timestamp) == (InstigatorStatus.STOPPED, 400.0)
    stored = any_instance.get_instigator_state("s")
    assert (stored.status, stored.cursor, stored.instigator_type) == (
        InstigatorStatus.RUNNING,
        "c1",
        SENSOR,
    )
    any_instance.set_instigator_status("a", InstigatorType.SCHEDULE, InstigatorStatus.STOPPED)
    assert [s.name for s in any_instance.get_instigator_states()] == ["a", "s"]


def test_ticks_are_stored_updated_and_listed_newest_first(any_instance):
    created = [
        any_instance.create_tick(InstigatorTick("s", SENSOR, TickStatus.STARTED, float(t)))
        for t in range(5)
    ]
    ids = [t.tick_id for t in created]
    assert ids == sorted(ids) and len(set(ids)) == 5
    done = created[1].with_changes(
        status=TickStatus.FAILURE,
        end_timestamp=1.5,
        error="Traceback (most recent call last):\n  ValueError: boom",
        cursor="x",
    )
    state = InstigatorState("s", SENSOR, InstigatorStatus.RUNNING, cursor="x", update_timestamp=2)
    any_instance.update_tick(done, state)
    assert any_instance.get_instigator_state("s").cursor == "x"  # in the same transaction
    ok = created[2].with_changes(
        status=TickStatus.SUCCESS, run_ids=["r1", "r2"], run_keys=["k1", "k2"]
    )
    any_instance.update_tick(ok)
    any_instance.update_tick(created[3].with_changes(status=TickStatus.SKIPPED, skip_reason="no"))
    ticks = any_instance.get_ticks("s")
    assert [t.tick_id for t in ticks] == ids[::-1]
    assert ticks[3] == done
    assert ticks[2].run_ids == ("r1", "r2") and ticks[2].run_keys == ("k1", "k2")
    assert ticks[1].skip_reason == "no"
    assert [t.tick_id for t in any_instance.get_ticks("s", limit=2)] == ids[:2:-1]
    assert [t.tick_id for t in any_instance.get_ticks("s", before_id=ids[2])] == ids[1::-1]
    failed = any_instance.get_ticks("s", statuses=[TickStatus.FAILURE])
    assert [t.error for t in failed] == [done.error]
    assert any_instance.get_ticks("other") == []


def test_tick_retention_deletes_old_finished_ticks_only(any_instance):
    for t, status in [(10, TickStatus.SUCCESS), (20, TickStatus.STARTED), (30, TickStatus.SKIPPED)]:
        any_instance.create_tick(InstigatorTick("s", SENSOR, status, float(t)))
    any_instance.create_tick(InstigatorTick("s", SENSOR, TickStatus.FAILURE, 100.0))
    assert any_instance.prune_ticks(older_than_seconds=50, now=100.0) == 2
    left = any_instance.get_ticks("s")
    assert [(t.timestamp, t.status) for t in left] == [
        (100.0, TickStatus.FAILURE),
        (20.0, TickStatus.STARTED),  # a tick in progress is resumed, never pruned
    ]


def test_a_run_key_belongs_to_its_first_run(any_instance):
    assert any_instance.add_run_key("s", "k", "run-1", 1.0) == "run-1"
    assert any_instance.add_run_key("s", "k", "run-2", 2.0) == "run-1"
    assert any_instance.add_run_key("other", "k", "run-3", 2.0) == "run-3"  # per instigator
    assert any_instance.get_run_keys("s", ["k", "missing"]) == {"k": "run-1"}
    assert any_instance.get_run_keys("s", []) == {}


def test_daemon_heartbeats_keep_the_latest_per_loop(any_instance):
    any_instance.record_daemon_heartbeat(DaemonHeartbeat("sensors", "d1", 1.0))
    any_instance.record_daemon_heartbeat(DaemonHeartbeat("sensors", "d1", 2.0, {"ticks": 3}))
    any_instance.record_daemon_heartbeat(DaemonHeartbeat("run_queue", "d1", 1.5))
    beats = any_instance.get_daemon_heartbeats()
    assert [(b.daemon_type, b.timestamp, b.info) for b in beats] == [
        ("run_queue", 1.5, {}),
        ("sensors", 2.0, {"ticks": 3}),
    ]


def test_the_daemon_lease_has_one_holder_until_it_expires(any_instance):
    assert any_instance.get_daemon_lease() is None
    ok, lease = any_instance.acquire_daemon_lease("a", 30, now=100.0)
    assert any_instance.get_daemon_lease() == lease
    assert ok and (lease.owner, lease.expires, lease.acquired) == ("a", 130.0, 100.0)
    ok, lease = any_instance.acquire_daemon_lease("b", 30, now=110.0)
    assert not ok and lease.owner == "a"
    ok, lease = any_instance.acquire_daemon_lease("a", 30, now=120.0)  # renewal
    assert ok and (lease.expires, lease.acquired) == (150.0, 100.0)
    ok, lease = any_instance.acquire_daemon_lease("b", 30, now=151.0)  # expired: taken over
    assert ok and (lease.owner, lease.acquired) == ("b", 151.0)
    assert any_instance.get_daemon_lease() == lease
    any_instance.release_daemon_lease("a")  # not a's any more: nothing happens
    assert not any_instance.acquire_daemon_lease("a", 30, now=152.0)[0]
    any_instance.release_daemon_lease("b")
    assert any_instance.get_daemon_lease() is None
    assert any_instance.acquire_daemon_lease("a", 30, now=153.0)[0]


def test_submitted_runs_queue_by_priority_then_age_and_are_claimed_once(any_instance):
    runs = []
    for n, priority in enumerate(["0", "5", None, "-1", "5"]):
        tags = {"trellis/priority": priority} if priority is not None else {}
        run = Run(f"run-{n}", "job", tags=tags)
        run.create_time = 1000.0 + n
        runs.append(any_instance.submit_run(run))
    stored = any_instance.get_run("run-0")
    assert stored.status is RunStatus.QUEUED and stored.start_time is None
    assert [e.event_type for e in any_instance.all_logs("run-0")] == [EventType.RUN_ENQUEUED]
    order = [r.run_id for r in any_instance.get_queued_runs()]
    assert order == ["run-1", "run-4", "run-0", "run-2", "run-3"]
    claimed = any_instance.claim_queued_run("run-1")
    assert claimed is not None and claimed.status is RunStatus.STARTING
    assert any_instance.claim_queued_run("run-1") is None
    assert any_instance.get_run("run-1").status is RunStatus.STARTING
    assert [r.run_id for r in any_instance.get_queued_runs()] == [
        "run-4",
        "run-0",
        "run-2",
        "run-3",
    ]
    types = [e.event_type for e in any_instance.all_logs("run-1")]
    assert types == [EventType.RUN_ENQUEUED, EventType.RUN_STARTING]
    begun = any_instance.begin_launched_run("run-1")
    assert begun is not None and begun.status is RunStatus.STARTED and begun.start_time
    assert any_instance.begin_launched_run("run-1") is None  # a second launch backs off
    assert any_instance.begin_launched_run("run-0") is None  # still queued: not launched
    assert any_instance.fail_unlaunched_run("run-0", "could not launch")
    failed = any_instance.get_run("run-0")
    assert failed.status is RunStatus.FAILURE
    assert not any_instance.fail_unlaunched_run("run-1", "too late")  # it started


_CLAIMER = textwrap.dedent(
    """
    import base64, pickle, sys, time
    from pathlib import Path
    from trellis.instance.instance import Instance
    instance = Instance.from_ref(pickle.loads(base64.b64decode(sys.argv[1])))
    ids = sys.argv[3].split(",")
    while not Path(sys.argv[2]).exists():
        time.sleep(0.001)
    for run_id in ids:
        if instance.claim_queued_run(run_id) is not None:
            print(run_id, flush=True)
    """
)


def test_claims_from_several_processes_take_each_run_exactly_once(instance, tmp_path):
    ids = [new_run_id() for _ in range(40)]
    for run_id in ids:
        instance.submit_run(Run(run_id, "job"))
    go = tmp_path / "go"
    ref = encode_ref(instance.get_ref())
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", _CLAIMER, ref, str(go), ",".join(ids)],
            stdout=subprocess.PIPE,
            text=True,
        )
        for _ in range(4)
    ]
    go.touch()
    claimed: list[str] = []
    for proc in procs:
        out, _ = proc.communicate(timeout=120)
        assert proc.returncode == 0
        claimed.extend(out.split())
    assert sorted(claimed) == sorted(ids)
    assert all(instance.get_run(i).status is RunStatus.STARTING for i in ids)
