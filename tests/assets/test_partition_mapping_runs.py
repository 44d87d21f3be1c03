"""Partition mappings in runs: what an input loads, what the contexts say about it, the
mappings refused when the definitions are put together (naming both assets), and the
upstream partitions that do not exist."""

import pytest

from trellis import (
    AssetDep,
    AssetExecutionContext,
    AssetIn,
    AssetOut,
    DailyPartitionsDefinition,
    Definitions,
    FilesystemIOManager,
    IdentityPartitionMapping,
    InputContext,
    IOManager,
    LastPartitionMapping,
    MonthlyPartitionsDefinition,
    MultiPartitionKey,
    MultiPartitionsDefinition,
    OutputContext,
    SpecificPartitionsPartitionMapping,
    StaticPartitionMapping,
    StaticPartitionsDefinition,
    TimeWindowPartitionMapping,
    asset,
    build_asset_context,
    materialize,
    multi_asset,
)
from trellis.core.errors import InvalidDefinitionError

DAILY = DailyPartitionsDefinition(start_date="2024-01-01", end_date="2024-03-01")
MONTHLY = MonthlyPartitionsDefinition(start_date="2024-01-01", end_date="2024-03-01")
REGIONS = StaticPartitionsDefinition(["eu", "us"])


class RecordingIOManager(IOManager):
    """Keeps values by (asset, partition) and records what each load asked for."""

    def __init__(self):
        self.values = {}
        self.loads = []

    def handle_output(self, context: OutputContext, obj):
        keys = context.asset_partition_keys if context.has_asset_partitions else [None]
        for key in keys:
            self.values[(context.asset_key.path[-1], key)] = obj

    def load_input(self, context: InputContext):
        name = context.asset_key.path[-1]
        if not context.has_asset_partitions:
            self.loads.append((name, None))
            return self.values[(name, None)]
        keys = context.asset_partition_keys
        self.loads.append((name, list(keys)))
        if len(keys) == 1:  # one partition: its value
            return self.values[(name, keys[0])]
        return {k: self.values[(name, k)] for k in keys}


def test_a_daily_asset_reading_the_day_before_in_the_same_run():
    io = RecordingIOManager()

    @asset(partitions_def=DAILY)
    def clicks(context) -> int:
        return int(context.partition_key[-2:])

    @asset(
        partitions_def=DAILY,
        ins={"clicks": AssetIn(partition_mapping=TimeWindowPartitionMapping(start_offset=-1))},
    )
    def two_day_clicks(context: AssetExecutionContext, clicks: dict) -> int:
        assert context.asset_partition_keys_for_input("clicks") == ["2024-01-04", "2024-01-05"]
        assert context.asset_partition_key_for_output() == "2024-01-05"
        return sum(clicks.values())

    materialize([clicks], partition_key="2024-01-04", resources={"io_manager": io})
    result = materialize(
        [clicks, two_day_clicks], partition_key="2024-01-05", resources={"io_manager": io}
    )
    assert result.output_for_node("two_day_clicks") == 4 + 5
    assert ("clicks", ["2024-01-04", "2024-01-05"]) in io.loads


def test_a_self_dependent_asset_builds_on_its_previous_partition(tmp_path):
    io = FilesystemIOManager(base_dir=str(tmp_path))
    previous = TimeWindowPartitionMapping(start_offset=-1, end_offset=-1)

    @asset(partitions_def=DAILY, ins={"running_total": AssetIn(partition_mapping=previous)})
    def running_total(context: AssetExecutionContext, running_total: int | None) -> int:
        if context.partition_key == "2024-01-01":
            assert running_total is None  # no earlier partition: nothing to read
            assert context.asset_partition_keys_for_input("running_total") == []
        return (running_total or 0) + int(context.partition_key[-2:])

    totals = []
    for day in range(1, 5):
        result = materialize(
            [running_total], partition_key=f"2024-01-0{day}", resources={"io_manager": io}
        )
        totals.append(result.output_for_node("running_total"))
    assert totals == [1, 3, 6, 10]


def test_a_self_dependency_must_read_earlier_partitions():
    for mapping in (None, TimeWindowPartitionMapping(), IdentityPartitionMapping()):
        ins = {"state": AssetIn(partition_mapping=mapping)} if mapping else None

        @asset(partitions_def=DAILY, ins=ins)
        def state(state):
            return state

        with pytest.raises(InvalidDefinitionError, match=r"'state'.* depends on itself"):
            Definitions.validate_loadable(Definitions(assets=[state]))


def test_an_unpartitioned_asset_reads_every_partition_or_the_last():
    io = RecordingIOManager()

    @asset(partitions_def=REGIONS)
    def sales(context) -> str:
        return context.partition_key.upper()

    @asset
    def every_region(sales: dict) -> list:
        return sorted(sales.values())

    @asset(ins={"sales": AssetIn(partition_mapping=LastPartitionMapping())})
    def last_region(sales):
        return sales

    for region in ("eu", "us"):
        materialize([sales], partition_key=region, resources={"io_manager": io})
    result = materialize(
        [sales, every_region, last_region],
        selection=[every_region, last_region],
        resources={"io_manager": io},
    )
    assert result.output_for_node("every_region") == ["EU", "US"]
    assert result.output_for_node("last_region") == "US"


def test_static_and_specific_mappings_in_runs():
    io = RecordingIOManager()
    countries = StaticPartitionsDefinition(["fr", "de", "us"])
    to_region = StaticPartitionMapping({"fr": "eu", "de": "eu", "us": "us"})

    @asset(partitions_def=countries)
    def revenue(context) -> int:
        return {"fr": 1, "de": 2, "us": 4}[context.partition_key]

    @asset(
        partitions_def=REGIONS,
        ins={"revenue": AssetIn(partition_mapping=to_region)},
    )
    def regional(revenue: dict) -> int:
        return sum(revenue.values())

    @asset(
        partitions_def=REGIONS,
        ins={"revenue": AssetIn(partition_mapping=SpecificPartitionsPartitionMapping(["us"]))},
    )
    def versus_us(context, revenue: int) -> list:
        return [context.asset_partition_key_for_input("revenue"), revenue]

    for country in ("fr", "de", "us"):
        materialize([revenue], partition_key=country, resources={"io_manager": io})
    result = materialize(
        [revenue, regional, versus_us],
        selection=[regional, versus_us],
        partition_key="eu",
        resources={"io_manager": io},
    )
    assert result.output_for_node("regional") == 3
    assert result.output_for_node("versus_us") == ["us", 4]


def test_multi_partitions_read_by_a_daily_asset_through_the_shared_dimension():
    io = RecordingIOManager()
    multi = MultiPartitionsDefinition({"date": DAILY, "region": REGIONS})

    @asset(partitions_def=multi)
    def orders(context: AssetExecutionContext) -> str:
        keys = context.partition_key.keys_by_dimension
        return f"{keys['region']}@{keys['date']}"

    @asset(partitions_def=DAILY)
    def daily_orders(orders: dict) -> list:
        return sorted(orders.values())

    for region in ("eu", "us"):
        key = MultiPartitionKey({"date": "2024-01-05", "region": region})
        assert materialize([orders], partition_key=key, resources={"io_manager": io}).success
    result = materialize(
        [orders, daily_orders],
        selection=[daily_orders],
        partition_key="2024-01-05",
        resources={"io_manager": io},
    )
    assert result.output_for_node("daily_orders") == ["eu@2024-01-05", "us@2024-01-05"]
    assert ("orders", ["2024-01-05|eu", "2024-01-05|us"]) in io.loads


def test_mappings_that_cannot_map_are_refused_naming_both_assets():
    @asset(partitions_def=DAILY)
    def events():
        return 1

    @asset(
        partitions_def=REGIONS,
        ins={"events": AssetIn(partition_mapping=StaticPartitionMapping({"eu": "eu"}))},
    )
    def by_region(events):
        return events

    with pytest.raises(InvalidDefinitionError) as info:
        Definitions.validate_loadable(Definitions(assets=[events, by_region]))
    message = str(info.value)
    assert "by_region" in message and "'events'" in message
    assert "StaticPartitionMapping maps between two StaticPartitionsDefinitions" in message

    @asset(partitions_def=REGIONS)
    def regional_events(events):  # the default: equal keys, which a region and a day never are
        return events

    with pytest.raises(
        InvalidDefinitionError, match=r"regional_events.*'events'.*partition mapping"
    ):
        Definitions.validate_loadable(Definitions(assets=[events, regional_events]))

    @asset(
        partitions_def=REGIONS,
        deps=[AssetDep(events, partition_mapping=TimeWindowPartitionMapping())],
    )
    def after_events():
        return None

    with pytest.raises(InvalidDefinitionError, match=r"after_events.*'events'.*time-window"):
        Definitions.validate_loadable(Definitions(assets=[events, after_events]))


def test_an_asset_dep_mapping_is_kept_and_checked():
    @asset(partitions_def=DAILY)
    def raw():
        return 1

    @asset(partitions_def=MONTHLY, deps=[AssetDep(raw, partition_mapping=LastPartitionMapping())])
    def summary():
        return 2

    assert summary.partition_mapping_for(raw.key) == LastPartitionMapping()
    Definitions.validate_loadable(Definitions(assets=[raw, summary]))
    renamed = summary.with_attributes(asset_key_replacements={raw.key: raw.key.with_prefix("p")})
    assert renamed.partition_mapping_for(raw.key.with_prefix("p")) == LastPartitionMapping()

    @multi_asset(
        outs={"a": AssetOut(), "b": AssetOut()},
        partitions_def=MONTHLY,
        deps=[AssetDep(raw, partition_mapping=LastPartitionMapping())],
    )
    def both():
        return 1, 2

    assert both.partition_mapping_for(raw.key) == LastPartitionMapping()


def test_upstream_partitions_that_do_not_exist_fail_the_run_naming_them():
    io = RecordingIOManager()
    ahead = TimeWindowPartitionMapping(start_offset=1, end_offset=1)

    @asset(partitions_def=DAILY)
    def quotes():
        return 1

    @asset(partitions_def=DAILY, ins={"quotes": AssetIn(partition_mapping=ahead)})
    def forecast(quotes):
        return quotes

    result = materialize(
        [quotes, forecast],
        selection=[forecast],
        partition_key="2024-02-29",
        resources={"io_manager": io},
        raise_on_error=False,
    )
    assert not result.success
    failure = result.failure_data_for_node("forecast")
    text = str(failure)
    assert "2024-03-01" in text and "quotes" in text and "allow_nonexistent" in text


def test_nonexistent_upstream_partitions_can_be_allowed():
    io = RecordingIOManager()
    ahead = TimeWindowPartitionMapping(
        start_offset=0, end_offset=1, allow_nonexistent_upstream_partitions=True
    )

    @asset(partitions_def=DAILY)
    def quotes(context):
        return context.partition_key

    @asset(partitions_def=DAILY, ins={"quotes": AssetIn(partition_mapping=ahead)})
    def forecast(context, quotes: str):
        return [*context.asset_partition_keys_for_input("quotes"), quotes]

    materialize([quotes], partition_key="2024-02-29", resources={"io_manager": io})
    result = materialize(
        [quotes, forecast],
        selection=[forecast],
        partition_key="2024-02-29",
        resources={"io_manager": io},
    )
    assert result.output_for_node("forecast") == ["2024-02-29", "2024-02-29"]


def test_contexts_built_for_tests_answer_per_output():
    @asset(partitions_def=DAILY)
    def daily(context: AssetExecutionContext):
        return (
            context.asset_partition_key_for_output(),
            context.asset_partitions_time_window_for_output().end.day,
            context.asset_partitions_def_for_output() == DAILY,
        )

    assert daily(build_asset_context(partition_key="2024-01-05")) == ("2024-01-05", 6, True)

    @asset
    def plain(context: AssetExecutionContext):
        return context.asset_partition_key_for_output()

    with pytest.raises(Exception, match="unpartitioned asset"):
        plain(build_asset_context())
