"""``AssetsDefinition.from_graph`` / ``from_op`` with ``partition_mappings=`` (input name ->
``PartitionMapping``), read as ``AssetIn(partition_mapping=...)`` is: a weekly
graph-backed asset over a daily upstream reads the days its mapping gives."""

import pytest

from trellis import (
    AssetsDefinition,
    DailyPartitionsDefinition,
    Definitions,
    TimeWindowPartitionMapping,
    WeeklyPartitionsDefinition,
    asset,
    graph,
    materialize,
    op,
)
from trellis.core.errors import InvalidDefinitionError

DAILY = DailyPartitionsDefinition(start_date="2024-01-01", end_date="2024-02-01")
WEEKLY = WeeklyPartitionsDefinition(start_date="2024-01-07", end_date="2024-02-01")


@asset(partitions_def=DAILY)
def daily_visits(context) -> int:
    return int(context.partition_key[-2:])


@op
def sum_days(context, daily_visits: dict) -> dict:
    return {"days": sorted(daily_visits), "total": sum(daily_visits.values())}


@graph
def weekly_summary(daily_visits):
    return sum_days(daily_visits)


def _week_read_by(summary, instance) -> dict:
    """What ``summary`` read for the week of 2024-01-14 (every day materialized)."""
    result = materialize(
        [daily_visits, summary],
        selection=[summary.key],
        partition_key="2024-01-14",
        instance=instance,
    )
    return result.output_for_node("sum_days")


@pytest.fixture(scope="module")
def days_instance(tmp_path_factory):
    from trellis import instance_for_test

    with instance_for_test(temp_dir=str(tmp_path_factory.mktemp("days"))) as instance:
        for day in DAILY.get_partition_keys():
            assert materialize([daily_visits], partition_key=day, instance=instance).success
        yield instance


def test_from_graph_reads_the_days_its_mapping_gives(days_instance):
    default = AssetsDefinition.from_graph(weekly_summary, partitions_def=WEEKLY)
    shifted = AssetsDefinition.from_graph(
        weekly_summary,
        partitions_def=WEEKLY,
        keys_by_output_name={"result": "weekly_summary_with_last_week"},
        partition_mappings={"daily_visits": TimeWindowPartitionMapping(start_offset=-1)},
    )
    assert shifted.partition_mapping_for(daily_visits.key).start_offset == -1
    plain = _week_read_by(default, days_instance)
    wider = _week_read_by(shifted, days_instance)
    week = [f"2024-01-{d}" for d in range(14, 21)]
    assert plain["days"] == week  # the default mapping: the week's own days
    assert wider["days"] == [f"2024-01-{d:02d}" for d in range(7, 14)] + week
    assert wider["total"] == sum(range(7, 21))


def test_from_op_takes_partition_mappings_too(days_instance):
    summary = AssetsDefinition.from_op(
        sum_days,
        partitions_def=WEEKLY,
        partition_mappings={"daily_visits": TimeWindowPartitionMapping(start_offset=-1)},
    )
    out = _week_read_by(summary, days_instance)
    assert len(out["days"]) == 14 and out["days"][0] == "2024-01-07"


def test_bad_partition_mappings_are_refused_naming_the_input():
    with pytest.raises(InvalidDefinitionError) as err:
        AssetsDefinition.from_graph(
            weekly_summary,
            partitions_def=WEEKLY,
            partition_mappings={"daily_visit": TimeWindowPartitionMapping()},
        )
    text = str(err.value)
    assert "from_graph('weekly_summary')" in text
    assert "input 'daily_visit'" in text and "Did you mean 'daily_visits'?" in text
    with pytest.raises(InvalidDefinitionError, match=r"partition_mappings\['daily_visits'\] needs"):
        AssetsDefinition.from_op(
            sum_days, partitions_def=WEEKLY, partition_mappings={"daily_visits": "last week"}
        )


def test_a_mapping_that_cannot_map_is_refused_when_the_definitions_are_built():
    from trellis import StaticPartitionsDefinition

    regions = StaticPartitionsDefinition(["eu", "us"])
    summary = AssetsDefinition.from_graph(
        weekly_summary,
        partitions_def=regions,
        partition_mappings={"daily_visits": TimeWindowPartitionMapping(start_offset=-1)},
    )
    with pytest.raises(InvalidDefinitionError) as err:
        Definitions(assets=[daily_visits, summary]).asset_graph  # noqa: B018
    assert "daily_visits" in str(err.value) and "weekly_summary" in str(err.value)
