"""Crash safety with real daemon processes killed by SIGKILL at the worst moment, then a
real ``trellis daemon`` started again on the same SQLite instance:

- killed after a tick queued its runs but before the tick was recorded: the restarted
  daemon resumes the tick and launches nothing twice;
- killed while runs are queued and one is claimed but not launched: every run starts
  exactly once, none stays STARTING;
- two daemons on one instance: the second says who holds it and waits; it takes over
  when the first stops.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest
from daemon_helpers import DEFS_FILE, HERE, wait_until

from trellis.core.run import Run, RunStatus, new_run_id
from trellis.instance.daemon_records import InstigatorStatus, InstigatorType, TickStatus
from trellis.instance.instance import Instance

CRASH_DAEMON = str(HERE / "crash_daemon.py")
pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")


@pytest.fixture
def env(tmp_path, monkeypatch):
    home = tmp_path / "home"
    out = tmp_path / "out"
    out.mkdir()
    monkeypatch.setenv("TRELLIS_HOME", str(home))
    monkeypatch.setenv("DAEMON_TEST_OUT", str(out))
    monkeypatch.setenv("PYTHONUNBUFFERED", "1")
    # The definitions' hourly schedule is on by default: a test that spans the top of the
    # hour would count its run among the executions it checks.
    with Instance.get() as instance:
        instance.set_instigator_status("hourly", InstigatorType.SCHEDULE, InstigatorStatus.STOPPED)
    return {"home": home, "out": out, "paused": tmp_path / "paused"}


def _spawn(*args: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )


def _daemon() -> subprocess.Popen:
    return _spawn("-m", "trellis", "daemon", "-f", DEFS_FILE)


def _kill(proc: subprocess.Popen) -> str:
    os.kill(proc.pid, signal.SIGKILL)
    out, _ = proc.communicate(timeout=30)
    return out


def _stop(proc: subprocess.Popen) -> str:
    proc.send_signal(signal.SIGTERM)
    out, _ = proc.communicate(timeout=60)
    assert proc.returncode == 0, out
    return out


def _executions(out: Path) -> Counter:
    """How many times each run executed (one file per execution)."""
    return Counter(p.name.split(".")[0] for p in out.iterdir())


def _runs(statuses=None):
    with Instance.get() as instance:
        return instance.get_runs(statuses=statuses)


def test_killed_between_creating_a_run_and_recording_its_tick(env):
    with Instance.get() as instance:
        instance.set_instigator_status("counter", InstigatorType.SENSOR, InstigatorStatus.RUNNING)
    first = _spawn(CRASH_DAEMON, "after-runs-created", DEFS_FILE, str(env["paused"]))
    wait_until(env["paused"].exists, "the daemon to pause after queuing the tick's run")
    _kill(first)
    with Instance.get() as instance:
        tick = instance.get_ticks("counter")[0]
        queued = instance.get_runs(tags={"trellis/sensor_name": "counter"})
    assert tick.status is TickStatus.STARTED
    assert len(queued) == 1 and queued[0].status is RunStatus.QUEUED

    second = _daemon()
    try:
        done = wait_until(lambda: _runs([RunStatus.SUCCESS]), "the queued run to succeed")
    finally:
        _stop(second)
    with Instance.get() as instance:
        runs = instance.get_runs(tags={"trellis/sensor_name": "counter"})
        ticks = instance.get_ticks("counter")
    # The resumed tick made no new run for key n1; later ticks (30 s apart) cannot have
    # run in this time.
    assert [r.run_id for r in runs] == [queued[0].run_id]
    assert done[0].run_id == queued[0].run_id
    resumed = next(t for t in ticks if t.tick_id == tick.tick_id)
    assert resumed.status is TickStatus.SUCCESS and resumed.run_ids == (queued[0].run_id,)
    assert _executions(env["out"]) == {queued[0].run_id: 1}


def test_killed_while_runs_are_queued_and_launching(env):
    ids = []
    with Instance.get() as instance:
        for n in range(6):
            run = Run(new_run_id(), "work", tags={"trellis/code_location": _location_tag()})
            run.create_time = 1000.0 + n
            ids.append(instance.submit_run(run).run_id)
    first = _spawn(CRASH_DAEMON, "mid-launch", DEFS_FILE, str(env["paused"]))
    wait_until(env["paused"].exists, "the daemon to pause mid-launch")
    _kill(first)
    statuses = Counter(r.status for r in _runs())
    assert statuses[RunStatus.QUEUED] == 3  # the others were claimed before the kill
    second = _daemon()
    try:
        wait_until(lambda: len(_runs([RunStatus.SUCCESS])) == 6, "all six runs to succeed")
    finally:
        _stop(second)
    assert _runs([RunStatus.STARTING, RunStatus.QUEUED, RunStatus.STARTED]) == []
    assert _executions(env["out"]) == dict.fromkeys(ids, 1)


def test_two_daemons_on_one_instance_one_wins_the_other_waits(env):
    first = _daemon()
    try:
        holder = wait_until(_heartbeat_daemon, "the first daemon's heartbeat")
        second = _daemon()
        line = wait_until(lambda: second.stdout.readline(), "the second daemon to speak")
        while "Another daemon" not in line:
            line = second.stdout.readline()
        assert f"Another daemon ({holder})" in line and "waiting" in line
        time.sleep(1.5)
        assert _heartbeat_daemon() == holder  # the second one runs nothing
        _stop(first)
        taken = wait_until(lambda: (_heartbeat_daemon() or holder) != holder, "the takeover")
        assert taken != holder
    finally:
        for proc in (first, second):
            if proc.poll() is None:
                _stop(proc)


def _heartbeat_daemon() -> str | None:
    with Instance.get() as instance:
        beats = {b.daemon_type: b for b in instance.get_daemon_heartbeats()}
    beat = beats.get("sensors")
    return beat.daemon_id if beat is not None and time.time() - beat.timestamp < 10 else None


def _location_tag() -> str:
    from trellis.daemon.code_location import pointer_tag
    from trellis.execution.remote.code_pointer import CodePointer

    return pointer_tag(CodePointer(file=DEFS_FILE, attribute="defs"))
