"""Dagster's declarative automation examples (its docs and its tests of
``evaluate_automation_conditions``), ported by changing ``import dagster as dg`` to
``import trellis as dg``; runless materializations became ``dg.materialize`` runs."""

from __future__ import annotations

import datetime

import pytest

import trellis as dg
from trellis.automation.loop import AutomationLoop


@pytest.fixture
def instance():
    with dg.instance_for_test() as made:
        yield made


# -- eager, downstream of a materialized upstream ------------------------------------------
@dg.asset
def upstream(): ...


@dg.asset(deps=[upstream], automation_condition=dg.AutomationCondition.eager())
def downstream(): ...


def test_eager_downstream_of_a_materialized_upstream(instance):
    defs = dg.Definitions(assets=[upstream, downstream])
    result = dg.evaluate_automation_conditions(defs=defs, instance=instance)
    assert result.total_requested == 0

    dg.materialize([upstream], instance=instance)
    result = dg.evaluate_automation_conditions(defs=defs, instance=instance, cursor=result.cursor)
    assert result.total_requested == 1
    assert result.get_num_requested(downstream.key) == 1

    result = dg.evaluate_automation_conditions(defs=defs, instance=instance, cursor=result.cursor)
    assert result.total_requested == 0


# -- on_cron and cron_tick_passed with a fake evaluation time ----------------------------------
def test_cron_tick_passed(instance):
    condition = dg.AutomationCondition.cron_tick_passed(
        cron_schedule="0 * * * *", cron_timezone="UTC"
    )

    @dg.asset(automation_condition=condition)
    def A() -> None: ...

    current_time = datetime.datetime(2020, 2, 2, 0, 55)
    result = dg.evaluate_automation_conditions(
        defs=[A], instance=instance, evaluation_time=current_time
    )
    assert result.total_requested == 0

    current_time = datetime.datetime(2020, 2, 2, 1, 5)
    result = dg.evaluate_automation_conditions(
        defs=[A], instance=instance, cursor=result.cursor, evaluation_time=current_time
    )
    assert result.total_requested == 1


def test_updated_since_cron_update_in_same_eval_as_cron_tick(instance):
    condition = dg.AutomationCondition.newly_updated().since(
        dg.AutomationCondition.cron_tick_passed(cron_schedule="0 * * * *", cron_timezone="UTC")
    )

    @dg.asset(automation_condition=condition)
    def A() -> None: ...

    current_time = datetime.datetime(2020, 2, 2, 0, 55)
    result = dg.evaluate_automation_conditions(
        defs=[A], instance=instance, evaluation_time=current_time
    )
    assert result.total_requested == 0

    # A is updated *and* the cron tick passes before the next evaluation
    dg.materialize([A], instance=instance)
    current_time += datetime.timedelta(minutes=10)
    result = dg.evaluate_automation_conditions(
        defs=[A], instance=instance, cursor=result.cursor, evaluation_time=current_time
    )
    assert result.total_requested == 1  # the update counts as since the tick

    current_time += datetime.timedelta(minutes=1)
    result = dg.evaluate_automation_conditions(
        defs=[A], instance=instance, cursor=result.cursor, evaluation_time=current_time
    )
    assert result.total_requested == 1  # nothing changed

    current_time += datetime.timedelta(hours=1)
    result = dg.evaluate_automation_conditions(
        defs=[A], instance=instance, cursor=result.cursor, evaluation_time=current_time
    )
    assert result.total_requested == 0  # the next tick passed without an update

    dg.materialize([A], instance=instance)
    current_time += datetime.timedelta(minutes=1)
    result = dg.evaluate_automation_conditions(
        defs=[A], instance=instance, cursor=result.cursor, evaluation_time=current_time
    )
    assert result.total_requested == 1


def test_on_cron_waits_for_the_tick_and_the_dependencies(instance):
    @dg.asset
    def hourly_source(): ...

    @dg.asset(
        deps=[hourly_source],
        automation_condition=dg.AutomationCondition.on_cron("0 9 * * *", "America/Los_Angeles"),
    )
    def daily_summary(): ...

    defs = dg.Definitions(assets=[hourly_source, daily_summary])
    # 08:30 in Los Angeles (PST, UTC-8)
    now = datetime.datetime(2024, 1, 10, 16, 30, tzinfo=datetime.UTC)
    result = dg.evaluate_automation_conditions(defs, instance, evaluation_time=now)
    now += datetime.timedelta(hours=1)  # 09:30: the tick passed, the source not updated
    result = dg.evaluate_automation_conditions(
        defs, instance, cursor=result.cursor, evaluation_time=now
    )
    assert result.total_requested == 0
    dg.materialize([hourly_source], instance=instance)
    now += datetime.timedelta(minutes=5)
    result = dg.evaluate_automation_conditions(
        defs, instance, cursor=result.cursor, evaluation_time=now
    )
    assert result.get_num_requested("daily_summary") == 1
    now += datetime.timedelta(minutes=5)
    result = dg.evaluate_automation_conditions(
        defs, instance, cursor=result.cursor, evaluation_time=now
    )
    assert result.total_requested == 0


# -- on_missing ------------------------------------------------------------------------------
def test_on_missing_requests_partitions_added_after_it_applies(instance):
    @dg.asset(
        partitions_def=dg.DailyPartitionsDefinition("2024-01-01"),
        automation_condition=dg.AutomationCondition.on_missing(),
    )
    def daily_asset(): ...

    now = datetime.datetime(2024, 2, 1, 1, 0)
    result = dg.evaluate_automation_conditions([daily_asset], instance, evaluation_time=now)
    assert result.total_requested == 0  # missing before the condition applied
    now += datetime.timedelta(days=1)
    result = dg.evaluate_automation_conditions(
        [daily_asset], instance, cursor=result.cursor, evaluation_time=now
    )
    assert result.get_requested_partitions(daily_asset.key) == {"2024-02-01"}
    result = dg.evaluate_automation_conditions(
        [daily_asset], instance, cursor=result.cursor, evaluation_time=now
    )
    assert result.total_requested == 0


# -- custom compositions: labels, since, asset_matches, replace, ignore, without ------------------
in_progress_or_failed_deps = dg.AutomationCondition.any_deps_match(
    dg.AutomationCondition.in_progress() | dg.AutomationCondition.execution_failed()
).with_label("any_deps_in_progress_or_failed")


def test_a_labelled_condition_reads_back_in_the_evaluation(instance):
    @dg.asset
    def parent(context):
        raise RuntimeError("no data today")

    @dg.asset(deps=[parent], automation_condition=in_progress_or_failed_deps)
    def child(): ...

    defs = dg.Definitions(assets=[parent, child])
    assert dg.evaluate_automation_conditions(defs, instance).total_requested == 0
    dg.materialize([parent], instance=instance, raise_on_error=False)
    result = dg.evaluate_automation_conditions(defs, instance)
    assert result.total_requested == 1
    assert result.results[0].condition.get_label() == "any_deps_in_progress_or_failed"


def get_condition(asset_key) -> dg.AutomationCondition:
    asset_key_handled = dg.AutomationCondition.asset_matches(
        asset_key,
        dg.AutomationCondition.newly_requested() | dg.AutomationCondition.newly_updated(),
    )
    return dg.AutomationCondition.all_deps_match(
        dg.AutomationCondition.newly_updated().since(asset_key_handled)
    )


def test_all_parents_updated_since_the_asset_was_handled(instance):
    @dg.asset
    def a(): ...

    @dg.asset
    def b(): ...

    @dg.asset(automation_condition=get_condition("downstream_asset"), deps=["a", "b"])
    def downstream_asset() -> None: ...

    defs = dg.Definitions(assets=[a, b, downstream_asset])
    result = dg.evaluate_automation_conditions(defs, instance)
    dg.materialize([a], instance=instance)
    result = dg.evaluate_automation_conditions(defs, instance, cursor=result.cursor)
    assert result.total_requested == 0  # b has not been updated
    dg.materialize([b], instance=instance)
    result = dg.evaluate_automation_conditions(defs, instance, cursor=result.cursor)
    assert result.total_requested == 1
    result = dg.evaluate_automation_conditions(defs, instance, cursor=result.cursor)
    assert result.total_requested == 0  # requested: handled


daily_success_condition = dg.AutomationCondition.newly_updated().since(
    dg.AutomationCondition.on_cron("*/5 * * * *")
)

custom_condition = dg.AutomationCondition.on_cron("*/5 * * * *") | (  # every 5 minutes
    dg.AutomationCondition.any_deps_updated()
    & daily_success_condition
    & ~dg.AutomationCondition.any_deps_missing()
    & ~dg.AutomationCondition.any_deps_in_progress()
)


def test_a_combined_custom_condition_evaluates(instance):
    @dg.asset
    def upstream_asset_1(): ...

    @dg.asset
    def upstream_asset_2(): ...

    @dg.asset(automation_condition=custom_condition, deps=["upstream_asset_1", "upstream_asset_2"])
    def automation_condition_combination(context: dg.AssetExecutionContext): ...

    defs = dg.Definitions(
        assets=[upstream_asset_1, upstream_asset_2, automation_condition_combination]
    )
    now = datetime.datetime(2024, 5, 1, 12, 1)
    result = dg.evaluate_automation_conditions(defs, instance, evaluation_time=now)
    dg.materialize([upstream_asset_1, upstream_asset_2], instance=instance)
    now += datetime.timedelta(minutes=5)  # 12:06: the 12:05 tick, both deps updated since
    result = dg.evaluate_automation_conditions(
        defs, instance, cursor=result.cursor, evaluation_time=now
    )
    assert result.total_requested == 1


five_days_ago_condition = dg.AutomationCondition.in_latest_time_window(
    datetime.timedelta(days=5)
) & ~dg.AutomationCondition.in_latest_time_window(datetime.timedelta(days=4))

older_partition_condition = dg.AutomationCondition.on_cron("@daily").replace(
    "in_latest_time_window", five_days_ago_condition
)


def test_replace_aims_on_cron_at_an_older_partition(instance):
    @dg.asset(
        partitions_def=dg.DailyPartitionsDefinition("2024-01-01"),
        automation_condition=older_partition_condition,
    )
    def late_arriving(): ...

    now = datetime.datetime(2024, 3, 10, 23, 0)
    result = dg.evaluate_automation_conditions([late_arriving], instance, evaluation_time=now)
    now += datetime.timedelta(hours=2)  # past midnight: the @daily tick
    result = dg.evaluate_automation_conditions(
        [late_arriving], instance, cursor=result.cursor, evaluation_time=now
    )
    assert result.get_requested_partitions(late_arriving.key) == {"2024-03-06"}


def test_eager_ignoring_a_dependency(instance):
    @dg.asset
    def foo(): ...

    @dg.asset
    def bar(): ...

    condition = dg.AutomationCondition.eager().ignore(dg.AssetSelection.assets("foo"))

    @dg.asset(deps=[foo, bar], automation_condition=condition)
    def target(): ...

    defs = dg.Definitions(assets=[foo, bar, target])
    result = dg.evaluate_automation_conditions(defs, instance)
    dg.materialize([bar], instance=instance)  # foo stays missing: ignored
    result = dg.evaluate_automation_conditions(defs, instance, cursor=result.cursor)
    assert result.total_requested == 1


def test_eager_for_older_time_partitions(instance):
    condition = dg.AutomationCondition.eager().without(
        dg.AutomationCondition.in_latest_time_window(),
    )
    daily = dg.DailyPartitionsDefinition("2024-01-01")

    @dg.asset(partitions_def=daily)
    def events(): ...

    @dg.asset(deps=[events], partitions_def=daily, automation_condition=condition)
    def sessions(): ...

    defs = dg.Definitions(assets=[events, sessions])
    now = datetime.datetime(2024, 1, 20, 6, 0)
    result = dg.evaluate_automation_conditions(defs, instance, evaluation_time=now)
    dg.materialize([events], instance=instance, partition_key="2024-01-03")
    result = dg.evaluate_automation_conditions(
        defs, instance, cursor=result.cursor, evaluation_time=now
    )
    assert result.get_requested_partitions("sessions") == {"2024-01-03"}


def is_company_holiday(when) -> bool:
    return when.month == 12 and when.day == 25


class IsCompanyHoliday(dg.AutomationCondition):
    def evaluate(self, context: dg.AutomationContext) -> dg.AutomationResult:
        if is_company_holiday(context.evaluation_time):
            true_subset = context.candidate_subset
        else:
            true_subset = context.get_empty_subset()
        return dg.AutomationResult(true_subset, context=context)


def test_a_custom_condition_class(instance):
    @dg.asset(automation_condition=dg.AutomationCondition.missing() & ~IsCompanyHoliday())
    def report(): ...

    christmas = datetime.datetime(2024, 12, 25, 10, 0)
    assert (
        dg.evaluate_automation_conditions(
            [report], instance, evaluation_time=christmas
        ).total_requested
        == 0
    )
    boxing_day = christmas + datetime.timedelta(days=1)
    assert (
        dg.evaluate_automation_conditions(
            [report], instance, evaluation_time=boxing_day
        ).total_requested
        == 1
    )


def test_map_asset_specs_gives_every_asset_a_condition(instance):
    @dg.asset
    def one(): ...

    @dg.asset
    def two(): ...

    assets = dg.map_asset_specs(
        lambda spec: spec.replace_attributes(automation_condition=dg.AutomationCondition.missing()),
        [one, two],
    )
    result = dg.evaluate_automation_conditions(dg.Definitions(assets=assets), instance)
    assert result.total_requested == 2


# -- automation condition sensors --------------------------------------------------------------
def test_sensors_from_the_docs():
    @dg.asset(group_name="team_a", automation_condition=dg.AutomationCondition.eager())
    def a_asset(): ...

    @dg.asset(group_name="team_b", automation_condition=dg.AutomationCondition.eager())
    def b_asset(): ...

    multiple = dg.Definitions(
        assets=[a_asset, b_asset],
        sensors=[
            dg.AutomationConditionSensorDefinition(
                "team_b_sensor", target=dg.AssetSelection.groups("team_a")
            ),
            dg.AutomationConditionSensorDefinition(
                "team_a_sensor", target=dg.AssetSelection.groups("team_b")
            ),
        ],
    )
    assert [s.name for s in AutomationLoop.sensors(multiple)] == ["team_b_sensor", "team_a_sensor"]

    tagged = dg.Definitions(
        assets=[a_asset],
        sensors=[
            dg.AutomationConditionSensorDefinition(
                "run_tags_automation_condition_sensor",
                target=dg.AssetSelection.all(),
                run_tags={"key": "value"},
                default_status=dg.DefaultSensorStatus.RUNNING,
            )
        ],
    )
    (sensor,) = AutomationLoop.sensors(tagged)
    assert sensor.run_tags == {"key": "value"}
    assert sensor.default_status is dg.DefaultSensorStatus.RUNNING


def test_the_tagged_sensor_puts_its_tags_on_the_runs(instance):
    defs = dg.Definitions(
        assets=[upstream, downstream],
        sensors=[
            dg.AutomationConditionSensorDefinition(
                "tagged", target=dg.AssetSelection.all(), run_tags={"key": "value"}
            )
        ],
    )
    loop = AutomationLoop()
    tick = loop.run_once(instance, defs, None, None)
    dg.materialize([upstream], instance=instance)
    tick = loop.run_once(instance, defs, None, tick.cursor)
    (request,) = tick.run_requests
    assert request.tags["key"] == "value"
    assert request.asset_selection == [downstream.key]
