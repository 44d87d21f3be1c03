"""``automation_condition=`` on assets, multi-assets and specs, and the automation sensors
a code location has (its own and the default one)."""

from __future__ import annotations

import pytest

from trellis import (
    AssetOut,
    AssetSelection,
    AssetSpec,
    AutomationCondition,
    AutomationConditionSensorDefinition,
    DefaultSensorStatus,
    Definitions,
    asset,
    build_sensor_context,
    map_asset_specs,
    multi_asset,
)
from trellis.automation.loop import AutomationLoop
from trellis.automation.sensors import automation_condition_sensors, sensor_targets
from trellis.core.errors import InvalidDefinitionError, InvariantViolationError

AC = AutomationCondition


@asset(automation_condition=AC.eager(), group_name="team_a")
def eager_one(): ...


@asset(automation_condition=AC.on_cron("@daily"), group_name="team_b")
def daily_one(): ...


@asset
def plain(): ...


def test_asset_and_spec_keep_their_condition():
    assert eager_one.automation_condition == AC.eager()
    assert plain.automation_condition is None
    spec = AssetSpec("s", automation_condition=AC.missing())
    assert spec.automation_condition == AC.missing()
    assert spec.replace_attributes(group_name="g").automation_condition == AC.missing()


def test_multi_asset_conditions_per_spec_and_per_out():
    @multi_asset(specs=[AssetSpec("x", automation_condition=AC.eager()), AssetSpec("y")])
    def by_spec(): ...

    @multi_asset(outs={"p": AssetOut(automation_condition=AC.on_missing()), "q": AssetOut()})
    def by_out(): ...

    assert {k.to_user_string(): c for k, c in by_spec.automation_conditions_by_key.items()} == {
        "x": AC.eager(),
        "y": None,
    }
    assert by_out.automation_conditions_by_key[by_out.keys[0]] == AC.on_missing()


def test_map_asset_specs_sets_conditions():
    mapped = map_asset_specs(
        lambda spec: spec.replace_attributes(automation_condition=AC.eager()), [plain]
    )
    assert mapped[0].automation_condition == AC.eager()


def test_something_else_as_a_condition_is_a_definition_error():
    with pytest.raises(InvalidDefinitionError, match="must be an AutomationCondition"):

        @asset(automation_condition="eager")
        def wrong(): ...

    with pytest.raises(InvalidDefinitionError, match="AssetSpec\\('s'\\): automation_condition"):
        AssetSpec("s", automation_condition=True)


def test_a_code_location_with_conditions_gets_the_default_sensor_for_them():
    defs = Definitions(assets=[eager_one, daily_one, plain])
    sensors = automation_condition_sensors(defs)
    assert [s.name for s in sensors] == ["default_automation_condition_sensor"]
    default = sensors[0]
    assert default.default_status is DefaultSensorStatus.STOPPED
    assert default.minimum_interval_seconds == 30
    targets = sensor_targets(default, defs.asset_graph)
    assert sorted(k.to_user_string() for k in targets) == ["daily_one", "eager_one"]
    assert automation_condition_sensors(Definitions(assets=[plain])) == []


def test_own_sensors_take_their_assets_and_the_default_one_the_rest():
    team_a = AutomationConditionSensorDefinition(
        "team_a_sensor",
        target=AssetSelection.groups("team_a"),
        run_tags={"team": "a"},
        default_status=DefaultSensorStatus.RUNNING,
        minimum_interval_seconds=10,
    )
    defs = Definitions(assets=[eager_one, daily_one, plain], sensors=[team_a])
    sensors = AutomationLoop.sensors(defs)
    assert [s.name for s in sensors] == ["team_a_sensor", "default_automation_condition_sensor"]
    assert [k.to_user_string() for k in sensor_targets(sensors[1], defs.asset_graph)] == [
        "daily_one"
    ]
    assert team_a.run_tags == {"team": "a"}
    assert team_a.minimum_interval_seconds == 10
    covering = AutomationConditionSensorDefinition("all", target=AssetSelection.all())
    assert [
        s.name
        for s in automation_condition_sensors(Definitions(assets=[eager_one], sensors=[covering]))
    ] == ["all"]


def test_two_sensors_on_one_asset_are_refused():
    first = AutomationConditionSensorDefinition("first", target=AssetSelection.all())
    second = AutomationConditionSensorDefinition("second", target=[eager_one])
    defs = Definitions(assets=[eager_one], sensors=[first, second])
    with pytest.raises(
        InvalidDefinitionError, match=r"'eager_one' is targeted by two .* 'first' and 'second'"
    ):
        automation_condition_sensors(defs)


def test_default_condition_covers_the_targeted_assets_without_one():
    sensor = AutomationConditionSensorDefinition(
        "s", target=AssetSelection.all(), default_condition=AC.on_missing()
    )
    defs = Definitions(assets=[eager_one, plain], sensors=[sensor])
    targets = sensor_targets(sensor, defs.asset_graph)
    assert {k.to_user_string(): c for k, c in targets.items()} == {
        "eager_one": AC.eager(),
        "plain": AC.on_missing(),
    }
    with pytest.raises(InvalidDefinitionError, match="default_condition must be"):
        AutomationConditionSensorDefinition("s", target="*", default_condition="x")


def test_the_sensor_is_not_called_like_a_user_sensor():
    sensor = AutomationConditionSensorDefinition("s", target=AssetSelection.all())
    with pytest.raises(InvariantViolationError, match="automation loop evaluates it"):
        sensor(build_sensor_context())
    with pytest.raises(InvariantViolationError, match="evaluate_automation_conditions"):
        sensor.evaluate_tick(build_sensor_context())


def test_a_malformed_target_string_is_refused_where_it_is_written():
    with pytest.raises(InvalidDefinitionError, match="sensor 'bad': Invalid selection"):
        AutomationConditionSensorDefinition("bad", target="group:a and (")
