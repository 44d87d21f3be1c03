"""The sensors loop with a clock the test moves: minimum intervals, cursors, run-key
de-duplication, skip reasons, errors and timeouts kept on the tick while the other
sensors go on, default status, automation sensors through the AutomationLoop."""

from __future__ import annotations

import pytest
from daemon_helpers import T0

from trellis.core.run import RunStatus
from trellis.instance.daemon_records import InstigatorStatus, InstigatorType, TickStatus

SENSOR = InstigatorType.SENSOR


def _start(harness, *names):
    for name in names:
        harness.instance.set_instigator_status(name, SENSOR, InstigatorStatus.RUNNING, now=T0)


def test_a_sensor_ticks_at_its_minimum_interval_and_keeps_its_cursor(harness):
    _start(harness, "counter")
    for second in range(0, 181, 10):
        harness.at(second)
    ticks = harness.instance.get_ticks("counter")
    assert [t.timestamp - T0 for t in reversed(ticks)] == [0, 30, 60, 90, 120, 150, 180]
    assert [t.status for t in reversed(ticks)] == [
        TickStatus.SUCCESS,
        TickStatus.SUCCESS,
        TickStatus.SKIPPED,
        TickStatus.SUCCESS,
        TickStatus.SUCCESS,
        TickStatus.SKIPPED,
        TickStatus.SUCCESS,
    ]
    assert ticks[1].skip_reason == "skip 6"
    assert harness.instance.get_instigator_state("counter").cursor == "7"
    runs = harness.runs_of("trellis/sensor_name", "counter")
    assert sorted(r.tags["trellis/run_key"] for r in runs) == ["n1", "n2", "n4", "n5", "n7"]
    assert ticks[0].run_keys == ("n7",) and ticks[0].cursor == "7"


def test_a_run_key_is_launched_once_across_ticks(harness):
    _start(harness, "same_key")
    harness.at(0)
    harness.at(30)
    harness.at(60)
    runs = harness.runs_of("trellis/sensor_name", "same_key")
    assert len(runs) == 1
    ticks = harness.instance.get_ticks("same_key")
    assert [t.status for t in ticks] == [TickStatus.SKIPPED, TickStatus.SKIPPED, TickStatus.SUCCESS]
    assert "always-the-same" in ticks[0].skip_reason


def test_an_error_is_kept_on_the_tick_and_the_other_sensors_go_on(harness):
    _start(harness, "broken", "counter")
    harness.at(0)
    harness.at(30)
    broken = harness.instance.get_ticks("broken")
    assert [t.status for t in broken] == [TickStatus.FAILURE, TickStatus.FAILURE]
    assert "ValueError: the sensor's own bug" in broken[0].error
    assert "Traceback" in broken[0].error and "daemon_defs.py" in broken[0].error
    assert harness.instance.get_instigator_state("broken").cursor is None
    assert len(harness.instance.get_ticks("counter")) == 2


def test_a_slow_sensor_times_out_and_fails_its_tick(harness, monkeypatch):
    import dataclasses

    monkeypatch.setenv("DAEMON_TEST_SLOW", "2")
    harness.daemon.settings = dataclasses.replace(
        harness.daemon.settings, evaluation_timeout_seconds=0.2
    )
    for loop in harness.daemon.loops:
        if hasattr(loop, "settings"):
            loop.settings = harness.daemon.settings
    _start(harness, "slow", "counter")
    harness.at(0)
    slow = harness.instance.get_ticks("slow")
    assert slow[0].status is TickStatus.FAILURE and "timed out after 0.2 s" in slow[0].error
    assert harness.runs_of("trellis/sensor_name", "slow") == []
    assert harness.instance.get_ticks("counter")[0].status is TickStatus.SUCCESS


def test_default_status_decides_until_a_state_is_stored(harness):
    harness.at(0)
    assert harness.instance.get_ticks("counter") == []  # STOPPED by default
    every = harness.instance.get_ticks("every_second")  # RUNNING by default
    assert len(every) == 1 and every[0].skip_reason == "idle"
    harness.instance.set_instigator_status("every_second", SENSOR, InstigatorStatus.STOPPED)
    harness.at(5)
    assert len(harness.instance.get_ticks("every_second")) == 1


def test_the_automation_sensor_is_evaluated_through_the_automation_loop(harness):
    _start(harness, "default_automation_condition_sensor")
    harness.at(0)
    ticks = harness.instance.get_ticks("default_automation_condition_sensor")
    assert ticks[0].status is TickStatus.SUCCESS and len(ticks[0].run_ids) == 1
    run = harness.instance.get_run(ticks[0].run_ids[0])
    assert run.job_name == "__ASSET_JOB" and run.asset_selection == ["eager_asset"]
    assert run.status is RunStatus.STARTING
    state = harness.instance.get_instigator_state("default_automation_condition_sensor")
    assert state.cursor is not None and '"version"' in state.cursor
    assert harness.instance.get_automation_evaluations("eager_asset")
    harness.at(30)  # its run is queued (in progress): not requested again
    assert harness.instance.get_ticks("default_automation_condition_sensor")[0].status is (
        TickStatus.SKIPPED
    )


def test_an_unfinished_tick_is_resumed_without_launching_twice(harness, monkeypatch):
    """What a daemon killed between creating a tick's runs and recording the tick finds:
    the tick still STARTED. It is evaluated again under the same id, from the same
    cursor; the run keys map to the runs already made."""
    _start(harness, "counter")
    sensor = harness.location.definitions.get_sensor_def("counter")
    loop = harness.daemon.loops[1]
    state = harness.instance.get_instigator_state("counter")

    def die(*args, **kwargs):
        raise KeyboardInterrupt  # the process dies before the tick is recorded

    with monkeypatch.context() as patched:
        patched.setattr("trellis.daemon.ticks.finish_tick", die)
        with pytest.raises(KeyboardInterrupt):
            loop.tick(sensor, state, T0)
    made = harness.runs_of("trellis/sensor_name", "counter")
    assert len(made) == 1
    assert harness.instance.get_ticks("counter")[0].status is TickStatus.STARTED
    loop._last_tick.clear()  # a new daemon process
    harness.at(1)
    ticks = harness.instance.get_ticks("counter")
    assert len(ticks) == 1 and ticks[0].status is TickStatus.SUCCESS
    assert ticks[0].run_ids == (made[0].run_id,)
    assert len(harness.runs_of("trellis/sensor_name", "counter")) == 1
    assert harness.instance.get_instigator_state("counter").cursor == "1"


def test_the_daemon_prunes_finished_ticks_past_their_retention(tmp_path):
    from daemon_helpers import Harness

    from trellis.instance.daemon_config import DaemonSettings
    from trellis.instance.instance import Instance

    instance = Instance.from_config(tmp_path / "home", {})
    settings = DaemonSettings(
        max_concurrent_runs=-1,
        sensor_tick_retention_seconds=3600,
        schedule_tick_retention_seconds=None,  # kept forever
    )
    h = Harness(instance, settings)
    _start(h, "counter")
    for second in range(0, 3601, 30):
        h.at(second)
    before = len(instance.get_ticks("counter"))
    hourly_before = len(instance.get_ticks("hourly"))
    assert before == 121 and hourly_before == 1
    h.at(2 * 3600 + 1)  # the hourly pruning is due: ticks before 3601 s go
    kept = instance.get_ticks("counter")
    assert min(t.timestamp for t in kept) - T0 >= 3601
    assert len(instance.get_ticks("hourly")) == 2  # schedules: no retention set
    instance.dispose()
