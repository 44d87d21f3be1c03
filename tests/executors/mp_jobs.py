"""Jobs for the multiprocess executor tests. Workers load them by reference (this file
and an attribute), so they live at module level here, not inside the tests.

Outputs go through ``FilesystemIOManager`` under ``$TRELLIS_MP_TEST_DIR``: the first
process that imports this module (the test process) creates the directory and sets the
variable, and the workers it starts inherit it. Files the ops and resources write to
show what happened where go to the ``dir`` given in each run's config.
"""

from __future__ import annotations

import asyncio
import atexit
import os
import shutil
import signal
import tempfile
import time
import uuid
from pathlib import Path

from trellis import (
    FilesystemIOManager,
    RetryPolicy,
    graph,
    job,
    mem_io_manager,
    multiprocess_executor,
    op,
    resource,
)

if "TRELLIS_MP_TEST_DIR" not in os.environ:
    os.environ["TRELLIS_MP_TEST_DIR"] = tempfile.mkdtemp(prefix="trellis-mp-tests-")
    atexit.register(shutil.rmtree, os.environ["TRELLIS_MP_TEST_DIR"], True)
BASE_DIR = os.environ["TRELLIS_MP_TEST_DIR"]

IO = {"io_manager": FilesystemIOManager(base_dir=BASE_DIR)}
DIR_CONFIG = {"dir": str}


def pool(**config):
    """The multiprocess executor with 2 workers (and ``config``)."""
    return multiprocess_executor.configured({"max_concurrent": 2, **config})


def _mark(directory: str, name: str) -> Path:
    path = Path(directory) / f"{name}-{os.getpid()}-{uuid.uuid4().hex[:8]}"
    path.write_text(str(os.getpid()))
    return path


# -- results and events: the same graph in process and on the pool ------------------------


@op
def source() -> int:
    """A constant."""
    return 3


@op
def square(x: int) -> int:
    """x squared."""
    return x * x


@op
def plus_one(x: int) -> int:
    """x plus one."""
    return x + 1


@op
def combine(context, a: int, b: int) -> dict:
    """Both values, and where this ran."""
    context.log.info("combining")
    return {"sum": a + b, "pid": os.getpid()}


@op
async def async_double(x: int) -> int:
    """An async op: runs on the worker's event loop."""
    await asyncio.sleep(0.01)
    return 2 * x


@graph
def arithmetic():
    """source -> (square, plus_one) -> combine, and an async op."""
    value = source()
    combine(square(value), plus_one(value))
    async_double(value)


arithmetic_in_process = arithmetic.to_job(name="arithmetic_in_process", resource_defs=IO)
arithmetic_pool = arithmetic.to_job(name="arithmetic_pool", resource_defs=IO, executor_def=pool())
arithmetic_fork = arithmetic.to_job(
    name="arithmetic_fork", resource_defs=IO, executor_def=pool(start_method="fork")
)
arithmetic_forkserver = arithmetic.to_job(
    name="arithmetic_forkserver", resource_defs=IO, executor_def=pool(start_method="forkserver")
)


@op
def slow_value() -> int:
    """Takes a while, so its events visibly arrive while the run goes."""
    time.sleep(0.5)
    return 7


@op
def chained(x: int) -> int:
    """x plus one."""
    return x + 1


@job(resource_defs=IO, executor_def=pool())
def live_chain():
    """slow_value -> chained -> chained -> chained."""
    chained.alias("c3")(chained.alias("c2")(chained.alias("c1")(slow_value())))


# -- failure and retry ---------------------------------------------------------------------


@op
def broken() -> int:
    """Always fails."""
    raise ValueError("boom from a worker")


@op
def after_broken(x: int) -> int:
    """Never runs: its upstream fails."""
    return x


@op
def independent() -> int:
    """Succeeds whatever else happens."""
    return 1


@job(resource_defs=IO, executor_def=pool())
def failing():
    """broken -> after_broken, and an independent op."""
    after_broken(broken())
    independent()


@op(config_schema=DIR_CONFIG, retry_policy=RetryPolicy(max_retries=2))
def flaky(context) -> int:
    """Fails on its first two attempts (counted with files), then succeeds."""
    directory = context.op_config["dir"]
    attempts = len(list(Path(directory).glob("flaky-*")))
    _mark(directory, "flaky")
    if attempts < 2:
        raise ConnectionError(f"transient failure {attempts + 1}")
    return attempts


@job(resource_defs=IO, executor_def=pool())
def retrying():
    """flaky -> chained."""
    chained(flaky())


# -- a step that kills its own process ----------------------------------------------------


@op(config_schema=DIR_CONFIG)
def kills_itself(context) -> int:
    """Kills the worker process it runs in."""
    _mark(context.op_config["dir"], "killer")
    os.kill(os.getpid(), signal.SIGKILL)
    return 0


@op(config_schema=DIR_CONFIG, retry_policy=RetryPolicy(max_retries=1))
def kills_itself_once(context) -> int:
    """Kills its worker on the first attempt; the retry (a fresh worker) succeeds."""
    directory = context.op_config["dir"]
    if not list(Path(directory).glob("killer-*")):
        _mark(directory, "killer")
        os.kill(os.getpid(), signal.SIGKILL)
    return 41


@op
def slowly_independent() -> int:
    """Runs next to the crashing step and must still succeed."""
    time.sleep(0.2)
    return 1


@job(resource_defs=IO, executor_def=pool())
def crashing():
    """kills_itself -> chained, and an independent op."""
    chained(kills_itself())
    slowly_independent()


@job(resource_defs=IO, executor_def=pool())
def crashing_once():
    """kills_itself_once (with a retry) -> chained."""
    chained(kills_itself_once())


# -- resources: set up and torn down once per worker ----------------------------------------


@resource(config_schema=DIR_CONFIG)
def counted(init_context):
    """Writes a file when set up and one when torn down."""
    directory = init_context.resource_config["dir"]
    _mark(directory, "setup")
    try:
        yield "connection"
    finally:
        _mark(directory, "teardown")


def _uses_resource(name: str):
    @op(name=name, required_resource_keys={"counted"})
    def uses(context) -> int:
        assert context.resources.counted == "connection"
        time.sleep(0.1)
        return os.getpid()

    return uses


@job(resource_defs={**IO, "counted": counted}, executor_def=pool())
def with_resources():
    """Six ops that need the counted resource."""
    for i in range(6):
        _uses_resource(f"uses_{i}")()


# -- cancellation -------------------------------------------------------------------------


@op(required_resource_keys={"counted"})
def long_step() -> int:
    """Runs far longer than the test waits."""
    time.sleep(60)
    return 1


@job(resource_defs={**IO, "counted": counted}, executor_def=pool())
def cancellable():
    """long_step -> chained."""
    chained(long_step())


# -- tag concurrency limits -----------------------------------------------------------------


def _tagged(name: str):
    @op(name=name, tags={"database": "warehouse"})
    def query() -> int:
        time.sleep(0.2)
        return os.getpid()

    return query


@job(
    resource_defs=IO,
    executor_def=pool(
        tag_concurrency_limits=[{"key": "database", "value": "warehouse", "limit": 1}]
    ),
)
def tag_limited():
    """Three ops tagged database=warehouse, at most one at a time."""
    for i in range(3):
        _tagged(f"query_{i}")()


# -- the in-memory IO manager cannot cross processes ----------------------------------------


@job(resource_defs={"io_manager": mem_io_manager}, executor_def=pool())
def in_memory():
    """Keeps its output in memory: refused before any step runs."""
    source()
