"""Partitioned multi-asset sensors, in the shapes of Dagster's documentation (rewritten):
two daily upstream assets, a daily and a weekly downstream asset, and sensors that start
a downstream run per partition when

- ``when_both_days_are_in``: both upstreams have a new materialization of the day (AND);
- ``when_either_day_is_updated``: either upstream has a new one and both have the day (OR);
- ``when_the_week_is_complete``: every day of a week of ``first_feed`` is in (a daily
  upstream mapped to a weekly downstream through the partition mapping);
- ``catalogue_new_days``: for each new day of ``first_feed``, a dynamic partition is added,
  an observation and a check evaluation are reported outside any run, and the report of
  that dynamic partition is requested (``SensorResult`` from a multi-asset sensor);
- ``refresh_selected``: monitors an ``AssetSelection`` (the ``feeds`` group) and requests
  assets (``request_assets=``), not a job.

The downstream assets record their partition to ``MULTI_SENSOR_OUT`` when set.
"""

from __future__ import annotations

import os
from pathlib import Path

from trellis import (
    AddDynamicPartitionsRequest,
    AssetCheckEvaluation,
    AssetKey,
    AssetObservation,
    AssetSelection,
    AssetSpec,
    DailyPartitionsDefinition,
    Definitions,
    DynamicPartitionsDefinition,
    RunRequest,
    SensorResult,
    SkipReason,
    WeeklyPartitionsDefinition,
    asset,
    define_asset_job,
    multi_asset_sensor,
)

days = DailyPartitionsDefinition(start_date="2024-01-01")
weeks = WeeklyPartitionsDefinition(start_date="2024-01-07")
reports = DynamicPartitionsDefinition(name="reports")


def _note(context) -> None:
    out = os.environ.get("MULTI_SENSOR_OUT")
    if out:
        Path(out, f"{context.asset_key.to_user_string()}.{context.partition_key}").touch()


@asset(partitions_def=days, group_name="feeds")
def first_feed() -> int:
    return 1


@asset(partitions_def=days, group_name="feeds")
def second_feed() -> int:
    return 2


@asset(partitions_def=days, deps=[first_feed, second_feed])
def daily_summary(context) -> None:
    _note(context)


@asset(partitions_def=weeks, deps=[first_feed])
def weekly_summary(context) -> None:
    _note(context)


@asset(partitions_def=reports)
def day_report(context) -> None:
    _note(context)


audit_log = AssetSpec("audit_log")

daily_summary_job = define_asset_job("daily_summary_job", [daily_summary], partitions_def=days)
weekly_summary_job = define_asset_job("weekly_summary_job", [weekly_summary], partitions_def=weeks)
day_report_job = define_asset_job("day_report_job", [day_report], partitions_def=reports)

FIRST, SECOND = AssetKey("first_feed"), AssetKey("second_feed")


@multi_asset_sensor(monitored_assets=[FIRST, SECOND], job=daily_summary_job)
def when_both_days_are_in(context):
    """AND: a day runs once both feeds have a new materialization of it; a day only one
    feed has is left unconsumed, to be seen again on later ticks."""
    requests = []
    by_day = context.latest_materialization_records_by_partition_and_asset()
    for day, records in by_day.items():
        if set(records) == set(context.asset_keys):
            requests.append(RunRequest(partition_key=day))
            for key, record in records.items():
                context.advance_cursor({key: record})
    return requests


@multi_asset_sensor(monitored_assets=[FIRST, SECOND], job=daily_summary_job)
def when_either_day_is_updated(context):
    """OR: a new materialization of either feed reruns the day, once both feeds have
    ever had it."""
    requests = []
    by_day = context.latest_materialization_records_by_partition_and_asset()
    for day, records in by_day.items():
        if all(context.all_partitions_materialized(key, [day]) for key in context.asset_keys):
            requests.append(RunRequest(partition_key=day))
            for key, record in records.items():
                context.advance_cursor({key: record})
    return requests


@multi_asset_sensor(monitored_assets=[FIRST], job=weekly_summary_job)
def when_the_week_is_complete(context):
    """Daily to weekly: a week runs when every one of its days of ``first_feed`` has been
    materialized; the day that completed it is consumed."""
    by_week = {}
    for day, record in context.latest_materialization_records_by_partition(FIRST).items():
        found = context.get_downstream_partition_keys(
            day, from_asset_key=FIRST, to_asset_key=AssetKey("weekly_summary")
        )
        if not found:  # a day before the first week
            continue
        week = found[0]
        days_of_week = context.get_downstream_partition_keys(
            week, from_asset_key=AssetKey("weekly_summary"), to_asset_key=FIRST
        )
        if context.all_partitions_materialized(FIRST, days_of_week):
            by_week[week] = RunRequest(partition_key=week)
            context.advance_cursor({FIRST: record})
    return list(by_week.values())


@multi_asset_sensor(monitored_assets=[FIRST], job=day_report_job)
def catalogue_new_days(context):
    """A ``SensorResult`` from a multi-asset sensor: new dynamic partitions, asset events
    recorded outside any run, and runs of the new partitions."""
    new_days = list(context.latest_materialization_records_by_partition(FIRST).items())
    if not new_days:
        return SkipReason("no new day of first_feed")
    for _day, record in new_days:
        context.advance_cursor({FIRST: record})
    keys = [day for day, _ in new_days]
    return SensorResult(
        run_requests=[RunRequest(partition_key=day) for day in keys],
        dynamic_partitions_requests=[AddDynamicPartitionsRequest("reports", keys)],
        asset_events=[
            AssetObservation("audit_log", metadata={"days": len(keys)}),
            AssetCheckEvaluation(
                asset_key=FIRST, check_name="day_arrived", passed=True, partition=keys[-1]
            ),
        ],
    )


@multi_asset_sensor(
    monitored_assets=AssetSelection.groups("feeds"),
    request_assets=AssetSelection.assets(daily_summary),
)
def refresh_selected(context):
    """An ``AssetSelection`` monitored, assets requested: each new day of any feed."""
    requests = {}
    for key in context.asset_keys:
        for day, record in context.latest_materialization_records_by_partition(key).items():
            requests[day] = RunRequest(partition_key=day)
            context.advance_cursor({key: record})
    return list(requests.values())


defs = Definitions(
    assets=[first_feed, second_feed, daily_summary, weekly_summary, day_report, audit_log],
    jobs=[daily_summary_job, weekly_summary_job, day_report_job],
    sensors=[
        when_both_days_are_in,
        when_either_day_is_updated,
        when_the_week_is_complete,
        catalogue_new_days,
        refresh_selected,
    ],
)
