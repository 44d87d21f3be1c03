"""The definitions of the porting test of the instance query API: a sensor written the
Dagster way (``context.instance.fetch_materializations`` with the sensor's cursor), as a
Dagster project has it after ``from dagster`` became ``from trellis``."""

from trellis import (
    AssetKey,
    DagsterRunStatus,
    DefaultSensorStatus,
    Definitions,
    RunRequest,
    RunsFilter,
    SensorEvaluationContext,
    SkipReason,
    asset,
    define_asset_job,
    sensor,
)


@asset
def orders() -> list[int]:
    return [1, 2, 3]


@asset(deps=[orders])
def order_report() -> None:
    pass


report_job = define_asset_job("report_job", selection=[order_report])


@sensor(job=report_job, minimum_interval_seconds=30, default_status=DefaultSensorStatus.RUNNING)
def orders_sensor(context: SensorEvaluationContext):
    result = context.instance.fetch_materializations(
        AssetKey("orders"), limit=2, cursor=context.cursor, ascending=True
    )
    if not result.records:
        return SkipReason("no new materialization of orders")
    in_flight = context.instance.get_runs_count(
        RunsFilter(job_name="report_job", statuses=[DagsterRunStatus.STARTING])
    )
    context.update_cursor(result.cursor)
    return [
        RunRequest(
            run_key=str(record.storage_id),
            tags={"orders_run": record.run_id, "in_flight": str(in_flight)},
        )
        for record in result.records
    ]


defs = Definitions(assets=[orders, order_report], jobs=[report_job], sensors=[orders_sensor])
