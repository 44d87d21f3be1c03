"""The Dask executor (``dask_executor``): results and events as in process, events
streamed while a step runs, failures with the user's traceback, retries, a worker killed
mid-step, the in-memory IO manager refused, resources once per worker, per-step Dask
resources from tags, cancellation, run config that picks the executor, and the example
project on a scheduler and two workers started with the ``dask`` command-line tools.

Most tests share one ``LocalCluster`` of two worker processes (``existing`` config); the
jobs live in ``dask_jobs.py`` so the workers load them by reference.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import dask_jobs
import distributed
import pytest

from trellis import EventType, Instance, InvalidConfigError, InvalidInvocationError, RunStatus
from trellis.api.execute import execute_job_in_process
from trellis.core.errors import InvalidDefinitionError, StepWorkerCrashedError
from trellis.execution.executors.dask import DaskExecutor, step_resources
from trellis.execution.executors.registry import create_executor
from trellis.execution.remote.cross_process import executor_for_run

ROOT = Path(__file__).resolve().parents[2]

STEP_EVENTS = {
    EventType.STEP_START,
    EventType.STEP_RESTARTED,
    EventType.LOADED_INPUT,
    EventType.STEP_OUTPUT,
    EventType.HANDLED_OUTPUT,
    EventType.ASSET_MATERIALIZATION,
    EventType.LOG_MESSAGE,
    EventType.STEP_SUCCESS,
    EventType.STEP_FAILURE,
    EventType.STEP_UP_FOR_RETRY,
}


@pytest.fixture(scope="module")
def dask_address():
    """A LocalCluster of two single-threaded worker processes (each offering one
    ``slots`` resource), shared by the tests of this module."""
    cluster = distributed.LocalCluster(
        n_workers=2,
        threads_per_worker=1,
        processes=True,
        host="127.0.0.1",
        dashboard_address=None,
        scheduler_kwargs={"dashboard_address": ":0"},
        silence_logs=logging.CRITICAL,
        resources={"slots": 1},
    )
    try:
        yield cluster.scheduler_address
    finally:
        cluster.close()


def _on_dask(address: str, base_dir: Path, **extra) -> dict:
    """Run config that picks the Dask executor (for a job without an executor_def)."""
    return {
        "execution": {"config": {"dask": {"cluster": {"existing": {"address": address}}}}},
        "resources": {"io_manager": {"config": {"base_dir": str(base_dir)}}},
        **extra,
    }


def _in_process(base_dir: Path, **extra) -> dict:
    return {"resources": {"io_manager": {"config": {"base_dir": str(base_dir)}}}, **extra}


def _types_by_step(events) -> dict[str, list[EventType]]:
    by_step: dict[str, list[EventType]] = {}
    for event in events:
        if event.step_key is not None and event.event_type in STEP_EVENTS:
            by_step.setdefault(event.step_key, []).append(event.event_type)
    return by_step


def _of(result, event_type: EventType, step_key: str | None = None) -> list:
    return [
        e
        for e in result.all_events
        if e.event_type is event_type and (step_key is None or e.step_key == step_key)
    ]


# -- results and events ------------------------------------------------------------------------
def test_dask_results_and_event_order_match_in_process_and_arrive_while_running(
    dask_address, tmp_path
):
    local = dask_jobs.dask_math_job.execute_in_process(run_config=_in_process(tmp_path / "a"))
    arrivals: list[tuple[float, EventType, str | None]] = []
    remote = execute_job_in_process(
        dask_jobs.dask_math_job,
        run_config=_on_dask(dask_address, tmp_path / "b"),
        on_event=lambda e: arrivals.append((time.monotonic(), e.event_type, e.step_key)),
    )
    assert remote.success
    for node in ("dask_one", "dask_two", "dask_add", "dask_slow"):
        assert remote.output_for_node(node) == local.output_for_node(node)
    assert remote.output_for_node("dask_slow") == 30
    assert _types_by_step(remote.all_events) == _types_by_step(local.all_events)
    # Steps ran in the workers, not here; the events came back in order, live.
    pids = {e.pid for e in remote.all_events if e.event_type is EventType.STEP_START}
    assert os.getpid() not in pids
    started = next(
        t for t, kind, key in arrivals if kind is EventType.LOG_MESSAGE and key == "dask_slow"
    )
    ended = next(
        t for t, kind, key in arrivals if kind is EventType.STEP_SUCCESS and key == "dask_slow"
    )
    assert ended - started > 1.0  # its log line arrived while it was still sleeping
    assert [e.event_type for e in remote.all_events][-1] is EventType.RUN_SUCCESS


def test_dask_asset_job_from_definitions_and_own_executor_def(dask_address, tmp_path):
    assets_job = dask_jobs.dask_defs.get_job_def("dask_assets_job")
    result = assets_job.execute_in_process(run_config=_on_dask(dask_address, tmp_path))
    assert result.success
    assert result.asset_value("dask_total") == 10
    assert len(_of(result, EventType.ASSET_MATERIALIZATION)) == 2

    # A job whose executor_def is dask_executor reads execution: {config: {...}}.
    own = dask_jobs.dask_own_executor_job.execute_in_process(
        run_config={
            "execution": {"config": {"cluster": {"existing": {"address": dask_address}}}},
            **_in_process(tmp_path / "own"),
        }
    )
    assert own.success and own.output_for_node("dask_add") == 3
    assert os.getpid() not in {e.pid for e in _of(own, EventType.STEP_START)}


# -- failures and retries ------------------------------------------------------------------------
def test_dask_failure_brings_back_the_user_exception_and_traceback(dask_address, tmp_path):
    with pytest.raises(dask_jobs.DaskUserError, match="user code rejected 42"):
        dask_jobs.dask_failing_job.execute_in_process(
            run_config=_on_dask(dask_address, tmp_path / "a")
        )
    result = dask_jobs.dask_failing_job.execute_in_process(
        run_config=_on_dask(dask_address, tmp_path / "b"), raise_on_error=False
    )
    assert not result.success
    (failure,) = _of(result, EventType.STEP_FAILURE)
    assert failure.step_key == "dask_fails"
    assert failure.data.error_source == "USER_CODE_ERROR"
    text = failure.data.error.to_string()
    assert "raise_from_user_code" in text and "dask_jobs.py" in text
    assert "DaskUserError" in text
    (skipped,) = _of(result, EventType.STEP_SKIPPED)
    assert skipped.step_key == "dask_after_failure"
    assert result.all_events[-1].event_type is EventType.RUN_FAILURE


def test_dask_retry_policy_retries_the_step(dask_address, tmp_path):
    result = dask_jobs.dask_retry_job.execute_in_process(
        run_config=_on_dask(dask_address, tmp_path)
    )
    assert result.success
    assert result.output_for_node("dask_flaky") == 2
    assert len(_of(result, EventType.STEP_UP_FOR_RETRY)) == 2
    assert len(_of(result, EventType.STEP_RESTARTED)) == 2


# -- refused before any step ------------------------------------------------------------------
def test_dask_refuses_the_in_memory_io_manager_before_any_step(tmp_path):
    seen = []
    with pytest.raises(InvalidInvocationError) as info:
        execute_job_in_process(
            dask_jobs.dask_memory_job,
            # No scheduler listens there: the check comes before any connection.
            run_config={
                "execution": {
                    "config": {"dask": {"cluster": {"existing": {"address": "tcp://127.0.0.1:9"}}}}
                }
            },
            on_event=seen.append,
        )
    message = str(info.value)
    assert "in-memory IO manager" in message and "dask executor" in message
    assert "'result' of step 'dask_one'" in message and "FilesystemIOManager" in message
    assert seen == []


def test_run_config_picks_the_executor_of_a_job_without_one():
    job = dask_jobs.dask_math_job
    assert executor_for_run(job, {}) == (None, {})
    definition, config = executor_for_run(
        job, {"execution": {"config": {"multithread": {"max_concurrent": 3}}}}
    )
    assert definition.name == "multithread" and config["max_concurrent"] == 3
    definition, config = executor_for_run(job, {"execution": {"config": {"in_process": None}}})
    assert definition.name == "in_process"
    os.environ["TRELLIS_TEST_DASK_ADDRESS"] = "tcp://10.0.0.1:8786"
    try:
        definition, config = executor_for_run(
            job,
            {
                "execution": {
                    "config": {
                        "dask": {
                            "cluster": {
                                "existing": {"address": {"env": "TRELLIS_TEST_DASK_ADDRESS"}}
                            }
                        }
                    }
                }
            },
        )
    finally:
        del os.environ["TRELLIS_TEST_DASK_ADDRESS"]
    assert definition.name == "dask"
    assert config["cluster"] == {"existing": {"address": "tcp://10.0.0.1:8786"}}
    executor = create_executor(definition, config)
    assert isinstance(executor, DaskExecutor) and executor.crosses_processes
    assert executor.cluster == {"existing": {"address": "tcp://10.0.0.1:8786"}}
    with pytest.raises(InvalidConfigError) as info:
        executor_for_run(job, {"execution": {"config": {"dsak": {}}}})
    assert "dsak" in str(info.value) and "dask" in str(info.value)
    with pytest.raises(InvalidConfigError) as info:
        executor_for_run(
            job, {"execution": {"config": {"dask": {"cluster": {"local": {"n_workers": "two"}}}}}}
        )
    assert "root:execution:config:dask:cluster:local:n_workers" in str(info.value)


# -- resources ---------------------------------------------------------------------------------
def test_dask_resources_are_built_once_per_worker_and_torn_down(dask_address, tmp_path):
    markers = tmp_path / "markers"
    result = dask_jobs.dask_resource_job.execute_in_process(
        run_config=_on_dask(
            dask_address,
            tmp_path,
        )
        | {
            "resources": {
                "io_manager": {"config": {"base_dir": str(tmp_path / "io")}},
                "counted": {"config": {"marker_dir": str(markers)}},
            }
        }
    )
    assert result.success
    outputs = [result.output_for_node(f"dask_use_{i}") for i in range(6)]
    assert all(o["resource_pid"] == o["pid"] for o in outputs)
    inits = Counter(p.name.split("-")[1] for p in markers.glob("init-*"))
    assert set(inits) == {str(o["pid"]) for o in outputs}
    assert set(inits.values()) == {1}  # once per worker process, not per step
    teardowns = sorted(p.name[len("teardown-") :] for p in markers.glob("teardown-*"))
    assert teardowns == sorted(p.name[len("init-") :] for p in markers.glob("init-*"))


def test_dask_local_cluster_with_threads_shares_one_resource_per_worker(tmp_path):
    markers = tmp_path / "markers"
    config = {
        "execution": {
            "config": {"dask": {"cluster": {"local": {"n_workers": 1, "threads_per_worker": 3}}}}
        },
        "resources": {
            "io_manager": {"config": {"base_dir": str(tmp_path / "io")}},
            "counted": {"config": {"marker_dir": str(markers)}},
        },
    }
    result = dask_jobs.dask_resource_job.execute_in_process(run_config=config)
    assert result.success
    outputs = [result.output_for_node(f"dask_use_{i}") for i in range(6)]
    assert len({o["pid"] for o in outputs}) == 1
    assert len({o["thread"] for o in outputs}) > 1  # steps ran at once on threads
    assert len(list(markers.glob("init-*"))) == 1
    assert len(list(markers.glob("teardown-*"))) == 1
    # Each step's events stayed with their step, in order.
    for key, types in _types_by_step(result.all_events).items():
        assert types[0] is EventType.STEP_START and types[-1] is EventType.STEP_SUCCESS, key


def test_dask_step_tags_ask_for_worker_resources(dask_address, tmp_path):
    result = dask_jobs.dask_tagged_job.execute_in_process(
        run_config=_on_dask(dask_address, tmp_path)
    )
    assert result.success and result.output_for_node("dask_needs_slot") == 7
    assert step_resources("s", {"trellis-dask/resources": '{"GPU": 1, "memory": 2.5}'}) == {
        "GPU": 1.0,
        "memory": 2.5,
    }
    assert step_resources("s", {"dagster-dask/resource_requirements": '{"GPU": 2}'}) == {"GPU": 2.0}
    assert step_resources("s", {"other": "x"}) is None
    with pytest.raises(InvalidDefinitionError, match=r"dask_bad_tag.*not json"):
        dask_jobs.dask_bad_tag_job.execute_in_process(
            run_config=_on_dask(dask_address, tmp_path / "bad")
        )


def test_dask_unreachable_scheduler_fails_the_run_with_a_clear_error(tmp_path):
    config = _on_dask("tcp://127.0.0.1:9", tmp_path)
    config["execution"]["config"]["dask"]["timeout"] = 0.5
    seen = []
    with pytest.raises(ConnectionError, match=r"could not use the cluster at tcp://127\.0\.0\.1:9"):
        execute_job_in_process(dask_jobs.dask_math_job, run_config=config, on_event=seen.append)
    assert seen[-1].event_type is EventType.RUN_FAILURE
    assert not [e for e in seen if e.event_type is EventType.STEP_START]


def test_dask_warns_when_no_worker_offers_a_step_resource(dask_address, tmp_path):
    executor = DaskExecutor({"existing": {"address": dask_address}})
    events = []

    class Context:  # the few things start() reads
        class run:
            run_id, job_name = "r", "j"

        class plan:
            step_keys_to_execute = ["gpu_step"]
            steps = {"gpu_step": type("S", (), {"tags": {"trellis-dask/resources": '{"GPU": 1}'}})}

        emit = staticmethod(events.append)

    executor.start(Context)
    try:
        assert executor.free_slots() == 2
    finally:
        executor._close()
    (warning,) = events
    assert "gpu_step" in warning.message and "No Dask worker offers" in warning.message


# -- cancellation ------------------------------------------------------------------------------
def test_dask_cancel_terminates_the_running_step(dask_address, tmp_path):
    instance = Instance.from_config(tmp_path / "home", None)
    marker = tmp_path / "finished"
    started = time.monotonic()
    result = dask_jobs.dask_cancel_job.execute_in_process(
        run_config=_on_dask(
            dask_address,
            tmp_path / "io",
            ops={"dask_cancels_its_run": {"config": {"marker": str(marker)}}},
        ),
        instance=instance,
        raise_on_error=False,
    )
    assert time.monotonic() - started < 8  # the step would sleep 10 s
    assert result.run.status is RunStatus.CANCELED
    assert instance.get_run(result.run_id).status is RunStatus.CANCELED
    (failure,) = _of(result, EventType.STEP_FAILURE)
    assert failure.step_key == "dask_cancels_its_run" and "canceled" in failure.message
    (skip,) = _of(result, EventType.STEP_SKIPPED)
    assert skip.step_key == "dask_never_runs"
    assert result.all_events[-1].event_type is EventType.RUN_CANCELED
    # The step was interrupted on its worker, not left to sleep on.
    deadline = time.monotonic() + 5
    while not Path(f"{marker}.interrupted").exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert Path(f"{marker}.interrupted").exists()
    assert not Path(f"{marker}.finished").exists()


# -- workers that die --------------------------------------------------------------------------
def test_dask_worker_killed_mid_step_fails_the_step_as_crashed(dask_address, tmp_path):
    result = dask_jobs.dask_crash_job.execute_in_process(
        run_config=_on_dask(dask_address, tmp_path), raise_on_error=False
    )
    assert not result.success
    (failure,) = _of(result, EventType.STEP_FAILURE)
    assert failure.step_key == "dask_kills_its_worker"
    assert failure.data.crashed is True and "died" in failure.message
    assert failure.data.error.cls_name == "StepWorkerCrashedError"
    # Never run twice (Dask re-runs a task whose worker died; the re-run finds the attempt
    # claimed). The STEP_START may be lost: the worker died within milliseconds of it.
    assert len(_of(result, EventType.STEP_START, "dask_kills_its_worker")) <= 1
    (skipped,) = _of(result, EventType.STEP_SKIPPED)
    assert skipped.step_key == "dask_after_failure"
    assert result.all_events[-1].event_type is EventType.RUN_FAILURE
    with pytest.raises(StepWorkerCrashedError, match="died"):
        dask_jobs.dask_crash_job.execute_in_process(run_config=_on_dask(dask_address, tmp_path))


def test_dask_crashed_step_retries_on_a_local_cluster(tmp_path):
    result = dask_jobs.dask_crash_retry_job.execute_in_process(
        run_config={
            "execution": {"config": {"dask": {"cluster": {"local": {"n_workers": 2}}}}},
            **_in_process(tmp_path),
        }
    )
    assert result.success
    (retry,) = _of(result, EventType.STEP_UP_FOR_RETRY)
    assert retry.data.crashed is True and "died" in retry.message
    assert len(_of(result, EventType.STEP_RESTARTED)) == 1
    assert result.output_for_node("dask_crashes_once") != os.getpid()


# -- the example project on a cluster started with the dask command-line tools ---------------------
def _dask_cli(*args: str) -> list[str]:
    script = Path(sys.executable).with_name("dask")
    if script.exists():
        return [str(script), *args]
    module = {
        "scheduler": "distributed.cli.dask_scheduler",
        "worker": "distributed.cli.dask_worker",
    }[args[0]]
    return [sys.executable, "-m", module, *args[1:]]


def _stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(5)


def test_dask_example_project_runs_on_a_scheduler_and_two_workers_started_by_the_cli(tmp_path):
    scheduler_file = tmp_path / "scheduler.json"
    logs = tmp_path / "logs"
    logs.mkdir()
    env = {**os.environ, "TRELLIS_HOME": str(tmp_path / "home")}
    processes: list[subprocess.Popen] = []

    def start(name: str, command: list[str]) -> subprocess.Popen:
        out = open(logs / f"{name}.log", "w")  # noqa: SIM115 - closed with the process
        process = subprocess.Popen(
            command, stdout=out, stderr=subprocess.STDOUT, cwd=tmp_path, env=env
        )
        out.close()
        processes.append(process)
        return process

    try:
        start(
            "scheduler",
            _dask_cli(
                "scheduler",
                "--host",
                "127.0.0.1",
                "--port",
                "0",
                "--no-dashboard",
                "--scheduler-file",
                str(scheduler_file),
            ),
        )
        deadline = time.monotonic() + 30
        while not scheduler_file.exists() and time.monotonic() < deadline:
            time.sleep(0.1)
        assert scheduler_file.exists(), (logs / "scheduler.log").read_text()
        address = json.loads(scheduler_file.read_text())["address"]
        workers = [
            start(
                f"worker{i}",
                _dask_cli(
                    "worker",
                    "--scheduler-file",
                    str(scheduler_file),
                    "--nthreads",
                    "1",
                    "--no-nanny",
                    "--no-dashboard",
                    "--host",
                    "127.0.0.1",
                ),
            )
            for i in range(2)
        ]
        with distributed.Client(address, timeout=30) as client:
            client.wait_for_workers(2, timeout=30)

        overrides = tmp_path / "output.yaml"
        overrides.write_text(
            json.dumps(
                {
                    "resources": {
                        "json_io_manager": {"config": {"base_dir": str(tmp_path / "output")}}
                    }
                }
            )
        )
        proc = subprocess.run(
            [
                sys.executable,
                "-m",
                "trellis",
                "job",
                "execute",
                "-f",
                str(ROOT / "examples" / "quickstart" / "definitions.py"),
                "-j",
                "sales_job",
                "-c",
                str(ROOT / "examples" / "quickstart" / "dask.yaml"),
                "-c",
                str(overrides),
            ],
            capture_output=True,
            text=True,
            timeout=120,
            cwd=tmp_path,
            env={**env, "DASK_SCHEDULER_ADDRESS": address},
        )
        assert proc.returncode == 0, proc.stdout + proc.stderr
        written = json.loads((tmp_path / "output" / "revenue_by_region.json").read_text())
        assert written == {"east": 96.48, "north": 40.5, "south": 40.99, "west": 56.5}

        # The steps ran in the two worker processes, which loaded the code by reference.
        instance = Instance.from_config(tmp_path / "home", None)
        (run,) = instance.get_runs()
        assert run.status is RunStatus.SUCCESS
        events = instance.all_logs(run.run_id)
        step_pids = {e.pid for e in events if e.event_type is EventType.STEP_SUCCESS}
        assert len([e for e in events if e.event_type is EventType.STEP_SUCCESS]) == 3
        assert step_pids <= {w.pid for w in workers}, (step_pids, [w.pid for w in workers])
        # The run left the scheduler as it found it: no errors in its log.
        scheduler_log = (logs / "scheduler.log").read_text()
        assert "CRITICAL" not in scheduler_log and "ERROR" not in scheduler_log, scheduler_log
    finally:
        for process in reversed(processes):
            _stop(process)
