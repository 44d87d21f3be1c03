"""Jobs at module level for ``test_execute_job.py``: ``reconstructable`` needs code that
other processes can import again."""

from __future__ import annotations

import os
from pathlib import Path

from trellis import Definitions, job, multiprocess_executor, op


@op
def produce() -> int:
    return os.getpid()


@op
def double(x: int) -> dict:
    return {"pid": os.getpid(), "from": x}


@job(executor_def=multiprocess_executor)
def in_workers():
    double(produce())


@op(config_schema={"flag_file": str})
def fails_once(context) -> str:
    flag = Path(context.op_config["flag_file"])
    if not flag.exists():
        flag.write_text("failed once")
        raise RuntimeError("first attempt fails")
    return "second attempt"


@op
def after(x: str) -> str:
    return x + "!"


@job(executor_def=multiprocess_executor)
def flaky():
    after(fails_once())


def make_job(factor: int):
    """A job built from an argument (``build_reconstructable_job``)."""

    @op(name=f"times_{factor}")
    def times() -> int:
        return factor * 7

    @job(name=f"times_{factor}_job", executor_def=multiprocess_executor)
    def built():
        times()

    return built


def make_default():
    """A job built by a function without arguments (``reconstructable(make_default)``)."""
    return make_job(3)


defs = Definitions(jobs=[in_workers, flaky])
