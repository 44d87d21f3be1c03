"""``AutomationLoop``, the daemon's seam: a tick per call, with an injectable clock, the
cursor carried by the caller, runs requested and (here) executed as the daemon would."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from trellis import (
    AssetSelection,
    AutomationCondition,
    AutomationConditionSensorDefinition,
    Definitions,
    StaticPartitionsDefinition,
    asset,
    instance_for_test,
    materialize,
)
from trellis.automation.cursor import AutomationCursor
from trellis.automation.loop import AutomationLoop, read_clock
from trellis.core.errors import InvalidDefinitionError, InvalidInvocationError

AC = AutomationCondition


@pytest.fixture
def instance():
    with instance_for_test() as made:
        yield made


def _launch(instance, defs, tick):
    """What the daemon does with a tick's run requests: run each through the implicit
    asset job (in this process, here)."""
    job = defs.get_implicit_global_asset_job_def()
    for request in tick.run_requests:
        result = job.execute_in_process(
            asset_selection=request.asset_selection,
            partition_key=request.partition_key,
            tags=request.tags,
            instance=instance,
        )
        assert result.success


@asset
def source(): ...


@asset(deps=[source], automation_condition=AC.on_cron("0 * * * *"))
def hourly(): ...


def test_a_day_of_hourly_ticks_requests_one_run_per_hour(instance):
    """A day evaluated every ten minutes with an injected clock: the source is updated
    every hour just before the :25 evaluation, which requests the hourly asset, once per
    hour (the first evaluation, at 23:55, only starts the history)."""
    defs = Definitions(assets=[source, hourly])
    loop = AutomationLoop()
    now = datetime(2024, 3, 31, 23, 55, tzinfo=UTC)
    cursor = None
    launched = []
    for step in range(24 * 6 + 1):
        if now.minute == 25:
            materialize([source], instance=instance)
        tick = loop.run_once(instance, defs, lambda now=now: now, cursor)
        _launch(instance, defs, tick)
        launched.extend((now, r) for r in tick.run_requests)
        cursor = tick.cursor
        now += timedelta(minutes=10)
        del step
    assert len(launched) == 24
    assert {when.minute for when, _ in launched} == {25}  # the evaluation after the update
    hours = [when.hour for when, _ in launched]
    assert hours == list(range(24))


def test_the_clock_may_be_a_function_an_object_a_datetime_or_a_timestamp():
    when = datetime(2024, 1, 1, tzinfo=UTC)

    class Clock:
        def now(self):
            return when

    for clock in (lambda: when, Clock(), when, when.timestamp()):
        assert read_clock(clock) == when
    assert read_clock(datetime(2024, 1, 1)) == when  # naive: UTC
    assert abs(read_clock(None).timestamp() - datetime.now(UTC).timestamp()) < 60


LETTERS = StaticPartitionsDefinition(["a", "b"])


@asset(group_name="g1", automation_condition=AC.on_missing())
def first(): ...


@asset(group_name="g2", automation_condition=AC.on_missing())
def second(): ...


def test_each_sensor_has_its_own_cursor_and_targets(instance):
    sensors = [
        AutomationConditionSensorDefinition("s1", target=AssetSelection.groups("g1")),
        AutomationConditionSensorDefinition("s2", target=AssetSelection.groups("g2")),
    ]
    defs = Definitions(assets=[first, second], sensors=sensors)
    loop = AutomationLoop()
    with pytest.raises(InvalidInvocationError, match=r"Name the automation sensor .* s1, s2"):
        loop.run_once(instance, defs, None, None)
    one = loop.run_once(instance, defs, None, None, sensor="s1")
    two = loop.run_once(instance, defs, None, None, sensor=sensors[1])
    assert one.sensor_name == "s1" and two.sensor_name == "s2"
    assert {k.to_user_string() for k in AutomationCursor.from_json(one.cursor).assets} == {"first"}
    assert {k.to_user_string() for k in AutomationCursor.from_json(two.cursor).assets} == {"second"}
    with pytest.raises(InvalidDefinitionError, match="No automation condition sensor named 'x'"):
        loop.run_once(instance, defs, None, None, sensor="x")


def test_the_default_sensor_is_the_one_evaluated_when_none_is_named(instance):
    defs = Definitions(
        assets=[first, second],
        sensors=[AutomationConditionSensorDefinition("s1", target=AssetSelection.groups("g1"))],
    )
    tick = AutomationLoop().run_once(instance, defs, None, None)
    assert tick.sensor_name == "default_automation_condition_sensor"
    assert tick.skip_reason == "No asset's automation condition is true."


def test_a_sensors_default_condition_applies_to_assets_without_one(instance):
    @asset
    def bare(): ...

    sensor = AutomationConditionSensorDefinition(
        "s", target=AssetSelection.all(), default_condition=AC.missing()
    )
    defs = Definitions(assets=[bare], sensors=[sensor])
    tick = AutomationLoop().run_once(instance, defs, None, None)
    assert [r.asset_selection for r in tick.run_requests] == [[bare.key]]


def test_records_can_be_kept_out_of_the_instance(instance):
    defs = Definitions(assets=[first])
    tick = AutomationLoop(record_evaluations=False).run_once(instance, defs, None, None)
    assert len(tick.evaluations) == 1
    assert instance.get_automation_evaluations("first") == []


def test_executed_runs_are_not_requested_again(instance):
    @asset(partitions_def=LETTERS)
    def raw(): ...

    @asset(deps=[raw], partitions_def=LETTERS, automation_condition=AC.eager())
    def clean(): ...

    defs = Definitions(assets=[raw, clean])
    loop = AutomationLoop()
    tick = loop.run_once(instance, defs, None, None)
    materialize([raw], instance=instance, partition_key="a")
    materialize([raw], instance=instance, partition_key="b")
    tick = loop.run_once(instance, defs, None, tick.cursor)
    assert sorted(r.partition_key for r in tick.run_requests) == ["a", "b"]
    _launch(instance, defs, tick)
    for _ in range(3):
        tick = loop.run_once(instance, defs, None, tick.cursor)
        assert tick.run_requests == []
