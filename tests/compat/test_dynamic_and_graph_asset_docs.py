"""Dynamic outputs and graph-backed assets written the way Dagster's documentation shows
them; only the import changed (``dagster`` → ``trellis``). Each test is a plain function
that runs unchanged under Dagster 1.13 with the import switched back (no pytest
fixtures), and asserts what both frameworks do."""

import os
import tempfile

from trellis import (
    AssetExecutionContext,
    AssetIn,
    AssetOut,
    AssetsDefinition,
    Definitions,
    DynamicOut,
    DynamicOutput,
    FilesystemIOManager,
    GraphOut,
    OpExecutionContext,
    Out,
    Output,
    StaticPartitionsDefinition,
    asset,
    define_asset_job,
    graph,
    graph_asset,
    graph_multi_asset,
    job,
    materialize,
    op,
)

QUIET = {"loggers": {"console": {"config": {"log_level": "CRITICAL"}}}}


# -- a dynamic graph: one step per file found, then a summary --------------------------------
@op(out=DynamicOut())
def list_files():
    for name, size in [("orders.csv", 120), ("refunds.csv", 30), ("returns.csv", 0)]:
        key = name.replace(".", "_")
        yield DynamicOutput({"name": name, "size": size}, mapping_key=key)


@op
def measure(context: OpExecutionContext, file: dict) -> int:
    context.log.info(f"measuring {file['name']} ({context.get_mapping_key()})")
    return file["size"]


@op
def report(context: OpExecutionContext, sizes: list) -> dict:
    return {"files": len(sizes), "bytes": sum(sizes)}


@job
def file_sizes():
    sizes = list_files().map(measure)
    report(sizes.collect())


def test_a_dynamic_job_maps_each_file_and_collects_the_sizes():
    result = file_sizes.execute_in_process(run_config=QUIET)
    assert result.success
    assert result.output_for_node("report") == {"files": 3, "bytes": 150}
    assert result.output_for_node("measure") == {
        "orders_csv": 120,
        "refunds_csv": 30,
        "returns_csv": 0,
    }
    started = [e.step_key for e in result.all_events if e.event_type_value == "STEP_START"]
    assert started == [
        "list_files",
        "measure[orders_csv]",
        "measure[refunds_csv]",
        "measure[returns_csv]",
        "report",
    ]


# -- chained maps, a mapped graph, and another output used inside the map -----------------------
@op(out={"rows": DynamicOut(), "threshold": Out()})
def split_rows():
    yield Output(10, "threshold")
    for i, value in enumerate([4, 15, 9, 30]):
        yield DynamicOutput(value, mapping_key=f"row_{i}", output_name="rows")


@op
def flag(value: int, threshold: int) -> bool:
    return value > threshold


@op
def as_int(flagged: bool) -> int:
    return int(flagged)


@op
def count_flags(flags: list) -> int:
    return sum(flags)


@job
def flags_job():
    rows, threshold = split_rows()
    flagged = rows.map(lambda value: flag(value, threshold)).map(as_int)
    count_flags(flagged.collect())


def test_chained_maps_read_another_output_of_the_dynamic_op():
    result = flags_job.execute_in_process(run_config=QUIET)
    assert result.success
    assert result.output_for_node("count_flags") == 2
    succeeded = {e.step_key for e in result.all_events if e.event_type_value == "STEP_SUCCESS"}
    assert {"flag[row_1]", "as_int[row_1]", "count_flags"} <= succeeded


# -- a failure in one mapped step ----------------------------------------------------------------
@op
def strict_measure(file: dict) -> int:
    if file["size"] == 0:
        raise ValueError(f"{file['name']} is empty")
    return file["size"]


@job
def strict_sizes():
    report(list_files().map(strict_measure).collect())


def test_a_failed_mapped_step_fails_the_run_and_the_collect_does_not_run():
    result = strict_sizes.execute_in_process(run_config=QUIET, raise_on_error=False)
    assert not result.success
    failed = {e.step_key for e in result.all_events if e.event_type_value == "STEP_FAILURE"}
    assert failed == {"strict_measure[returns_csv]"}
    succeeded = {e.step_key for e in result.all_events if e.event_type_value == "STEP_SUCCESS"}
    assert "report" not in succeeded
    assert {"strict_measure[orders_csv]", "strict_measure[refunds_csv]"} <= succeeded


def test_mapped_outputs_are_stored_apart_by_the_filesystem_io_manager():
    with tempfile.TemporaryDirectory() as base_dir:

        @job(resource_defs={"io_manager": FilesystemIOManager(base_dir=base_dir)})
        def stored_sizes():
            report(list_files().map(measure).collect())

        result = stored_sizes.execute_in_process(run_config=QUIET)
        assert result.success
        run_dir = os.path.join(base_dir, result.run_id)
        assert sorted(os.listdir(os.path.join(run_dir, "list_files", "result"))) == [
            "orders_csv",
            "refunds_csv",
            "returns_csv",
        ]
        assert os.path.exists(os.path.join(run_dir, "measure[orders_csv]", "result"))


# -- graph-backed assets -------------------------------------------------------------------------
@asset
def raw_orders() -> list:
    return [{"region": "north", "amount": 3}, {"region": "south", "amount": 2}]


@op
def keep_north(orders: list) -> list:
    return [o for o in orders if o["region"] == "north"]


@op(config_schema={"rate": float})
def convert(context: OpExecutionContext, orders: list) -> list:
    return [o["amount"] * context.op_config["rate"] for o in orders]


@op
def total(context: AssetExecutionContext, amounts: list) -> float:
    context.add_output_metadata({"orders": len(amounts)})
    return sum(amounts)


@graph_asset
def north_revenue(raw_orders):
    return total(convert(keep_north(raw_orders)))


def test_a_graph_asset_runs_its_ops_as_steps_and_materializes_once():
    config = {"ops": {"north_revenue": {"ops": {"convert": {"config": {"rate": 2.0}}}}}}
    result = materialize([raw_orders, north_revenue], run_config={**QUIET, **config})
    assert result.success
    assert result.asset_value("north_revenue") == 6.0
    started = [e.step_key for e in result.all_events if e.event_type_value == "STEP_START"]
    assert started == [
        "raw_orders",
        "north_revenue.keep_north",
        "north_revenue.convert",
        "north_revenue.total",
    ]
    (event,) = [
        e
        for e in result.all_events
        if e.event_type_value == "ASSET_MATERIALIZATION" and e.step_key == "north_revenue.total"
    ]
    assert event.asset_key.path == ["north_revenue"]


@op(out={"north": Out(), "south": Out()})
def split_regions(orders: list):
    north = [o for o in orders if o["region"] == "north"]
    south = [o for o in orders if o["region"] == "south"]
    return north, south


@op
def amount(orders: list) -> int:
    return sum(o["amount"] for o in orders)


@graph_multi_asset(outs={"north_total": AssetOut(), "south_total": AssetOut()})
def regional_totals(raw_orders):
    north, south = split_regions(raw_orders)
    return {"north_total": amount(north), "south_total": amount.alias("amount_south")(south)}


def test_a_graph_multi_asset_makes_each_asset_in_a_job():
    defs = Definitions(
        assets=[raw_orders, regional_totals],
        jobs=[define_asset_job("totals_job")],
    )
    result = defs.get_job_def("totals_job").execute_in_process(run_config=QUIET)
    assert result.success
    assert result.output_for_node("regional_totals.amount") == 3
    assert result.output_for_node("regional_totals.amount_south") == 2


def test_from_graph_and_from_op():
    @graph(out={"north_amount": GraphOut(), "south_amount": GraphOut()})
    def by_region(orders):
        north, south = split_regions(orders)
        return {"north_amount": amount(north), "south_amount": amount.alias("south")(south)}

    region_assets = AssetsDefinition.from_graph(
        by_region, keys_by_input_name={"orders": raw_orders.key}
    )
    orders_count = AssetsDefinition.from_op(
        op(name="orders_count")(lambda raw_orders: len(raw_orders))
    )
    result = materialize([raw_orders, region_assets, orders_count], run_config=QUIET)
    assert result.success
    assert result.asset_value("north_amount") == 3
    assert result.asset_value("south_amount") == 2
    assert result.asset_value("orders_count") == 2


letters = StaticPartitionsDefinition(["a", "b"])


@asset(partitions_def=letters)
def letter_file(context: AssetExecutionContext) -> str:
    return context.partition_key * 3


@op
def upper(text: str) -> str:
    return text.upper()


@graph_asset(partitions_def=letters, ins={"text": AssetIn("letter_file")})
def shouted(text):
    return upper(text)


def test_a_partitioned_graph_asset():
    result = materialize([letter_file, shouted], partition_key="b", run_config=QUIET)
    assert result.success
    assert result.asset_value("shouted") == "BBB"
