"""Dead-run detection that production cannot fool: a pid is checked only where it names
the run's process (same host name, same PID namespace, same boot), a heartbeat decides
elsewhere; a run that died while being canceled ends CANCELED; a finished run never
changes status again."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml
from instance_helpers import event, make_run
from instance_workers import encode_ref

from trellis.core.events import EventType
from trellis.core.run import HOST_TAG, PID_NAMESPACE_TAG, PID_TAG, RunStatus
from trellis.instance.instance import Instance
from trellis.instance.liveness import this_host, this_pid_namespace

WORKER = str(Path(__file__).with_name("instance_workers.py"))
FAST_HEARTBEAT = {"run_monitoring": {"heartbeat_interval": 0.2, "heartbeat_timeout": 2}}


def _with_config(instance: Instance, extra: dict) -> Instance:
    """The same storage (SQLite home or PostgreSQL schema) opened with more settings (on
    PostgreSQL a retry bound below the short heartbeat timeout)."""
    ref = instance.get_ref()
    config = {**ref.config, **extra}
    if "postgres" in config.get("storage", {}):
        postgres = {**config["storage"]["postgres"], "retry_timeout": 1}
        config["storage"] = {"postgres": postgres}
    return Instance.from_config(ref.home, config)


def _start_hanging(instance: Instance, run_id: str, prefix: list[str] | None = None):
    """A child process that starts ``run_id`` and then only beats until killed."""
    args = [sys.executable, WORKER, "hang", encode_ref(instance.get_ref()), run_id, "0"]
    proc = subprocess.Popen(
        [*(prefix or []), *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    line = proc.stdout.readline().strip()
    assert line == "started", line + proc.stderr.read()
    return proc


def _kill(proc: subprocess.Popen) -> None:
    os.killpg(proc.pid, signal.SIGKILL)  # the child's own session: it and its children
    proc.wait(timeout=30)


def _started(instance: Instance, run_id: str, **tags: str):
    """A run started by some other process, recorded as ``Instance`` records a start
    (host, pid and namespace tags) with ``tags`` over them; no heartbeat yet."""
    run = make_run(run_id)
    start = event(run, EventType.RUN_START)
    run.status, run.start_time = RunStatus.STARTED, start.timestamp
    run.tags.update({HOST_TAG: this_host(), PID_TAG: str(start.pid)})
    run.tags[PID_NAMESPACE_TAG] = this_pid_namespace()
    run.tags.update(tags)
    instance.add_run(run)
    instance.storage.store_events([start])
    return run


def _free_pid() -> int:
    """A pid number no process of this namespace has now."""
    pid_max = int(Path("/proc/sys/kernel/pid_max").read_text())
    for pid in range(pid_max - 100, 300, -1):
        if not Path(f"/proc/{pid}").exists():
            return pid
    raise AssertionError("no free pid")


def test_a_run_that_dies_while_being_canceled_ends_canceled(instance, tmp_path):
    proc = _start_hanging(instance, "stuck")
    assert instance.request_cancel("stuck")
    assert instance.get_run("stuck").status is RunStatus.CANCELING
    assert instance.mark_dead_runs_failed() == []  # still alive: it is canceling
    _kill(proc)
    with Instance.from_ref(instance.get_ref()) as fresh:
        run = fresh.get_run("stuck")  # the look that notices
        assert run.status is RunStatus.CANCELED and run.end_time is not None
        last = fresh.all_logs("stuck")[-1]
        assert last.event_type is EventType.RUN_CANCELED
        assert f"process {proc.pid} died" in last.message
        assert "while the run was being canceled" in last.message
        assert fresh.mark_dead_runs_failed() == []  # only once
    assert [e.event_type for e in instance.all_logs("stuck")].count(EventType.RUN_CANCELED) == 1
    # The CLI sees it ended, and retention may delete it.
    ref = instance.get_ref()
    home = Path(ref.home)
    (home / "trellis.yaml").write_text(yaml.safe_dump(ref.config))
    env = {**os.environ, "TRELLIS_HOME": str(home)}
    cancel = subprocess.run(
        [sys.executable, "-m", "trellis", "run", "cancel", "stuck"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert cancel.returncode == 2 and "is CANCELED" in cancel.stderr
    assert instance.delete_runs_older_than(0) == 1
    assert instance.get_run("stuck") is None


def test_cancel_asked_twice_is_not_an_error(instance):
    proc = _start_hanging(instance, "twice")
    try:
        assert instance.request_cancel("twice")
        assert instance.request_cancel("twice")  # already canceling
        canceling = [
            e for e in instance.all_logs("twice") if e.event_type is EventType.RUN_CANCELING
        ]
        assert len(canceling) == 1
        # Asking to cancel records no new pid: the run's process is still the one checked.
        assert instance.get_run("twice").tags[PID_TAG] == str(proc.pid)
    finally:
        _kill(proc)


def test_pid_of_another_pid_namespace_is_never_checked_here(instance):
    """The failure seen with two containers of one host name: the run's pid does not
    exist in the observer's namespace, but its heartbeat is fresh. It is alive."""
    elsewhere = f"pid:[4026530000]@{'0' * 8}-other-boot"
    _started(instance, "container", **{PID_TAG: str(_free_pid()), PID_NAMESPACE_TAG: elsewhere})
    instance.storage.record_heartbeat(["container"], time.time())
    assert instance.mark_dead_runs_failed() == []
    assert instance.get_run("container").status is RunStatus.STARTED


def test_a_live_pid_here_does_not_keep_a_silent_run_of_another_namespace_alive(instance):
    """The pid names some unrelated live process here (this one); what counts is the
    heartbeat, stopped two minutes ago."""
    elsewhere = "pid:[4026530000]@other-boot"
    _started(instance, "silent", **{PID_TAG: str(os.getpid()), PID_NAMESPACE_TAG: elsewhere})
    instance.storage.record_heartbeat(["silent"], time.time() - 120)
    assert instance.mark_dead_runs_failed() == ["silent"]
    last = instance.all_logs("silent")[-1]
    assert last.event_type is EventType.RUN_FAILURE
    assert last.data.reason == "heartbeat timed out"
    assert "stopped its heartbeat for 120 s (timeout 60 s)" in last.message


def test_runs_of_other_hosts_are_judged_by_their_heartbeat(instance):
    _started(instance, "fresh", **{HOST_TAG: "other-host", PID_TAG: "1"})
    _started(instance, "stale", **{HOST_TAG: "other-host", PID_TAG: "1"})
    instance.storage.record_heartbeat(["fresh"], time.time())
    instance.storage.record_heartbeat(["stale"], time.time() - 61)
    assert instance.mark_dead_runs_failed() == ["stale"]
    assert instance.get_run("fresh").status is RunStatus.STARTED
    failure = instance.all_logs("stale")[-1]
    assert failure.data.reason == "heartbeat timed out" and failure.data.host == "other-host"


def test_a_run_recorded_without_a_namespace_is_not_judged_by_its_pid(instance):
    """Runs recorded by an older Trellis (no namespace tag): their pid may belong to
    another container, so only the heartbeat (else the start time) decides."""
    run = _started(instance, "old", **{PID_TAG: str(_free_pid())})
    del run.tags[PID_NAMESPACE_TAG]
    instance.update_run(run)
    assert instance.mark_dead_runs_failed() == []  # started just now
    run.start_time = time.time() - 3600
    instance.update_run(run)
    assert instance.mark_dead_runs_failed() == ["old"]
    assert "sent no heartbeat for 3600 s" in instance.all_logs("old")[-1].message


def test_the_pid_decides_at_once_in_this_namespace(instance):
    """Same host, same namespace: a dead pid is certain, whatever the heartbeat says."""
    _started(instance, "gone", **{PID_TAG: str(_free_pid())})
    assert instance.storage.get_run("gone").tags[PID_NAMESPACE_TAG] == this_pid_namespace()
    instance.storage.record_heartbeat(["gone"], time.time())
    assert instance.mark_dead_runs_failed() == ["gone"]
    assert instance.all_logs("gone")[-1].data.reason == "process died"


def test_a_finished_run_never_leaves_its_status(any_instance):
    """A run presumed dead (FAILURE) whose process comes back and ends it SUCCESS: the
    late events are stored after the end, the status stays FAILURE."""
    instance = any_instance
    run = instance.add_run(make_run("late"))
    instance.handle_new_events([event(run, EventType.RUN_START)], run)
    observer_view = instance.get_run("late")
    failure = event(observer_view, EventType.RUN_FAILURE, message="marked failed")
    instance.handle_new_events([failure], observer_view)
    assert instance.get_run("late").status is RunStatus.FAILURE
    # The run's own process did not know, and goes on (in memory the run is one object,
    # which knows).
    if not instance.is_ephemeral:
        assert run.status is RunStatus.STARTED
    instance.handle_new_events(
        [event(run, EventType.STEP_SUCCESS, step_key="s"), event(run, EventType.RUN_SUCCESS)],
        run,
    )
    stored = instance.get_run("late")
    assert stored.status is RunStatus.FAILURE
    assert [e.event_type for e in instance.all_logs("late")] == [
        EventType.RUN_START,
        EventType.RUN_FAILURE,
        EventType.STEP_SUCCESS,
        EventType.RUN_SUCCESS,
    ]
    if not instance.is_ephemeral:  # in memory the run is one shared object
        run.status = RunStatus.SUCCESS
        instance.update_run(run)
        assert instance.get_run("late").status is RunStatus.FAILURE
    assert instance.get_runs(statuses=[RunStatus.SUCCESS]) == []


def test_a_run_writes_its_heartbeat_while_it_runs(instance):
    from trellis import asset, materialize

    beating = _with_config(instance, FAST_HEARTBEAT)
    seen: list[float | None] = []

    @asset
    def slow() -> int:
        time.sleep(0.6)
        run_id = next(iter(beating._heartbeat.run_ids))
        seen.append(beating.storage.get_heartbeats([run_id])[run_id])
        return 1

    try:
        result = materialize([slow], instance=beating)
        assert result.success
        assert seen and seen[0] is not None and seen[0] > result.run.start_time
        deadline = time.monotonic() + 5
        while beating._heartbeat.run_ids and time.monotonic() < deadline:
            time.sleep(0.01)
        assert not beating._heartbeat.run_ids  # the beat stops with the run
    finally:
        beating.dispose()


def _unshare_prefix(pid: int) -> list[str]:
    """Run a command in a new PID namespace (and its own /proc) as pid ``pid`` there."""
    script = f'echo {pid - 1} > /proc/sys/kernel/ns_last_pid && "$@"'
    return ["unshare", "--pid", "--fork", "--mount-proc", "sh", "-c", script, "sh"]


def _can_unshare() -> str | None:
    if shutil.which("unshare") is None:
        return "the unshare command is not installed"
    probe = subprocess.run(
        ["unshare", "--pid", "--fork", "--mount-proc", "true"], capture_output=True, text=True
    )
    if probe.returncode != 0:
        return f"cannot create a PID namespace here (root needed): {probe.stderr.strip()}"
    return None


@pytest.mark.slow
def test_a_live_run_in_another_pid_namespace_is_left_alone_until_its_heartbeat_stops(
    instance,
):
    """Two containers with one host name, for real: the run's process lives in a new
    PID namespace, under a pid that no process has in ours. It is not marked failed while
    it beats; once killed, it is, after the heartbeat timeout."""
    reason = _can_unshare()
    if reason is not None:
        pytest.skip(reason)
    beating = _with_config(instance, FAST_HEARTBEAT)
    pid = _free_pid()
    proc = _start_hanging(beating, "boxed", _unshare_prefix(pid))
    try:
        run = beating.get_run("boxed")
        assert run.tags[PID_TAG] == str(pid) and run.tags[HOST_TAG] == this_host()
        assert run.tags[PID_NAMESPACE_TAG] != this_pid_namespace()
        assert not Path(f"/proc/{pid}").exists()  # no such pid here
        for _ in range(3):  # longer than the heartbeat timeout
            time.sleep(1)
            assert beating.mark_dead_runs_failed() == []
        assert beating.get_run("boxed").status is RunStatus.STARTED
    finally:
        _kill(proc)
    killed_at = time.monotonic()
    deadline = killed_at + 20
    while beating.mark_dead_runs_failed() != ["boxed"]:
        assert time.monotonic() < deadline, "never marked failed"
        time.sleep(0.2)
    assert time.monotonic() - killed_at >= 1.5  # not before the timeout
    failure = beating.all_logs("boxed")[-1]
    assert failure.event_type is EventType.RUN_FAILURE
    assert failure.data.reason == "heartbeat timed out"
    beating.dispose()
