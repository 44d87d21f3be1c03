"""Several real processes on one instance: concurrent writers lose nothing and never see
"database is locked"; a ref rebuilds the instance in a child; a killed run is marked
failed on next look and leaves no partial batch; first opens race safely."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from instance_helpers import event, make_run
from instance_workers import encode_ref

from trellis.core.events import EventType
from trellis.core.run import HOST_TAG, PID_TAG, RunStatus
from trellis.instance.instance import Instance
from trellis.instance.ref import InstanceRef

WORKER = str(Path(__file__).with_name("instance_workers.py"))


def _spawn(*args: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, WORKER, *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _finish(proc: subprocess.Popen, timeout: float = 120) -> str:
    out, err = proc.communicate(timeout=timeout)
    assert proc.returncode == 0, f"child failed ({proc.returncode}):\n{out}\n{err}"
    assert "locked" not in err
    return out


@pytest.mark.parametrize("batch", [1, 6])
def test_two_processes_writing_at_once_lose_nothing(instance, tmp_path, batch):
    ref = encode_ref(instance.get_ref())
    go = tmp_path / "go"
    count = 300
    procs = [_spawn("write", ref, f"writer-{n}", str(count), str(batch), str(go)) for n in (0, 1)]
    for proc in procs:
        assert proc.stdout.readline().strip() == "ready"
    go.touch()
    # A reader in this process at the same time.
    seen = 0
    while any(p.poll() is None for p in procs):
        seen = max(seen, len(instance.all_logs("writer-0")))
        time.sleep(0.01)
    for proc in procs:
        _finish(proc)
    assert seen <= count + 2
    for n in (0, 1):
        records = instance.get_records(f"writer-{n}")
        assert len(records) == count + 2
        messages = [r.event.message for r in records[1:-1]]
        assert messages == [str(i) for i in range(count)]
        ids = [r.storage_id for r in records]
        assert ids == sorted(ids) and len(set(ids)) == len(ids)
        assert instance.get_run(f"writer-{n}").status is RunStatus.SUCCESS
    assert instance.info()["events"] == 2 * (count + 2)


def test_ref_rebuilds_the_instance_in_another_process(instance):
    instance.add_run(make_run("from-parent"))
    proc = subprocess.run(
        [sys.executable, WORKER, "info", encode_ref(instance.get_ref())],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    pid, runs = proc.stdout.split()
    assert int(pid) != os.getpid() and runs == "1"


def _start_doomed(instance: Instance, run_id: str, batch: int) -> subprocess.Popen:
    proc = _spawn("hang", encode_ref(instance.get_ref()), run_id, str(batch))
    line = proc.stdout.readline().strip()
    assert line == "started", line + proc.stderr.read()
    return proc


def test_killed_run_is_marked_failed_on_next_look(instance):
    proc = _start_doomed(instance, "doomed", 0)
    stored = instance.get_run("doomed")
    assert stored.status is RunStatus.STARTED
    assert stored.tags[PID_TAG] == str(proc.pid) and stored.tags[HOST_TAG]
    assert instance.mark_dead_runs_failed() == []  # still alive
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)
    with Instance.from_ref(instance.get_ref()) as fresh:
        run = fresh.get_run("doomed")  # the look that notices
        assert run.status is RunStatus.FAILURE and run.end_time is not None
        last = fresh.all_logs("doomed")[-1]
        assert last.event_type is EventType.RUN_FAILURE
        assert f"process {proc.pid} died" in last.message
        assert fresh.get_runs(statuses=[RunStatus.FAILURE])[0].run_id == "doomed"
        assert fresh.mark_dead_runs_failed() == []  # only once
    assert len([e for e in instance.all_logs("doomed") if e.is_failure]) == 1


def test_dead_run_check_leaves_other_hosts_and_live_runs_alone(instance):
    here = instance.add_run(make_run("mine"))
    instance.handle_new_events([event(here, EventType.RUN_START)], here)
    elsewhere = instance.add_run(make_run("elsewhere"))
    instance.handle_new_events([event(elsewhere, EventType.RUN_START)], elsewhere)
    elsewhere.tags[HOST_TAG] = "some-other-host"
    elsewhere.tags[PID_TAG] = "999999999"
    instance.update_run(elsewhere)
    assert instance.mark_dead_runs_failed() == []
    assert {r.status for r in instance.get_runs()} == {RunStatus.STARTED}


def test_killed_writer_leaves_no_partial_batch(instance):
    batch = 7
    proc = _start_doomed(instance, "torn", batch)
    deadline = time.monotonic() + 30
    while len(instance.get_records("torn")) < 10 * batch and time.monotonic() < deadline:
        time.sleep(0.005)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)
    instance.mark_dead_runs_failed()
    events = instance.all_logs("torn")
    written = [e for e in events if e.event_type is EventType.LOG_MESSAGE]
    assert len(written) >= 10 * batch
    assert len(written) % batch == 0
    assert [e.message for e in written] == [str(i) for i in range(len(written))]
    assert events[0].event_type is EventType.RUN_START
    assert events[-1].event_type is EventType.RUN_FAILURE


def test_processes_opening_a_new_home_at_once_create_it_once(tmp_path):
    ref = encode_ref(InstanceRef(str(tmp_path / "home")))
    procs = [_spawn("open", ref, f"opener-{n}") for n in range(4)]
    created = [_finish(p).strip() for p in procs]
    assert sorted(created) == ["False", "False", "False", "True"]
    with Instance.from_config(tmp_path / "home", {}) as instance:
        assert len(instance.get_runs()) == 4


def test_processes_opening_new_homes_at_once_lose_no_write(tmp_path):
    """Reading a database header used to close a descriptor of the file, which dropped
    SQLite's locks of that process: another process then deleted the WAL under it and
    its committed run was gone (in up to a third of the homes, on a loaded machine)."""
    for trial in range(8):
        home = tmp_path / f"home-{trial}"
        ref = encode_ref(InstanceRef(str(home)))
        procs = [_spawn("open", ref, f"opener-{n}") for n in range(4)]
        for proc in procs:
            _finish(proc)
        with Instance.from_config(home, {}) as instance:
            stored = sorted(run.run_id for run in instance.get_runs())
        assert stored == [f"opener-{n}" for n in range(4)], f"trial {trial}"


def _write_in_forked_child(instance: Instance) -> None:
    run = instance.add_run(make_run("from-fork"))
    instance.handle_new_events([event(run, EventType.RUN_START)], run)
    instance.handle_new_events([event(run, EventType.RUN_SUCCESS)], run)


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
def test_an_instance_inherited_through_fork_keeps_working(instance):
    import multiprocessing

    instance.add_run(make_run("before-fork"))  # the pool holds a connection now
    child = multiprocessing.get_context("fork").Process(
        target=_write_in_forked_child, args=(instance,)
    )
    child.start()
    child.join(60)
    assert child.exitcode == 0
    assert instance.get_run("from-fork").status is RunStatus.SUCCESS
    instance.add_run(make_run("after-fork"))
    assert len(instance.get_runs()) == 3
