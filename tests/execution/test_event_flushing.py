"""When a run's events reach its instance's storage while the run goes on: a step's
start before its code runs, the steps before it by then too, and its log lines within
about half a second while it still runs, on a persistent instance and in memory. (Across
processes and crashes: ``tests/cli/test_cli_live_events.py``.)"""

from __future__ import annotations

import time

import pytest

from trellis import EventType, Instance, job, multithread_executor, op


def _stored(context) -> list[tuple[EventType, str | None]]:
    events = context.instance.all_logs(context.run_id)
    return [(e.event_type, e.step_key) for e in events]


@op
def first() -> int:
    return 1


@op
def second(context, x: int) -> list:
    """What storage holds as this step starts."""
    return _stored(context)


@op
def logs_then_waits(context) -> float:
    """Logs a line, then waits until it is in storage: how long that took."""
    context.log.info("working on it")
    logged = time.monotonic()
    while (EventType.LOG_MESSAGE, "logs_then_waits") not in _stored(context):
        if time.monotonic() - logged > 10:
            return -1.0
        time.sleep(0.02)
    return time.monotonic() - logged


@job
def two_steps():
    second(first())


@job(executor_def=multithread_executor)
def two_steps_on_threads():
    second(first())


@job
def waiting():
    logs_then_waits()


@pytest.mark.parametrize("job_def", [two_steps, two_steps_on_threads])
def test_a_step_starts_with_its_start_and_the_steps_before_it_stored(tmp_path, job_def):
    with Instance.from_config(tmp_path, {}) as instance:
        result = job_def.execute_in_process(instance=instance)
    seen = result.output_for_node("second")
    assert (EventType.STEP_START, "second") in seen
    assert seen.index((EventType.STEP_SUCCESS, "first")) < seen.index(
        (EventType.STEP_START, "second")
    )


@pytest.mark.parametrize("kind", ["persistent", "ephemeral"])
def test_a_running_steps_log_line_is_stored_within_a_second(tmp_path, kind):
    instance = Instance.from_config(tmp_path, {}) if kind == "persistent" else Instance.ephemeral()
    result = waiting.execute_in_process(instance=instance)
    waited = result.output_for_node("logs_then_waits")
    assert 0 <= waited < 3, waited  # the monitor stores held-back events every 0.5 s
