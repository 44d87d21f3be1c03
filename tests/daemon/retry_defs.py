"""Definitions of the daemon's run-retry and run-monitoring tests. Files go to
$DAEMON_TEST_OUT: ``first.<run id>`` per execution of ``first``; ``second`` fails until
the marker file ``fail-once`` exists (it writes it when it fails), so the first run
fails and its retry succeeds; ``sleeper`` writes ``sleeper.<run id>`` holding its pid and
sleeps (for a test to SIGKILL the run's process)."""

from __future__ import annotations

import os
import time
from pathlib import Path

from trellis import Definitions, job, op


def _out() -> Path:
    return Path(os.environ["DAEMON_TEST_OUT"])


@op
def first(context) -> int:
    (_out() / f"first.{context.run_id}").write_text(str(os.getpid()))
    return 41


@op
def second(context, value: int) -> int:
    marker = _out() / "fail-once"
    if not marker.exists():
        marker.write_text(context.run_id)
        raise RuntimeError("second fails the first time")
    (_out() / f"second.{context.run_id}").write_text(str(os.getpid()))
    return value + 1


@job(tags={"dagster/max_retries": "2"})
def flaky():
    second(first())


@op(pool="sleepers")
def sleeper(context) -> None:
    (_out() / f"sleeper.{context.run_id}").write_text(str(os.getpid()))
    time.sleep(600)


@job
def sleepy():
    sleeper()


defs = Definitions(jobs=[flaky, sleepy])
