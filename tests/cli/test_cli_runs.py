"""``trellis run list | show | logs | reexecute | delete``: runs by id or unique prefix,
live tailing, re-execution from failure, retention."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time

from cli_fixture_paths import FLAKY, REPO

from trellis.core.run import HOST_TAG, PARENT_RUN_ID_TAG, PID_TAG, Run, RunStatus


def _run_chain(invoke, monkeypatch, fail: bool = False):
    if fail:
        monkeypatch.setenv("TRELLIS_CLI_TEST_FAIL", "1")
    result = invoke("job", "execute", "-f", FLAKY, "-j", "chain_job")
    monkeypatch.delenv("TRELLIS_CLI_TEST_FAIL", raising=False)
    assert result.exit_code == (1 if fail else 0), result.output
    return result


def test_run_list_filters_by_status_job_and_limit(invoke, instance, monkeypatch):
    _run_chain(invoke, monkeypatch)
    _run_chain(invoke, monkeypatch, fail=True)
    listed = invoke("run", "list")
    assert listed.exit_code == 0, listed.output
    assert "2 runs" in listed.stdout
    failed = invoke("run", "list", "--status", "failure")
    (failed_run,) = instance.get_runs(statuses=[RunStatus.FAILURE])
    assert failed_run.run_id in failed.stdout and "1 run" in failed.stdout
    assert "SUCCESS" not in failed.stdout
    assert "0 runs" in invoke("run", "list", "--job", "configured_job").stdout
    assert "1 run" in invoke("run", "list", "--limit", "1").stdout
    assert invoke("run", "list", "--status", "BOGUS").exit_code == 2


def test_run_show_by_prefix(invoke, instance, monkeypatch):
    _run_chain(invoke, monkeypatch, fail=True)
    (run,) = instance.get_runs()
    result = invoke("run", "show", run.run_id[:8])
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert run.run_id in out and "chain_job" in out and "FAILURE" in out
    steps_part = out.split("Steps", 1)[1].split("Materializations", 1)[0]
    lines = {line.split()[1]: line for line in steps_part.splitlines() if line.startswith("│")}
    assert "SUCCESS" in lines["numbers"] and "FAILURE" in lines["doubled"]
    assert "SKIPPED" in lines["total"]
    assert "Materializations" in out
    assert "ValueError: doubled was told to fail" in out  # the failure, with its traceback


def test_unknown_and_ambiguous_run_ids_are_exit_2(invoke, instance):
    for run_id in ("abcd1111-aaaa", "abcd2222-bbbb"):
        instance.add_run(Run(run_id, "some_job", status=RunStatus.SUCCESS))
    unknown = invoke("run", "show", "ffff0000")
    assert unknown.exit_code == 2
    assert "No run with id or id prefix 'ffff0000'" in unknown.stderr
    ambiguous = invoke("run", "show", "abcd")
    assert ambiguous.exit_code == 2
    assert "matches 2 runs" in ambiguous.stderr
    short = invoke("run", "show", "ab")
    assert short.exit_code == 2
    assert invoke("run", "show", "abcd1").exit_code == 0


def test_run_logs_prints_every_event(invoke, instance, monkeypatch):
    _run_chain(invoke, monkeypatch)
    (run,) = instance.get_runs()
    result = invoke("run", "logs", run.run_id[:8])
    assert result.exit_code == 0, result.output
    out = result.stdout
    for kind in ("RUN_START", "STEP_START", "ASSET_MATERIALIZATION", "STEP_SUCCESS", "RUN_SUCCESS"):
        assert kind in out
    assert out.index("RUN_START") < out.index("STEP_START") < out.index("RUN_SUCCESS")
    followed = invoke("run", "logs", run.run_id, "--follow")  # a finished run: ends at once
    assert followed.exit_code == 0 and followed.stdout == out


def test_run_logs_follow_tails_a_live_run(invoke, instance, home):
    env = {**os.environ, "TRELLIS_HOME": str(home), "TRELLIS_CLI_TEST_SLEEP": "1.5"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "trellis", "job", "execute", "-f", FLAKY, "-j", "chain_job"],
        env=env,
        cwd=REPO,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.time() + 30
        runs = []
        while not runs and time.time() < deadline:
            runs = instance.get_runs()
            time.sleep(0.05)
        assert runs, "the run never appeared"
        assert not runs[0].is_finished  # the middle step is still sleeping
        result = invoke("run", "logs", runs[0].run_id, "--follow", "--poll-interval", "0.1")
        assert result.exit_code == 0, result.output
        assert "STEP_SUCCESS" in result.stdout
        assert result.stdout.rstrip().splitlines()[-1].split()[5] == "RUN_SUCCESS"
    finally:
        assert proc.wait(timeout=60) == 0


def test_reexecute_from_failure_records_its_parent(invoke, instance, monkeypatch):
    _run_chain(invoke, monkeypatch, fail=True)
    (parent,) = instance.get_runs()
    result = invoke("run", "reexecute", parent.run_id[:8], "-f", FLAKY, "--from-failure")
    assert result.exit_code == 0, result.output
    child = instance.get_runs(limit=1)[0]
    assert child.run_id != parent.run_id and child.status is RunStatus.SUCCESS
    assert child.parent_run_id == parent.run_id
    assert child.root_run_id == parent.run_id
    assert child.tags[PARENT_RUN_ID_TAG] == parent.run_id
    steps = {e.step_key for e in instance.all_logs(child.run_id) if e.step_key}
    assert steps == {"doubled", "total"}  # numbers' output came from the parent
    shown = invoke("run", "show", child.run_id[:8])
    assert parent.run_id in shown.stdout
    listed = invoke("run", "list")
    assert parent.run_id[:8] in listed.stdout.split(child.run_id, 1)[1].splitlines()[0]


def test_reexecute_selected_steps(invoke, instance, monkeypatch):
    _run_chain(invoke, monkeypatch)
    (parent,) = instance.get_runs()
    result = invoke("run", "reexecute", parent.run_id, "-f", FLAKY, "--step", "total")
    assert result.exit_code == 0, result.output
    child = instance.get_runs(limit=1)[0]
    assert {e.step_key for e in instance.all_logs(child.run_id) if e.step_key} == {"total"}


def test_reexecute_errors_are_exit_2(invoke, instance, monkeypatch):
    _run_chain(invoke, monkeypatch)
    (run,) = instance.get_runs()
    succeeded = invoke("run", "reexecute", run.run_id, "-f", FLAKY, "--from-failure")
    assert succeeded.exit_code == 2
    assert "succeeded" in succeeded.stderr
    both = invoke("run", "reexecute", run.run_id, "-f", FLAKY, "--from-failure", "--step", "x")
    assert both.exit_code == 2
    bad_step = invoke("run", "reexecute", run.run_id, "-f", FLAKY, "--step", "nope")
    assert bad_step.exit_code == 2 and "nope" in bad_step.stderr


def test_reexecute_that_fails_again_is_exit_1(invoke, instance, monkeypatch):
    _run_chain(invoke, monkeypatch, fail=True)
    (parent,) = instance.get_runs()
    monkeypatch.setenv("TRELLIS_CLI_TEST_FAIL", "1")
    result = invoke("run", "reexecute", parent.run_id, "-f", FLAKY, "--from-failure")
    assert result.exit_code == 1


def test_delete_one_run_and_old_runs(invoke, instance, monkeypatch):
    _run_chain(invoke, monkeypatch)
    _run_chain(invoke, monkeypatch)
    _newest, oldest = instance.get_runs()
    deleted = invoke("run", "delete", oldest.run_id[:8])
    assert deleted.exit_code == 0, deleted.output
    assert instance.get_run(oldest.run_id) is None
    assert instance.all_logs(oldest.run_id) == []
    kept = invoke("run", "delete", "--older-than", "30d")
    assert kept.exit_code == 0 and "Deleted 0 runs" in kept.stdout
    time.sleep(0.05)
    swept = invoke("run", "delete", "--older-than", "0s")
    assert swept.exit_code == 0 and "Deleted 1 run " in swept.stdout
    assert instance.get_runs() == []


def test_delete_usage_errors(invoke, instance):
    assert invoke("run", "delete").exit_code == 2
    bad_age = invoke("run", "delete", "--older-than", "soon")
    assert bad_age.exit_code == 2 and "not an age" in bad_age.stderr
    alive = {PID_TAG: str(os.getpid()), HOST_TAG: socket.gethostname()}  # this live process
    instance.add_run(Run("running-run-1", "job", tags=alive, status=RunStatus.STARTED))
    running = invoke("run", "delete", "running-run-1")
    assert running.exit_code == 2 and "cannot be deleted" in running.stderr


def test_run_cancel_stops_a_live_run_before_its_next_step(invoke, instance, home):
    env = {**os.environ, "TRELLIS_HOME": str(home), "TRELLIS_CLI_TEST_SLEEP": "2"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "trellis", "job", "execute", "-f", FLAKY, "-j", "chain_job"],
        env=env,
        cwd=REPO,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.time() + 30
        runs = []
        while not runs and time.time() < deadline:
            runs = [r for r in instance.get_runs() if r.status.value == "STARTED"]
            time.sleep(0.05)
        assert runs, "the run never started"
        result = invoke("run", "cancel", runs[0].run_id[:8])
        assert result.exit_code == 0, result.output
        assert "Cancellation of run" in result.stdout
    finally:
        assert proc.wait(timeout=60) == 1  # the run did not succeed
    run = instance.get_run(runs[0].run_id)
    assert run.status.value == "CANCELED"
    events = instance.all_logs(run.run_id)
    assert [e.step_key for e in events if e.event_type.value == "STEP_SKIPPED"] == ["total"]
    again = invoke("run", "cancel", run.run_id)
    assert again.exit_code == 2 and "only a running run" in again.stderr
