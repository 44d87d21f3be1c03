"""The cursor: versioned JSON that round-trips, continues an evaluation exactly as the
object does, stays small for many partitions, and refuses what it cannot read."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from automation_helpers import Scenario

from trellis import AssetKey, AutomationCondition, DailyPartitionsDefinition, asset
from trellis.automation.cursor import CURSOR_VERSION, AssetCursor, AutomationCursor
from trellis.automation.subset import AssetSubset, PartitionSpace, decode_keys, encode_keys
from trellis.core.errors import InvalidInvocationError, InvariantViolationError

AC = AutomationCondition
DAILY = DailyPartitionsDefinition(start_date="2020-01-01")


def test_encode_keys_makes_runs_of_consecutive_keys():
    space = PartitionSpace([f"k{i}" for i in range(10)])
    encoded = space.encode({"k0", "k1", "k2", "k4", "k6", "k7", "gone"})
    assert encoded == [["k0", "k2"], "k4", ["k6", "k7"], "gone"]
    assert space.decode(encoded) == {"k0", "k1", "k2", "k4", "k6", "k7"}
    assert decode_keys(encoded, space.index, space.keys) >= {"gone"}


def test_a_run_whose_end_is_no_longer_a_partition_is_dropped():
    old = PartitionSpace(["a", "b", "c", "d"])
    encoded = old.encode({"a", "b", "c"})
    assert PartitionSpace(["a", "b"]).decode(encoded) == set()
    assert encode_keys(set(), old.index, old.keys) == []


def test_subsets_of_one_asset_combine_and_others_are_refused():
    a = AssetSubset(AssetKey("x"), frozenset({"1", "2"}))
    b = AssetSubset(AssetKey("x"), frozenset({"2", "3"}))
    assert (a | b).partition_keys == {"1", "2", "3"}
    assert (a & b).partition_keys == {"2"}
    assert (a - b).partition_keys == {"1"}
    assert (a - a).is_empty and (a - a).size == 0
    with pytest.raises(InvariantViolationError, match="Cannot combine a subset of x with one of y"):
        a | AssetSubset(AssetKey("y"), frozenset())


def _scenario():
    @asset
    def up(): ...

    @asset(deps=[up], automation_condition=AC.eager())
    def down(): ...

    return Scenario(up, down)


def test_the_cursor_round_trips_through_json():
    s = _scenario()
    s.evaluate()
    s.materialize("up").evaluate()
    text = s.cursor.to_json()
    value = json.loads(text)
    assert value["version"] == CURSOR_VERSION
    assert value["evaluation_id"] == 2
    assert value["storage_ids"] == {'["down"]': 0, '["up"]': 1}
    assert AutomationCursor.from_json(text) == s.cursor
    assert AutomationCursor.from_json(text).to_json() == text


def test_continuing_from_the_json_cursor_is_continuing_from_the_object():
    via_object, via_json = _scenario(), _scenario()
    for s in (via_object, via_json):
        s.evaluate()
        s.materialize("up")
    via_json.cursor = AutomationCursor.from_json(via_json.cursor.to_json())
    assert via_object.evaluate().requested == via_json.evaluate().requested
    assert via_object.requested("down") is True
    for s in (via_object, via_json):
        s.cursor = AutomationCursor.from_json(s.cursor.to_json())
        s.evaluate()
    assert via_object.requested() == via_json.requested() == {}


def test_an_empty_or_missing_cursor_is_a_first_evaluation():
    assert AutomationCursor.from_json(None).is_empty
    assert AutomationCursor.from_json("").is_empty
    assert AutomationCursor().to_dict()["version"] == CURSOR_VERSION


def test_unreadable_cursors_are_refused_with_what_to_do():
    with pytest.raises(InvalidInvocationError, match=r"invalid JSON.*reset the automation sensor"):
        AutomationCursor.from_json("{not json")
    with pytest.raises(InvalidInvocationError, match="no 'version'"):
        AutomationCursor.from_json('{"evaluation_id": 3}')
    future = json.dumps({"version": 99, "evaluation_id": 1})
    with pytest.raises(InvalidInvocationError, match="version 99 is not one this Trellis reads"):
        AutomationCursor.from_json(future)


def test_the_cursor_of_a_thousand_daily_partitions_stays_small():
    @asset(partitions_def=DAILY, automation_condition=AC.on_missing())
    def daily(): ...

    s = Scenario(daily, start=datetime(2023, 1, 1, 6, tzinfo=UTC))
    s.materialize("daily", "2021-06-01").evaluate()
    s.evaluate()
    assert len(DAILY.get_partition_keys(s.now)) > 1000
    text = s.cursor.to_json()
    assert len(text) < 2000, text  # the missing partitions are two runs of keys
    assert AutomationCursor.from_json(text) == s.cursor


def test_asset_cursor_defaults():
    assert AssetCursor.from_dict({}).to_dict() == {"partitioned": False, "requested": False}
