"""One suite, every executor: in-process, threads, the warm process pool and a Dask
``LocalCluster`` with two workers run the same jobs (picked by run config, as
``execution: {config: {<executor>: {...}}}``) and must agree on results, per-step event
order, failures, retries, crashes, cancellation and resource lifetimes."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import suite_jobs

from trellis import EventType, Instance, RunStatus

EXECUTORS = ["in_process", "multithread", "multiprocess", "dask"]
CROSS_PROCESS = ["multiprocess", "dask"]


@pytest.fixture(scope="module")
def dask_address():
    from distributed import LocalCluster

    cluster = LocalCluster(
        n_workers=2,
        threads_per_worker=1,
        processes=True,
        host="127.0.0.1",
        dashboard_address=None,
    )
    try:
        yield cluster.scheduler_address
    finally:
        cluster.close()


@pytest.fixture
def run_config_for(request, tmp_path):
    def make(executor: str) -> dict:
        config = {
            "in_process": {},
            "multithread": {"max_concurrent": 2},
            "multiprocess": {"max_concurrent": 2},
        }.get(executor)
        if executor == "dask":
            address = request.getfixturevalue("dask_address")
            config = {"cluster": {"existing": {"address": address}}}
        base = {"config": {"base_dir": str(tmp_path)}}
        return {
            "execution": {"config": {executor: config}},
            "resources": {"io_manager": base, "io_manager_dir": base, "tracked": base},
        }

    return make


def _run(job_def, run_config, **kwargs):
    return job_def.execute_in_process(run_config=run_config, raise_on_error=False, **kwargs)


def _step_sequences(result) -> dict[str, list[EventType]]:
    sequences: dict[str, list[EventType]] = {}
    for event in result.all_events:
        if event.step_key:
            sequences.setdefault(event.step_key, []).append(event.event_type)
    return sequences


@pytest.mark.parametrize("executor", EXECUTORS)
def test_results_and_per_step_event_order_match_every_executor(executor, run_config_for):
    result = _run(suite_jobs.diamond, run_config_for(executor))
    assert result.success
    assert result.output_for_node("combine", "total") == 23
    sequences = _step_sequences(result)
    assert sequences["source"] == [
        EventType.STEP_START,
        EventType.STEP_OUTPUT,
        EventType.HANDLED_OUTPUT,
        EventType.STEP_SUCCESS,
    ]
    assert sequences["combine"] == [
        EventType.STEP_START,
        EventType.LOADED_INPUT,
        EventType.LOADED_INPUT,
        EventType.STEP_OUTPUT,
        EventType.HANDLED_OUTPUT,
        EventType.STEP_OUTPUT,
        EventType.HANDLED_OUTPUT,
        EventType.STEP_SUCCESS,
    ]
    types = [e.event_type for e in result.all_events]
    assert types[0] is EventType.RUN_START and types[-1] is EventType.RUN_SUCCESS
    step_pid = result.output_for_node("combine", "pids")
    assert (step_pid != os.getpid()) == (executor in CROSS_PROCESS)


@pytest.mark.parametrize("executor", EXECUTORS)
def test_failure_skips_downstream_and_retries_follow_the_policy(executor, run_config_for):
    failed = _run(suite_jobs.failing, run_config_for(executor))
    assert not failed.success
    (failure,) = failed.get_step_failure_events()
    assert failure.step_key == "broken" and "broken on purpose" in failure.error.to_string()
    assert [e.step_key for e in failed.get_step_skipped_events()] == ["after_broken"]

    retried = _run(suite_jobs.retrying, run_config_for(executor))
    assert retried.success
    assert retried.output_for_node("flaky") == "ok after 1 retries"
    types = [e.event_type for e in retried.all_events if e.step_key == "flaky"]
    assert types[:3] == [
        EventType.STEP_START,
        EventType.STEP_UP_FOR_RETRY,
        EventType.STEP_RESTARTED,
    ]


@pytest.mark.parametrize("executor", CROSS_PROCESS)
def test_a_step_that_kills_its_worker_fails_as_crashed_and_uses_its_retry(executor, run_config_for):
    # Only executors whose steps run in other processes can survive this; in-process
    # and thread executors share the orchestrator's process.
    result = _run(suite_jobs.crashing, run_config_for(executor))
    assert result.success, [e.message for e in result.all_events]
    assert result.output_for_node("suicidal") == 7
    retry = [e for e in result.all_events if e.event_type is EventType.STEP_UP_FOR_RETRY]
    assert len(retry) == 1


@pytest.mark.parametrize("executor", EXECUTORS)
def test_cancellation_ends_the_run_canceled_without_starting_more_steps(
    executor, run_config_for, tmp_path
):
    # A persistent instance: steps in other processes reach it through its reference.
    instance = Instance.from_config(tmp_path / "home", {})
    result = _run(suite_jobs.cancelled, run_config_for(executor), instance=instance)
    assert result.run.status is RunStatus.CANCELED
    assert instance.get_run(result.run_id).status is RunStatus.CANCELED
    assert not (tmp_path / "never-runs-ran").exists()
    assert result.all_events[-1].event_type is EventType.RUN_CANCELED


@pytest.mark.parametrize("executor", EXECUTORS)
def test_resources_are_set_up_once_per_process_and_always_torn_down(
    executor, run_config_for, tmp_path
):
    result = _run(suite_jobs.diamond, run_config_for(executor))
    assert result.success
    setups = sorted(p.name.removeprefix("setup-") for p in Path(tmp_path).glob("setup-*"))
    teardowns = sorted(p.name.removeprefix("teardown-") for p in Path(tmp_path).glob("teardown-*"))
    assert setups == teardowns
    pids = [token.split("-")[0] for token in setups]
    assert len(pids) == len(set(pids))  # at most one per process
    if executor in CROSS_PROCESS:
        assert 1 <= len(setups) <= 2 and str(os.getpid()) not in pids
    else:
        assert pids == [str(os.getpid())]
