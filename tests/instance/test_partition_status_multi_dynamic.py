"""The partition status index for multi-dimensional and dynamic partitions, on every back
end: multi-dimensional status as ranges along the time dimension per key of the other;
dynamic keys numbered by their stored row, so that adding keys moves no stored row and a
deleted key drops out; in-progress runs and range runs over both; the counts of the UI's
health bar."""

from trellis import (
    DailyPartitionsDefinition,
    Definitions,
    DynamicPartitionsDefinition,
    MultiPartitionKey,
    MultiPartitionsDefinition,
    StaticPartitionsDefinition,
    asset,
    materialize,
)
from trellis.core.run import PARTITION_RANGE_END_TAG, PARTITION_RANGE_START_TAG, Run, RunStatus
from trellis.views.partition_status import describe_by_group, partition_status
from trellis.web.health import partition_health

DAYS = DailyPartitionsDefinition(start_date="2024-01-01", end_date="2024-01-11")
REGIONS = StaticPartitionsDefinition(["eu", "us", "apac"])
DAY_REGION = MultiPartitionsDefinition({"date": DAYS, "region": REGIONS})
FILES = DynamicPartitionsDefinition(name="files")
FILE_COLOR = MultiPartitionsDefinition(
    {"color": StaticPartitionsDefinition(["red", "blue"]), "file": FILES}
)


@asset(partitions_def=DAY_REGION)
def sales(context) -> int:
    if context.partition_key.keys_by_dimension["date"] == "2024-01-05":
        raise ValueError("the source was down")
    return 1


@asset(partitions_def=FILES)
def parsed(context) -> int:
    if context.partition_key == "broken.csv":
        raise ValueError("cannot parse")
    return 1


@asset(partitions_def=FILE_COLOR)
def painted(context) -> int:
    return 1


DEFS = Definitions(assets=[sales, parsed, painted])
GRAPH = DEFS.asset_graph


def lines(instance, key):
    return describe_by_group(partition_status(instance, GRAPH, [key])[key])


def mk(date, region):
    return MultiPartitionKey({"date": date, "region": region})


def test_multi_partitions_are_ranges_along_time_per_region(any_instance):
    instance = any_instance
    assert lines(instance, sales.key) == [
        "region=eu: 2024-01-01…2024-01-10 missing",
        "region=us: 2024-01-01…2024-01-10 missing",
        "region=apac: 2024-01-01…2024-01-10 missing",
    ]
    for date in ("2024-01-01", "2024-01-02", "2024-01-03", "2024-01-05"):
        materialize([sales], partition_key=mk(date, "eu"), instance=instance, raise_on_error=False)
    materialize([sales], partition_key=mk("2024-01-10", "apac"), instance=instance)
    assert lines(instance, sales.key) == [
        "region=eu: 2024-01-01…2024-01-03 materialized, 2024-01-04 missing, 2024-01-05 failed, "
        "2024-01-06…2024-01-10 missing",
        "region=us: 2024-01-01…2024-01-10 missing",
        "region=apac: 2024-01-01…2024-01-09 missing, 2024-01-10 materialized",
    ]
    stored = instance.get_partition_status_ranges([sales.key])[sales.key]
    assert len(stored) == 3  # eu's three days are one row
    first = partition_status(instance, GRAPH, [sales.key])[sales.key][0]
    assert (first.first_key, first.last_key, first.num_partitions) == (
        "2024-01-01|eu",
        "2024-01-03|eu",
        3,
    )
    assert first.first_key.keys_by_dimension == {"date": "2024-01-01", "region": "eu"}
    assert (first.group, first.group_dimension) == ("eu", "region")


def test_a_multi_partition_run_in_progress_shows_in_its_group(any_instance):
    instance = any_instance
    instance.add_run(
        Run(
            run_id="r-live",
            job_name="__ASSET_JOB",
            status=RunStatus.STARTED,
            tags={"trellis/partition": "2024-01-04|us"},
            asset_selection=["sales"],
        )
    )
    assert lines(instance, sales.key)[1] == (
        "region=us: 2024-01-01…2024-01-03 missing, 2024-01-04 in progress, "
        "2024-01-05…2024-01-10 missing"
    )


def test_dynamic_keys_keep_their_ordinals_when_keys_come_and_go(any_instance):
    instance = any_instance
    assert lines(instance, parsed.key) == []  # no keys yet
    assert instance.get_dynamic_partition_ordinals("files") == []
    instance.add_dynamic_partitions("files", ["a.csv", "b.csv", "broken.csv", "c.csv"])
    for key in ("a.csv", "b.csv", "broken.csv"):
        materialize([parsed], partition_key=key, instance=instance, raise_on_error=False)
    assert lines(instance, parsed.key) == [
        "a.csv…b.csv materialized, broken.csv failed, c.csv missing"
    ]
    before = instance.get_partition_status_ranges([parsed.key])[parsed.key]
    instance.add_dynamic_partitions("files", ["d.csv", "e.csv"])
    instance.delete_dynamic_partition("files", "b.csv")
    assert instance.get_partition_status_ranges([parsed.key])[parsed.key] == before
    assert lines(instance, parsed.key) == [
        "a.csv materialized, broken.csv failed, c.csv…e.csv missing"
    ]
    materialize([parsed], partition_key="e.csv", instance=instance)
    assert lines(instance, parsed.key) == [
        "a.csv materialized, broken.csv failed, c.csv…d.csv missing, e.csv materialized"
    ]
    # a key added again is a new partition: its status starts over
    instance.delete_dynamic_partition("files", "a.csv")
    instance.add_dynamic_partitions("files", ["a.csv"])
    assert lines(instance, parsed.key)[0].endswith("e.csv materialized, a.csv missing")


def test_a_dynamic_range_run_marks_its_keys(any_instance):
    instance = any_instance
    instance.add_dynamic_partitions("files", ["a.csv", "b.csv", "c.csv", "d.csv"])
    instance.delete_dynamic_partition("files", "b.csv")
    instance.add_run(
        Run(
            run_id="r-range",
            job_name="__ASSET_JOB",
            status=RunStatus.STARTED,
            tags={PARTITION_RANGE_START_TAG: "a.csv", PARTITION_RANGE_END_TAG: "c.csv"},
            asset_selection=["parsed"],
        )
    )
    assert lines(instance, parsed.key) == ["a.csv…c.csv in progress, d.csv missing"]


def test_multi_partitions_with_a_dynamic_dimension(any_instance):
    instance = any_instance
    instance.add_dynamic_partitions("files", ["a.csv", "b.csv"])
    key = MultiPartitionKey({"color": "blue", "file": "b.csv"})
    assert materialize([painted], partition_key=key, instance=instance).success
    instance.add_dynamic_partitions("files", ["c.csv"])
    assert lines(instance, painted.key) == [
        "color=red: a.csv…c.csv missing",
        "color=blue: a.csv missing, b.csv materialized, c.csv missing",
    ]


def test_health_counts_include_multi_and_dynamic_assets(any_instance):
    instance = any_instance
    instance.add_dynamic_partitions("files", ["a.csv", "b.csv", "broken.csv"])
    materialize([parsed], partition_key="a.csv", instance=instance)
    materialize([parsed], partition_key="broken.csv", instance=instance, raise_on_error=False)
    materialize([sales], partition_key=mk("2024-01-02", "us"), instance=instance)
    health = partition_health(instance, DEFS, [sales.key, parsed.key, painted.key])
    assert health[parsed.key] == {
        "materialized": 1,
        "failed": 1,
        "in_progress": 0,
        "missing": 1,
        "total": 3,
    }
    assert health[sales.key]["total"] == 30 and health[sales.key]["materialized"] == 1
    assert health[painted.key]["total"] == 6 and health[painted.key]["missing"] == 6
