"""Partitioned runs of assets: daily and static partitions, the run tags a partition key
sets, what the asset context and the IO contexts see, per-partition storage with the
filesystem IO manager, and the errors for bad or misplaced partition keys."""

import pickle
from datetime import UTC, datetime

import pytest

from trellis import (
    AssetExecutionContext,
    AssetKey,
    AssetSpec,
    DailyPartitionsDefinition,
    Definitions,
    FilesystemIOManager,
    InvalidInvocationError,
    InvariantViolationError,
    IOManager,
    PartitionKeyRange,
    StaticPartitionsDefinition,
    TimeWindow,
    asset,
    build_asset_context,
    define_asset_job,
    materialize,
    materialize_to_memory,
)

DAILY = DailyPartitionsDefinition(start_date="2024-01-01")
REGIONS = StaticPartitionsDefinition(["eu", "us", "apac"])
JAN_5 = TimeWindow(datetime(2024, 1, 5, tzinfo=UTC), datetime(2024, 1, 6, tzinfo=UTC))


class SpyIOManager(IOManager):
    """Stores values by (asset key, partition) and records what each context said."""

    def __init__(self):
        self.values = {}
        self.outputs = []
        self.inputs = []

    @staticmethod
    def _asset_partition(context):
        single = context.has_partition_key and context.has_asset_partitions
        return context.asset_partition_key if single else None

    def _describe(self, context):
        return {
            "asset_key": context.asset_key,
            "partition_key": context.partition_key if context.has_partition_key else None,
            "has_asset_partitions": context.has_asset_partitions,
            "asset_partition_key": self._asset_partition(context),
            "asset_partition_keys": context.asset_partition_keys
            if context.has_asset_partitions
            else None,
            "time_window": context.asset_partitions_time_window
            if context.has_asset_partitions and context.asset_partitions_def is DAILY
            else None,
            "asset_partitions_def": context.asset_partitions_def,
        }

    def handle_output(self, context, obj):
        self.outputs.append(self._describe(context))
        self.values[(context.asset_key, self._asset_partition(context))] = obj

    def load_input(self, context):
        upstream = context.upstream_output
        seen = self._describe(context)
        seen["name"] = context.name
        seen["upstream_has_asset_partitions"] = upstream.has_asset_partitions
        self.inputs.append(seen)
        return self.values[(upstream.asset_key, self._asset_partition(upstream))]


@asset(partitions_def=DAILY)
def daily_events(context: AssetExecutionContext):
    return [f"event@{context.partition_key}"]


@asset(partitions_def=DAILY)
def daily_counts(daily_events):
    return len(daily_events)


@asset(partitions_def=REGIONS)
def regional_sales(context: AssetExecutionContext):
    return {"region": context.partition_key}


# -- run tags and the asset context ------------------------------------------------------


def test_partition_key_tags_the_run():
    result = materialize_to_memory([daily_events], partition_key="2024-01-05")
    assert result.run.tags["trellis/partition"] == "2024-01-05"
    assert result.run.tags["trellis/partition_set"].endswith("_partition_set")
    [event] = result.get_asset_materialization_events()
    assert event.materialization.partition == "2024-01-05"
    assert event.partition == "2024-01-05"


def test_asset_context_in_a_daily_partitioned_run():
    seen = {}

    @asset(partitions_def=DAILY)
    def watched(context: AssetExecutionContext):
        seen["has_partition_key"] = context.has_partition_key
        seen["partition_key"] = context.partition_key
        seen["range"] = context.partition_key_range
        seen["keys"] = context.partition_keys
        seen["window"] = context.partition_time_window
        seen["op_partition_key"] = context.op_execution_context.partition_key
        return 1

    assert materialize_to_memory([watched], partition_key="2024-01-05").success
    assert seen == {
        "has_partition_key": True,
        "partition_key": "2024-01-05",
        "range": PartitionKeyRange("2024-01-05", "2024-01-05"),
        "keys": ["2024-01-05"],
        "window": JAN_5,
        "op_partition_key": "2024-01-05",
    }


def test_asset_context_in_a_static_partitioned_run():
    seen = {}

    @asset(partitions_def=REGIONS)
    def watched(context: AssetExecutionContext):
        seen["partition_key"] = context.partition_key
        seen["keys"] = context.partition_keys
        with pytest.raises(InvariantViolationError, match="time"):
            _ = context.partition_time_window
        return 1

    assert materialize_to_memory([watched], partition_key="us").success
    assert seen == {"partition_key": "us", "keys": ["us"]}


def test_direct_asset_context_with_a_partition_key():
    @asset(partitions_def=DAILY)
    def direct(context: AssetExecutionContext):
        return (context.partition_key, context.partition_time_window)

    context = build_asset_context(partition_key="2024-01-05", partitions_def=DAILY)
    assert direct(context) == ("2024-01-05", JAN_5)


# -- IO contexts -------------------------------------------------------------------------


def test_io_contexts_see_the_partition():
    spy = SpyIOManager()
    result = materialize(
        [daily_events, daily_counts], partition_key="2024-01-05", resources={"io_manager": spy}
    )
    assert result.success
    first, second = spy.outputs
    assert first["asset_key"] == AssetKey("daily_events")
    assert first["partition_key"] == "2024-01-05"
    assert first["has_asset_partitions"] is True
    assert first["asset_partition_key"] == "2024-01-05"
    assert first["asset_partition_keys"] == ["2024-01-05"]
    assert first["time_window"] == JAN_5
    assert first["asset_partitions_def"] is DAILY
    assert second["asset_key"] == AssetKey("daily_counts")
    [loaded] = spy.inputs
    assert loaded["name"] == "daily_events"
    assert loaded["asset_key"] == AssetKey("daily_events")
    assert loaded["partition_key"] == "2024-01-05"
    assert loaded["asset_partition_key"] == "2024-01-05"
    assert loaded["asset_partitions_def"] is DAILY
    assert spy.values[(AssetKey("daily_counts"), "2024-01-05")] == 1


def test_unpartitioned_upstream_of_a_partitioned_asset_is_read_whole():
    spy = SpyIOManager()

    @asset
    def lookup():
        return {"eu": "Europe", "us": "United States", "apac": "Asia Pacific"}

    @asset(partitions_def=REGIONS)
    def region_name(context: AssetExecutionContext, lookup):
        return lookup[context.partition_key]

    result = materialize([lookup, region_name], partition_key="eu", resources={"io_manager": spy})
    assert spy.values[(AssetKey("region_name"), "eu")] == "Europe"
    by_key = {o["asset_key"]: o for o in spy.outputs}
    assert by_key[AssetKey("lookup")]["has_asset_partitions"] is False
    assert by_key[AssetKey("lookup")]["asset_partitions_def"] is None
    assert by_key[AssetKey("region_name")]["asset_partition_key"] == "eu"
    [loaded] = spy.inputs
    assert loaded["partition_key"] == "eu"  # the run's key
    assert loaded["has_asset_partitions"] is False  # ...but lookup is not partitioned
    assert loaded["upstream_has_asset_partitions"] is False
    assert loaded["asset_partitions_def"] is None
    materializations = {
        e.asset_key: e.materialization for e in result.get_asset_materialization_events()
    }
    assert materializations[AssetKey("lookup")].partition is None
    assert materializations[AssetKey("region_name")].partition == "eu"


# -- the filesystem IO manager per partition ---------------------------------------------


def test_fs_io_manager_stores_each_partition_in_its_own_file(tmp_path):
    storage = {"io_manager": FilesystemIOManager(base_dir=tmp_path)}
    for day in ("2024-01-05", "2024-01-06"):
        assert materialize(
            [daily_events, daily_counts], partition_key=day, resources=storage
        ).success
    for region in ("eu", "apac"):
        assert materialize([regional_sales], partition_key=region, resources=storage).success
    files = sorted(str(p.relative_to(tmp_path)) for p in tmp_path.rglob("*") if p.is_file())
    assert files == [
        "daily_counts/2024-01-05",
        "daily_counts/2024-01-06",
        "daily_events/2024-01-05",
        "daily_events/2024-01-06",
        "regional_sales/apac",
        "regional_sales/eu",
    ]
    assert pickle.loads((tmp_path / "daily_events" / "2024-01-06").read_bytes()) == [
        "event@2024-01-06"
    ]
    assert pickle.loads((tmp_path / "regional_sales" / "apac").read_bytes()) == {"region": "apac"}


def test_fs_partitioned_asset_reads_the_same_partition_from_an_earlier_run(tmp_path):
    storage = {"io_manager": FilesystemIOManager(base_dir=tmp_path)}
    materialize([daily_events], partition_key="2024-01-07", resources=storage)
    result = materialize(
        [AssetSpec("daily_events", partitions_def=DAILY), daily_counts],
        partition_key="2024-01-07",
        resources=storage,
    )
    assert result.asset_value("daily_counts") == 1
    with pytest.raises(InvariantViolationError, match="daily_events"):
        materialize(
            [AssetSpec("daily_events", partitions_def=DAILY), daily_counts],
            partition_key="2024-01-08",
            resources=storage,
        )


def test_fs_unpartitioned_upstream_read_by_a_partitioned_run(tmp_path):
    storage = {"io_manager": FilesystemIOManager(base_dir=tmp_path)}

    @asset
    def rates():
        return {"eu": 2, "us": 3, "apac": 5}

    @asset(partitions_def=REGIONS)
    def scaled(context: AssetExecutionContext, rates):
        return rates[context.partition_key] * 10

    # materialized together: rates is stored whole, not under the run's partition
    result = materialize([rates, scaled], partition_key="us", resources=storage)
    assert result.asset_value("scaled") == 30
    assert result.asset_value("rates") == {"eu": 2, "us": 3, "apac": 5}
    assert (tmp_path / "rates").is_file()
    # and a later partitioned run loads that same file
    result = materialize([AssetSpec("rates"), scaled], partition_key="apac", resources=storage)
    assert result.asset_value("scaled") == 50
    files = sorted(str(p.relative_to(tmp_path)) for p in tmp_path.rglob("*") if p.is_file())
    assert files == ["rates", "scaled/apac", "scaled/us"]


# -- errors ------------------------------------------------------------------------------


def test_invalid_partition_key_is_a_clear_error():
    with pytest.raises(InvariantViolationError) as info:
        materialize_to_memory([regional_sales], partition_key="africa")
    message = str(info.value)
    assert "'africa'" in message and "'eu'" in message
    with pytest.raises(InvariantViolationError) as info:
        materialize_to_memory([daily_events], partition_key="2023-12-31")
    assert "'2023-12-31'" in str(info.value) and "2024-01-01" in str(info.value)
    with pytest.raises(InvariantViolationError, match="2024-01-5"):
        materialize_to_memory([daily_events], partition_key="2024-01-5")


def test_invalid_partition_key_runs_nothing():
    calls = []

    @asset(partitions_def=REGIONS)
    def tracked(context):
        calls.append(context.partition_key)
        return 1

    with pytest.raises(InvariantViolationError):
        materialize_to_memory([tracked], partition_key="mars")
    assert calls == []


def test_partition_key_on_an_unpartitioned_run_is_an_error():
    @asset
    def plain():
        return 1

    with pytest.raises(InvalidInvocationError) as info:
        materialize_to_memory([plain], partition_key="2024-01-05")
    assert "partition_key" in str(info.value) and "partitions_def" in str(info.value)

    defs = Definitions(assets=[plain], jobs=[define_asset_job("plain_job")])
    with pytest.raises(InvalidInvocationError, match="plain_job"):
        defs.get_job_def("plain_job").execute_in_process(partition_key="x")


def test_assets_with_different_partitions_in_one_run_are_rejected():
    with pytest.raises(Exception, match="different partitions"):
        materialize_to_memory([daily_events, regional_sales], partition_key="eu")


def test_partitioned_asset_job_through_definitions(tmp_path):
    defs = Definitions(
        assets=[daily_events, daily_counts],
        jobs=[define_asset_job("daily_job", partitions_def=DAILY)],
        resources={"io_manager": FilesystemIOManager(base_dir=tmp_path)},
    )
    result = defs.get_job_def("daily_job").execute_in_process(partition_key="2024-02-29")
    assert result.success
    assert result.run.tags["trellis/partition"] == "2024-02-29"
    assert (tmp_path / "daily_counts" / "2024-02-29").is_file()
    assert defs.load_asset_value("daily_events", partition_key="2024-02-29") == ["event@2024-02-29"]


def test_partition_range_run_from_tags():
    seen = {}
    spy = SpyIOManager()

    @asset(partitions_def=DAILY)
    def ranged(context: AssetExecutionContext):
        seen["has_partition_key"] = context.has_partition_key
        seen["has_range"] = context.has_partition_key_range
        seen["range"] = context.partition_key_range
        seen["keys"] = context.partition_keys
        seen["window"] = context.partition_time_window
        with pytest.raises(InvariantViolationError, match="partition_key_range") as info:
            _ = context.partition_key
        seen["error"] = str(info.value)
        return 1

    result = materialize(
        [ranged],
        resources={"io_manager": spy},
        tags={
            "trellis/asset_partition_range_start": "2024-01-01",
            "trellis/asset_partition_range_end": "2024-01-03",
        },
    )
    assert result.success
    assert seen["has_partition_key"] is False
    assert seen["has_range"] is True
    assert seen["range"] == PartitionKeyRange("2024-01-01", "2024-01-03")
    assert seen["keys"] == ["2024-01-01", "2024-01-02", "2024-01-03"]
    assert seen["window"] == TimeWindow(
        datetime(2024, 1, 1, tzinfo=UTC), datetime(2024, 1, 4, tzinfo=UTC)
    )
    assert "2024-01-01" in seen["error"] and "2024-01-03" in seen["error"]
    [stored] = spy.outputs
    assert stored["has_asset_partitions"] is True
    assert stored["asset_partition_keys"] == ["2024-01-01", "2024-01-02", "2024-01-03"]


def test_a_monthly_asset_over_a_daily_one_reads_the_days_of_its_month(tmp_path):
    """Issue 15's bug: a monthly asset over a daily one, run alone for '2024-01-01', used
    to receive the single daily value stored under the same key string. Through the
    default time-window mapping it reads every day of January, as a dict; with a day
    missing it fails naming that day's file instead of reading something else."""
    from trellis import MonthlyPartitionsDefinition

    monthly = MonthlyPartitionsDefinition(start_date="2024-01-01")
    io = FilesystemIOManager(base_dir=str(tmp_path))

    @asset(partitions_def=DAILY)
    def daily_sales(context) -> int:
        return int(context.partition_key[-2:])

    @asset(partitions_def=monthly)
    def monthly_sales(daily_sales: dict) -> int:
        return sum(daily_sales.values())

    assert materialize(
        [daily_sales], partition_key="2024-01-01", resources={"io_manager": io}
    ).success
    with pytest.raises(Exception, match="daily_sales/2024-01-02"):
        materialize(
            [daily_sales, monthly_sales],
            selection=[monthly_sales],
            partition_key="2024-01-01",
            resources={"io_manager": io},
        )
    for day in range(2, 32):
        key = f"2024-01-{day:02d}"
        assert materialize([daily_sales], partition_key=key, resources={"io_manager": io}).success
    result = materialize(
        [daily_sales, monthly_sales],
        selection=[monthly_sales],
        partition_key="2024-01-01",
        resources={"io_manager": io},
    )
    assert result.output_for_node("monthly_sales") == sum(range(1, 32))
