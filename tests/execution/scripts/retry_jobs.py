"""Jobs for the run-retry tests, importable by path and runnable as a script (a run in
a process of its own, which a test can let die).

Every step counts its executions in ``$RETRY_TEST_DIR`` (``<step>.count``). ``flaky``
fails on its first execution and succeeds afterwards (a marker file); ``crashing``
kills its own process with SIGKILL on its first execution. ``python retry_jobs.py HOME
JOB`` runs JOB on the instance at HOME (with ``trellis.yaml`` there) and prints its id.
"""

from __future__ import annotations

import os
import signal
import sys
from pathlib import Path

from trellis import Definitions, Instance, job, op


def _dir() -> Path:
    return Path(os.environ["RETRY_TEST_DIR"])


def _count(name: str) -> int:
    path = _dir() / f"{name}.count"
    count = int(path.read_text()) + 1 if path.exists() else 1
    path.write_text(str(count))
    return count


@op
def extract() -> int:
    _count("extract")
    return 20


@op
def flaky(value: int) -> int:
    if _count("flaky") == 1:
        raise RuntimeError("the first attempt fails")
    return value + 1


@op
def always_fails(value: int) -> int:
    _count("always_fails")
    raise RuntimeError("this step always fails")


@op
def crashing(value: int) -> int:
    if _count("crashing") == 1:
        os.kill(os.getpid(), signal.SIGKILL)
    return value * 2


@job(tags={"dagster/max_retries": "2"})
def flaky_job():
    flaky(extract())


@job(tags={"dagster/max_retries": "2", "dagster/retry_strategy": "ALL_STEPS"})
def flaky_all_steps_job():
    flaky(extract())


@job(tags={"dagster/max_retries": "2"})
def hopeless_job():
    always_fails(extract())


@job
def untagged_job():
    flaky(extract())


@job(tags={"dagster/max_retries": "1", "dagster/retry_on_asset_or_op_failure": "false"})
def crash_only_job():
    crashing(extract())


@job(tags={"dagster/max_retries": "1", "dagster/retry_on_asset_or_op_failure": "false"})
def step_failure_only_job():
    flaky(extract())


defs = Definitions(
    jobs=[
        flaky_job,
        flaky_all_steps_job,
        hopeless_job,
        untagged_job,
        crash_only_job,
        step_failure_only_job,
    ]
)


if __name__ == "__main__":
    home, name = sys.argv[1:3]
    os.environ["TRELLIS_HOME"] = home
    with Instance.get() as instance:
        result = defs.get_job_def(name).execute_in_process(instance=instance, raise_on_error=False)
        print(result.run_id, flush=True)
