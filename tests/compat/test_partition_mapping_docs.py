"""Partition mappings, multi-dimensional partitions and backfill policies written the way
Dagster's documentation shows them; only the import changed (``dagster`` → ``trellis``).
Each test is a plain function that runs unchanged under Dagster 1.13 with the import
switched back (no pytest fixtures), and asserts what both frameworks do."""

import tempfile

from trellis import (
    AssetDep,
    AssetExecutionContext,
    AssetIn,
    BackfillPolicy,
    DailyPartitionsDefinition,
    Definitions,
    FilesystemIOManager,
    LastPartitionMapping,
    MonthlyPartitionsDefinition,
    MultiPartitionKey,
    MultiPartitionsDefinition,
    StaticPartitionMapping,
    StaticPartitionsDefinition,
    TimeWindowPartitionMapping,
    asset,
    materialize,
)

QUIET = {"loggers": {"console": {"config": {"log_level": "CRITICAL"}}}}
daily_partitions = DailyPartitionsDefinition(start_date="2024-01-01", end_date="2024-03-01")
monthly_partitions = MonthlyPartitionsDefinition(start_date="2024-01-01", end_date="2024-03-01")


def storage():
    return {"io_manager": FilesystemIOManager(base_dir=tempfile.mkdtemp())}


# -- a monthly asset over a daily one: the default mapping reads the days of the month ------
@asset(partitions_def=daily_partitions)
def daily_revenue(context: AssetExecutionContext) -> int:
    return int(context.partition_key[-2:])


@asset(partitions_def=monthly_partitions)
def monthly_revenue(context: AssetExecutionContext, daily_revenue: dict) -> int:
    context.log.info(f"summing {len(daily_revenue)} days")
    return sum(daily_revenue.values())


def test_a_monthly_asset_reads_the_days_of_its_month():
    resources = storage()
    for day in range(1, 32):
        materialize(
            [daily_revenue],
            partition_key=f"2024-01-{day:02d}",
            resources=resources,
            run_config=QUIET,
        )
    result = materialize(
        [daily_revenue, monthly_revenue],
        selection=[monthly_revenue],
        partition_key="2024-01-01",
        resources=resources,
        run_config=QUIET,
    )
    assert result.output_for_node("monthly_revenue") == sum(range(1, 32))


# -- a rolling window: each day reads itself and the day before -----------------------------
@asset(
    partitions_def=daily_partitions,
    ins={
        "daily_revenue": AssetIn(
            partition_mapping=TimeWindowPartitionMapping(start_offset=-1, end_offset=0)
        )
    },
)
def two_day_revenue(context: AssetExecutionContext, daily_revenue: dict) -> int:
    keys = context.asset_partition_keys_for_input("daily_revenue")
    assert keys == sorted(daily_revenue)
    return sum(daily_revenue.values())


def test_a_time_window_mapping_with_an_offset():
    resources = storage()
    for key in ("2024-01-09", "2024-01-10"):
        materialize([daily_revenue], partition_key=key, resources=resources, run_config=QUIET)
    result = materialize(
        [daily_revenue, two_day_revenue],
        selection=[two_day_revenue],
        partition_key="2024-01-10",
        resources=resources,
        run_config=QUIET,
    )
    assert result.output_for_node("two_day_revenue") == 9 + 10


# -- a self-dependent asset: each partition builds on the previous one ----------------------
@asset(
    partitions_def=daily_partitions,
    ins={
        "cumulative_revenue": AssetIn(
            partition_mapping=TimeWindowPartitionMapping(start_offset=-1, end_offset=-1)
        )
    },
)
def cumulative_revenue(context: AssetExecutionContext, cumulative_revenue: int | None) -> int:
    return (cumulative_revenue or 0) + int(context.partition_key[-2:])


def test_a_self_dependent_asset():
    resources = storage()
    totals = [
        materialize(
            [cumulative_revenue], partition_key=key, resources=resources, run_config=QUIET
        ).output_for_node("cumulative_revenue")
        for key in ("2024-01-01", "2024-01-02", "2024-01-03")
    ]
    assert totals == [1, 3, 6]


# -- static partitions mapped by a table ----------------------------------------------------
countries = StaticPartitionsDefinition(["fr", "de", "us"])
regions = StaticPartitionsDefinition(["emea", "amer"])


@asset(partitions_def=countries)
def country_sales(context: AssetExecutionContext) -> int:
    return {"fr": 3, "de": 4, "us": 10}[context.partition_key]


@asset(
    partitions_def=regions,
    ins={
        "country_sales": AssetIn(
            partition_mapping=StaticPartitionMapping({"fr": "emea", "de": "emea", "us": "amer"})
        )
    },
)
def region_sales(country_sales: dict) -> int:
    return sum(country_sales.values())


def test_a_static_partition_mapping():
    resources = storage()
    for country in ("fr", "de", "us"):
        materialize([country_sales], partition_key=country, resources=resources, run_config=QUIET)
    result = materialize(
        [country_sales, region_sales],
        selection=[region_sales],
        partition_key="emea",
        resources=resources,
        run_config=QUIET,
    )
    assert result.output_for_node("region_sales") == 7


# -- multi-dimensional partitions -----------------------------------------------------------
date_and_region = MultiPartitionsDefinition(
    {"date": daily_partitions, "region": StaticPartitionsDefinition(["eu", "us"])}
)


@asset(partitions_def=date_and_region)
def orders(context: AssetExecutionContext) -> str:
    keys = context.partition_key.keys_by_dimension
    return f"{keys['region']} on {keys['date']}"


@asset(partitions_def=daily_partitions)
def all_regions(orders: dict) -> list:
    return sorted(orders.values())


def test_multi_partitions_and_a_daily_asset_over_them():
    resources = storage()
    for region in ("eu", "us"):
        materialize(
            [orders],
            partition_key=MultiPartitionKey({"date": "2024-01-05", "region": region}),
            resources=resources,
            run_config=QUIET,
        )
    result = materialize(
        [orders, all_regions],
        selection=[all_regions],
        partition_key="2024-01-05",
        resources=resources,
        run_config=QUIET,
    )
    assert result.output_for_node("all_regions") == ["eu on 2024-01-05", "us on 2024-01-05"]
    assert MultiPartitionKey({"region": "eu", "date": "2024-01-05"}) == "2024-01-05|eu"


# -- the latest partition, and a dependency that is not an input ----------------------------
@asset(ins={"daily_revenue": AssetIn(partition_mapping=LastPartitionMapping())})
def latest_revenue(daily_revenue: int) -> int:
    return daily_revenue


@asset(
    partitions_def=monthly_partitions,
    deps=[AssetDep(daily_revenue, partition_mapping=TimeWindowPartitionMapping())],
    backfill_policy=BackfillPolicy.single_run(),
)
def monthly_report() -> None:
    return None


def test_the_last_partition_and_asset_deps_with_mappings():
    resources = storage()
    materialize([daily_revenue], partition_key="2024-02-29", resources=resources, run_config=QUIET)
    result = materialize(
        [daily_revenue, latest_revenue],
        selection=[latest_revenue],
        resources=resources,
        run_config=QUIET,
    )
    assert result.output_for_node("latest_revenue") == 29
    defs = Definitions(assets=[daily_revenue, monthly_report, latest_revenue])
    assert defs.get_assets_def("monthly_report").backfill_policy == BackfillPolicy.single_run()
