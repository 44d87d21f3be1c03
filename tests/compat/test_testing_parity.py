"""Unit tests the way Dagster projects write them: assets, ops, sensors and schedules
called directly, contexts built by hand, mocks as resources, results compared by value.
Only the imports changed (``dagster`` → ``trellis``)."""

from datetime import datetime
from unittest import mock

import pytest

from trellis import (
    AssetExecutionContext,
    AssetSelection,
    Config,
    ConfigurableResource,
    DagsterTypeCheckDidNotPass,
    Definitions,
    MaterializeResult,
    OpExecutionContext,
    Output,
    RunRequest,
    SensorResult,
    SkipReason,
    asset,
    build_asset_context,
    build_op_context,
    build_schedule_context,
    build_sensor_context,
    define_asset_job,
    materialize,
    op,
    schedule,
    sensor,
)


class WarehouseResource(ConfigurableResource):
    dsn: str

    def query(self, sql: str) -> list[tuple]:
        raise RuntimeError("no database in unit tests")


class ReportConfig(Config):
    region: str = "north"
    top: int = 3


@asset
def regional_report(
    context: AssetExecutionContext, config: ReportConfig, warehouse: WarehouseResource
) -> MaterializeResult:
    rows = warehouse.query(f"select * from sales where region = '{config.region}'")
    context.log.info("%d rows", len(rows))
    return MaterializeResult(metadata={"rows": len(rows), "top": config.top})


@op
def count_rows(
    context: OpExecutionContext, config: ReportConfig, warehouse: WarehouseResource
) -> int:
    return len(warehouse.query(config.region))


def test_config_and_resources_passed_positionally():
    warehouse = mock.Mock()
    warehouse.query.return_value = [(1,), (2,)]
    result = regional_report(build_asset_context(), ReportConfig(region="south"), warehouse)
    assert result == MaterializeResult(metadata={"rows": 2, "top": 3})
    warehouse.query.assert_called_once_with("select * from sales where region = 'south'")
    assert count_rows(build_op_context(), ReportConfig(), warehouse) == 2


def test_config_and_resources_passed_by_keyword():
    warehouse = mock.MagicMock()
    warehouse.query.return_value = []
    result = regional_report(
        context=build_asset_context(), config=ReportConfig(top=5), warehouse=warehouse
    )
    assert result == MaterializeResult(metadata={"rows": 0, "top": 5})


def test_a_mock_resource_in_a_real_run():
    warehouse = mock.Mock()
    warehouse.query.return_value = [(1,)]
    result = materialize([regional_report], resources={"warehouse": warehouse})
    assert result.success
    [materialization] = result.asset_materializations_for_node("regional_report")
    assert materialization.metadata["rows"].value == 1


def test_return_annotations_are_checked_on_direct_calls_as_in_runs():
    @asset
    def row_count() -> int:
        return "three"

    with pytest.raises(DagsterTypeCheckDidNotPass, match="Type check failed"):
        row_count()
    with pytest.raises(DagsterTypeCheckDidNotPass):
        materialize([row_count])


def test_values_compare_by_value():
    assert Output(3, metadata={"a": 1}) == Output(3, metadata={"a": 1})
    assert Output(3) != Output(4)
    assert MaterializeResult(metadata={"a": 1}) == MaterializeResult(metadata={"a": 1})
    assert AssetSelection.keys("a").downstream() == AssetSelection.keys("a").downstream()
    assert AssetSelection.groups("a") != AssetSelection.groups("b")
    assert RunRequest(run_key="k", tags={"t": "1"}) == RunRequest(run_key="k", tags={"t": "1"})
    assert SkipReason("idle") == SkipReason("idle")
    assert SensorResult(run_requests=[RunRequest("a")], cursor="2") == SensorResult(
        run_requests=[RunRequest("a")], cursor="2"
    )


@sensor(job_name="report_job")
def new_files(context):
    seen = int(context.cursor or 0)
    if seen >= 2:
        return SkipReason("nothing new")
    return SensorResult(run_requests=[RunRequest(run_key=str(seen + 1))], cursor=str(seen + 1))


@schedule(cron_schedule="0 6 * * *", job_name="report_job")
def daily_report(context):
    day = context.scheduled_execution_time.strftime("%Y-%m-%d")
    return RunRequest(run_key=day, tags={"day": day})


def test_sensors_and_schedules_called_with_a_built_context():
    assert new_files(build_sensor_context(cursor="0")) == SensorResult(
        run_requests=[RunRequest(run_key="1")], cursor="1"
    )
    assert new_files(build_sensor_context(cursor="2")) == SkipReason("nothing new")
    context = build_schedule_context(scheduled_execution_time=datetime(2024, 5, 1, 6))
    assert daily_report(context) == RunRequest(run_key="2024-05-01", tags={"day": "2024-05-01"})


def test_definitions_with_a_broken_job_still_load_for_the_other_tests():
    # A test module may build Definitions whose asset job names a missing asset: as in
    # Dagster, only using that job fails.
    defs = Definitions(
        assets=[regional_report],
        jobs=[define_asset_job("report_job", selection=["missing_asset"])],
        resources={"warehouse": WarehouseResource(dsn="x")},
    )
    with pytest.raises(Exception, match="report_job"):
        defs.resolve_job_def("report_job")
