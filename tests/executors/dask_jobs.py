"""Jobs for the Dask executor tests. They live in a module of their own so that Dask
workers load them by reference (``tests/executors/dask_jobs.py``), as they would load a
user's project. Outputs go through ``FilesystemIOManager``; each test gives it its own
``base_dir`` in run config."""

from __future__ import annotations

import os
import signal
import threading
import time
import uuid
from pathlib import Path

from trellis import (
    Definitions,
    FilesystemIOManager,
    In,
    Nothing,
    RetryPolicy,
    asset,
    dask_executor,
    define_asset_job,
    job,
    mem_io_manager,
    op,
    resource,
)

IO = {"io_manager": FilesystemIOManager()}


# -- results and events ------------------------------------------------------------------------
@op
def dask_one() -> int:
    return 1


@op
def dask_two() -> int:
    return 2


@op
def dask_add(context, a: int, b: int) -> int:
    context.log.info(f"adding {a} and {b}")
    return a + b


@op
def dask_slow(context, total: int) -> int:
    context.log.info("slow step started")
    time.sleep(1.5)
    return total * 10


@job(resource_defs=IO)
def dask_math_job():
    dask_slow(dask_add(dask_one(), dask_two()))


@job(resource_defs=IO, executor_def=dask_executor)
def dask_own_executor_job():
    dask_add(dask_one(), dask_two())


@asset
def dask_numbers() -> list[int]:
    return [1, 2, 3, 4]


@asset
def dask_total(dask_numbers: list[int]) -> int:
    return sum(dask_numbers)


dask_assets_job = define_asset_job("dask_assets_job", selection="*")

dask_defs = Definitions(assets=[dask_numbers, dask_total], jobs=[dask_assets_job], resources=IO)


# -- failures, retries, crashes ----------------------------------------------------------------
class DaskUserError(Exception):
    """Raised by user code, pickled back to the orchestrator."""


def raise_from_user_code(value: int) -> None:
    raise DaskUserError(f"user code rejected {value}")


@op
def dask_fails() -> int:
    raise_from_user_code(42)
    return 0


@op
def dask_after_failure(x: int) -> int:
    return x


@job(resource_defs=IO)
def dask_failing_job():
    dask_after_failure(dask_fails())


@op(retry_policy=RetryPolicy(max_retries=2))
def dask_flaky(context) -> int:
    if context.retry_number < 2:
        raise DaskUserError(f"flaky attempt {context.retry_number}")
    return context.retry_number


@job(resource_defs=IO)
def dask_retry_job():
    dask_flaky()


@op
def dask_kills_its_worker() -> int:
    os.kill(os.getpid(), signal.SIGKILL)
    time.sleep(30)
    return 0


@job(resource_defs=IO)
def dask_crash_job():
    dask_after_failure(dask_kills_its_worker())


@op(retry_policy=RetryPolicy(max_retries=1))
def dask_crashes_once(context) -> int:
    if context.retry_number == 0:
        os.kill(os.getpid(), signal.SIGKILL)
        time.sleep(30)
    return os.getpid()


@job(resource_defs=IO)
def dask_crash_retry_job():
    dask_crashes_once()


@job(resource_defs={"io_manager": mem_io_manager})
def dask_memory_job():
    dask_add(dask_one(), dask_two())


# -- resources ---------------------------------------------------------------------------------
@resource(config_schema={"marker_dir": str})
def dask_counted(init_context):
    """Leaves a file per set-up and per teardown: ``init-<pid>-<id>``, ``teardown-<pid>-<id>``."""
    directory = Path(init_context.resource_config["marker_dir"])
    directory.mkdir(parents=True, exist_ok=True)
    name = f"{os.getpid()}-{uuid.uuid4().hex[:8]}"
    (directory / f"init-{name}").touch()
    try:
        yield {"pid": os.getpid()}
    finally:
        (directory / f"teardown-{name}").touch()


def _user(index: int):
    @op(name=f"dask_use_{index}", required_resource_keys={"counted"})
    def use(context) -> dict:
        time.sleep(0.05)
        return {
            "pid": os.getpid(),
            "thread": threading.get_ident(),
            "resource_pid": context.resources.counted["pid"],
        }

    return use


_USERS = [_user(i) for i in range(6)]


@job(resource_defs={**IO, "counted": dask_counted})
def dask_resource_job():
    for use in _USERS:
        use()


# -- tags: Dask worker resources -----------------------------------------------------------------
@op(tags={"trellis-dask/resources": '{"slots": 1}'})
def dask_needs_slot() -> int:
    return 7


@job(resource_defs=IO)
def dask_tagged_job():
    dask_needs_slot()


@op(tags={"trellis-dask/resources": "not json"})
def dask_bad_tag() -> int:
    return 0


@job(resource_defs=IO)
def dask_bad_tag_job():
    dask_bad_tag()


# -- cancellation ------------------------------------------------------------------------------
@op(config_schema={"marker": str})
def dask_cancels_its_run(context) -> int:
    """Asks for its run's cancellation, then sleeps 10 s in small sleeps (interrupted
    between two of them); leaves ``<marker>.interrupted`` or ``<marker>.finished``."""
    assert context.instance.request_cancel(context.run_id)
    marker = context.op_config["marker"]
    try:
        for _ in range(200):
            time.sleep(0.05)
    except BaseException:
        Path(f"{marker}.interrupted").touch()
        raise
    Path(f"{marker}.finished").touch()
    return 1


@op(ins={"start": In(Nothing)})
def dask_never_runs() -> int:
    return 2


@job(resource_defs=IO)
def dask_cancel_job():
    dask_never_runs(start=dask_cancels_its_run())
