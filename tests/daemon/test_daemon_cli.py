"""The commands: ``trellis schedule|sensor list/start/stop/preview/logs/cursor``,
``trellis run launch`` and ``run list --status queued``, ``trellis daemon --once`` (real
run processes) and ``trellis daemon status``."""

from __future__ import annotations

import time

import pytest
from click.testing import CliRunner
from daemon_helpers import DEFS_FILE

from trellis.cli.main import cli
from trellis.core.run import RunStatus
from trellis.instance.instance import Instance


@pytest.fixture
def home(tmp_path, monkeypatch):
    path = tmp_path / "home"
    monkeypatch.setenv("TRELLIS_HOME", str(path))
    out = tmp_path / "out"
    out.mkdir()
    monkeypatch.setenv("DAEMON_TEST_OUT", str(out))
    return path


def _cli(*args: str, code: int = 0):
    result = CliRunner().invoke(cli, list(args), catch_exceptions=False)
    assert result.exit_code == code, result.output
    return result.output


def _wait_for_runs(statuses, count, timeout=60.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with Instance.get() as instance:
            runs = instance.get_runs(statuses=statuses)
        if len(runs) >= count:
            return runs
        time.sleep(0.1)
    raise AssertionError(f"fewer than {count} runs reached {statuses}")


def test_schedule_and_sensor_commands(home):
    listed = _cli("schedule", "list", "-f", DEFS_FILE)
    assert "hourly" in listed and "RUNNING (default)" in listed and "0 * * * * (UTC)" in listed
    assert "STOPPED (default)" in listed
    _cli("schedule", "start", "nightly_new_york", "-f", DEFS_FILE)
    listed = _cli("schedule", "list", "-f", DEFS_FILE)
    assert "America/New_York" in listed
    with Instance.get() as instance:
        assert instance.get_instigator_state("nightly_new_york").status.value == "RUNNING"
    _cli("schedule", "stop", "nightly_new_york", "-f", DEFS_FILE)
    with Instance.get() as instance:
        assert instance.get_instigator_state("nightly_new_york").status.value == "STOPPED"
    missing = _cli("schedule", "start", "hourli", "-f", DEFS_FILE, code=2)
    assert "No schedule named 'hourli'" in missing and "hourly" in missing
    preview = _cli("schedule", "preview", "paris_morning", "-f", DEFS_FILE, "--ticks", "2")
    assert preview.count("T09:00:00+0") == 2  # 09:00 in Paris, two days running
    assert "'greeting': 'bonjour'" in preview
    sensors = _cli("sensor", "list", "-f", DEFS_FILE)
    assert "counter" in sensors and "every 30 s" in sensors
    assert "default_automation_condition_sensor" in sensors
    preview = _cli("sensor", "preview", "counter", "-f", DEFS_FILE, "--cursor", "1")
    assert "run_key='n2'" in preview and "Cursor after the tick: '2'" in preview
    _cli("sensor", "cursor", "counter", "--set", "41")
    preview = _cli("sensor", "preview", "counter", "-f", DEFS_FILE)
    assert "Cursor after the tick: '42'" in preview
    assert "Cursor of 'counter': None" in _cli("sensor", "cursor", "counter", "--delete")


def test_launch_queues_and_daemon_once_runs_them_in_their_own_processes(home, tmp_path):
    out = _cli("run", "launch", "-f", DEFS_FILE, "-j", "work", "--tags", '{"team": "bi"}')
    assert "Queued run" in out
    queued = _cli("run", "list", "--status", "queued")
    assert "QUEUED" in queued and "work" in queued
    bad = _cli(
        "run", "launch", "-f", DEFS_FILE, "-j", "work", "--config-json", '{"ops": 3}', code=2
    )
    assert "Invalid run config" in bad
    _cli("sensor", "start", "broken", "-f", DEFS_FILE)
    _cli("sensor", "start", "counter", "-f", DEFS_FILE)
    once = _cli("daemon", "-f", DEFS_FILE, "--once")
    assert "counter" in once and "FAILURE" in once  # the broken sensor's tick
    runs = _wait_for_runs([RunStatus.SUCCESS], 2)
    pids = {p.read_text() for p in (tmp_path / "out").iterdir()}
    assert len(pids) == 2 and str(__import__("os").getpid()) not in pids  # own processes
    tags = {r.tags.get("team") for r in runs}
    assert "bi" in tags
    logs = _cli("sensor", "logs", "broken")
    assert "ValueError: the sensor's own bug" in logs and "Traceback" in logs
    status = _cli("daemon", "status")
    for loop in ("scheduler", "sensors", "run_queue", "run_retries", "run_monitoring"):
        assert loop in status
    assert "RUNNING" in status
    assert "Daemon lease: free" in status  # --once gave it up


def test_daemon_status_before_any_daemon(home):
    assert "No daemon has run on this instance" in _cli("daemon", "status")


def test_the_subprocess_launcher_hands_runs_to_its_spare_worker(home, tmp_path):
    from trellis.core.run import Run, new_run_id
    from trellis.daemon.code_location import pointer_tag
    from trellis.daemon.launcher import SubprocessRunLauncher
    from trellis.execution.remote.code_pointer import CodePointer

    tag = pointer_tag(CodePointer(file=DEFS_FILE, attribute="defs"))
    launcher = SubprocessRunLauncher()
    with Instance.get() as instance:
        launcher.prepare(instance)  # a spare, started ahead
        spare = launcher._spare
        assert spare is not None and spare.proc.poll() is None
        ids = []
        for _ in range(2):
            run = instance.submit_run(
                Run(new_run_id(), "work", tags={"trellis/code_location": tag})
            )
            instance.claim_queued_run(run.run_id)
            launcher.launch_run(run, instance)
            ids.append(run.run_id)
        assert launcher._running[ids[0]][0] is spare.proc  # the first went to the spare
        _wait_for_runs([RunStatus.SUCCESS], 2)
        deadline = time.monotonic() + 30
        ended = []
        while len(ended) < 2 and time.monotonic() < deadline:
            ended += launcher.poll()
            time.sleep(0.05)
        assert sorted(e.run_id for e in ended) == sorted(ids)
        assert all(e.exit_code == 0 for e in ended)
        logs = home / "logs" / "runs"
        assert {f"{i}.log" for i in ids} <= {p.name for p in logs.iterdir()}
        leftover = launcher._spare
        launcher.dispose()  # the spare is told to exit; its log goes
        assert leftover.proc.wait(timeout=30) == 0
        assert not [p for p in logs.iterdir() if p.name.startswith("standby-")]


def test_daemon_once_refuses_while_another_daemon_holds_the_instance(home):
    with Instance.get() as instance:
        ok, _ = instance.acquire_daemon_lease("elsewhere:4242:-:abc", 300)
        assert ok
    out = _cli("daemon", "-f", DEFS_FILE, "--once", code=2)
    assert "Another daemon (elsewhere:4242:-:abc) runs on this instance" in out
    with Instance.get() as instance:
        assert instance.get_ticks("every_second") == []  # it ran nothing
    status = _cli("daemon", "status")
    assert "Daemon lease: held by elsewhere:4242:-:abc since" in status.replace("\n", " ")
    with Instance.get() as instance:
        instance.release_daemon_lease("elsewhere:4242:-:abc")
        assert instance.get_daemon_lease() is None
