"""A job of 30 chained steps, each logging three lines and sleeping
$TRELLIS_TEST_STEP_SECONDS (default 0): about 330 events, in a fixed order."""

import os
import time

from trellis import Definitions, OpExecutionContext, job, op

STEPS = 30


def _make(index: int):
    @op(name=f"step_{index:02d}")
    def step(context: OpExecutionContext, value: int) -> int:
        for line in range(3):
            context.log.info(f"step {index} line {line}")
        time.sleep(float(os.environ.get("TRELLIS_TEST_STEP_SECONDS", "0")))
        return value + 1

    return step


@op
def start() -> int:
    return 0


_STEPS = [_make(i) for i in range(STEPS)]


@job
def chain():
    value = start()
    for step in _STEPS:
        value = step(value)


defs = Definitions(jobs=[chain])
