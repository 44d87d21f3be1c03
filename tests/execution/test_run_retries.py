"""Run-level retries with real runs on a SQLite instance: a failed run tagged
``dagster/max_retries`` (or covered by ``run_retries`` in ``trellis.yaml``) is retried as
a re-execution linked to it (``FROM_FAILURE`` by default, ``ALL_STEPS`` on request),
tagged with its retry number and strategy, exactly once however often (or from however
many threads) the retry is asked for, until its retries run out; with
``retry_on_asset_or_op_failure: false`` only a run whose process died (a real SIGKILL)
is retried."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
import threading
from pathlib import Path

import pytest
import yaml

from trellis import EventType, Instance, RunStatus
from trellis.api.run_retries import (
    AUTO_RETRY_RUN_ID_TAG,
    RETRY_NUMBER_TAG,
    RETRY_STRATEGY_TAG,
    RetryStrategy,
    plan_run_retry,
    retries_of,
    retry_failed_runs,
    retry_run,
    retry_run_id,
)
from trellis.core.run import PARENT_RUN_ID_TAG, ROOT_RUN_ID_TAG

SCRIPT = Path(__file__).parent / "scripts" / "retry_jobs.py"


@pytest.fixture
def jobs(tmp_path, monkeypatch):
    """The jobs of ``scripts/retry_jobs.py``, counting their steps in a fresh directory."""
    counts = tmp_path / "counts"
    counts.mkdir()
    monkeypatch.setenv("RETRY_TEST_DIR", str(counts))
    spec = importlib.util.spec_from_file_location("retry_jobs", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    module.counts = counts
    return module


def _instance(tmp_path, **run_retries) -> Instance:
    home = tmp_path / "home"
    home.mkdir(exist_ok=True)
    config = {"run_retries": {"enabled": True, **run_retries}}
    (home / "trellis.yaml").write_text(yaml.safe_dump(config))
    return Instance.from_config(home, config)


def _count(jobs, step: str) -> int:
    path = jobs.counts / f"{step}.count"
    return int(path.read_text()) if path.exists() else 0


def _fail(jobs, instance, name: str) -> str:
    result = jobs.defs.get_job_def(name).execute_in_process(instance=instance, raise_on_error=False)
    assert not result.success
    return result.run_id


def test_a_failed_run_is_retried_from_its_failure_once(jobs, tmp_path):
    with _instance(tmp_path) as instance:
        failed_id = _fail(jobs, instance, "flaky_job")
        made = retry_failed_runs(instance, jobs.defs)
        assert made == [retry_run_id(failed_id)]
        retry = instance.get_run(made[0])
        assert retry.status is RunStatus.SUCCESS
        assert retry.tags[RETRY_NUMBER_TAG] == "1"
        assert retry.tags[RETRY_STRATEGY_TAG] == "FROM_FAILURE"
        assert retry.tags[PARENT_RUN_ID_TAG] == failed_id
        assert retry.tags[ROOT_RUN_ID_TAG] == failed_id
        assert retry.parent_run_id == failed_id and retry.root_run_id == failed_id
        # only the step that failed ran again; extract's output came from the failed run
        assert (_count(jobs, "extract"), _count(jobs, "flaky")) == (1, 2)
        failed = instance.get_run(failed_id)
        assert failed.status is RunStatus.FAILURE  # the failed run stays failed
        assert failed.tags[AUTO_RETRY_RUN_ID_TAG] == made[0]
        notes = [e.message for e in instance.all_logs(failed_id, of_type=EventType.ENGINE_EVENT)]
        assert f"Retrying run {failed_id} as run {made[0]} (retry 1 of 2, FROM_FAILURE)." in notes
        # asked again: nothing new
        assert retry_failed_runs(instance, jobs.defs) == []
        assert retry_run(instance, jobs.flaky_job, failed_id) is None
        assert len(instance.get_runs()) == 2


def test_all_steps_runs_every_step_again(jobs, tmp_path):
    with _instance(tmp_path) as instance:
        failed_id = _fail(jobs, instance, "flaky_all_steps_job")
        result = retry_run(instance, jobs.flaky_all_steps_job, failed_id)
        assert result is not None and result.success
        assert result.dagster_run.tags[RETRY_STRATEGY_TAG] == "ALL_STEPS"
        assert (_count(jobs, "extract"), _count(jobs, "flaky")) == (2, 2)


def test_retries_stop_when_the_budget_is_spent(jobs, tmp_path):
    with _instance(tmp_path) as instance:
        original = _fail(jobs, instance, "hopeless_job")
        first = retry_failed_runs(instance, lambda: jobs.defs)
        second = retry_failed_runs(instance, lambda: jobs.defs)
        assert retry_failed_runs(instance, lambda: jobs.defs) == []
        chain = list(retries_of(instance, original))
        assert [r.run_id for r in chain] == first + second
        assert [r.tags[RETRY_NUMBER_TAG] for r in chain] == ["1", "2"]
        assert all(r.status is RunStatus.FAILURE for r in chain)
        assert {r.root_run_id for r in chain} == {original}
        assert chain[1].parent_run_id == chain[0].run_id
        last = plan_run_retry(instance, chain[1])
        assert not last.retry and "it was retry 2 of 2" in last.reason
        assert _count(jobs, "always_fails") == 3  # the run and its two retries


def test_the_instance_default_covers_untagged_runs(jobs, tmp_path):
    with _instance(tmp_path, max_retries=1) as instance:
        failed_id = _fail(jobs, instance, "untagged_job")
        decision = plan_run_retry(instance, instance.get_run(failed_id))
        assert decision.retry and decision.max_retries == 1
        assert decision.strategy is RetryStrategy.FROM_FAILURE
        assert retry_failed_runs(instance, jobs.defs) == [decision.retry_run_id]


def test_nothing_is_retried_unless_run_retries_are_enabled(jobs, tmp_path):
    home = tmp_path / "home"
    with Instance.from_config(home, {}) as instance:
        failed_id = _fail(jobs, instance, "flaky_job")
        assert retry_failed_runs(instance, jobs.defs) == []
        decision = plan_run_retry(instance, instance.get_run(failed_id))
        assert not decision.retry and "run_retries: enabled" in decision.reason


def test_an_untagged_run_without_a_default_is_not_retried(jobs, tmp_path):
    with _instance(tmp_path) as instance:
        _fail(jobs, instance, "untagged_job")
        assert retry_failed_runs(instance, jobs.defs) == []


def test_two_threads_asking_at_once_make_one_retry(jobs, tmp_path):
    with _instance(tmp_path) as instance:
        failed_id = _fail(jobs, instance, "hopeless_job")
        made: list[list[str]] = []
        barrier = threading.Barrier(2)

        def ask():
            barrier.wait()
            made.append(retry_failed_runs(instance, jobs.defs))

        threads = [threading.Thread(target=ask) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
        assert sorted(made) == [[], [retry_run_id(failed_id)]]
        assert len(instance.get_runs()) == 2
        notes = instance.all_logs(failed_id, of_type=EventType.ENGINE_EVENT)
        assert len([e for e in notes if e.message.startswith("Retrying run")]) == 1


def test_bad_retry_tags_are_reported_not_retried(jobs, tmp_path):
    with _instance(tmp_path) as instance:
        failed_id = _fail(jobs, instance, "flaky_job")
        run = instance.get_run(failed_id)
        run.tags["dagster/max_retries"] = "lots"
        decision = plan_run_retry(instance, run)
        assert not decision.retry
        assert "tag dagster/max_retries is 'lots', not a whole number" in decision.reason
        run.tags["dagster/max_retries"] = "2"
        run.tags["dagster/retry_strategy"] = "SOMETIMES"
        decision = plan_run_retry(instance, run)
        assert (
            not decision.retry and "'SOMETIMES'; use FROM_FAILURE or ALL_STEPS" in decision.reason
        )


def test_a_job_that_is_gone_is_noted_on_the_failed_run(jobs, tmp_path):
    from trellis import Definitions

    with _instance(tmp_path) as instance:
        failed_id = _fail(jobs, instance, "flaky_job")
        assert retry_failed_runs(instance, Definitions()) == []
        notes = [e.message for e in instance.all_logs(failed_id, of_type=EventType.ENGINE_EVENT)]
        assert any("cannot be retried" in m and "flaky_job" in m for m in notes)


def test_without_retry_on_step_failure_only_a_dead_run_is_retried(jobs, tmp_path):
    with _instance(tmp_path) as instance:
        step_failed = _fail(jobs, instance, "step_failure_only_job")
        decision = plan_run_retry(instance, instance.get_run(step_failed))
        assert not decision.retry and "a step failed" in decision.reason
        # a run whose process is killed (SIGKILL) in the middle of its step
        home = tmp_path / "home"
        proc = subprocess.run(
            [sys.executable, str(SCRIPT), str(home), "crash_only_job"],
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert proc.returncode == -9, proc.stderr
        crashed = next(r for r in instance.get_runs() if r.job_name == "crash_only_job")
        made = retry_failed_runs(instance, jobs.defs)  # finds the run dead, retries it
        assert made == [retry_run_id(crashed.run_id)]
        dead = instance.get_run(crashed.run_id)
        assert dead.status is RunStatus.FAILURE
        assert instance.get_run(made[0]).status is RunStatus.SUCCESS
        assert _count(jobs, "crashing") == 2


def test_bad_run_retries_settings_name_their_path(tmp_path):
    from trellis.core.errors import InvalidConfigError

    with pytest.raises(InvalidConfigError) as info:
        Instance.from_config(tmp_path / "home", {"run_retries": {"max_retries": -1}})
    assert "root:run_retries:max_retries must be 0 or more, got -1" in str(info.value)
    with pytest.raises(InvalidConfigError) as info:
        Instance.from_config(tmp_path / "home", {"run_retries": {"enabled": "sometimes"}})
    assert "root:run_retries:enabled" in str(info.value)
