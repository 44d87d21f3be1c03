"""Run status sensors (``@run_status_sensor``, ``@run_failure_sensor`` with
``monitored_jobs`` and ``request_job``), ``@asset_sensor`` and ``@multi_asset_sensor``,
ticked by the daemon's sensors loop: each reports what happened since its previous
tick, once."""

from __future__ import annotations

import json

import pytest
from daemon_helpers import T0

from trellis import SkipReason, build_run_status_sensor_context, materialize
from trellis.core.events import EventType
from trellis.instance.daemon_records import InstigatorStatus, InstigatorType, TickStatus

SENSOR = InstigatorType.SENSOR


def _start(harness, *names):
    for name in names:
        harness.instance.set_instigator_status(name, SENSOR, InstigatorStatus.RUNNING, now=T0)


def _job(harness, name):
    return harness.location.definitions.get_job_def(name)


def test_a_run_failure_sensor_requests_a_run_per_failed_run_of_its_jobs(harness):
    fragile = _job(harness, "fragile")
    fragile.execute_in_process(instance=harness.instance, raise_on_error=False)  # before
    _start(harness, "on_fragile_failure")
    harness.at(0)  # the first tick starts watching: the earlier failure is not reported
    first = harness.instance.get_ticks("on_fragile_failure")[0]
    assert first.status is TickStatus.SKIPPED and first.run_ids == ()
    failed = [
        fragile.execute_in_process(instance=harness.instance, raise_on_error=False).run_id
        for _ in range(2)
    ]
    _job(harness, "work").execute_in_process(instance=harness.instance)  # not monitored
    harness.at(30)
    tick = harness.instance.get_ticks("on_fragile_failure")[0]
    assert tick.status is TickStatus.SUCCESS and len(tick.run_ids) == 2
    requested = [harness.instance.get_run(run_id) for run_id in tick.run_ids]
    assert sorted(r.tags["failed_run"] for r in requested) == sorted(failed)
    assert {r.job_name for r in requested} == {"work"}  # request_job
    assert all("fragile" in r.tags["why"] for r in requested)
    harness.at(60)  # nothing new
    assert harness.instance.get_ticks("on_fragile_failure")[0].status is TickStatus.SKIPPED


def test_a_run_status_sensor_sees_each_successful_run_once(harness):
    _start(harness, "on_work_success")
    harness.at(0)
    work = _job(harness, "work")
    done = work.execute_in_process(instance=harness.instance).run_id
    harness.at(30)
    tick = harness.instance.get_ticks("on_work_success")[0]
    assert tick.status is TickStatus.SKIPPED and tick.skip_reason == f"saw {done}"
    harness.at(60)
    assert harness.instance.get_ticks("on_work_success")[0].skip_reason == (
        "No run reached SUCCESS."
    )


def test_an_asset_sensor_reports_the_newest_materialization_once(harness):
    _start(harness, "eager_asset_updated")
    harness.at(0)
    assert harness.instance.get_ticks("eager_asset_updated")[0].status is TickStatus.SKIPPED
    asset_def = harness.location.definitions.get_assets_def("eager_asset")
    run_id = materialize([asset_def], instance=harness.instance).run_id
    harness.at(30)
    tick = harness.instance.get_ticks("eager_asset_updated")[0]
    assert tick.status is TickStatus.SUCCESS
    assert harness.instance.get_run(tick.run_ids[0]).tags["from"] == run_id
    harness.at(60)
    assert harness.instance.get_ticks("eager_asset_updated")[0].status is TickStatus.SKIPPED


def test_a_run_failure_sensor_called_directly_with_a_test_context(harness):
    fragile = _job(harness, "fragile")
    result = fragile.execute_in_process(instance=harness.instance, raise_on_error=False)
    run = harness.instance.get_run(result.run_id)
    event = harness.instance.all_logs(run.run_id, of_type=EventType.RUN_FAILURE)[0]
    sensor = harness.location.definitions.get_sensor_def("on_fragile_failure")
    context = build_run_status_sensor_context(
        sensor_name="on_fragile_failure",
        dagster_event=event,
        dagster_instance=harness.instance,
        dagster_run=run,
    )
    request = sensor(context)
    assert request.tags["failed_run"] == run.run_id
    failures = context.for_run_failure().get_step_failure_events()
    assert len(failures) == 1 and failures[0].step_key == "explode"


def test_a_bad_run_status_is_a_definition_error():
    from trellis import run_status_sensor
    from trellis.core.errors import InvalidDefinitionError

    with pytest.raises(InvalidDefinitionError, match="run_status must be a RunStatus"):

        @run_status_sensor("FINISHED")
        def nope(context):
            return None


def test_a_multi_asset_sensor_keeps_a_cursor_per_asset(harness):
    _start(harness, "both_updated")
    defs = harness.location.definitions
    eager, other = defs.get_assets_def("eager_asset"), defs.get_assets_def("other_asset")
    harness.at(0)
    assert harness.instance.get_ticks("both_updated")[0].skip_reason == "waiting for both assets"
    first = materialize([eager], instance=harness.instance).run_id
    harness.at(30)
    assert harness.instance.get_ticks("both_updated")[0].skip_reason == "waiting for both assets"
    second = materialize([other], instance=harness.instance).run_id
    harness.at(60)
    tick = harness.instance.get_ticks("both_updated")[0]
    assert tick.status is TickStatus.SUCCESS
    run = harness.instance.get_run(tick.run_ids[0])
    assert run.tags["runs"] == ",".join(sorted([first, second]))
    assert set(json.loads(tick.cursor)) == {"eager_asset", "other_asset"}
    harness.at(90)  # both cursors advanced: nothing new
    assert harness.instance.get_ticks("both_updated")[0].status is TickStatus.SKIPPED
    materialize([eager], instance=harness.instance)
    harness.at(120)  # only one asset moved on
    assert harness.instance.get_ticks("both_updated")[0].skip_reason == "waiting for both assets"


def test_a_multi_asset_sensor_called_directly(harness):
    from trellis import build_multi_asset_sensor_context
    from trellis.core.errors import InvalidInvocationError

    defs = harness.location.definitions
    materialize([defs.get_assets_def("eager_asset")], instance=harness.instance)
    context = build_multi_asset_sensor_context(
        monitored_assets=["eager_asset", "other_asset"], instance=harness.instance
    )
    sensor = defs.get_sensor_def("both_updated")
    assert sensor(context) == SkipReason("waiting for both assets")
    records = context.materialization_records_for_key("eager_asset")
    assert len(records) == 1
    context.advance_cursor({"eager_asset": records[0]})
    # The cursor moves when the evaluation ends (the sensor calls this after its function).
    assert context.cursor is None
    again = context.materialization_records_for_key("eager_asset")
    assert [r.storage_id for r in again] == [records[0].storage_id]
    context.update_cursor_after_evaluation()
    assert json.loads(context.cursor) == {"eager_asset": records[0].storage_id}
    assert context.materialization_records_for_key("eager_asset") == []
    with pytest.raises(InvalidInvocationError, match="not monitored by this sensor"):
        context.materialization_records_for_key("unknown")
