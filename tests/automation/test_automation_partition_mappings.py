"""Declarative automation through partition mappings: a monthly asset over a daily one
waits for every day of its month (``any_deps_missing`` sees the days through the default
time-window mapping) and is requested once they are all there."""

from datetime import UTC, datetime

from trellis import (
    AutomationCondition,
    DailyPartitionsDefinition,
    Definitions,
    MonthlyPartitionsDefinition,
    asset,
    evaluate_automation_conditions,
    instance_for_test,
    materialize,
)

DAYS = DailyPartitionsDefinition(start_date="2024-01-01", end_date="2024-02-01")
MONTHS = MonthlyPartitionsDefinition(start_date="2024-01-01", end_date="2024-02-01")
NOW = datetime(2024, 2, 2, tzinfo=UTC)


@asset(partitions_def=DAYS)
def visits(context) -> int:
    return 1


@asset(partitions_def=MONTHS, automation_condition=AutomationCondition.eager())
def monthly_visits(visits: dict) -> int:
    return sum(visits.values())


def test_a_monthly_asset_waits_for_every_day_of_its_month():
    defs = Definitions(assets=[visits, monthly_visits])
    with instance_for_test() as instance:
        for day in range(1, 31):  # all of January but the 31st
            materialize([visits], partition_key=f"2024-01-{day:02d}", instance=instance)
        result = evaluate_automation_conditions(defs, instance, evaluation_time=NOW)
        assert result.get_num_requested("monthly_visits") == 0  # a day is missing
        materialize([visits], partition_key="2024-01-31", instance=instance)
        result = evaluate_automation_conditions(
            defs, instance, evaluation_time=NOW, cursor=result.cursor
        )
        assert result.get_requested_partitions("monthly_visits") == {"2024-01-01"}
