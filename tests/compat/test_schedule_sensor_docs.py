"""Schedules and sensors written the way Dagster's automation documentation writes them;
only the import changed (``dagster`` → ``trellis``). Each scenario states what Dagster 1.13
does, and the error paths say what was wrong."""

import warnings
from datetime import UTC, datetime

import pytest

from trellis import (
    AssetKey,
    ConfigurableResource,
    DagsterInstance,
    DailyPartitionsDefinition,
    Definitions,
    HourlyPartitionsDefinition,
    RunRequest,
    SkipReason,
    asset,
    asset_sensor,
    build_multi_asset_sensor_context,
    build_schedule_context,
    build_schedule_from_partitioned_job,
    build_sensor_context,
    define_asset_job,
    materialize,
    multi_asset_sensor,
    schedule,
    sensor,
)
from trellis.core.errors import InvalidDefinitionError

QUIET = {"loggers": {"console": {"config": {"log_level": "CRITICAL"}}}}


# -- a partitioned schedule over an asset job that names no partitions_def ----------------
@asset(partitions_def=HourlyPartitionsDefinition(start_date="2024-03-01-00:00"))
def meter_readings() -> None: ...


readings_job = define_asset_job("readings_job", selection=[meter_readings])


def test_partitioned_schedule_takes_the_cadence_of_the_jobs_assets():
    readings_schedule = build_schedule_from_partitioned_job(readings_job)
    # The job is not in jobs=[]: the schedule brings it, as in Dagster.
    defs = Definitions(assets=[meter_readings], schedules=[readings_schedule])
    made = defs.get_schedule_def("readings_job_schedule")
    assert made.cron_schedule == "0 * * * *"
    tick = build_schedule_context(scheduled_execution_time=datetime(2024, 3, 2, 5, tzinfo=UTC))
    (request,) = made.evaluate_tick(tick).run_requests
    assert request.partition_key == "2024-03-02-04:00"
    assert request.job_name == "readings_job"


def test_partitioned_schedule_keeps_its_name_and_tick_offset():
    @asset(partitions_def=DailyPartitionsDefinition(start_date="2024-03-01"))
    def daily_totals() -> None: ...

    job = define_asset_job("totals_job", selection=[daily_totals])
    late = build_schedule_from_partitioned_job(job, name="totals_at_six", hour_of_day=6)
    defs = Definitions(assets=[daily_totals], jobs=[job], schedules=[late])
    made = defs.get_schedule_def("totals_at_six")
    assert made.cron_schedule == "0 6 * * *"
    assert (
        defs.get_job_def("totals_job")
        .execute_in_process(partition_key="2024-03-04", run_config=QUIET)
        .success
    )


def test_partitioned_schedule_over_unpartitioned_assets_is_refused_naming_the_job():
    @asset
    def plain() -> None: ...

    job = define_asset_job("plain_job", selection=[plain])
    defs = Definitions(assets=[plain], schedules=[build_schedule_from_partitioned_job(job)])
    with pytest.raises(InvalidDefinitionError, match=r"plain_job.*no partitions_def"):
        defs.get_schedule_def("plain_job_schedule")


# -- schedules and sensors whose function takes no context, called with one ---------------
@sensor(job_name="some_job")
def quiet_sensor():
    return SkipReason("nothing new")


@schedule(cron_schedule="0 0 * * *", job_name="some_job")
def nightly():
    return RunRequest(partition_key="x")


def test_a_function_without_a_context_may_still_be_called_with_one():
    assert quiet_sensor(build_sensor_context()) == SkipReason("nothing new")
    assert nightly(build_schedule_context()) == RunRequest(partition_key="x")
    assert nightly() == RunRequest(partition_key="x")


# -- @multi_asset_sensor(asset_keys=...), Dagster's older spelling --------------------------
@asset
def left() -> int:
    return 1


@asset
def right() -> int:
    return 2


def test_multi_asset_sensor_accepts_asset_keys_with_a_deprecation_warning():
    with pytest.warns(DeprecationWarning, match="monitored_assets="):

        @multi_asset_sensor(asset_keys=[AssetKey("left"), AssetKey("right")], job_name="j")
        def both_sides(context):
            if all(context.latest_materialization_records_by_key().values()):
                context.advance_all_cursors()
                return RunRequest()
            return SkipReason("waiting")

    defs = Definitions(assets=[left, right], sensors=[both_sides])
    instance = DagsterInstance.ephemeral()
    keys = [AssetKey("left"), AssetKey("right")]
    context = build_multi_asset_sensor_context(
        monitored_assets=keys, instance=instance, definitions=defs
    )
    assert both_sides(context) == SkipReason("waiting")
    materialize([left, right], instance=instance, run_config=QUIET)
    context = build_multi_asset_sensor_context(
        monitored_assets=keys, instance=instance, definitions=defs
    )
    assert isinstance(both_sides(context), RunRequest)


def test_multi_asset_sensor_wants_exactly_one_of_monitored_assets_and_asset_keys():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        with pytest.raises(InvalidDefinitionError, match="not both"):
            multi_asset_sensor(monitored_assets=[AssetKey("left")], asset_keys=[AssetKey("r")])
    with pytest.raises(InvalidDefinitionError, match="needs monitored_assets"):
        multi_asset_sensor(job_name="j")


# -- @asset_sensor functions taking fewer arguments, or resources ------------------------
@asset
def sales() -> int:
    return 3


def _after_one_materialization():
    instance = DagsterInstance.ephemeral()
    materialize([sales], instance=instance, run_config=QUIET)
    return instance


def test_asset_sensor_function_may_take_no_arguments():
    @asset_sensor(asset_key=AssetKey("sales"), job_name="report_job")
    def on_sales():
        return RunRequest()

    instance = _after_one_materialization()
    first = on_sales.evaluate_tick(build_sensor_context(instance=instance))
    assert [r.job_name for r in first.run_requests] == ["report_job"]
    again = on_sales.evaluate_tick(build_sensor_context(instance=instance, cursor=first.cursor))
    assert again.run_requests == []


def test_asset_sensor_function_may_take_only_the_context():
    @asset_sensor(asset_key=AssetKey("sales"), job_name="report_job")
    def on_sales(context):
        return RunRequest(run_key=context.cursor)

    instance = _after_one_materialization()
    result = on_sales.evaluate_tick(build_sensor_context(instance=instance))
    assert result.run_requests[0].run_key == result.cursor


class Mailbox(ConfigurableResource):
    address: str


def test_asset_sensor_function_gets_resources_by_parameter_name():
    @asset_sensor(asset_key=AssetKey("sales"), job_name="report_job")
    def on_sales(context, event, mailbox: Mailbox):
        return RunRequest(tags={"to": mailbox.address, "run": event.run_id})

    instance = _after_one_materialization()
    context = build_sensor_context(instance=instance, resources={"mailbox": Mailbox(address="a@b")})
    (request,) = on_sales.evaluate_tick(context).run_requests
    assert request.tags["to"] == "a@b"
    assert request.tags["run"]
