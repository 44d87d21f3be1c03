"""``build_schedule_from_partitioned_job`` as Dagster's docs use it: a schedule that
ticks when a daily partition ends and runs the day that just ended; static partitions on
an explicit cron run every partition; jobs it cannot follow are refused."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from trellis import (
    DailyPartitionsDefinition,
    StaticPartitionsDefinition,
    asset,
    build_schedule_context,
    build_schedule_from_partitioned_job,
    define_asset_job,
    job,
    op,
)
from trellis.core.errors import InvalidDefinitionError

daily = DailyPartitionsDefinition(start_date="2024-01-01", timezone="Europe/Paris")


@asset(partitions_def=daily)
def events() -> None: ...


events_job = define_asset_job("events_job", selection=[events], partitions_def=daily)


def _requests(schedule, when: datetime):
    context = build_schedule_context(scheduled_execution_time=when)
    return schedule.evaluate_tick(context).run_requests


def test_a_daily_job_runs_the_day_that_just_ended():
    schedule = build_schedule_from_partitioned_job(events_job)
    assert schedule.name == "events_job_schedule"
    assert schedule.cron_schedule == "0 0 * * *"
    assert schedule.execution_timezone == "Europe/Paris"
    [request] = _requests(schedule, datetime(2024, 3, 5, 0, 0, tzinfo=UTC))
    assert request.partition_key == "2024-03-04"
    later = build_schedule_from_partitioned_job(
        events_job, name="late", hour_of_day=2, minute_of_hour=30, tags={"team": "x"}
    )
    assert later.cron_schedule == "30 2 * * *"
    [request] = _requests(later, datetime(2024, 3, 5, 2, 30, tzinfo=UTC))
    assert request.partition_key == "2024-03-04" and request.tags == {"team": "x"}


def test_static_partitions_run_every_partition_on_the_given_cron():
    regions = StaticPartitionsDefinition(["eu", "us"])

    @op
    def work() -> None: ...

    @job(partitions_def=regions)
    def regional() -> None:
        work()

    schedule = build_schedule_from_partitioned_job(regional, cron_schedule="0 6 * * *")
    requests = _requests(schedule, datetime(2024, 3, 5, 6, tzinfo=UTC))
    assert [r.partition_key for r in requests] == ["eu", "us"]
    with pytest.raises(InvalidDefinitionError, match="give static partitions a cron_schedule"):
        build_schedule_from_partitioned_job(regional)


def test_jobs_it_cannot_follow_are_refused():
    @op
    def work() -> None: ...

    @job
    def plain() -> None:
        work()

    with pytest.raises(InvalidDefinitionError, match=r"job 'plain'.*has no partitions_def"):
        build_schedule_from_partitioned_job(plain)
    with pytest.raises(InvalidDefinitionError, match="cron_schedule is for static partitions"):
        build_schedule_from_partitioned_job(events_job, cron_schedule="0 1 * * *")
