"""Partition mappings on their own: which upstream keys a downstream key reads and back,
the default mapping between two definitions, and the definitions a mapping refuses."""

from datetime import UTC, datetime

import pytest

from trellis import (
    AllPartitionMapping,
    DailyPartitionsDefinition,
    DimensionPartitionMapping,
    HourlyPartitionsDefinition,
    IdentityPartitionMapping,
    LastPartitionMapping,
    MonthlyPartitionsDefinition,
    MultiPartitionKey,
    MultiPartitionMapping,
    MultiPartitionsDefinition,
    MultiToSingleDimensionPartitionMapping,
    SpecificPartitionsPartitionMapping,
    StaticPartitionMapping,
    StaticPartitionsDefinition,
    TimeWindowPartitionMapping,
    WeeklyPartitionsDefinition,
)
from trellis.core.errors import InvalidDefinitionError, UnknownPartitionError
from trellis.defs.partition_mapping import default_partition_mapping

NOW = datetime(2024, 3, 1, tzinfo=UTC)
DAILY = DailyPartitionsDefinition(start_date="2024-01-01")
MONTHLY = MonthlyPartitionsDefinition(start_date="2024-01-01")
HOURLY = HourlyPartitionsDefinition(start_date="2024-01-01-00:00")
REGIONS = StaticPartitionsDefinition(["eu", "us", "apac"])
MULTI = MultiPartitionsDefinition({"date": DAILY, "region": REGIONS})


def up(mapping, keys, down_def, up_def):
    return mapping.upstream_partition_keys(keys, down_def, up_def, NOW)


def test_the_default_time_mapping_reads_the_days_of_a_month():
    result = up(TimeWindowPartitionMapping(), ["2024-01-01"], MONTHLY, DAILY)
    assert result.keys == [f"2024-01-{d:02d}" for d in range(1, 32)]
    assert result.nonexistent == []
    february = up(TimeWindowPartitionMapping(), ["2024-02-01"], MONTHLY, DAILY)
    assert len(february.keys) == 29  # a leap year


def test_a_day_reads_its_month_and_a_month_maps_back_to_its_days():
    assert up(TimeWindowPartitionMapping(), ["2024-01-17"], DAILY, MONTHLY).keys == ["2024-01-01"]
    down = TimeWindowPartitionMapping().downstream_partition_keys(
        ["2024-02-01"], MONTHLY, DAILY, NOW
    )
    assert down[0] == "2024-02-01" and down[-1] == "2024-02-29" and len(down) == 29


def test_a_day_reads_24_hours_and_a_week_reads_overlapping_months():
    hours = up(TimeWindowPartitionMapping(), ["2024-01-02"], DAILY, HOURLY).keys
    assert hours[0] == "2024-01-02-00:00" and hours[-1] == "2024-01-02-23:00" and len(hours) == 24
    weekly = WeeklyPartitionsDefinition(start_date="2024-01-07")
    # the week of 2024-01-28 runs into February: it reads both months
    months = up(TimeWindowPartitionMapping(), ["2024-01-28"], weekly, MONTHLY).keys
    assert months == ["2024-01-01", "2024-02-01"]


def test_offsets_shift_the_window_in_downstream_partitions():
    previous = TimeWindowPartitionMapping(start_offset=-1, end_offset=-1)
    assert up(previous, ["2024-01-05"], DAILY, DAILY).keys == ["2024-01-04"]
    two_days = TimeWindowPartitionMapping(start_offset=-1)
    assert up(two_days, ["2024-01-05"], DAILY, DAILY).keys == ["2024-01-04", "2024-01-05"]
    # Offsets count downstream windows: a day and the day before, in hours: 48.
    assert len(up(two_days, ["2024-01-05"], DAILY, HOURLY).keys) == 48
    downstream = two_days.downstream_partition_keys(["2024-01-04"], DAILY, DAILY, NOW)
    assert downstream == ["2024-01-04", "2024-01-05"]


def test_nonexistent_upstream_partitions_are_reported_or_dropped():
    previous = TimeWindowPartitionMapping(start_offset=-1, end_offset=-1)
    first = up(previous, ["2024-01-01"], DAILY, DAILY)
    assert first.keys == [] and first.nonexistent == ["2023-12-31"]
    allowed = TimeWindowPartitionMapping(
        start_offset=-1, end_offset=-1, allow_nonexistent_upstream_partitions=True
    )
    assert up(allowed, ["2024-01-01"], DAILY, DAILY) == ([], [])
    ahead = up(
        TimeWindowPartitionMapping(start_offset=1, end_offset=1), ["2024-02-29"], DAILY, DAILY
    )
    assert ahead.nonexistent == ["2024-03-01"]  # not complete at NOW


def test_identity_all_last_and_specific_mappings():
    other = StaticPartitionsDefinition(["eu", "us"])
    identity = up(IdentityPartitionMapping(), ["eu", "apac"], REGIONS, other)
    assert identity == (["eu"], ["apac"])
    assert up(AllPartitionMapping(), ["eu"], REGIONS, other).keys == ["eu", "us"]
    assert up(LastPartitionMapping(), ["eu"], REGIONS, DAILY).keys == ["2024-02-29"]
    assert up(LastPartitionMapping(), None, None, DAILY).keys == ["2024-02-29"]
    specific = SpecificPartitionsPartitionMapping(["us"])
    assert up(specific, ["eu", "apac"], REGIONS, other).keys == ["us"]
    assert specific.downstream_partition_keys(["us"], other, REGIONS, NOW) == ["eu", "us", "apac"]
    assert specific.downstream_partition_keys(["eu"], other, REGIONS, NOW) == []
    assert LastPartitionMapping().downstream_partition_keys(
        ["2024-02-29"], DAILY, REGIONS, NOW
    ) == ["eu", "us", "apac"]


def test_static_mapping_maps_by_its_table_both_ways():
    countries = StaticPartitionsDefinition(["fr", "de", "us"])
    mapping = StaticPartitionMapping({"fr": "eu", "de": "eu", "us": ["us", "apac"]})
    assert up(mapping, ["eu"], REGIONS, countries).keys == ["fr", "de"]
    assert up(mapping, ["apac"], REGIONS, countries).keys == ["us"]
    assert mapping.downstream_partition_keys(["us"], countries, REGIONS, NOW) == ["us", "apac"]
    assert mapping.cannot_map(countries, REGIONS) is None
    assert "upstream keys ['xx']" in StaticPartitionMapping({"xx": "eu"}).cannot_map(
        countries, REGIONS
    )
    assert "downstream keys ['mars']" in StaticPartitionMapping({"fr": "mars"}).cannot_map(
        countries, REGIONS
    )
    assert "two StaticPartitionsDefinitions" in mapping.cannot_map(DAILY, REGIONS)


def test_multi_to_single_dimension_both_ways():
    mapping = MultiToSingleDimensionPartitionMapping()
    keys = up(mapping, ["2024-01-02"], DAILY, MULTI).keys
    assert keys == ["2024-01-02|eu", "2024-01-02|us", "2024-01-02|apac"]
    assert all(isinstance(k, MultiPartitionKey) for k in keys)
    key = MultiPartitionKey({"region": "eu", "date": "2024-01-02"})
    assert up(mapping, [key], MULTI, DAILY).keys == ["2024-01-02"]
    assert mapping.downstream_partition_keys(["2024-01-02"], DAILY, MULTI, NOW) == keys
    named = MultiToSingleDimensionPartitionMapping(partition_dimension_name="region")
    assert up(named, ["eu"], REGIONS, MULTI).keys[:2] == ["2024-01-01|eu", "2024-01-02|eu"]
    assert "no dimension" in mapping.cannot_map(MULTI, MONTHLY)
    assert "'planet', which is not one of" in MultiToSingleDimensionPartitionMapping(
        "planet"
    ).cannot_map(MULTI, DAILY)


def test_multi_partition_mapping_maps_dimension_by_dimension():
    monthly_multi = MultiPartitionsDefinition({"month": MONTHLY, "region": REGIONS})
    mapping = MultiPartitionMapping(
        {
            "date": DimensionPartitionMapping("month", TimeWindowPartitionMapping()),
            "region": DimensionPartitionMapping("region", IdentityPartitionMapping()),
        }
    )
    keys = up(mapping, ["2024-02-01|eu"], monthly_multi, MULTI).keys
    assert len(keys) == 29 and keys[0] == "2024-02-01|eu" and keys[-1] == "2024-02-29|eu"
    # an upstream dimension left out of the mapping is read whole
    dates_only = MultiPartitionMapping(
        {"date": DimensionPartitionMapping("month", TimeWindowPartitionMapping())}
    )
    assert len(up(dates_only, ["2024-02-01|eu"], monthly_multi, MULTI).keys) == 29 * 3
    down = mapping.downstream_partition_keys(["2024-02-03|us"], MULTI, monthly_multi, NOW)
    assert down == ["2024-02-01|us"]
    assert "dimension 'cities'" in MultiPartitionMapping(
        {"cities": DimensionPartitionMapping("region", IdentityPartitionMapping())}
    ).cannot_map(MULTI, monthly_multi)
    assert "two MultiPartitionsDefinitions" in mapping.cannot_map(DAILY, monthly_multi)


def test_the_default_mapping_of_two_definitions():
    assert default_partition_mapping(DAILY, MONTHLY) == TimeWindowPartitionMapping()
    assert default_partition_mapping(REGIONS, REGIONS) == IdentityPartitionMapping()
    assert default_partition_mapping(DAILY, None) == AllPartitionMapping()
    assert default_partition_mapping(MULTI, DAILY) == MultiToSingleDimensionPartitionMapping()
    assert default_partition_mapping(MULTI, MONTHLY) == IdentityPartitionMapping()


def test_bad_mapping_arguments_are_refused():
    with pytest.raises(InvalidDefinitionError, match="start_offset must be an int"):
        TimeWindowPartitionMapping(start_offset="-1")
    with pytest.raises(InvalidDefinitionError, match="list of partition keys"):
        SpecificPartitionsPartitionMapping("eu")
    with pytest.raises(InvalidDefinitionError, match="DimensionPartitionMapping"):
        MultiPartitionMapping({"date": TimeWindowPartitionMapping()})


def test_multi_partitions_definition_keys_and_bad_input():
    keys = MULTI.get_partition_keys(NOW)
    assert len(keys) == MULTI.get_num_partitions(NOW) == 60 * 3
    # dimensions in name order (date, then region); each dimension's keys in its order
    assert keys[:4] == ["2024-01-01|eu", "2024-01-01|us", "2024-01-01|apac", "2024-01-02|eu"]
    assert keys[0].keys_by_dimension == {"date": "2024-01-01", "region": "eu"}
    assert MULTI.has_partition_key("2024-01-05|eu", NOW)
    assert not MULTI.has_partition_key("2024-01-05|mars", NOW)
    with pytest.raises(UnknownPartitionError, match="'mars' is not a key of dimension 'region'"):
        MULTI.validate_partition_key("2024-01-05|mars", NOW)
    with pytest.raises(UnknownPartitionError, match="one part per dimension"):
        MULTI.validate_partition_key("2024-01-05", NOW)
    with pytest.raises(InvalidDefinitionError, match="exactly two dimensions"):
        MultiPartitionsDefinition({"date": DAILY})
    with pytest.raises(InvalidDefinitionError, match="at most one dimension may be time"):
        MultiPartitionsDefinition({"a": DAILY, "b": MONTHLY})
    with pytest.raises(InvalidDefinitionError, match=r"without '\|'"):
        MultiPartitionKey({"date": "a|b", "region": "eu"})
    assert MultiPartitionsDefinition({"region": REGIONS, "date": DAILY}) == MULTI
