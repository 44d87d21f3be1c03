"""``build_sensor_for_freshness_checks`` under the daemon with a manual clock: a day of
ticks every 10 minutes in a second or two. The sensor requests a run of the freshness
checks that are due; the runs execute at once, in this process, at the clock's time, and
the assets are materialized (runless events) at the clock's time too. A check is run when
it never ran, when the time it was fresh until has come, and after a failure once the
asset is materialized again; never while a run of the sensor is still to evaluate it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from daemon_helpers import HERE, T0, Harness

from trellis import (
    AssetCheckKey,
    AssetCheckResult,
    AssetKey,
    AssetMaterialization,
    DailyPartitionsDefinition,
    DefaultSensorStatus,
    InvalidDefinitionError,
    RunRequest,
    SkipReason,
    asset,
    asset_check,
    build_last_update_freshness_checks,
    build_metadata_bounds_checks,
    build_sensor_context,
    build_sensor_for_freshness_checks,
    build_time_partition_freshness_checks,
    materialize,
    partition_loading_context,
)
from trellis.core import event_factory
from trellis.core.run import SENSOR_NAME_TAG, RunStatus
from trellis.daemon.launcher import RunLauncher
from trellis.daemon.run_worker import execute_launched_run
from trellis.defs import freshness_sensor as freshness_module
from trellis.instance.instance import Instance

DEFS = str(HERE / "freshness_defs.py")
SENSOR = "freshness_checks_sensor"
ORDERS = AssetCheckKey(AssetKey("orders"), "freshness_check")
CUSTOMERS = AssetCheckKey(AssetKey("customers"), "freshness_check")
HOUR = 3600


class ClockedLauncher(RunLauncher):
    """Executes each launched run at once, in this process, at the harness clock's time."""

    def __init__(self) -> None:
        self.clock = None
        self.launched: list[str] = []
        self.hours: dict[str, float] = {}  # run id -> hours after T0 it ran

    def launch_run(self, run, instance) -> None:
        self.launched.append(run.run_id)
        self.hours[run.run_id] = round((self.clock.now() - T0) / HOUR, 2)
        now = datetime.fromtimestamp(self.clock.now(), UTC)
        with partition_loading_context(effective_dt=now):
            execute_launched_run(instance, run.run_id)


@pytest.fixture
def instance(daemon_instance):
    return daemon_instance


def _harness(instance, launcher=None) -> Harness:
    harness = Harness(instance, defs_file=DEFS, launcher=launcher)
    if isinstance(launcher, ClockedLauncher):
        launcher.clock = harness.clock
    return harness


def _materialize_at(instance, asset: str, seconds: float) -> None:
    """A materialization of ``asset`` recorded at ``T0 + seconds`` (as another system
    would report it)."""
    event = event_factory.asset_materialization(
        "", "__runless__", None, AssetMaterialization(asset)
    )
    event.timestamp = T0 + seconds
    instance.storage.store_events([event])


def _evaluations(instance, launcher, key: AssetCheckKey) -> list[tuple[float, bool]]:
    """(hours after T0 the check ran, by the clock; passed), oldest first."""
    records = instance.get_asset_check_evaluation_records(key)
    return [(launcher.hours[r.run_id], r.asset_check_evaluation.passed) for r in reversed(records)]


def _run_through(harness: Harness, start: float, end: float, step: float = 600) -> None:
    t = start
    while t <= end:
        harness.at(t)
        t += step


def test_a_day_of_ticks_evaluates_each_check_when_its_result_may_change(instance, monkeypatch):
    launcher = ClockedLauncher()
    harness = _harness(instance, launcher)
    _materialize_at(instance, "orders", 0)
    _materialize_at(instance, "customers", 0)

    harness.at(0)  # never evaluated: both run, both pass
    assert _evaluations(instance, launcher, ORDERS) == [(0, True)]
    assert _evaluations(instance, launcher, CUSTOMERS) == [(0, True)]
    (run,) = instance.get_runs()
    assert run.status is RunStatus.SUCCESS
    assert sorted(run.asset_check_selection) == [
        "customers:freshness_check",
        "orders:freshness_check",
    ]
    assert run.asset_selection == []  # the checks alone
    assert run.tags["team"] == "data" and run.tags[SENSOR_NAME_TAG] == SENSOR
    latest = instance.get_latest_asset_check_evaluations([ORDERS])[ORDERS]
    assert latest.metadata["dagster/fresh_until_timestamp"].value == T0 + 6 * HOUR

    _run_through(harness, 600, 5 * HOUR + 3000)  # fresh until 06:00: nothing to run
    assert len(instance.get_runs()) == 1
    tick = instance.get_ticks(SENSOR, limit=1)[0]
    assert "No freshness check is due" in (tick.skip_reason or "")

    # 06:00: orders may be overdue: it is evaluated; at 06:00 exactly it still passes (its
    # fresh-until stays 06:00), at 06:10 it fails. No new run after that: it failed, and
    # nothing materialized it.
    _run_through(harness, 6 * HOUR, 8 * HOUR)
    assert _evaluations(instance, launcher, ORDERS) == [(0, True), (6, True), (6.17, False)]
    failed = instance.get_latest_asset_check_evaluations([ORDERS])[ORDERS]
    assert failed.metadata["dagster/overdue_seconds"].value == pytest.approx(600, abs=1)

    # customers: fresh until the 09:00 deadline (materialized more than an hour before).
    _run_through(harness, 8 * HOUR + 600, 9 * HOUR + 1200)
    assert _evaluations(instance, launcher, CUSTOMERS) == [(0, True), (9, False)]

    # A new materialization of orders at 10:00: the failed check runs again and passes.
    _materialize_at(instance, "orders", 10 * HOUR)
    _run_through(harness, 10 * HOUR, 12 * HOUR)
    assert _evaluations(instance, launcher, ORDERS)[-1] == (10, True)
    _materialize_at(instance, "customers", 12 * HOUR + 60)
    _run_through(harness, 12 * HOUR + 600, 24 * HOUR)
    assert _evaluations(instance, launcher, CUSTOMERS) == [(0, True), (9, False), (12.17, True)]
    # orders passed at 10:00, fresh until 16:00; it went overdue again at 16:10.
    assert _evaluations(instance, launcher, ORDERS)[-3:] == [(10, True), (16, True), (16.17, False)]
    assert all(r.status is RunStatus.SUCCESS for r in instance.get_runs())
    assert len(instance.get_runs()) == len(launcher.launched) == 8
    ticks = instance.get_ticks(SENSOR, limit=1000)
    assert len(ticks) == 142  # every 10 minutes of the day the test stepped through
    assert sum(1 for t in ticks if t.run_ids) == 8  # the others skipped


def test_a_check_whose_run_has_not_finished_is_not_requested_again(tmp_path):
    instance = Instance.from_config(tmp_path / "home", {})
    try:
        harness = _harness(instance)  # the recording launcher: runs stay STARTING
        harness.at(0)
        harness.at(600)
        harness.at(1200)
        (run,) = instance.get_runs()
        assert run.status is RunStatus.STARTING
        assert len(run.asset_check_selection) == 2
    finally:
        instance.dispose()


@asset
def orders() -> int:
    return 1


@asset
def users() -> int:
    return 1


def test_the_cursor_takes_the_checks_in_turns_when_a_tick_runs_out_of_time(monkeypatch):
    checks = build_last_update_freshness_checks(
        assets=[orders, users], lower_bound_delta=timedelta(hours=1)
    )
    sensor = build_sensor_for_freshness_checks(freshness_checks=checks, name="fresh")
    monkeypatch.setattr(freshness_module, "MAXIMUM_RUNTIME_SECONDS", -1.0)  # one per tick
    instance = Instance.ephemeral()
    seen = []
    cursor = None
    for _ in range(3):
        context = build_sensor_context(instance=instance, cursor=cursor, sensor_name="fresh")
        request = sensor.evaluate_tick(context).run_requests[0]
        seen.append([k.to_user_string() for k in request.asset_check_keys])
        cursor = context.cursor
    assert seen == [
        ["orders:freshness_check"],
        ["users:freshness_check"],
        ["orders:freshness_check"],
    ]
    assert sensor.minimum_interval_seconds == 30
    assert sensor.default_status is DefaultSensorStatus.STOPPED


def test_time_partition_freshness_checks_are_fresh_until_the_next_deadline():
    days = DailyPartitionsDefinition(start_date="2024-01-01")

    @asset(partitions_def=days)
    def daily() -> int:
        return 1

    checks = build_time_partition_freshness_checks(assets=[daily], deadline_cron="0 9 * * *")
    sensor = build_sensor_for_freshness_checks(freshness_checks=checks)
    instance = Instance.ephemeral()
    key = AssetCheckKey(AssetKey("daily"), "freshness_check")
    instance.report_runless_asset_event(AssetMaterialization("daily", partition="2024-02-29"))
    now = datetime(2024, 3, 1, 10, tzinfo=UTC)
    with partition_loading_context(effective_dt=now):
        result = materialize([daily, *checks], instance=instance, selection=checks[0].check_keys)
        (evaluation,) = result.get_asset_check_evaluations()
        assert evaluation.passed
        until = evaluation.metadata["dagster/fresh_until_timestamp"].value
        assert until == datetime(2024, 3, 2, 9, tzinfo=UTC).timestamp()
        skipped = sensor.evaluate_tick(build_sensor_context(instance=instance))
        assert skipped.run_requests == [] and "No freshness check is due" in skipped.skip_message
    with partition_loading_context(effective_dt=datetime(2024, 3, 2, 9, tzinfo=UTC)):
        due = sensor.evaluate_tick(build_sensor_context(instance=instance))
        assert due.run_requests == [RunRequest(asset_check_keys=[key])]


def test_only_freshness_checks_are_accepted():
    fresh = build_last_update_freshness_checks(assets=[orders], lower_bound_delta=timedelta(1))
    bounds = build_metadata_bounds_checks(assets=[orders], metadata_key="rows", min_value=0)

    @asset_check(asset=orders)
    def positive() -> AssetCheckResult:
        return AssetCheckResult(passed=True)

    with pytest.raises(InvalidDefinitionError, match="'orders:rows_bounds_check' is not a fresh"):
        build_sensor_for_freshness_checks(freshness_checks=[*fresh, *bounds])
    with pytest.raises(InvalidDefinitionError, match="'orders:positive' is not a freshness check"):
        build_sensor_for_freshness_checks(freshness_checks=[positive])
    with pytest.raises(InvalidDefinitionError, match="must be a list of checks"):
        build_sensor_for_freshness_checks(freshness_checks=fresh[0])  # type: ignore[arg-type]
    with pytest.raises(InvalidDefinitionError, match="holds 'orders', not an asset check"):
        build_sensor_for_freshness_checks(freshness_checks=["orders"])  # type: ignore[list-item]
    with pytest.raises(InvalidDefinitionError, match="'orders:freshness_check' is given twice"):
        build_sensor_for_freshness_checks(freshness_checks=[*fresh, *fresh])
    with pytest.raises(InvalidDefinitionError, match="holds no check"):
        build_sensor_for_freshness_checks(freshness_checks=[])
    with pytest.raises(InvalidDefinitionError, match="minimum_interval_seconds must be a posit"):
        build_sensor_for_freshness_checks(freshness_checks=fresh, minimum_interval_seconds=0)


def test_run_request_names_its_checks_or_says_what_is_wrong():
    request = RunRequest(asset_check_keys=["orders:freshness_check"])
    assert request.asset_check_keys == [ORDERS]
    assert "asset_check_keys=" in repr(request)
    with pytest.raises(Exception, match="asset_check_keys must be a list of AssetCheckKeys"):
        RunRequest(asset_check_keys=ORDERS)  # type: ignore[arg-type]
    with pytest.raises(Exception, match="asset_check_keys holds 3, not an AssetCheckKey"):
        RunRequest(asset_check_keys=[3])  # type: ignore[list-item]
    assert isinstance(SkipReason("x"), SkipReason)
