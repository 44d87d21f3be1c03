"""A project with daily, weekly, monthly and unpartitioned assets, written the way a
Dagster user writes one, with ``dagster`` changed to ``trellis`` in the imports.

As in Dagster 1.13, the implicit asset job of such a project holds every asset and has no
partitions definition of its own; a run selects the assets of one partitions definition
(with any unpartitioned ones), and a selection that mixes definitions is an error naming
the assets of each. ``materialize`` and ``define_asset_job`` follow the same rule.
"""

import pytest

from trellis import (
    AssetExecutionContext,
    DailyPartitionsDefinition,
    Definitions,
    InvalidDefinitionError,
    InvalidInvocationError,
    MonthlyPartitionsDefinition,
    WeeklyPartitionsDefinition,
    asset,
    define_asset_job,
    materialize,
    materialize_to_memory,
)

daily = DailyPartitionsDefinition(start_date="2024-01-01")
weekly = WeeklyPartitionsDefinition(start_date="2024-01-07")
monthly = MonthlyPartitionsDefinition(start_date="2024-01-01")


@asset
def stores() -> list[str]:
    return ["north", "south"]


@asset(partitions_def=daily)
def daily_sales(context: AssetExecutionContext, stores: list[str]) -> dict[str, str]:
    return {store: context.partition_key for store in stores}


@asset(partitions_def=weekly)
def weekly_forecast(context: AssetExecutionContext) -> str:
    return f"forecast for the week of {context.partition_key}"


@asset(partitions_def=monthly)
def monthly_report(context: AssetExecutionContext) -> str:
    return f"report for {context.partition_key}"


all_assets = [stores, daily_sales, weekly_forecast, monthly_report]
defs = Definitions(
    assets=all_assets,
    jobs=[
        define_asset_job("daily_sales_job", selection=[stores, daily_sales]),
        define_asset_job("weekly_job", selection="weekly_forecast"),
    ],
)


def test_the_implicit_asset_job_spans_every_partitions_definition():
    job = defs.get_implicit_global_asset_job_def()
    assert job.partitions_def is None
    result = job.execute_in_process(
        asset_selection=[stores.key, daily_sales.key], partition_key="2024-03-05"
    )
    assert result.success
    assert result.output_for_node("daily_sales") == {"north": "2024-03-05", "south": "2024-03-05"}
    monthly_run = job.execute_in_process(
        asset_selection=[monthly_report.key], partition_key="2024-02-01"
    )
    assert monthly_run.output_for_node("monthly_report") == "report for 2024-02-01"


def test_a_run_of_mixed_assets_names_them():
    job = defs.get_implicit_global_asset_job_def()
    with pytest.raises(InvalidDefinitionError) as raised:
        job.execute_in_process(
            asset_selection=[daily_sales.key, weekly_forecast.key], partition_key="2024-03-05"
        )
    message = str(raised.value)
    assert "daily_sales: DailyPartitionsDefinition(start='2024-01-01'" in message
    assert "weekly_forecast: WeeklyPartitionsDefinition(start='2024-01-07'" in message
    with pytest.raises(InvalidInvocationError, match="3 partitions definitions"):
        job.execute_in_process(partition_key="2024-03-05")


def test_jobs_of_one_partitions_definition_take_it_from_their_assets():
    assert defs.get_job_def("daily_sales_job").partitions_def == daily
    assert defs.get_job_def("weekly_job").partitions_def == weekly
    result = defs.get_job_def("weekly_job").execute_in_process(partition_key="2024-01-14")
    assert result.output_for_node("weekly_forecast") == "forecast for the week of 2024-01-14"


def test_a_job_over_mixed_partitions_is_a_definition_error():
    with pytest.raises(InvalidDefinitionError) as raised:
        Definitions(assets=all_assets, jobs=[define_asset_job("everything")]).get_job_def(
            "everything"
        )
    message = str(raised.value)
    assert "Job 'everything' selects assets with different partitions definitions" in message
    for name in ("daily_sales:", "weekly_forecast:", "monthly_report:"):
        assert name in message


def test_materialize_follows_the_same_rule():
    with pytest.raises(InvalidDefinitionError, match="different partitions definitions"):
        materialize_to_memory(all_assets, partition_key="2024-03-05")
    result = materialize_to_memory(
        all_assets, selection=[stores, daily_sales], partition_key="2024-03-05"
    )
    assert result.success
    assert result.asset_value("daily_sales") == {"north": "2024-03-05", "south": "2024-03-05"}
    monthly_only = materialize_to_memory(
        all_assets, selection="monthly_report", partition_key="2024-04-01"
    )
    assert monthly_only.asset_value("monthly_report") == "report for 2024-04-01"


def test_unpartitioned_assets_materialize_on_their_own():
    result = materialize(all_assets, selection=[stores])
    assert result.success
    assert result.asset_value("stores") == ["north", "south"]
