"""Partitions definitions: static keys, time windows, ranges, offsets, timezones, errors."""

import pickle
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from trellis.core.errors import InvalidDefinitionError, InvariantViolationError
from trellis.defs.cron import check_cron_schedule
from trellis.defs.partitions import (
    PartitionKeyRange,
    PartitionsDefinition,
    StaticPartitionsDefinition,
)
from trellis.defs.time_partitions import (
    DailyPartitionsDefinition,
    HourlyPartitionsDefinition,
    MonthlyPartitionsDefinition,
    TimeWindow,
    TimeWindowPartitionsDefinition,
    WeeklyPartitionsDefinition,
)

NOW = datetime(2024, 5, 1, 12, 30, tzinfo=UTC)


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


# -- static --------------------------------------------------------------------------------


def test_static_keys_in_order():
    p = StaticPartitionsDefinition(["us", "eu", "apac"])
    assert isinstance(p, PartitionsDefinition)
    assert p.get_partition_keys() == ["us", "eu", "apac"]
    assert p.get_num_partitions() == 3
    assert p.has_partition_key("eu") and not p.has_partition_key("EU")
    assert p.get_first_partition_key() == "us"
    assert p.get_last_partition_key() == "apac"


def test_static_keys_returned_list_is_a_copy():
    p = StaticPartitionsDefinition(["a", "b"])
    p.get_partition_keys().append("c")
    assert p.get_partition_keys() == ["a", "b"]


def test_static_empty_has_no_first_or_last():
    p = StaticPartitionsDefinition([])
    assert p.get_first_partition_key() is None
    assert p.get_last_partition_key() is None
    with pytest.raises(InvariantViolationError, match="no partitions"):
        p.validate_partition_key("a")


def test_static_range():
    p = StaticPartitionsDefinition(["a", "b", "c", "d"])
    assert p.get_partition_keys_in_range(PartitionKeyRange("b", "d")) == ["b", "c", "d"]
    assert p.get_partition_keys_in_range(PartitionKeyRange("c", "c")) == ["c"]
    with pytest.raises(InvariantViolationError, match="'d' comes after its end 'b'"):
        p.get_partition_keys_in_range(PartitionKeyRange("d", "b"))
    with pytest.raises(InvariantViolationError, match="'x'"):
        p.get_partition_keys_in_range(PartitionKeyRange("a", "x"))


def test_static_rejects_duplicates_naming_the_key():
    with pytest.raises(InvalidDefinitionError, match="Duplicate partition key 'b'"):
        StaticPartitionsDefinition(["a", "b", "b"])


@pytest.mark.parametrize("bad", ["a...b", "line\nbreak", "tab\there", "nul\0", "bell\x07"])
def test_static_rejects_bad_characters_naming_the_key(bad):
    with pytest.raises(InvalidDefinitionError) as err:
        StaticPartitionsDefinition(["ok", bad])
    assert repr(bad) in str(err.value)


def test_static_rejects_non_strings_and_a_bare_string():
    with pytest.raises(InvalidDefinitionError, match="not a string"):
        StaticPartitionsDefinition(["a", 1])  # type: ignore[list-item]
    with pytest.raises(InvalidDefinitionError, match=r"\['abc'\]"):
        StaticPartitionsDefinition("abc")


def test_validate_partition_key_names_key_examples_and_suggestion():
    p = StaticPartitionsDefinition(["us-east", "us-west", "eu-central", "ap-south", "sa-east"])
    p.validate_partition_key("us-east")
    with pytest.raises(InvariantViolationError) as err:
        p.validate_partition_key("us-eats")
    msg = str(err.value)
    assert "'us-eats'" in msg
    assert "Did you mean 'us-east'?" in msg
    assert "'us-east', 'us-west', 'eu-central', ..., 'sa-east'" in msg
    assert "(5)" in msg


def test_validate_without_close_match_has_no_suggestion():
    p = StaticPartitionsDefinition(["alpha", "beta"])
    with pytest.raises(InvariantViolationError) as err:
        p.validate_partition_key("zzzzzz")
    assert "Did you mean" not in str(err.value)


def test_validate_non_string_key():
    with pytest.raises(InvariantViolationError, match="not a string"):
        StaticPartitionsDefinition(["1"]).validate_partition_key(1)  # type: ignore[arg-type]


def test_static_equality_and_hash():
    a = StaticPartitionsDefinition(["a", "b"])
    b = StaticPartitionsDefinition(("a", "b"))
    assert a == b and hash(a) == hash(b)
    assert a != StaticPartitionsDefinition(["b", "a"])
    assert len({a, b}) == 1


def test_partition_key_range_is_a_named_tuple():
    r = PartitionKeyRange("a", "c")
    assert r.start == "a" and r.end == "c"
    assert tuple(r) == ("a", "c")
    assert PartitionKeyRange(start="a", end="c") == r


# -- daily ---------------------------------------------------------------------------------


def test_daily_last_key_is_last_completed_day():
    p = DailyPartitionsDefinition(start_date="2024-04-28")
    assert p.get_partition_keys(NOW) == ["2024-04-28", "2024-04-29", "2024-04-30"]
    assert p.get_num_partitions(NOW) == 3
    assert p.get_first_partition_key(NOW) == "2024-04-28"
    assert p.get_last_partition_key(NOW) == "2024-04-30"
    assert not p.has_partition_key("2024-05-01", NOW)
    assert p.has_partition_key("2024-05-01", utc(2024, 5, 2))


def test_daily_exactly_at_midnight_includes_the_day_that_just_ended():
    p = DailyPartitionsDefinition(start_date="2024-04-28")
    assert p.get_last_partition_key(utc(2024, 5, 1)) == "2024-04-30"
    assert p.get_last_partition_key(utc(2024, 5, 1) - timedelta(microseconds=1)) == "2024-04-29"


def test_daily_end_offset():
    p1 = DailyPartitionsDefinition(start_date="2024-04-28", end_offset=1)
    assert p1.get_last_partition_key(NOW) == "2024-05-01"  # the day in progress
    p2 = DailyPartitionsDefinition(start_date="2024-04-28", end_offset=2)
    assert p2.get_last_partition_key(NOW) == "2024-05-02"
    pn = DailyPartitionsDefinition(start_date="2024-04-28", end_offset=-1)
    assert pn.get_partition_keys(NOW) == ["2024-04-28", "2024-04-29"]


def test_daily_end_is_exclusive_and_caps_end_offset():
    p = DailyPartitionsDefinition(start_date="2024-01-01", end_date="2024-01-04")
    assert p.get_partition_keys(NOW) == ["2024-01-01", "2024-01-02", "2024-01-03"]
    p = DailyPartitionsDefinition(start_date="2024-01-01", end_date="2024-01-04", end_offset=3)
    assert p.get_last_partition_key(NOW) == "2024-01-03"
    # An end in the future does not add days that have not completed.
    p = DailyPartitionsDefinition(start_date="2024-04-29", end_date="2024-06-01")
    assert p.get_partition_keys(NOW) == ["2024-04-29", "2024-04-30"]


def test_daily_start_in_the_future_has_no_partitions():
    p = DailyPartitionsDefinition(start_date="2030-01-01")
    assert p.get_partition_keys(NOW) == []
    assert p.get_num_partitions(NOW) == 0
    assert p.get_first_partition_key(NOW) is None
    assert p.get_last_partition_key(NOW) is None
    assert p.get_last_partition_window(NOW) is None


def test_daily_start_accepts_datetime_date_iso_and_fmt():
    expected = ["2024-04-29", "2024-04-30"]
    for start in ("2024-04-29", datetime(2024, 4, 29), date(2024, 4, 29), utc(2024, 4, 29)):
        assert DailyPartitionsDefinition(start).get_partition_keys(NOW) == expected
    custom = DailyPartitionsDefinition("29/04/2024", fmt="%d/%m/%Y")
    assert custom.get_partition_keys(NOW) == ["29/04/2024", "30/04/2024"]
    # ISO 8601 is accepted even when it is not the key format.
    hourly = HourlyPartitionsDefinition("2024-05-01")
    assert hourly.get_first_partition_key(NOW) == "2024-05-01-00:00"


def test_daily_start_mid_day_starts_at_next_boundary():
    p = DailyPartitionsDefinition(start_date=utc(2024, 4, 28, 15))
    assert p.get_first_partition_key(NOW) == "2024-04-29"


def test_daily_offsets():
    p = DailyPartitionsDefinition(start_date="2024-04-29", hour_offset=6, minute_offset=30)
    assert p.get_partition_keys(NOW) == ["2024-04-29", "2024-04-30"]
    window = p.time_window_for_partition_key("2024-04-30")
    assert window == TimeWindow(utc(2024, 4, 30, 6, 30), utc(2024, 5, 1, 6, 30))
    assert p.get_last_partition_key(utc(2024, 5, 1, 6, 29)) == "2024-04-29"


def test_daily_time_window():
    p = DailyPartitionsDefinition(start_date="2024-01-01")
    window = p.time_window_for_partition_key("2024-02-29")
    assert window.start == utc(2024, 2, 29) and window.end == utc(2024, 3, 1)
    assert window.start.tzinfo is not None
    first, last = p.get_first_partition_window(NOW), p.get_last_partition_window(NOW)
    assert first == TimeWindow(utc(2024, 1, 1), utc(2024, 1, 2))
    assert last == TimeWindow(utc(2024, 4, 30), utc(2024, 5, 1))


def test_time_window_for_bad_key_raises():
    p = DailyPartitionsDefinition(start_date="2024-01-01")
    with pytest.raises(InvariantViolationError, match=r"'2024-1-x'.*format '%Y-%m-%d'"):
        p.time_window_for_partition_key("2024-1-x")


def test_daily_range():
    p = DailyPartitionsDefinition(start_date="2024-01-01")
    keys = p.get_partition_keys_in_range(PartitionKeyRange("2024-02-27", "2024-03-02"), NOW)
    assert keys == ["2024-02-27", "2024-02-28", "2024-02-29", "2024-03-01", "2024-03-02"]
    with pytest.raises(InvariantViolationError, match="comes after"):
        p.get_partition_keys_in_range(PartitionKeyRange("2024-03-02", "2024-02-27"), NOW)
    with pytest.raises(InvariantViolationError, match="after the last partition"):
        p.get_partition_keys_in_range(PartitionKeyRange("2024-04-01", "2024-06-01"), NOW)


def test_daily_validate_explains_why():
    p = DailyPartitionsDefinition(start_date="2024-01-01")
    with pytest.raises(InvariantViolationError) as err:
        p.validate_partition_key("2024-13-01", NOW)
    msg = str(err.value)
    assert "'2024-13-01'" in msg and "format '%Y-%m-%d'" in msg
    assert "'2024-01-01', '2024-01-02', '2024-01-03', ..., '2024-04-30'" in msg
    with pytest.raises(InvariantViolationError, match="before the first partition '2024-01-01'"):
        p.validate_partition_key("2023-12-31", NOW)
    with pytest.raises(InvariantViolationError, match="after the last partition '2024-04-30'"):
        p.validate_partition_key("2024-05-01", NOW)
    # Not zero-padded: parses, but it is not how keys are written.
    assert not p.has_partition_key("2024-1-5", NOW)


def test_has_partition_key_with_garbage():
    p = DailyPartitionsDefinition(start_date="2024-01-01")
    assert not p.has_partition_key("", NOW)
    assert not p.has_partition_key("nope", NOW)
    assert not p.has_partition_key(None, NOW)  # type: ignore[arg-type]


def test_current_time_defaults_to_now():
    p = DailyPartitionsDefinition(start_date=datetime.now(UTC) - timedelta(days=3))
    assert 2 <= p.get_num_partitions() <= 3
    yesterday = (datetime.now(UTC) - timedelta(days=1)).strftime("%Y-%m-%d")
    assert p.get_last_partition_key() == yesterday


def test_daily_since_2020_lists_every_completed_day():
    p = DailyPartitionsDefinition(start_date="2020-01-01")
    keys = p.get_partition_keys(NOW)
    assert len(keys) == 1582 and keys[0] == "2020-01-01" and keys[-1] == "2024-04-30"
    assert p.get_num_partitions(NOW) == 1582
    assert p.has_partition_key("2022-06-15", NOW)


# -- hourly, weekly, monthly ----------------------------------------------------------------


def test_hourly_default_format_and_minute_offset():
    p = HourlyPartitionsDefinition(start_date="2024-05-01-09:00")
    assert p.get_partition_keys(NOW) == ["2024-05-01-09:00", "2024-05-01-10:00", "2024-05-01-11:00"]
    q = HourlyPartitionsDefinition(start_date="2024-05-01-09:00", minute_offset=15)
    assert q.get_partition_keys(NOW) == ["2024-05-01-09:15", "2024-05-01-10:15", "2024-05-01-11:15"]
    assert q.time_window_for_partition_key("2024-05-01-10:15") == TimeWindow(
        utc(2024, 5, 1, 10, 15), utc(2024, 5, 1, 11, 15)
    )


def test_hourly_range_and_count():
    p = HourlyPartitionsDefinition(start_date="2024-01-01-00:00")
    assert p.get_num_partitions(NOW) == 121 * 24 + 12
    keys = p.get_partition_keys_in_range(
        PartitionKeyRange("2024-03-01-22:00", "2024-03-02-01:00"), NOW
    )
    assert keys == ["2024-03-01-22:00", "2024-03-01-23:00", "2024-03-02-00:00", "2024-03-02-01:00"]


def test_weekly_starts_on_sunday_by_default():
    p = WeeklyPartitionsDefinition(start_date="2024-04-01")  # a Monday
    assert p.get_partition_keys(NOW) == ["2024-04-07", "2024-04-14", "2024-04-21"]
    window = p.time_window_for_partition_key("2024-04-14")
    assert window == TimeWindow(utc(2024, 4, 14), utc(2024, 4, 21))


def test_weekly_day_offset():
    p = WeeklyPartitionsDefinition(start_date="2024-04-01", day_offset=1)  # Mondays
    assert p.get_partition_keys(NOW) == ["2024-04-01", "2024-04-08", "2024-04-15", "2024-04-22"]
    assert not p.has_partition_key("2024-04-02", NOW)


def test_monthly_defaults_and_day_offset():
    p = MonthlyPartitionsDefinition(start_date="2023-11-15")
    assert p.get_partition_keys(NOW) == [
        "2023-12-01",
        "2024-01-01",
        "2024-02-01",
        "2024-03-01",
        "2024-04-01",
    ]
    assert p.time_window_for_partition_key("2024-02-01") == TimeWindow(
        utc(2024, 2, 1), utc(2024, 3, 1)
    )
    q = MonthlyPartitionsDefinition(start_date="2024-01-01", day_offset=15)
    assert q.get_partition_keys(NOW) == ["2024-01-15", "2024-02-15", "2024-03-15"]


def test_monthly_day_offset_past_28_uses_the_cron_semantics():
    p = MonthlyPartitionsDefinition(start_date="2024-01-01", day_offset=31)
    # Months without a 31st have no tick: windows run from one 31st to the next.
    assert p.get_partition_keys(NOW) == ["2024-01-31"]
    assert p.time_window_for_partition_key("2024-01-31") == TimeWindow(
        utc(2024, 1, 31), utc(2024, 3, 31)
    )
    assert p.get_partition_keys(utc(2024, 6, 1)) == ["2024-01-31", "2024-03-31"]


@pytest.mark.parametrize(
    "make, match",
    [
        (lambda: DailyPartitionsDefinition("2024-01-01", hour_offset=24), "hour_offset"),
        (lambda: DailyPartitionsDefinition("2024-01-01", minute_offset=-1), "minute_offset"),
        (lambda: WeeklyPartitionsDefinition("2024-01-01", day_offset=7), "day_offset"),
        (lambda: MonthlyPartitionsDefinition("2024-01-01", day_offset=0), "day_offset"),
        (lambda: DailyPartitionsDefinition("2024-01-01", end_offset=1.5), "end_offset"),
        (lambda: DailyPartitionsDefinition("01/01/2024"), "'01/01/2024'.*'%Y-%m-%d'"),
        (lambda: DailyPartitionsDefinition("2024-01-01", end_date="2023-01-01"), "not after"),
        (lambda: DailyPartitionsDefinition("2024-01-01", timezone="Mars/Olympus"), "Mars"),
        (lambda: DailyPartitionsDefinition(20240101), "datetime or a string"),
    ],
)
def test_bad_definitions(make, match):
    with pytest.raises(InvalidDefinitionError, match=match):
        make()


# -- generic cron ---------------------------------------------------------------------------


def test_generic_cron_every_six_hours():
    p = TimeWindowPartitionsDefinition(
        start="2024-04-30", fmt="%Y-%m-%d %H:%M", cron_schedule="0 */6 * * *"
    )
    assert p.get_partition_keys(NOW) == [
        "2024-04-30 00:00",
        "2024-04-30 06:00",
        "2024-04-30 12:00",
        "2024-04-30 18:00",
        "2024-05-01 00:00",
        "2024-05-01 06:00",
    ]
    assert p.time_window_for_partition_key("2024-04-30 18:00") == TimeWindow(
        utc(2024, 4, 30, 18), utc(2024, 5, 1)
    )
    assert not p.has_partition_key("2024-04-30 03:00", NOW)
    with pytest.raises(InvariantViolationError, match="not the start of a window"):
        p.validate_partition_key("2024-04-30 03:00", NOW)
    assert p.get_num_partitions(NOW) == 6
    keys = p.get_partition_keys_in_range(
        PartitionKeyRange("2024-04-30 06:00", "2024-04-30 18:00"), NOW
    )
    assert keys == ["2024-04-30 06:00", "2024-04-30 12:00", "2024-04-30 18:00"]


def test_generic_cron_keys_before_the_start_are_rejected():
    p = TimeWindowPartitionsDefinition(
        start="2024-01-01", fmt="%Y-%m-%d %H:%M", cron_schedule="*/10 * * * *"
    )
    assert not p.has_partition_key("1900-01-01 00:00", NOW)
    with pytest.raises(InvariantViolationError, match="before the first partition"):
        p.time_window_for_partition_key("2023-12-31 23:50")


def test_generic_cron_start_in_the_future_with_end_offset():
    p = TimeWindowPartitionsDefinition(
        start="2024-05-01 12:35", fmt="%Y-%m-%d %H:%M", cron_schedule="*/10 * * * *", end_offset=3
    )
    # The last window completed at 12:30 is 12:20; shifted by three it is 12:50.
    assert p.get_partition_keys(NOW) == ["2024-05-01 12:40", "2024-05-01 12:50"]
    assert p.has_partition_key("2024-05-01 12:50", NOW)


def test_generic_cron_weekdays_only():
    p = TimeWindowPartitionsDefinition(
        start="2024-04-25", fmt="%Y-%m-%d", cron_schedule="0 0 * * 1-5", end_offset=1
    )
    # Thu, Fri, then Mon (the weekend belongs to Friday's window), Tue; Wed is in progress.
    assert p.get_partition_keys(NOW) == [
        "2024-04-25",
        "2024-04-26",
        "2024-04-29",
        "2024-04-30",
        "2024-05-01",
    ]
    window = p.time_window_for_partition_key("2024-04-26")
    assert window == TimeWindow(utc(2024, 4, 26), utc(2024, 4, 29))


def test_generic_cron_matching_a_fixed_period_equals_the_subclass():
    generic = TimeWindowPartitionsDefinition(
        start="2024-01-01", fmt="%Y-%m-%d", cron_schedule="0 0 * * *"
    )
    daily = DailyPartitionsDefinition(start_date="2024-01-01")
    assert generic == daily and hash(generic) == hash(daily)
    assert generic.get_partition_keys(NOW) == daily.get_partition_keys(NOW)
    alias = TimeWindowPartitionsDefinition(
        start="2024-01-01", fmt="%Y-%m-%d", cron_schedule="@daily"
    )
    assert alias == daily


@pytest.mark.parametrize("cron", ["not a cron", "61 * * * *", "0 0 * * * *", "", "* * *"])
def test_bad_cron_names_it(cron):
    with pytest.raises(InvalidDefinitionError, match="Invalid cron schedule"):
        TimeWindowPartitionsDefinition(start="2024-01-01", fmt="%Y", cron_schedule=cron)


def test_check_cron_schedule():
    assert check_cron_schedule("*/5 * * * *", "x") == "*/5 * * * *"
    assert check_cron_schedule("@weekly", "x") == "@weekly"
    with pytest.raises(InvalidDefinitionError, match="for schedule 'nightly'"):
        check_cron_schedule("0 0 0 0 0", "schedule 'nightly'")
    with pytest.raises(InvalidDefinitionError, match="expected a string"):
        check_cron_schedule(None, "x")


# -- timezones --------------------------------------------------------------------------------


def test_daily_in_a_timezone():
    p = DailyPartitionsDefinition(start_date="2024-04-29", timezone="America/New_York")
    assert p.timezone == "America/New_York"
    # 2024-05-01 03:00 UTC is still April 30 in New York.
    assert p.get_partition_keys(utc(2024, 5, 1, 3)) == ["2024-04-29"]
    assert p.get_partition_keys(utc(2024, 5, 1, 5)) == ["2024-04-29", "2024-04-30"]
    window = p.time_window_for_partition_key("2024-04-30")
    tz = ZoneInfo("America/New_York")
    assert window.start == datetime(2024, 4, 30, tzinfo=tz)
    assert window.start.utcoffset() == timedelta(hours=-4)
    assert window.end.astimezone(UTC) == utc(2024, 5, 1, 4)


def test_naive_start_and_current_time_are_read_in_the_timezone():
    p = DailyPartitionsDefinition(start_date=datetime(2024, 4, 29), timezone="Asia/Tokyo")
    assert p.start == datetime(2024, 4, 29, tzinfo=ZoneInfo("Asia/Tokyo"))
    assert p.get_partition_keys(datetime(2024, 5, 1, 0, 30)) == ["2024-04-29", "2024-04-30"]


def test_daily_across_dst_changes_keeps_wall_clock_midnight():
    p = DailyPartitionsDefinition(start_date="2024-03-09", timezone="America/New_York")
    keys = p.get_partition_keys(utc(2024, 3, 12, 12))
    assert keys == ["2024-03-09", "2024-03-10", "2024-03-11"]
    short_day = p.time_window_for_partition_key("2024-03-10")
    assert short_day.end.astimezone(UTC) - short_day.start.astimezone(UTC) == timedelta(hours=23)


def test_hourly_across_dst_changes():
    spring = HourlyPartitionsDefinition(
        start_date="2024-03-10-00:00", end_date="2024-03-10-05:00", timezone="America/New_York"
    )
    # 02:00 does not exist that night.
    assert spring.get_partition_keys(NOW) == [
        "2024-03-10-00:00",
        "2024-03-10-01:00",
        "2024-03-10-03:00",
        "2024-03-10-04:00",
    ]
    autumn = HourlyPartitionsDefinition(
        start_date="2024-11-03-00:00", end_date="2024-11-03-03:00", timezone="America/New_York"
    )
    now = utc(2024, 12, 1)
    keys = autumn.get_partition_keys(now)
    # 01:00 happens twice; the second one carries its UTC offset so keys stay unique.
    assert keys == [
        "2024-11-03-00:00",
        "2024-11-03-01:00",
        "2024-11-03-01:00-0500",
        "2024-11-03-02:00",
    ]
    assert len(set(keys)) == len(keys)
    for key in keys:
        assert autumn.has_partition_key(key, now)
        window = autumn.time_window_for_partition_key(key)
        assert window.end.astimezone(UTC) - window.start.astimezone(UTC) == timedelta(hours=1)
    second = autumn.time_window_for_partition_key("2024-11-03-01:00-0500")
    assert second.start.astimezone(UTC) == utc(2024, 11, 3, 6)


def test_time_window_requires_aware_datetimes():
    with pytest.raises(InvariantViolationError, match="timezone-aware"):
        TimeWindow(datetime(2024, 1, 1), datetime(2024, 1, 2))


# -- equality, attributes, pickling -------------------------------------------------------------


def test_time_window_definitions_equality_and_hash():
    a = DailyPartitionsDefinition(start_date="2024-01-01")
    b = DailyPartitionsDefinition(start_date=datetime(2024, 1, 1))
    assert a == b and hash(a) == hash(b)
    assert a != DailyPartitionsDefinition(start_date="2024-01-02")
    assert a != DailyPartitionsDefinition(start_date="2024-01-01", end_offset=1)
    assert a != DailyPartitionsDefinition(start_date="2024-01-01", timezone="Europe/Paris")
    assert a != DailyPartitionsDefinition(start_date="2024-01-01", end_date="2025-01-01")
    assert a != HourlyPartitionsDefinition(start_date="2024-01-01-00:00")
    assert a != StaticPartitionsDefinition(["2024-01-01"])
    assert {a: 1}[b] == 1


def test_attributes_and_repr():
    p = DailyPartitionsDefinition(
        start_date="2024-01-01", end_date="2024-02-01", hour_offset=3, end_offset=1
    )
    assert p.start == utc(2024, 1, 1)
    assert p.end == utc(2024, 2, 1)
    assert p.fmt == "%Y-%m-%d"
    assert p.cron_schedule == "0 3 * * *"
    assert p.timezone == "UTC"
    assert p.end_offset == 1
    text = repr(p)
    assert text.startswith("DailyPartitionsDefinition(start='2024-01-01'")
    assert "end='2024-02-01'" in text and "end_offset=1" in text


def test_pickle_round_trip():
    for p in (
        DailyPartitionsDefinition(start_date="2024-01-01", timezone="Europe/Paris"),
        TimeWindowPartitionsDefinition(
            start="2024-01-01", fmt="%Y-%m-%d %H", cron_schedule="0 */8 * * *"
        ),
        StaticPartitionsDefinition(["a", "b"]),
    ):
        p.get_partition_keys(NOW)  # fill any cache first
        copy = pickle.loads(pickle.dumps(p))
        assert copy == p
        assert copy.get_partition_keys(NOW) == p.get_partition_keys(NOW)
