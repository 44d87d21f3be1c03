"""The daemon's ``run_monitoring`` loop driven by a manual clock (on in-memory, SQLite
and PostgreSQL instances): a launched run whose process never takes it is failed once
``start_timeout_seconds`` has passed, with a message saying so, and its place in the
queue goes to the next run; a STARTED run whose recorded process is dead is failed with
the reason."""

from __future__ import annotations

import subprocess
import sys

from daemon_helpers import DEFS_FILE, Harness

from trellis.core.events import EventType
from trellis.core.run import HOST_TAG, PID_NAMESPACE_TAG, PID_TAG, Run, RunStatus, new_run_id
from trellis.daemon.code_location import pointer_tag
from trellis.execution.remote.code_pointer import CodePointer
from trellis.instance.daemon_config import DaemonSettings
from trellis.instance.liveness import this_host, this_pid_namespace

TAG = pointer_tag(CodePointer(file=DEFS_FILE, attribute="defs"))


def _submit(instance, create_time: float) -> str:
    run = Run(new_run_id(), "work", tags={"trellis/code_location": TAG})
    run.create_time = create_time
    return instance.submit_run(run).run_id


def test_a_run_stuck_starting_is_failed_after_the_start_timeout(harness):
    instance = harness.instance
    h = Harness(instance, DaemonSettings(max_concurrent_runs=1), monitoring=True)
    first, second = _submit(instance, 1.0), _submit(instance, 2.0)
    h.at(0)
    assert h.launcher.launched == [first]  # the recording launcher never starts it
    h.at(170)
    assert instance.get_run(first).status is RunStatus.STARTING
    assert h.launcher.launched == [first]
    h.at(181)  # past the 180 s default
    assert instance.get_run(first).status is RunStatus.FAILURE
    failure = [e for e in instance.all_logs(first) if e.event_type is EventType.RUN_FAILURE]
    assert "did not start it within 180 s" in failure[0].message
    assert "start_timeout_seconds" in failure[0].message
    h.at(182)  # its queue place is free
    assert h.launcher.launched == [first, second]
    beats = {b.daemon_type: b for b in instance.get_daemon_heartbeats()}
    assert beats["run_monitoring"].info["failed_starting"] == 1


def test_a_started_run_whose_process_died_is_failed_with_the_reason(tmp_path):
    from trellis.instance.instance import Instance

    with Instance.from_config(tmp_path / "home", {}) as instance:
        h = Harness(instance, monitoring=True)
        gone = subprocess.run(
            [sys.executable, "-c", "import os; print(os.getpid())"],
            capture_output=True,
            text=True,
            check=True,
        )
        pid = int(gone.stdout)
        run_id = _submit(instance, 1.0)
        instance.claim_queued_run(run_id)
        run = instance.begin_launched_run(run_id)
        run.tags.update({PID_TAG: str(pid), HOST_TAG: this_host()})
        if this_pid_namespace() is not None:
            run.tags[PID_NAMESPACE_TAG] = this_pid_namespace()
        instance.storage.update_run(run)
        monitor = next(x for x in h.daemon.loops if x.name == "run_monitoring")
        monitor.run_iteration(h.clock.now())
        assert instance.storage.get_run(run_id).status is RunStatus.FAILURE
        assert monitor.info["failed_dead"] == 1
        failure = [e for e in instance.all_logs(run_id) if e.event_type is EventType.RUN_FAILURE]
        assert failure[0].data.reason == "process died"
        assert failure[0].data.pid == pid
