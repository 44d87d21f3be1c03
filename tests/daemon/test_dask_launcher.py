"""``DaskRunLauncher`` (``trellis daemon --launcher dask``): queued runs launched as tasks
on a real Dask ``LocalCluster`` run in a worker's process, write to the same SQLite
instance, and end SUCCESS or FAILURE; the launcher reports their end."""

from __future__ import annotations

import os
import threading
import time

import pytest
from click.testing import CliRunner
from daemon_helpers import DEFS_FILE

from trellis.cli.main import cli
from trellis.core.errors import InstanceError
from trellis.core.events import EventType
from trellis.core.run import Run, RunStatus, new_run_id
from trellis.daemon.code_location import pointer_tag
from trellis.daemon.dask_launcher import DaskRunLauncher
from trellis.execution.executors.dask import start_local_cluster
from trellis.execution.remote.code_pointer import CodePointer
from trellis.instance.instance import Instance


@pytest.fixture(scope="module")
def cluster():
    """One ``LocalCluster`` of two worker processes for this module's tests, started as
    the launcher and the Dask executor start theirs."""
    local = start_local_cluster(2, 1)
    try:
        yield local
    finally:
        local.close()


@pytest.fixture
def home(tmp_path, monkeypatch):
    path = tmp_path / "home"
    monkeypatch.setenv("TRELLIS_HOME", str(path))
    out = tmp_path / "out"
    out.mkdir()
    monkeypatch.setenv("DAEMON_TEST_OUT", str(out))
    return path


def _worker_pids(cluster) -> set[int]:
    from distributed import Client

    with Client(cluster.scheduler_address, set_as_default=False) as client:
        return set(client.run(os.getpid).values())


def _queue(instance, job_name: str) -> Run:
    tag = pointer_tag(CodePointer(file=DEFS_FILE, attribute="defs"))
    run = instance.submit_run(Run(new_run_id(), job_name, tags={"trellis/code_location": tag}))
    claimed = instance.claim_queued_run(run.run_id)
    assert claimed is not None
    return claimed


def _wait_ended(launcher, count: int, timeout: float = 60.0):
    deadline = time.monotonic() + timeout
    ended = []
    while len(ended) < count and time.monotonic() < deadline:
        ended += launcher.poll()
        time.sleep(0.05)
    assert len(ended) == count, ended
    return ended


def test_runs_launched_on_the_cluster_succeed_or_fail_in_a_worker_process(cluster, home):
    workers = _worker_pids(cluster)
    launcher = DaskRunLauncher(cluster.scheduler_address)
    exits = threading.Semaphore(0)
    launcher.on_exit = exits.release
    with Instance.get() as instance:
        launcher.prepare(instance)
        good = _queue(instance, "work")
        bad = _queue(instance, "fragile")
        launcher.launch_run(good, instance)
        launcher.launch_run(bad, instance)
        assert exits.acquire(timeout=60) and exits.acquire(timeout=60)  # on_exit, twice
        ended = _wait_ended(launcher, 2)
        assert {e.run_id: e.exit_code for e in ended} == {good.run_id: 0, bad.run_id: 0}
        assert instance.get_run(good.run_id).status is RunStatus.SUCCESS
        assert instance.get_run(bad.run_id).status is RunStatus.FAILURE
        for run_id in (good.run_id, bad.run_id):
            (start,) = [e for e in instance.all_logs(run_id) if e.event_type is EventType.RUN_START]
            assert start.pid in workers and start.pid != os.getpid()
        failure = [
            e for e in instance.all_logs(bad.run_id) if e.event_type is EventType.STEP_FAILURE
        ]
        assert failure and "boom" in failure[0].message + str(failure[0].data)
    launcher.dispose()


def test_a_task_that_cannot_run_is_reported_so_the_queue_fails_the_run(cluster, home):
    launcher = DaskRunLauncher(cluster.scheduler_address)
    with Instance.get() as instance:
        run = instance.submit_run(Run(new_run_id(), "work", tags={}))  # no code location
        instance.claim_queued_run(run.run_id)
        launcher.launch_run(run, instance)
        (ended,) = _wait_ended(launcher, 1)
        assert ended.exit_code == 1
        failed = instance.get_run(run.run_id)
        assert failed.status is RunStatus.FAILURE
    launcher.dispose()


def test_the_daemon_launches_on_its_own_local_cluster(home, tmp_path):
    launched = CliRunner().invoke(cli, ["run", "launch", "-f", DEFS_FILE, "-j", "work"])
    assert launched.exit_code == 0, launched.output
    once = CliRunner().invoke(
        cli, ["daemon", "-f", DEFS_FILE, "--once", "--launcher", "dask"], catch_exceptions=False
    )
    assert once.exit_code == 0, once.output
    with Instance.get() as instance:
        # The daemon's own cluster was closed only once the run had ended on it.
        (run,) = instance.get_runs()
        assert run.status is RunStatus.SUCCESS
        (start,) = [e for e in instance.all_logs(run.run_id) if e.event_type is EventType.RUN_START]
        assert start.pid != os.getpid()  # the daemon ran in this process; the run did not
    (recorded,) = (tmp_path / "out").iterdir()
    assert recorded.read_text() == str(start.pid)


def test_bad_launcher_options_are_refused():
    wrong = CliRunner().invoke(cli, ["daemon", "--dask-address", "tcp://127.0.0.1:1"])
    assert wrong.exit_code == 2 and "--dask-address is for --launcher dask" in wrong.output
    with pytest.raises(ValueError, match="address is empty"):
        DaskRunLauncher(" ")
    with pytest.raises(ValueError, match="n_workers"):
        DaskRunLauncher(n_workers=0)


def test_an_unreachable_scheduler_is_named(home):
    launcher = DaskRunLauncher("tcp://127.0.0.1:1", timeout=1.0)
    with (
        Instance.get() as instance,
        pytest.raises(InstanceError, match=r"could not use the cluster at tcp://127\.0\.0\.1:1"),
    ):
        launcher.prepare(instance)
    launcher.dispose()


VERSIONED_DEFS = """
    import os
    from pathlib import Path

    from trellis import Definitions, job, op

    VERSION = "{version}"

    @op
    def stamp(context) -> None:
        Path(os.environ["DAEMON_TEST_OUT"], context.run_id).write_text(VERSION)

    @job
    def versioned():
        stamp()

    defs = Definitions(jobs=[versioned])
"""


def test_a_worker_runs_the_code_as_it_is_on_disk_when_the_run_starts(home, tmp_path):
    """A worker keeps the code it imported until a file changes (``trellis daemon
    --reload`` then launches runs of the new code on the same cluster)."""
    import textwrap

    defs = tmp_path / "versioned_defs.py"
    defs.write_text(textwrap.dedent(VERSIONED_DEFS.format(version="one")))
    tag = pointer_tag(CodePointer(file=str(defs), attribute="defs"))
    out = tmp_path / "out"
    local = start_local_cluster(1, 1)  # one worker: every run meets the code it imported
    launcher = DaskRunLauncher(local.scheduler_address)
    try:
        with Instance.get() as instance:
            launcher.prepare(instance)

            def run_once() -> str:
                run = instance.submit_run(
                    Run(new_run_id(), "versioned", tags={"trellis/code_location": tag})
                )
                claimed = instance.claim_queued_run(run.run_id)
                assert claimed is not None
                launcher.launch_run(claimed, instance)
                _wait_ended(launcher, 1)
                assert instance.get_run(run.run_id).status is RunStatus.SUCCESS
                return (out / run.run_id).read_text()

            assert run_once() == "one"
            assert run_once() == "one"
            defs.write_text(textwrap.dedent(VERSIONED_DEFS.format(version="two")))
            later = time.time() + 2  # a modification time the watch cannot miss
            os.utime(defs, (later, later))
            assert run_once() == "two"
    finally:
        launcher.dispose()
        local.close()
