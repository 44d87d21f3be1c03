"""Jobs for the executor suite (``test_executor_suite.py``). They live in a module of
their own so that pool and Dask workers load them by reference, as they would a user's
project. Each test gives the filesystem IO manager its own ``base_dir`` in run config;
files in that directory record what happened where."""

from __future__ import annotations

import os
import signal
import time
import uuid
from pathlib import Path

from trellis import FilesystemIOManager, Out, RetryPolicy, job, op, resource


def _dir(context) -> Path:
    return Path(context.resources.io_manager_dir)


@resource(config_schema={"base_dir": str})
def io_manager_dir(init_context):
    """Where the test's files go (the same directory as the IO manager's)."""
    return init_context.resource_config["base_dir"]


@resource(config_schema={"base_dir": str})
def tracked(init_context):
    """Records its set-up and teardown as files named by process and a unique id."""
    base = Path(init_context.resource_config["base_dir"])
    token = f"{os.getpid()}-{uuid.uuid4().hex[:8]}"
    (base / f"setup-{token}").touch()
    yield token
    (base / f"teardown-{token}").touch()


RESOURCES = {
    "io_manager": FilesystemIOManager(),
    "io_manager_dir": io_manager_dir,
    "tracked": tracked,
}


@op(required_resource_keys={"tracked"})
def source(context) -> int:
    return 2


@op(required_resource_keys={"tracked"})
def left(context, x: int) -> int:
    return x + 1


@op(required_resource_keys={"tracked"})
def right(context, x: int) -> int:
    return x * 10


@op(out={"total": Out(), "pids": Out()})
def combine(a: int, b: int):
    return a + b, os.getpid()


@job(resource_defs=RESOURCES)
def diamond():
    """source -> (left, right) -> combine: the results every executor must agree on."""
    combine(left(source()), right(source.alias("source_2")()))


@op(required_resource_keys={"io_manager_dir"}, retry_policy=RetryPolicy(max_retries=2))
def flaky(context) -> str:
    marker = _dir(context) / "flaky-attempted"
    if not marker.exists():
        marker.touch()
        raise RuntimeError("first attempt fails")
    return f"ok after {context.retry_number} retries"


@job(resource_defs=RESOURCES)
def retrying():
    flaky()


@op
def broken() -> int:
    raise ValueError("broken on purpose")


@op
def after_broken(x: int) -> int:
    return x


@job(resource_defs=RESOURCES)
def failing():
    after_broken(broken())


@op(required_resource_keys={"io_manager_dir"})
def suicidal(context) -> int:
    """Kills its own process on the first attempt (a crash), succeeds on the second."""
    marker = _dir(context) / "killed-once"
    if not marker.exists():
        marker.touch()
        os.kill(os.getpid(), signal.SIGKILL)
    return 7


@job(resource_defs=RESOURCES, op_retry_policy=RetryPolicy(max_retries=1))
def crashing():
    suicidal()


@op(required_resource_keys={"io_manager_dir"})
def asks_to_cancel(context) -> int:
    assert context.instance.request_cancel(context.run_id)
    time.sleep(0.8)  # the orchestrator looks for a cancellation every half second
    return 1


@op(required_resource_keys={"io_manager_dir"})
def never_runs(context, x: int) -> int:
    (_dir(context) / "never-runs-ran").touch()
    return x


@job(resource_defs=RESOURCES)
def cancelled():
    never_runs(asks_to_cancel())
