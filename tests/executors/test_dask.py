"""What only the Dask executor (``dask_executor``) does: a job with the Dask executor of
its own, a ``LocalCluster`` started for the run (worker threads sharing one resource),
per-step Dask worker resources from tags, an unreachable scheduler, and the example project
on a scheduler and two workers started with the ``dask`` command-line tools. What every
executor does is in ``test_executor_suite.py``.

Most tests share the session's ``LocalCluster`` of two worker processes (``conftest.py``,
``existing`` config); the jobs are in ``suite_jobs.py``, so the workers load them by
reference.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import distributed
import pytest
import suite_jobs
from executor_helpers import step_pids, tokens, types_by_step

from trellis import EventType, Instance, RunStatus
from trellis.api.execute import execute_job_in_process
from trellis.core.errors import InvalidDefinitionError
from trellis.execution.executors.dask import DaskExecutor, step_resources

ROOT = Path(__file__).resolve().parents[2]


def _files(base_dir: Path) -> dict:
    """Run config that points the suite jobs' files at ``base_dir``."""
    base_dir.mkdir(parents=True, exist_ok=True)
    base = {"config": {"base_dir": str(base_dir)}}
    return {"resources": {"io_manager": base, "io_manager_dir": base, "tracked": base}}


def _on_dask(address: str, base_dir: Path) -> dict:
    """Run config that picks the Dask executor (for a job without an executor_def)."""
    cluster = {"cluster": {"existing": {"address": address}}}
    return {"execution": {"config": {"dask": cluster}}, **_files(base_dir)}


def test_a_job_with_the_dask_executor_of_its_own_reads_its_config(dask_address, tmp_path):
    # A job whose executor_def is dask_executor reads execution: {config: {...}}.
    own = suite_jobs.on_dask.execute_in_process(
        run_config={
            "execution": {"config": {"cluster": {"existing": {"address": dask_address}}}},
            **_files(tmp_path),
        }
    )
    assert own.success and own.output_for_node("combine", "total") == 23
    assert os.getpid() not in step_pids(own).values()


def test_dask_local_cluster_with_threads_shares_one_resource_per_worker(tmp_path):
    config = {
        "execution": {
            "config": {"dask": {"cluster": {"local": {"n_workers": 1, "threads_per_worker": 3}}}}
        },
        **_files(tmp_path),
    }
    result = suite_jobs.resourceful.execute_in_process(run_config=config)
    assert result.success
    outputs = [result.output_for_node(f"uses_{i}") for i in range(6)]
    assert len({o["pid"] for o in outputs}) == 1
    assert len({o["thread"] for o in outputs}) > 1  # steps ran at once on threads
    assert len(tokens(tmp_path, "setup")) == 1
    assert len(tokens(tmp_path, "teardown")) == 1
    # Each step's events stayed with their step, in order.
    for key, types in types_by_step(result.all_events).items():
        assert types[0] is EventType.STEP_START and types[-1] is EventType.STEP_SUCCESS, key


def test_dask_step_tags_ask_for_worker_resources(dask_address, tmp_path):
    result = suite_jobs.dask_tagged.execute_in_process(run_config=_on_dask(dask_address, tmp_path))
    assert result.success and result.output_for_node("needs_slot") == 7
    assert step_resources("s", {"trellis-dask/resources": '{"GPU": 1, "memory": 2.5}'}) == {
        "GPU": 1.0,
        "memory": 2.5,
    }
    assert step_resources("s", {"dagster-dask/resource_requirements": '{"GPU": 2}'}) == {"GPU": 2.0}
    assert step_resources("s", {"other": "x"}) is None
    with pytest.raises(InvalidDefinitionError, match=r"dask_bad_tag.*not json"):
        suite_jobs.dask_bad_tagged.execute_in_process(
            run_config=_on_dask(dask_address, tmp_path / "bad")
        )


def test_dask_unreachable_scheduler_fails_the_run_with_a_clear_error(tmp_path):
    config = _on_dask("tcp://127.0.0.1:9", tmp_path)
    config["execution"]["config"]["dask"]["timeout"] = 0.5
    seen = []
    with pytest.raises(ConnectionError, match=r"could not use the cluster at tcp://127\.0\.0\.1:9"):
        execute_job_in_process(suite_jobs.diamond, run_config=config, on_event=seen.append)
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
