"""One suite, every executor: in-process, threads, the warm process pool and a Dask
``LocalCluster`` with two workers run the same jobs (``suite_jobs.py``, picked by run
config, as ``execution: {config: {<executor>: {...}}}``) and must agree on results, per-step
event order, live events, failures, retries, crashes, cancellation, resource lifetimes,
hooks and loggers (run where the step ran) and tag concurrency limits; executors whose
steps run in other processes refuse what cannot cross (the in-memory IO manager, a job not
defined at module level) before any step runs.

What only one executor does (start methods, worker reuse, Dask worker resources, ...) is
tested in that executor's own file."""

from __future__ import annotations

import itertools
import logging
import os
import time
from pathlib import Path

import pytest
import suite_jobs
from executor_helpers import (
    STEP_EVENTS,
    events_of,
    marked_pids,
    step_pids,
    tokens,
    types_by_step,
)

from trellis import (
    MAX_RUNTIME_SECONDS_TAG,
    AssetKey,
    AssetSelection,
    DataVersion,
    EventType,
    Instance,
    InvalidConfigError,
    InvalidInvocationError,
    RunStatus,
    job,
    op,
)
from trellis.api.execute import execute_job_in_process
from trellis.core.data_version import compute_logical_data_version
from trellis.core.errors import StepWorkerCrashedError
from trellis.execution.executors.dask import DaskExecutor
from trellis.execution.executors.registry import create_executor
from trellis.execution.remote.cross_process import executor_for_run

EXECUTORS = ["in_process", "multithread", "multiprocess", "dask"]
CROSS_PROCESS = ["multiprocess", "dask"]
WITH_TAG_LIMITS = ["multithread", "multiprocess"]  # the Dask executor has no such config

UNREACHABLE = "tcp://127.0.0.1:9"  # no scheduler listens there


@pytest.fixture
def run_config_for(request, tmp_path):
    """``run_config_for(executor, base_dir=tmp_path, **executor_config)``: run config that
    picks the executor and points the job's files at ``base_dir``."""

    def make(executor: str, base_dir: Path | None = None, **executor_config) -> dict:
        config = {
            "in_process": {},
            "multithread": {"max_concurrent": 2},
            "multiprocess": {"max_concurrent": 2},
        }.get(executor)
        if executor == "dask":
            address = request.getfixturevalue("dask_address")
            config = {"cluster": {"existing": {"address": address}}}
        base_dir = base_dir or tmp_path
        base_dir.mkdir(parents=True, exist_ok=True)
        base = {"config": {"base_dir": str(base_dir)}}
        return {
            "execution": {"config": {executor: {**config, **executor_config}}},
            "resources": {"io_manager": base, "io_manager_dir": base, "tracked": base},
        }

    return make


def _run(job_def, run_config, **kwargs):
    return job_def.execute_in_process(run_config=run_config, raise_on_error=False, **kwargs)


# -- results and events ------------------------------------------------------------------------
START, INPUT, LOG = EventType.STEP_START, EventType.LOADED_INPUT, EventType.LOG_MESSAGE
OUTPUT, HANDLED, SUCCESS = EventType.STEP_OUTPUT, EventType.HANDLED_OUTPUT, EventType.STEP_SUCCESS
DIAMOND_SEQUENCES = {
    "source": [START, OUTPUT, HANDLED, SUCCESS],
    "source_2": [START, OUTPUT, HANDLED, SUCCESS],
    "left": [START, INPUT, OUTPUT, HANDLED, SUCCESS],
    "right": [START, INPUT, OUTPUT, HANDLED, SUCCESS],
    "async_double": [START, INPUT, OUTPUT, HANDLED, SUCCESS],
    "after_async": [START, INPUT, OUTPUT, HANDLED, SUCCESS],
    "combine": [START, INPUT, INPUT, LOG, OUTPUT, HANDLED, OUTPUT, HANDLED, SUCCESS],
    "slow": [START, LOG, OUTPUT, HANDLED, SUCCESS],
}
"""Every event of each step of ``diamond`` (``context.log`` lines included), in order."""


# How long the slow step sleeps, and how long before its end its first events must have
# arrived: events from other processes (over a pipe, or from Dask) get a wider margin.
SLOW = {"in_process": (0.5, 0.3), "multithread": (0.5, 0.3), "multiprocess": (1.5, 1.0)}
SLOW["dask"] = SLOW["multiprocess"]


@pytest.mark.parametrize("executor", EXECUTORS)
def test_results_and_per_step_event_order_match_every_executor(executor, run_config_for):
    seconds, margin = SLOW[executor]
    config = run_config_for(executor)
    config["ops"] = {"slow": {"config": {"seconds": seconds}}}
    arrivals: list[tuple[float, object]] = []
    result = execute_job_in_process(
        suite_jobs.diamond,
        run_config=config,
        raise_on_error=False,
        on_event=lambda e: arrivals.append((time.monotonic(), e)),
    )
    assert result.success
    outputs = {
        node: result.output_for_node(node)
        for node in ("source", "source_2", "left", "right", "async_double", "after_async", "slow")
    }
    assert outputs == {
        "source": 2,
        "source_2": 2,
        "left": 3,  # async ops, whatever runs their steps
        "right": 20,
        "async_double": 4,
        "after_async": 5,
        "slow": 30,
    }
    assert result.output_for_node("combine", "total") == 23
    assert types_by_step(result.event_log, kinds=None) == DIAMOND_SEQUENCES
    # context.log lines written where the steps ran reach the run
    logged = {e.step_key: e.message for e in result.event_log if e.event_type is LOG}
    assert logged == {"combine": "combining", "slow": "slow step started"}
    types = [e.event_type for e in result.all_events]
    assert types[0] is EventType.RUN_START and types[-1] is EventType.RUN_SUCCESS

    # Step events carry the pid of the process that ran the step, run events this one's.
    assert result.all_events[0].pid == os.getpid()
    pids = step_pids(result)
    assert set(pids) == set(DIAMOND_SEQUENCES)
    assert result.output_for_node("combine", "pids") == pids["combine"]
    if executor in CROSS_PROCESS:
        assert os.getpid() not in pids.values()
    else:
        assert set(pids.values()) == {os.getpid()}

    # Events reach on_event while the run goes, in the run's order: the slow step's
    # STEP_START and its log line arrived while it was still sleeping, not at the end.
    assert [e for _, e in arrivals] == result.event_log
    seen = {(e.event_type, e.step_key): at for at, e in arrivals}
    ended = seen[(EventType.STEP_SUCCESS, "slow")]
    assert ended - seen[(EventType.STEP_START, "slow")] > margin
    assert ended - seen[(EventType.LOG_MESSAGE, "slow")] > margin


@pytest.mark.parametrize("executor", EXECUTORS)
def test_an_asset_job_from_definitions_runs_on_every_executor(executor, run_config_for):
    assets_job = suite_jobs.defs.get_job_def("assets_job")
    result = _run(assets_job, run_config_for(executor))
    assert result.success
    assert result.asset_value("numbers_total") == 10
    materialized = {
        e.asset_key.to_user_string(): e.step_key
        for e in events_of(result, EventType.ASSET_MATERIALIZATION)
    }
    # Graph-backed assets: each inner op is a step; the asset comes from the op making it.
    assert materialized == {
        "numbers": "numbers",
        "numbers_total": "numbers_total",
        "even_total": "even_total.summed",
        "low_count": "counts.count",
        "high_count": "counts.count_high",
    }
    total = result.asset_value("even_total")
    assert (total["sum"], total["asset"]) == (6, "even_total")
    assert (result.asset_value("low_count"), result.asset_value("high_count")) == (2, 2)
    assert types_by_step(result.all_events)["even_total.evens"] == [
        *(START, INPUT, OUTPUT, HANDLED, SUCCESS)
    ]
    contexts = {e.step_key: e.data.context_type for e in events_of(result, START)}
    assert contexts["even_total.evens"] == "OpExecutionContext"
    assert contexts["even_total.summed"] == "AssetExecutionContext"
    if executor in CROSS_PROCESS:
        assert total["pid"] != os.getpid()

    subset = _run(assets_job, run_config_for(executor), asset_selection=["high_count"])
    assert subset.success
    assert [e.step_key for e in events_of(subset, START)] == [
        "counts.split_numbers",
        "counts.count_high",
    ]


# -- dynamic outputs ---------------------------------------------------------------------------
MAPPED_SEQUENCE = [START, INPUT, OUTPUT, HANDLED, SUCCESS]


@pytest.mark.parametrize("executor", EXECUTORS)
def test_dynamic_outputs_map_and_collect_on_every_executor(executor, run_config_for):
    result = _run(suite_jobs.dynamic, run_config_for(executor))
    assert result.success
    assert result.output_for_node("collected") == [6, 2, 4]  # in the order yielded
    by_step = types_by_step(result.all_events)
    assert by_step["fan_out"] == [START, *(OUTPUT, HANDLED) * 3, SUCCESS]
    for key in ("k3", "k1", "k2"):
        assert by_step[f"mapped_double[{key}]"] == MAPPED_SEQUENCE
        assert by_step[f"value_of[{key}]"] == MAPPED_SEQUENCE
        item = result.output_for_node(f"mapped_double[{key}]")
        assert item["key"] == key  # context.get_mapping_key() where the step ran
        if executor in CROSS_PROCESS:
            assert item["pid"] != os.getpid()
    assert by_step["collected"] == [START, INPUT, OUTPUT, HANDLED, SUCCESS]
    outputs = events_of(result, EventType.STEP_OUTPUT, "fan_out")
    assert [e.data.mapping_key for e in outputs] == ["k3", "k1", "k2"]


@pytest.mark.parametrize("executor", EXECUTORS)
def test_nested_fan_out_resolves_in_workers_too(executor, run_config_for):
    """A mapped op with a dynamic output of its own: its steps and the per-item collects
    are made and bound in whatever process runs them, as in the orchestrator."""
    result = _run(suite_jobs.nested_dynamic, run_config_for(executor))
    assert result.success
    assert result.output_for_node("gathered") == [
        ["k3,p0:30", "k3,p1:31", "k3,p2:32"],
        ["k1,p0:10"],
        ["k2,p0:20", "k2,p1:21"],
    ]
    started = [e.step_key for e in events_of(result, START)]
    assert {"fan_parts[k3]", "keyed[k3,p2]", "inner[k1]"} <= set(started)


@pytest.mark.parametrize("executor", EXECUTORS)
def test_reexecution_from_failure_runs_only_the_failed_mapped_steps(
    executor, run_config_for, tmp_path
):
    from trellis import instance_for_test
    from trellis.api.reexecution import reexecute_run

    config = run_config_for(executor)
    (tmp_path / "fail-k1").touch()
    with instance_for_test(temp_dir=str(tmp_path / "home")) as instance:
        first = _run(suite_jobs.dynamic, config, instance=instance)
        assert not first.success
        assert first.get_failed_step_keys() == {"mapped_double[k1]"}
        assert {e.step_key for e in first.get_step_skipped_events()} == {
            "value_of[k1]",
            "collected",
        }
        (tmp_path / "fail-k1").unlink()
        second = reexecute_run(
            suite_jobs.dynamic, first.run_id, instance=instance, from_failure=True
        )
        assert second.success
        assert [e.step_key for e in events_of(second, START)] == [
            "mapped_double[k1]",
            "value_of[k1]",
            "collected",
        ]
        # the other items' outputs are read from the first run, in the order yielded there
        assert second.output_for_node("collected") == [6, 2, 4]


# -- Pipes: code outside Trellis ---------------------------------------------------------------
@pytest.mark.parametrize("executor", EXECUTORS)
def test_a_pipes_subprocess_reports_back_from_every_executor(executor, run_config_for):
    result = _run(suite_jobs.defs.get_job_def("pipes_job"), run_config_for(executor))
    assert result.success
    step_pid = step_pids(result)["piped_orders"]
    (mat,) = events_of(result, EventType.ASSET_MATERIALIZATION)
    metadata = {name: value.value for name, value in mat.metadata.items()}
    # launched by the process that ran the step, a process of its own
    assert metadata["parent_pid"] == step_pid and metadata["external_pid"] != step_pid
    assert metadata["rows"] == 7 and mat.tags["dagster/data_version"] == "rows-7"
    assert mat.metadata["dashboard"].type_name == "url"
    context = metadata["context"]
    assert context["run_id"] == result.run_id and context["job_name"] == "pipes_job"
    assert list(context["asset_keys"]) == ["piped_orders"]
    assert context["code_version_by_asset_key"] == {"piped_orders": "2"}
    assert context["extras"] == {"rows": 7, "step_pid": step_pid}
    lines = [
        (e.level, e.message)
        for e in result.event_log
        if e.event_type is EventType.LOG_MESSAGE and e.step_key == "piped_orders"
    ]
    assert (logging.DEBUG, "debug detail") in lines
    assert (logging.WARNING, "1 row had a negative amount") in lines
    external_pid = metadata["external_pid"]
    assert (logging.INFO, f"computing piped_orders in process {external_pid}") in lines
    # the step's own events come from the step's process, in the usual order
    assert types_by_step(result.all_events)["piped_orders"] == [
        *(START, OUTPUT, EventType.ASSET_MATERIALIZATION, SUCCESS)
    ]


@pytest.mark.parametrize("executor", EXECUTORS)
def test_a_failing_pipes_subprocess_fails_its_step_with_exit_code_and_stderr(
    executor, run_config_for
):
    result = _run(suite_jobs.defs.get_job_def("pipes_crash_job"), run_config_for(executor))
    assert not result.success
    (failure,) = result.get_step_failure_events()
    assert failure.step_key == "piped_crash"
    assert "External process failed with exit code 1" in failure.message
    assert "ValueError: bad row 17: amount is not a number" in failure.message
    assert failure.data.metadata["exit_code"].value == 1
    tail = failure.data.metadata["stderr_tail"].value
    assert "noise line 29" in tail and "noise line 5" not in tail  # the last lines only
    assert failure.data.error.cls_name == "PipesExecutionError"
    # what the process sent before it failed is recorded, with its traceback
    logs = [e.message for e in result.event_log if e.event_type is EventType.LOG_MESSAGE]
    assert "about to read the orders" in logs
    (closed,) = [e for e in events_of(result, EventType.ENGINE_EVENT) if e.error is not None]
    assert closed.step_key == "piped_crash"
    assert closed.error.cls_name == "ValueError" and "crash.py" in closed.error.to_string()


@pytest.mark.slow
@pytest.mark.parametrize("executor", EXECUTORS)
def test_canceling_a_run_interrupts_its_pipes_subprocess(executor, run_config_for, tmp_path):
    instance = Instance.from_config(tmp_path / "home", {})
    files = tmp_path / "files"
    result = _run(
        suite_jobs.defs.get_job_def("pipes_cancel_job"),
        run_config_for(executor, files),
        instance=instance,
    )
    # Counted from the external process's start (its mark), not the run's: starting a
    # worker and a Python process can take tens of seconds on a loaded machine.
    (mark,) = files.glob("started-*")
    assert time.time() - mark.stat().st_mtime < 15  # not the external process's 30 s
    assert result.run.status is RunStatus.CANCELED
    (started,) = marked_pids(files, "started")
    # the external process got SIGINT and stopped, wherever the step ran
    deadline = time.monotonic() + 10
    while not marked_pids(files, "interrupted") and time.monotonic() < deadline:
        time.sleep(0.05)
    assert marked_pids(files, "interrupted") == [started]
    assert not marked_pids(files, "finished")
    # it marks the interrupt before it unwinds and exits: give the exit itself a moment
    while not _stopped(started) and time.monotonic() < deadline + 5:
        time.sleep(0.05)
    # It wrote its mark on SIGINT and is ending: on a loaded machine that takes a moment.
    deadline = time.monotonic() + 10
    while not _stopped(started) and time.monotonic() < deadline:
        time.sleep(0.05)
    # it leaves its mark, then exits: give the exit a moment on a loaded machine
    deadline = time.monotonic() + 5
    while not _stopped(started) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert _stopped(started)


def _stopped(pid: int) -> bool:
    """Whether process ``pid`` has ended: gone, or a zombie its parent (a Dask worker the
    run closed) has not reaped yet."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    with open(f"/proc/{pid}/stat") as stat:
        return stat.read().rsplit(")", 1)[1].split()[0] == "Z"


# -- asset checks ------------------------------------------------------------------------------
CHECK, MAT = EventType.ASSET_CHECK_EVALUATION, EventType.ASSET_MATERIALIZATION
CHECK_SEQUENCES = {
    "readings": [START, OUTPUT, MAT, HANDLED, SUCCESS],
    "readings_readings_positive": [START, INPUT, CHECK, SUCCESS],
    "readings_total": [START, INPUT, OUTPUT, MAT, HANDLED, SUCCESS],
    "readings_total_readings_total_matches": [START, INPUT, INPUT, CHECK, SUCCESS],
    "readings_count": [START, INPUT, OUTPUT, MAT, HANDLED, CHECK, SUCCESS],
}
"""Every event of each step of ``checks_job``: the asset checks in steps of their own
(after their assets) and in the asset's step, whatever runs the steps."""
STEP_EVENTS_WITH_CHECKS = STEP_EVENTS | {CHECK}


@pytest.mark.parametrize("executor", EXECUTORS)
def test_observations_and_data_versions_are_the_same_on_every_executor(executor, run_config_for):
    result = _run(suite_jobs.versions_defs.get_job_def("versions_job"), run_config_for(executor))
    assert result.success
    (observed,) = events_of(result, EventType.ASSET_OBSERVATION)
    assert observed.tags["dagster/data_version"] == "feed-7"
    tags = {e.asset_key.to_user_string(): e.tags for e in result.get_asset_materialization_events()}
    assert set(tags) == {"forecast", "forecast_report"}
    # The step in another process read the observation the run had just stored.
    assert tags["forecast"]["dagster/input_data_version/weather_feed"] == "feed-7"
    assert tags["forecast"]["dagster/input_event_pointer/weather_feed"] != "NULL"
    expected = compute_logical_data_version("v1", {AssetKey("weather_feed"): DataVersion("feed-7")})
    assert tags["forecast"]["dagster/data_version"] == expected.value
    report = tags["forecast_report"]
    assert report["dagster/input_data_version/forecast"] == expected.value
    assert report["dagster/data_version"] == "report-14"
    assert report["dagster/data_version_is_user_provided"] == "true"


def test_a_worker_reads_upstream_versions_from_a_persistent_instance(run_config_for, tmp_path):
    with Instance.from_config(tmp_path / "home", {}) as instance:
        job_def = suite_jobs.versions_defs.get_job_def("versions_job")
        result = _run(job_def, run_config_for("multiprocess"), instance=instance)
        assert result.success
        observed = instance.get_latest_observation_record("weather_feed")
        stored = instance.get_latest_materialization_event(AssetKey("forecast")).tags
        pointer = stored["dagster/input_event_pointer/weather_feed"]
        assert pointer == str(observed.storage_id)


def _evaluations(result) -> dict[str, tuple[bool, str]]:
    return {
        e.asset_check_key.to_user_string(): (e.passed, e.severity.value)
        for e in result.get_asset_check_evaluations()
    }


@pytest.mark.parametrize("executor", EXECUTORS)
def test_asset_checks_run_with_the_same_events_on_every_executor(executor, run_config_for):
    job_def = suite_jobs.checks_defs.get_job_def("checks_job")
    result = _run(job_def, run_config_for(executor))
    assert result.success
    assert types_by_step(result.all_events, STEP_EVENTS_WITH_CHECKS) == CHECK_SEQUENCES
    assert _evaluations(result) == {
        "readings:readings_positive": (True, "ERROR"),
        "readings_total:readings_total_matches": (True, "WARN"),
        "readings_count:bounded": (True, "ERROR"),
    }
    planned = events_of(result, EventType.ASSET_CHECK_EVALUATION_PLANNED)
    assert len(planned) == 3 and all(e.pid == os.getpid() for e in planned)
    started = [e.step_key for e in events_of(result, START)]
    assert started.index("readings_readings_positive") > started.index("readings")
    # the check ran where its step ran, with the check context
    by_step = {e.step_key: e for e in events_of(result, CHECK)}
    matches = by_step["readings_total_readings_total_matches"].data.evaluation.metadata
    assert matches["context"].value == "AssetCheckExecutionContext"
    assert matches["pid"].value == step_pids(result)["readings_total_readings_total_matches"]
    for event in by_step.values():  # each evaluated this run's materialization
        assert event.data.evaluation.target_materialization_data.run_id == result.run_id
    if executor in CROSS_PROCESS:
        assert os.getpid() not in step_pids(result).values()


@pytest.mark.parametrize("executor", EXECUTORS)
def test_a_failed_blocking_check_skips_downstream_on_every_executor(executor, run_config_for):
    job_def = suite_jobs.checks_defs.get_job_def("blocked_job")
    result = _run(job_def, run_config_for(executor))
    assert not result.success
    (failure,) = result.get_step_failure_events()
    assert failure.step_key == "faulty_readings_faulty_readings_positive"
    assert "faulty_readings:faulty_readings_positive" in failure.message
    assert {e.step_key: e.data.reason for e in result.get_step_skipped_events()} == {
        "faulty_total": "blocking asset check 'faulty_readings:faulty_readings_positive' "
        "failed (in step 'faulty_readings_faulty_readings_positive')"
    }
    assert _evaluations(result) == {"faulty_readings:faulty_readings_positive": (False, "ERROR")}


@pytest.mark.parametrize("executor", EXECUTORS)
def test_checks_run_alone_against_stored_assets_on_every_executor(
    executor, run_config_for, tmp_path
):
    config = run_config_for(executor, tmp_path / "store")
    first = _run(suite_jobs.checks_defs.get_job_def("checks_job"), config)
    assert first.success
    implicit = suite_jobs.checks_defs.get_implicit_global_asset_job_def()
    only_checks = AssetSelection.checks(
        suite_jobs.readings_positive, suite_jobs.readings_total_matches
    )
    result = _run(implicit, config, asset_selection=only_checks)
    assert result.success
    assert not events_of(result, MAT)
    assert set(types_by_step(result.all_events)) == {
        "readings_readings_positive",
        "readings_total_readings_total_matches",
    }
    assert result.run.asset_check_selection == [
        "readings:readings_positive",
        "readings_total:readings_total_matches",
    ]
    assert _evaluations(result) == {
        "readings:readings_positive": (True, "ERROR"),
        "readings_total:readings_total_matches": (True, "WARN"),
    }


# -- failures and retries ----------------------------------------------------------------------
@pytest.mark.parametrize("executor", EXECUTORS)
def test_failure_brings_back_the_users_exception_and_skips_downstream(
    executor, run_config_for, tmp_path
):
    failed = _run(suite_jobs.failing, run_config_for(executor, tmp_path / "a"))
    assert not failed.success
    assert failed.run.status is RunStatus.FAILURE
    (failure,) = failed.get_step_failure_events()
    assert failure.step_key == "broken"
    assert "broken on purpose: rejected 42" in failure.message
    assert failure.data.error_source == "USER_CODE_ERROR"
    error = failure.data.error
    assert error.cls_name == "ExecutionStepExecutionError"
    text = error.to_string()
    # the user's exception, with the traceback through the user's own code
    assert "UserCodeError" in text and "broken on purpose: rejected 42" in text
    assert "raise_from_user_code" in text and "suite_jobs.py" in text
    assert [e.step_key for e in failed.get_step_skipped_events()] == ["after_broken"]
    assert failed.is_node_skipped("after_broken")
    assert failed.is_node_success("independent")
    assert failed.all_events[-1].event_type is EventType.RUN_FAILURE

    with pytest.raises(suite_jobs.UserCodeError, match="broken on purpose: rejected 42"):
        suite_jobs.failing.execute_in_process(run_config=run_config_for(executor, tmp_path / "b"))


@pytest.mark.parametrize("executor", EXECUTORS)
def test_retry_policy_retries_the_step(executor, run_config_for, tmp_path):
    result = _run(suite_jobs.retrying, run_config_for(executor))
    assert result.success
    assert result.output_for_node("flaky") == 2  # context.retry_number of the third attempt
    assert result.output_for_node("chained") == 3
    retry, restarted = EventType.STEP_UP_FOR_RETRY, EventType.STEP_RESTARTED
    assert types_by_step(result.all_events)["flaky"] == [
        *(START, retry, restarted, retry, restarted),
        *(OUTPUT, HANDLED, SUCCESS),
    ]
    assert len(marked_pids(tmp_path, "flaky")) == 3


# -- steps that kill their process -------------------------------------------------------------
# Only executors whose steps run in other processes can survive this; in-process and
# thread executors share the orchestrator's process. How each executor words the crash:
# the pool knows its worker's exit code (-9, SIGKILL); Dask only that the worker is gone.
DIED = {"multiprocess": "died unexpectedly", "dask": "died before the step ended"}


@pytest.mark.parametrize("executor", CROSS_PROCESS)
def test_a_step_that_kills_its_worker_fails_as_crashed_and_the_run_goes_on(
    executor, run_config_for, tmp_path
):
    result = _run(suite_jobs.crashing, run_config_for(executor, tmp_path / "a"))
    assert not result.success
    assert result.run.status is RunStatus.FAILURE
    (failure,) = result.get_step_failure_events()
    assert failure.step_key == "kills_itself"
    assert DIED[executor] in failure.message and failure.data.crashed is True
    assert failure.data.error.cls_name == "StepWorkerCrashedError"
    if executor == "multiprocess":
        assert "worker process" in failure.message and "SIGKILL" in failure.message
        assert failure.data.exit_code == -9
    # Never run twice (Dask re-runs a task whose worker died; the re-run finds the attempt
    # claimed). The STEP_START may be lost: the worker died within milliseconds of it.
    assert len(marked_pids(tmp_path / "a", "killer")) == 1
    assert len(events_of(result, EventType.STEP_START, "kills_itself")) <= 1
    assert [e.step_key for e in result.get_step_skipped_events()] == ["chained"]
    assert result.is_node_success("slowly_independent")
    assert result.all_events[-1].event_type is EventType.RUN_FAILURE

    with pytest.raises(StepWorkerCrashedError, match=DIED[executor]):
        suite_jobs.crashing.execute_in_process(run_config=run_config_for(executor, tmp_path / "b"))


@pytest.mark.parametrize("executor", CROSS_PROCESS)
def test_a_crashed_step_keeps_its_retry_budget(executor, run_config_for, tmp_path):
    result = _run(suite_jobs.crashing_once, run_config_for(executor))
    assert result.success, [e.message for e in result.all_events]
    assert result.output_for_node("suicidal", "value") == 7
    assert result.output_for_node("chained") == 8
    retried_pid = result.output_for_node("suicidal", "pid")
    assert retried_pid != os.getpid()  # the retry ran on a worker too
    (retry,) = events_of(result, EventType.STEP_UP_FOR_RETRY)
    assert retry.data.crashed is True and DIED[executor] in retry.message
    assert len(events_of(result, EventType.STEP_RESTARTED)) == 1
    (killed_pid,) = marked_pids(tmp_path, "killer")
    assert retried_pid != killed_pid  # on a replacement worker
    if executor == "multiprocess":
        assert "SIGKILL" in retry.message
        events = result.events_for_node("suicidal")
        kinds = (EventType.STEP_START, EventType.STEP_RESTARTED)
        starts = [e for e in events if e.event_type in kinds]
        assert [e.pid for e in starts] == [killed_pid, retried_pid]


# -- cancellation ------------------------------------------------------------------------------
# The step asks for its own run's cancellation: steps in other processes reach a persistent
# instance through its reference; steps in this process can use an ephemeral one too. The
# step would wait 30 s: in Python code between short sleeps, or catching the interruption
# and returning as if nothing happened ("swallow").
CANCEL_CASES = [(executor, "persistent") for executor in EXECUTORS] + [
    (executor, "ephemeral") for executor in EXECUTORS if executor not in CROSS_PROCESS
]
AFTER_CANCEL = {EventType.STEP_OUTPUT, EventType.HANDLED_OUTPUT, EventType.STEP_SUCCESS}


@pytest.mark.slow
@pytest.mark.parametrize("wait", ["small_sleeps", "swallow"])
@pytest.mark.parametrize(("executor", "instance_kind"), CANCEL_CASES)
def test_cancellation_stops_the_running_step_and_nothing_succeeds_after_it(
    executor, instance_kind, wait, run_config_for, tmp_path
):
    if instance_kind == "persistent":
        instance = Instance.from_config(tmp_path / "home", {})
    else:
        instance = Instance.ephemeral()
    files = tmp_path / "files"
    config = run_config_for(executor, files)
    config["ops"] = {"long_step": {"config": {"seconds": 30.0, "wait": wait}}}
    began = time.monotonic()
    result = _run(suite_jobs.cancelled, config, instance=instance)
    # The orchestrator polls for a cancellation every half second; then the step is
    # interrupted at its next Python instruction, wherever it runs.
    assert time.monotonic() - began < 15  # not the step's 30 s
    assert not result.success
    assert result.run.status is RunStatus.CANCELED
    assert instance.get_run(result.run_id).status is RunStatus.CANCELED
    assert result.all_events[-1].event_type is EventType.RUN_CANCELED
    stored = instance.all_logs(result.run_id)
    assert EventType.RUN_CANCELING in [e.event_type for e in stored]
    (skip,) = result.get_step_skipped_events()
    assert skip.step_key == "never_runs" and "canceled" in skip.message
    assert not list(files.glob("never-runs-ran-*"))
    assert len(marked_pids(files, "long-started")) == 1
    (failure,) = result.get_step_failure_events()
    assert failure.step_key == "long_step" and "terminated" in failure.message

    # The step was interrupted where it ran, not left to wait on.
    mark = "long-swallowed" if wait == "swallow" else "long-interrupted"
    deadline = time.monotonic() + 5
    while not marked_pids(files, mark) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert len(marked_pids(files, mark)) == 1
    assert not marked_pids(files, "long-finished")
    # Resources are torn down however the run ends.
    assert tokens(files, "teardown") == tokens(files, "setup")

    # Nothing the step did after the cancellation counts: no output stored (a step that
    # swallowed the interruption included), no success recorded, nothing emitted after its
    # failure; and nothing arrives later either.
    time.sleep(0.5)
    for events in (result.all_events, stored, instance.all_logs(result.run_id)):
        of_step = [e.event_type for e in events if e.step_key == "long_step"]
        assert not AFTER_CANCEL & set(of_step), of_step
        assert of_step[-1] is EventType.STEP_FAILURE
    assert not [p for p in files.rglob("*") if p.is_file() and "long_step" in p.parts]
    if executor == "multiprocess":
        # The pool ended the step's worker, which still tore its resources down.
        pid = step_pids(result)["long_step"]
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)
        assert marked_pids(files, "teardown") == [pid]


# -- resources ---------------------------------------------------------------------------------
@pytest.mark.parametrize("executor", EXECUTORS)
def test_resources_are_set_up_once_per_process_and_always_torn_down(
    executor, run_config_for, tmp_path
):
    result = _run(suite_jobs.resourceful, run_config_for(executor))
    assert result.success
    outputs = [result.output_for_node(f"uses_{i}") for i in range(6)]
    setups = tokens(tmp_path, "setup")
    # torn down by the time the run has returned
    assert tokens(tmp_path, "teardown") == setups
    # each step got the resource built in its own process, and no process built two
    assert all(o["token"].split("-")[0] == str(o["pid"]) for o in outputs)
    assert sorted({o["token"] for o in outputs}) == setups
    pids = [int(token.split("-")[0]) for token in setups]
    assert len(pids) == len(set(pids))
    assert set(pids) == {o["pid"] for o in outputs} == set(step_pids(result).values())
    if executor in CROSS_PROCESS:
        # the orchestrator builds none of them; two steps launched at once go to two workers
        assert os.getpid() not in pids and len(pids) == 2
    else:
        assert pids == [os.getpid()]


# -- hooks and loggers -------------------------------------------------------------------------
HOOK = {EventType.HOOK_COMPLETED, EventType.HOOK_SKIPPED, EventType.HOOK_ERRORED}


@pytest.mark.parametrize("executor", EXECUTORS)
def test_hooks_and_loggers_run_in_the_process_that_ran_the_step(executor, run_config_for, tmp_path):
    config = run_config_for(executor)
    config["loggers"] = {"files": {"config": {"base_dir": str(tmp_path)}}}
    result = _run(suite_jobs.hooked, config)
    assert not result.success  # hooked_rejects failed; no hook changed a step's result
    assert result.is_node_success("hooked_double")
    assert [e.step_key for e in result.get_step_failure_events()] == ["hooked_rejects"]
    hooks = [
        (e.step_key, e.data.hook_name, e.event_type)
        for e in result.all_events
        if e.event_type in HOOK
    ]
    skipped, done, errored = (
        EventType.HOOK_SKIPPED,
        EventType.HOOK_COMPLETED,
        EventType.HOOK_ERRORED,
    )
    assert hooks == [
        ("hooked_source", "hook_that_raises", skipped),
        ("hooked_source", "mark_failure", skipped),
        ("hooked_double", "hook_that_raises", skipped),
        ("hooked_double", "mark_failure", skipped),
        ("hooked_double", "mark_success", done),
        ("hooked_rejects", "hook_that_raises", errored),
        ("hooked_rejects", "mark_failure", done),
    ]
    (error,) = [e for e in result.all_events if e.event_type is errored]
    assert "the hook of hooked_rejects broke" in error.data.error.to_string()

    # Each hook ran where its step ran, with the resources built there.
    pids = step_pids(result)
    assert marked_pids(tmp_path, "hook-success-hooked_double") == [pids["hooked_double"]]
    assert marked_pids(tmp_path, "hook-failure-hooked_rejects") == [pids["hooked_rejects"]]
    (token,) = tokens(tmp_path, "hook-token")
    assert token.split("-")[0] == str(pids["hooked_double"])
    assert tokens(tmp_path, "teardown") == tokens(tmp_path, "setup")
    hook_log = next(
        e for e in result.event_log if e.event_type is LOG and "success hook" in e.message
    )
    assert hook_log.step_key == "hooked_double" and hook_log.pid == pids["hooked_double"]
    assert hook_log.message == "success hook of hooked_double saw {'result': 8}"

    # The logger was built once in each process that ran steps (and in this one), and
    # each line was handed to it once, in the process where it happened.
    lines = {
        int(path.stem.split("-")[1]): path.read_text().splitlines()
        for path in tmp_path.glob("logger-*.log")
    }
    built = marked_pids(tmp_path, "logger-built")
    assert sorted(set(built)) == built and os.getpid() in built
    assert set(pids.values()) <= set(built)
    everything = [line for per_pid in lines.values() for line in per_pid]
    assert len(everything) == len(set(everything))
    assert any("RUN_START" in line for line in lines[os.getpid()])
    doubling = [pid for pid, per_pid in lines.items() for line in per_pid if "doubling" in line]
    assert doubling == [pids["hooked_double"]]
    assert any(
        line.startswith("hooked_rejects|") and "STEP_FAILURE" in line
        for line in lines[pids["hooked_rejects"]]
    )


# -- tag concurrency limits --------------------------------------------------------------------
@pytest.mark.parametrize("executor", WITH_TAG_LIMITS)
def test_tag_concurrency_limits_keep_tagged_steps_apart(executor, run_config_for):
    limits = [{"key": "database", "value": "warehouse", "limit": 1}]
    # three threads, or the usual two workers: either could run the tagged steps at once
    slots = {"max_concurrent": 3} if executor == "multithread" else {}
    config = run_config_for(executor, tag_concurrency_limits=limits, **slots)
    result = _run(suite_jobs.tag_limited, config)
    assert result.success
    spans = []
    for key in (f"query_{i}" for i in range(3)):
        events = result.events_for_node(key)
        start = next(e for e in events if e.event_type is EventType.STEP_START).timestamp
        end = next(e for e in events if e.event_type is EventType.STEP_SUCCESS).timestamp
        spans.append((start, end))
    spans.sort()
    for (_, end), (next_start, _) in itertools.pairwise(spans):
        assert next_start >= end


# -- concurrency pools -------------------------------------------------------------------------
@pytest.mark.parametrize("executor", EXECUTORS)
def test_steps_of_a_pool_wait_for_a_slot_on_every_executor(executor, run_config_for, tmp_path):
    instance = Instance.ephemeral()
    instance.set_concurrency_limit("warehouse", 1)
    slots = {"max_concurrent": 3} if executor in WITH_TAG_LIMITS else {}
    result = _run(suite_jobs.pool_limited, run_config_for(executor, **slots), instance=instance)
    assert result.success
    spans = sorted(
        tuple(map(float, (tmp_path / f"span-{i}").read_text().split())) for i in range(3)
    )
    for (_, end), (next_start, _) in itertools.pairwise(spans):
        assert next_start >= end
    waiting = [
        e
        for e in events_of(result, EventType.ENGINE_EVENT)
        if "is waiting for a slot in concurrency pool 'warehouse'" in e.message
    ]
    if executor != "in_process":  # one step at a time: never more than one ready to start
        assert waiting and all(e.data.pool == "warehouse" for e in waiting)
    assert instance.get_concurrency_limit("warehouse").in_use == 0


# -- refused before any step runs --------------------------------------------------------------
@pytest.mark.parametrize("executor", CROSS_PROCESS)
def test_the_in_memory_io_manager_is_refused_before_any_step_runs(executor):
    # Dask: no scheduler listens at the address; the check comes before any connection.
    config = {"cluster": {"existing": {"address": UNREACHABLE}}} if executor == "dask" else {}
    events = []
    with pytest.raises(InvalidInvocationError) as info:
        execute_job_in_process(
            suite_jobs.in_memory,
            run_config={"execution": {"config": {executor: config}}},
            on_event=events.append,
        )
    message = str(info.value)
    assert "in-memory IO manager" in message and f"{executor} executor" in message
    assert "'result' of step 'source'" in message and "FilesystemIOManager" in message
    assert events == []


@pytest.mark.parametrize("executor", CROSS_PROCESS)
def test_a_job_not_defined_at_module_level_is_refused(executor, run_config_for):
    @op
    def local_op():
        return 1

    @job(resource_defs=suite_jobs.RESOURCES)
    def local_job():
        local_op()

    with pytest.raises(InvalidInvocationError, match="module level"):
        local_job.execute_in_process(run_config=run_config_for(executor))


# -- run config picks the executor -------------------------------------------------------------
def test_run_config_picks_the_executor_of_a_job_without_one(monkeypatch):
    job_def = suite_jobs.diamond
    assert executor_for_run(job_def, {}) == (None, {})
    definition, config = executor_for_run(
        job_def, {"execution": {"config": {"multithread": {"max_concurrent": 3}}}}
    )
    assert definition.name == "multithread" and config["max_concurrent"] == 3
    definition, config = executor_for_run(job_def, {"execution": {"config": {"in_process": None}}})
    assert definition.name == "in_process"
    monkeypatch.setenv("TRELLIS_TEST_DASK_ADDRESS", "tcp://10.0.0.1:8786")
    address = {"env": "TRELLIS_TEST_DASK_ADDRESS"}
    definition, config = executor_for_run(
        job_def,
        {"execution": {"config": {"dask": {"cluster": {"existing": {"address": address}}}}}},
    )
    assert definition.name == "dask"
    assert config["cluster"] == {"existing": {"address": "tcp://10.0.0.1:8786"}}
    executor = create_executor(definition, config)
    assert isinstance(executor, DaskExecutor) and executor.crosses_processes
    assert executor.cluster == {"existing": {"address": "tcp://10.0.0.1:8786"}}
    with pytest.raises(InvalidConfigError) as info:
        executor_for_run(job_def, {"execution": {"config": {"dsak": {}}}})
    assert "dsak" in str(info.value) and "dask" in str(info.value)
    with pytest.raises(InvalidConfigError) as info:
        executor_for_run(
            job_def,
            {"execution": {"config": {"dask": {"cluster": {"local": {"n_workers": "two"}}}}}},
        )
    assert "root:execution:config:dask:cluster:local:n_workers" in str(info.value)


# -- maximum runtime ---------------------------------------------------------------------------
@pytest.mark.slow
@pytest.mark.parametrize("executor", EXECUTORS)
def test_a_run_past_its_max_runtime_is_stopped_and_ends_failed(executor, run_config_for, tmp_path):
    instance = Instance.from_config(tmp_path / "home", {})
    files = tmp_path / "files"
    config = run_config_for(executor, files)
    config["ops"] = {"long_step": {"config": {"seconds": 30.0, "cancel": False}}}
    began = time.monotonic()
    result = _run(
        suite_jobs.cancelled, config, instance=instance, tags={MAX_RUNTIME_SECONDS_TAG: "1"}
    )
    assert time.monotonic() - began < 15  # stopped after ~1 s, not the step's 30 s
    # Dagster's meaning of the tag: the run is stopped and ends FAILURE (not CANCELED), so
    # run-failure sensors and run retries see it.
    assert result.run.status is RunStatus.FAILURE
    stored = instance.get_run(result.run_id)
    assert stored.status is RunStatus.FAILURE
    last = instance.all_logs(result.run_id)[-1]
    assert last.event_type is EventType.RUN_FAILURE
    assert "maximum runtime of 1 s" in last.message and MAX_RUNTIME_SECONDS_TAG in last.message
    (failure,) = result.get_step_failure_events()
    assert failure.step_key == "long_step" and "terminated" in failure.message
    assert not marked_pids(files, "long-finished")
    assert not list(files.glob("never-runs-ran-*"))
    assert tokens(files, "teardown") == tokens(files, "setup")


def test_a_max_runtime_that_is_not_a_number_is_reported_and_the_run_goes_on(tmp_path):
    @op
    def quick() -> int:
        return 1

    @job(tags={MAX_RUNTIME_SECONDS_TAG: "ten minutes"})
    def tagged():
        quick()

    result = tagged.execute_in_process(instance=Instance.from_config(tmp_path / "home", {}))
    assert result.success
    (warning,) = [
        e
        for e in result.all_events
        if e.event_type is EventType.ENGINE_EVENT and MAX_RUNTIME_SECONDS_TAG in e.message
    ]
    assert "'ten minutes'" in warning.message and "positive number" in warning.message
