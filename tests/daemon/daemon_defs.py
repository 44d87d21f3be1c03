"""Definitions the daemon tests run: a job, schedules (one taking a resource, one in a
DST zone), sensors (cursor, run keys, skips, errors, a slow one) and an asset with an
automation condition. Files written by the ops go to $DAEMON_TEST_OUT when set."""

from __future__ import annotations

import os
import time
from pathlib import Path

from trellis import (
    AutomationCondition,
    ConfigurableResource,
    DefaultScheduleStatus,
    DefaultSensorStatus,
    Definitions,
    RunRequest,
    RunStatus,
    SensorResult,
    SkipReason,
    asset,
    asset_sensor,
    job,
    multi_asset_sensor,
    op,
    run_failure_sensor,
    run_status_sensor,
    schedule,
    sensor,
)


@op
def record(context) -> None:
    out = os.environ.get("DAEMON_TEST_OUT")
    if out:
        # One file per execution: a run executed twice leaves two.
        Path(out, f"{context.run_id}.{os.getpid()}").write_text(str(os.getpid()))


@job
def work():
    record()


class Greeting(ConfigurableResource):
    word: str = "hello"


@schedule("0 * * * *", job=work, default_status=DefaultScheduleStatus.RUNNING)
def hourly(context):
    return RunRequest(tags={"when": context.scheduled_execution_time.isoformat()})


@schedule("30 2 * * *", job=work, execution_timezone="America/New_York")
def nightly_new_york(context):
    return RunRequest(tags={"when": context.scheduled_execution_time.isoformat()})


@schedule("0 9 * * *", job=work, execution_timezone="Europe/Paris")
def paris_morning(context, greeting: Greeting):
    return RunRequest(tags={"greeting": greeting.word})


@sensor(job=work, minimum_interval_seconds=30)
def counter(context):
    n = int(context.cursor or "0") + 1
    if n % 3 == 0:
        return SensorResult(skip_reason=SkipReason(f"skip {n}"), cursor=str(n))
    return SensorResult([RunRequest(run_key=f"n{n}")], cursor=str(n))


@sensor(job=work, minimum_interval_seconds=30)
def same_key(context):
    return RunRequest(run_key="always-the-same")


@sensor(job=work, minimum_interval_seconds=30)
def broken(context):
    raise ValueError("the sensor's own bug")


@sensor(job=work, minimum_interval_seconds=30)
def slow(context):
    time.sleep(float(os.environ.get("DAEMON_TEST_SLOW", "0")))
    return RunRequest()


@sensor(job=work, minimum_interval_seconds=1, default_status=DefaultSensorStatus.RUNNING)
def every_second(context):
    if os.environ.get("DAEMON_TEST_EVERY_SECOND") == "run":
        return RunRequest(run_key=str(context.cursor))
    return SkipReason("idle")


@asset(automation_condition=AutomationCondition.missing() & ~AutomationCondition.in_progress())
def eager_asset() -> int:
    return 1


@op
def explode() -> None:
    raise RuntimeError("boom")


@job
def fragile():
    explode()


@run_failure_sensor(monitored_jobs=[fragile], request_job=work)
def on_fragile_failure(context):
    return RunRequest(
        run_key=context.dagster_run.run_id,
        tags={"failed_run": context.dagster_run.run_id, "why": context.failure_event.message},
    )


@run_status_sensor(RunStatus.SUCCESS, monitored_jobs=[work])
def on_work_success(context):
    return SkipReason(f"saw {context.dagster_run.run_id}")


@asset_sensor(asset_key="eager_asset", job=work)
def eager_asset_updated(context, asset_event):
    return RunRequest(run_key=str(asset_event.run_id), tags={"from": asset_event.run_id})


@asset
def other_asset() -> int:
    return 2


@multi_asset_sensor(monitored_assets=["eager_asset", "other_asset"], job=work)
def both_updated(context):
    latest = context.latest_materialization_records_by_key()
    if not all(latest.values()):
        return SkipReason("waiting for both assets")
    context.advance_all_cursors()
    return RunRequest(tags={"runs": ",".join(sorted(r.run_id for r in latest.values()))})


defs = Definitions(
    assets=[eager_asset, other_asset],
    jobs=[work, fragile],
    schedules=[hourly, nightly_new_york, paris_morning],
    sensors=[
        counter,
        same_key,
        broken,
        slow,
        every_second,
        on_fragile_failure,
        on_work_success,
        eager_asset_updated,
        both_updated,
    ],
    resources={"greeting": Greeting(word="bonjour")},
)
