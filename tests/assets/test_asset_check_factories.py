"""The asset check factories, as Dagster's docs use them: freshness of the latest
materialization (against now, or a deadline cron tick), of the partition a deadline
expects, metadata bounds, and column schema changes; each reads only what the instance
recorded, and "now" can be moved with ``partition_loading_context``."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from trellis import (
    AssetCheckSeverity,
    AssetSelection,
    DailyPartitionsDefinition,
    Definitions,
    Instance,
    InvalidDefinitionError,
    MaterializeResult,
    TableColumn,
    TableSchema,
    asset,
    build_column_schema_change_checks,
    build_last_update_freshness_checks,
    build_metadata_bounds_checks,
    build_time_partition_freshness_checks,
    materialize,
    partition_loading_context,
)


@pytest.fixture
def instance(tmp_path):
    inst = Instance.from_config(tmp_path / "home", {})
    yield inst
    inst.dispose()


ASSETS: list = []  # every asset of this module, filled below


def _check(checks, instance, assets=None):
    """Run only ``checks`` (their assets are in the definitions, not materialized)."""
    return materialize(
        [*(assets or ASSETS), *checks], instance=instance, selection=AssetSelection.checks(*checks)
    )


def _evaluations(result):
    return {
        (e.asset_key.to_user_string(), e.check_name): e
        for e in result.get_asset_check_evaluations()
    }


@asset
def orders() -> int:
    return 1


@asset
def customers() -> int:
    return 2


ASSETS += [orders, customers]


def test_last_update_freshness_against_now_and_a_moved_clock(instance):
    checks = build_last_update_freshness_checks(
        assets=[orders, customers], lower_bound_delta=timedelta(hours=1)
    )
    materialize([orders], instance=instance)
    first = _check(checks, instance)
    found = _evaluations(first)
    assert found[("orders", "freshness_check")].passed
    never = found[("customers", "freshness_check")]
    assert not never.passed and "never materialized" in never.description
    assert never.severity is AssetCheckSeverity.WARN
    # Two hours later, the same materialization is overdue.
    later = datetime.now(UTC) + timedelta(hours=2)
    with partition_loading_context(effective_dt=later):
        second = _check(checks, instance)
    stale = _evaluations(second)[("orders", "freshness_check")]
    assert not stale.passed
    assert stale.metadata["dagster/overdue_seconds"].value > 3000


def test_a_deadline_cron_measures_from_the_latest_tick(instance):
    materialize([orders], instance=instance)
    now = datetime.now(UTC)
    every_5 = build_last_update_freshness_checks(
        assets=[orders], lower_bound_delta=timedelta(minutes=30), deadline_cron="*/5 * * * *"
    )
    with partition_loading_context(effective_dt=now + timedelta(minutes=10)):
        fresh = _evaluations(_check(every_5, instance))
    assert fresh[("orders", "freshness_check")].passed  # updated after tick - 30 min

    daily_9 = build_last_update_freshness_checks(
        assets=[orders],
        lower_bound_delta=timedelta(minutes=30),
        deadline_cron="0 9 * * *",
        timezone="UTC",
    )
    later = (now + timedelta(days=3)).replace(hour=10, minute=0, second=0, microsecond=0)
    with partition_loading_context(effective_dt=later):
        late = _evaluations(_check(daily_9, instance))
    evaluation = late[("orders", "freshness_check")]
    assert not evaluation.passed
    lower = evaluation.metadata["dagster/freshness_lower_bound_timestamp"].value
    assert datetime.fromtimestamp(lower, UTC) == later.replace(hour=8, minute=30)
    params = evaluation.metadata["dagster/freshness_params"].value
    assert params["deadline_cron"] == "0 9 * * *" and params["timezone"] == "UTC"


daily = DailyPartitionsDefinition(start_date="2024-01-01")


@asset(partitions_def=daily)
def events() -> int:
    return 1


ASSETS.append(events)


def test_time_partition_freshness_expects_the_partition_the_deadline_completed(instance):
    checks = build_time_partition_freshness_checks(assets=[events], deadline_cron="0 6 * * *")
    at = datetime(2024, 3, 5, 7, tzinfo=UTC)  # after 06:00: 2024-03-04 must be there
    with partition_loading_context(effective_dt=at):
        missing = _evaluations(_check(checks, instance))
        assert not missing[("events", "freshness_check")].passed
        assert "2024-03-04" in missing[("events", "freshness_check")].description
        materialize([events], instance=instance, partition_key="2024-03-04")
        found = _evaluations(_check(checks, instance))
        assert found[("events", "freshness_check")].passed
    with pytest.raises(InvalidDefinitionError, match="not partitioned by time windows"):
        build_time_partition_freshness_checks(assets=[orders], deadline_cron="0 6 * * *")


def test_metadata_bounds(instance):
    @asset
    def rows() -> MaterializeResult:
        return MaterializeResult(metadata={"row_count": 42, "label": "x"})

    in_bounds = build_metadata_bounds_checks(
        assets=[rows], metadata_key="row_count", min_value=10, max_value=100
    )
    too_strict = build_metadata_bounds_checks(
        assets=[rows], metadata_key="row_count", max_value=42, exclusive_max=True
    )
    not_numeric = build_metadata_bounds_checks(assets=[rows], metadata_key="label", min_value=0)
    materialize([rows], instance=instance)
    results = [_evaluations(_check(c, instance, [rows])) for c in (in_bounds, too_strict)]
    assert results[0][("rows", "row_count_bounds_check")].passed
    assert not results[1][("rows", "row_count_bounds_check")].passed
    label = _evaluations(_check(not_numeric, instance, [rows]))
    assert "not a number" in label[("rows", "label_bounds_check")].description
    with pytest.raises(InvalidDefinitionError, match="min_value, max_value"):
        build_metadata_bounds_checks(assets=[rows], metadata_key="row_count")


def test_column_schema_changes_are_listed(instance):
    columns = {"v": [TableColumn("id", "int"), TableColumn("name", "str")]}

    @asset
    def table() -> MaterializeResult:
        return MaterializeResult(
            metadata={"dagster/column_schema": TableSchema(columns=columns["v"])}
        )

    checks = build_column_schema_change_checks(assets=[table])
    materialize([table], instance=instance)
    first = _evaluations(_check(checks, instance, [table]))
    assert first[("table", "column_schema_change")].passed  # nothing to compare yet
    columns["v"] = [TableColumn("id", "str"), TableColumn("email", "str")]
    materialize([table], instance=instance)
    changed = _evaluations(_check(checks, instance, [table]))
    evaluation = changed[("table", "column_schema_change")]
    assert not evaluation.passed
    assert evaluation.metadata["added_columns"].value == ["email"]
    assert evaluation.metadata["removed_columns"].value == ["name"]
    assert evaluation.metadata["column_type_changes"].value == ["id: int -> str"]


def test_checks_load_into_definitions():
    defs = Definitions(
        assets=[orders],
        asset_checks=build_last_update_freshness_checks(
            assets=[orders], lower_bound_delta=timedelta(days=1)
        ),
    )
    assert defs.get_implicit_global_asset_job_def() is not None
