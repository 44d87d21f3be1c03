"""The daemon's ``run_retries`` and ``run_monitoring`` loops with real ``trellis daemon``
processes on a SQLite instance:

- a run whose step fails once (a marker file) is retried by the daemon through the run
  queue: the retry has the id derived from the failed run, is linked to it, runs only
  the failed step in a launched process (not the daemon's) and succeeds; a daemon
  restarted after enqueuing the retry (even before tagging the failed run) makes no
  second retry;
- a run whose process is SIGKILLed while the daemon runs is failed with the reason, and
  the run queue and the concurrency pool it held let the next run start.

Both with the default launcher and with the forked one (``--launcher fork``).

The test reads runs through the storage directly: an ``Instance`` read would itself end
the dead run and hide whether the daemon did.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml
from daemon_helpers import HERE, wait_until

from trellis.api.run_retries import (
    AUTO_RETRY_RUN_ID_TAG,
    REEXECUTION_TAG,
    RETRY_NUMBER_TAG,
    retry_run_id,
)
from trellis.core.events import EventType
from trellis.core.run import PID_TAG, Run, RunStatus, new_run_id
from trellis.daemon.code_location import pointer_tag
from trellis.execution.remote.code_pointer import CodePointer
from trellis.instance.instance import Instance
from trellis.instance.storage import RunsFilter

RETRY_DEFS = str(HERE / "retry_defs.py")
pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")


@pytest.fixture
def env(tmp_path, monkeypatch):
    home = tmp_path / "home"
    home.mkdir()
    out = tmp_path / "out"
    out.mkdir()
    config = {
        "run_retries": {"enabled": True},
        "run_queue": {"max_concurrent_runs": 1, "dequeue_interval_seconds": 0.2},
    }
    (home / "trellis.yaml").write_text(yaml.safe_dump(config))
    monkeypatch.setenv("TRELLIS_HOME", str(home))
    monkeypatch.setenv("DAEMON_TEST_OUT", str(out))
    return {"home": home, "out": out}


LAUNCHERS = pytest.mark.parametrize("launcher", ["subprocess", "fork"])


def _daemon(launcher: str = "subprocess") -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "trellis", "daemon", "-f", RETRY_DEFS, "--launcher", launcher],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )


def _stop(proc: subprocess.Popen) -> str:
    proc.send_signal(signal.SIGTERM)
    out, _ = proc.communicate(timeout=60)
    assert proc.returncode == 0, out
    return out


def _submit(job_name: str) -> str:
    tag = pointer_tag(CodePointer(file=RETRY_DEFS, attribute="defs"))
    with Instance.get() as instance:
        run = Run(new_run_id(), job_name, tags={"trellis/code_location": tag})
        return instance.submit_run(run).run_id


def _stored(run_id: str) -> Run | None:
    with Instance.get() as instance:
        return instance.storage.get_run(run_id)


def _all_runs() -> list[Run]:
    with Instance.get() as instance:
        return instance.storage.get_runs(RunsFilter())


def _events(run_id: str) -> list:
    with Instance.get() as instance:
        return list(instance.all_logs(run_id))


def _retries_beat(daemon_id: str | None = None):
    with Instance.get() as instance:
        beats = {b.daemon_type: b for b in instance.get_daemon_heartbeats()}
    beat = beats.get("run_retries")
    if beat is None or (daemon_id is not None and beat.daemon_id == daemon_id):
        return None
    return beat


@LAUNCHERS
def test_a_failed_run_is_retried_through_the_queue_once_across_restarts(env, launcher):
    failed_id = _submit("flaky")
    retry_id = retry_run_id(failed_id)
    daemon = _daemon(launcher)
    try:
        retry = wait_until(
            lambda: (r := _stored(retry_id)) is not None and r.status.is_finished and r,
            "the retry run to finish",
        )
        first_beat = wait_until(_retries_beat, "the run_retries heartbeat")
    finally:
        output = _stop(daemon)
    failed = _stored(failed_id)
    assert failed.status is RunStatus.FAILURE
    assert retry.status is RunStatus.SUCCESS, output
    assert retry.parent_run_id == failed_id and retry.root_run_id == failed_id
    assert retry.tags[RETRY_NUMBER_TAG] == "1"
    assert retry.tags[REEXECUTION_TAG] == "FROM_FAILURE"
    assert failed.tags[AUTO_RETRY_RUN_ID_TAG] == retry_id
    # it went through the queue and ran in a launched process, not the daemon's
    kinds = [e.event_type for e in _events(retry_id)]
    assert kinds.index(EventType.RUN_ENQUEUED) < kinds.index(EventType.RUN_STARTING)
    assert int(retry.tags[PID_TAG]) != daemon.pid
    # FROM_FAILURE: `first` ran once (in the failed run), `second` ran in the retry
    out = env["out"]
    assert sorted(p.name for p in out.glob("first.*")) == [f"first.{failed_id}"]
    assert sorted(p.name for p in out.glob("second.*")) == [f"second.{retry_id}"]
    assert any(
        e.event_type is EventType.ENGINE_EVENT and retry_id in (e.message or "")
        for e in _events(failed_id)
    )

    # A daemon killed after enqueuing the retry but before tagging the failed run:
    # the restarted daemon completes the tag and makes no second retry.
    with Instance.get() as instance:
        failed = instance.storage.get_run(failed_id)
        del failed.tags[AUTO_RETRY_RUN_ID_TAG]
        instance.update_run(failed)
    again = _daemon()
    try:
        wait_until(lambda: _retries_beat(first_beat.daemon_id), "the second daemon's retries loop")
        wait_until(lambda: AUTO_RETRY_RUN_ID_TAG in _stored(failed_id).tags, "the failed run's tag")
        time.sleep(1.0)  # a few more rounds of the loop
    finally:
        _stop(again)
    assert sorted(r.run_id for r in _all_runs()) == sorted([failed_id, retry_id])
    assert _stored(failed_id).tags[AUTO_RETRY_RUN_ID_TAG] == retry_id


def _sleeper_pid(out: Path, run_id: str) -> int | None:
    path = out / f"sleeper.{run_id}"
    try:
        text = path.read_text()
    except FileNotFoundError:
        return None
    return int(text) if text else None


def _run_pids() -> list[int]:
    """The pids of the run processes the daemon launched (from their runs' tags)."""
    return [int(r.tags[PID_TAG]) for r in _all_runs() if r.tags.get(PID_TAG, "").isdigit()]


@LAUNCHERS
def test_a_run_whose_process_is_killed_is_failed_and_frees_its_slots(env, launcher):
    config = yaml.safe_load((env["home"] / "trellis.yaml").read_text())
    config["run_queue"]["max_concurrent_runs"] = 2
    (env["home"] / "trellis.yaml").write_text(yaml.safe_dump(config))
    with Instance.get() as instance:
        instance.set_concurrency_limit("sleepers", 1)
    ids = [_submit("sleepy") for _ in range(3)]
    daemon = _daemon(launcher)
    try:
        # the first two runs start (max_concurrent_runs: 2); one gets the pool's slot
        holder = wait_until(
            lambda: next((i for i in ids[:2] if _sleeper_pid(env["out"], i)), None),
            "a run's step to take the pool slot",
        )
        waiter = ids[1] if holder == ids[0] else ids[0]
        pid = _sleeper_pid(env["out"], holder)
        wait_until(lambda: _stored(waiter).status is RunStatus.STARTED, "the other run to start")
        time.sleep(0.5)
        # the other run waits for the pool's one slot; the third for a queue place
        assert _sleeper_pid(env["out"], waiter) is None
        assert _stored(ids[2]).status is RunStatus.QUEUED
        os.kill(pid, signal.SIGKILL)
        failed = wait_until(
            lambda: (r := _stored(holder)).status is RunStatus.FAILURE and r,
            "the daemon to fail the killed run",
        )
        # the pool slot it held is free: the waiting run's step runs; its queue place
        # is free: the third run starts
        wait_until(lambda: _sleeper_pid(env["out"], waiter), "the waiting run's step")
        wait_until(lambda: _stored(ids[2]).status is RunStatus.STARTED, "the third run to start")
    finally:
        _stop(daemon)
        for run_pid in _run_pids():
            try:
                os.kill(run_pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
    assert failed.end_time is not None
    failure = [e for e in _events(holder) if e.event_type is EventType.RUN_FAILURE]
    assert len(failure) == 1
    assert failure[0].data.reason == "process died"
    assert failure[0].data.pid == pid
    assert f"its process {pid} died" in failure[0].message
