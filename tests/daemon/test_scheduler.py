"""The scheduler loop with a clock the test moves: a day of hourly ticks in a second,
catch-up after downtime, time zones and DST, default status, start and stop, schedules
that take resources, errors kept on the tick."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from daemon_helpers import T0, Harness

from trellis.core.run import RunStatus
from trellis.daemon.scheduler import ticks_between
from trellis.instance.daemon_config import DaemonSettings
from trellis.instance.daemon_records import InstigatorStatus, InstigatorType, TickStatus

SCHEDULE = InstigatorType.SCHEDULE


def test_a_day_of_hourly_ticks_launches_one_run_per_hour(harness):
    harness.at(0)  # the schedule (RUNNING by default) starts now: no tick before it
    for hour in range(1, 25):
        harness.at(hour * 3600 - 1)  # nothing is due yet
        harness.at(hour * 3600)
    runs = harness.runs_of("trellis/schedule_name", "hourly")
    assert len(runs) == 24
    whens = sorted(r.tags["when"] for r in runs)
    assert whens[0] == "2024-03-01T01:00:00+00:00" and whens[-1] == "2024-03-02T00:00:00+00:00"
    ticks = harness.instance.get_ticks("hourly")
    assert len(ticks) == 24 and {t.status for t in ticks} == {TickStatus.SUCCESS}
    assert all(len(t.run_ids) == 1 for t in ticks)
    # The run queue took each run at once and handed it to the launcher.
    assert len(harness.launcher.launched) == 24
    assert {r.status for r in runs} == {RunStatus.STARTING}
    assert harness.instance.get_instigator_state("hourly").cursor == repr(T0 + 24 * 3600)


def test_the_daemon_sleeps_until_the_next_tick(harness):
    harness.at(0)
    scheduler = harness.daemon.loops[0]
    assert scheduler.name == "scheduler"
    assert scheduler._next_tick["hourly"] == T0 + 3600


def test_after_downtime_only_the_newest_missed_tick_runs_by_default(harness):
    harness.at(0)
    harness.at(5 * 3600 + 10)  # down for five hours
    ticks = harness.instance.get_ticks("hourly")
    assert [t.timestamp for t in ticks] == [T0 + 5 * 3600]


def test_catch_up_runs_at_most_max_catchup_runs(tmp_path):
    from trellis.instance.instance import Instance

    instance = Instance.from_config(tmp_path / "home", {})
    h = Harness(instance, DaemonSettings(max_catchup_runs=3, max_concurrent_runs=-1))
    h.at(0)
    h.at(5 * 3600 + 10)
    assert sorted(t.timestamp for t in instance.get_ticks("hourly")) == [
        T0 + 3 * 3600,
        T0 + 4 * 3600,
        T0 + 5 * 3600,
    ]
    instance.dispose()


def test_a_stopped_schedule_does_not_tick_until_started(harness):
    harness.at(0)
    assert harness.instance.get_instigator_state("nightly_new_york") is None  # STOPPED
    harness.instance.set_instigator_status(
        "paris_morning", SCHEDULE, InstigatorStatus.RUNNING, now=T0
    )
    harness.at(10 * 3600)
    assert harness.instance.get_ticks("nightly_new_york") == []
    paris = harness.instance.get_ticks("paris_morning")
    # 09:00 in Paris on 1 March (CET, UTC+1) is 08:00 UTC.
    assert [t.timestamp for t in paris] == [T0 + 8 * 3600]
    run = harness.instance.get_run(paris[0].run_ids[0])
    assert run.tags["greeting"] == "bonjour"  # the schedule's resource, from Definitions
    harness.instance.set_instigator_status("hourly", SCHEDULE, InstigatorStatus.STOPPED)
    before = len(harness.instance.get_ticks("hourly"))
    harness.at(13 * 3600)
    assert len(harness.instance.get_ticks("hourly")) == before


def test_ticks_follow_daylight_saving_time_in_the_execution_timezone():
    ny = ZoneInfo("America/New_York")
    # Spring forward: 2024-03-10 has no 02:30 in New York; fall back: 01:30 happens twice
    # on 2024-11-03, and a daily schedule ticks once; an hourly one ticks every real hour.
    start = datetime(2024, 3, 8, 12, tzinfo=ny).timestamp()
    end = datetime(2024, 3, 12, 12, tzinfo=ny).timestamp()
    times, _ = ticks_between(["30 2 * * *"], "America/New_York", start, end, None)
    local = [datetime.fromtimestamp(t, ny).isoformat() for t in times]
    assert local == [
        "2024-03-09T02:30:00-05:00",
        "2024-03-10T03:30:00-04:00",  # 02:30 does not exist that night: the next hour
        "2024-03-11T02:30:00-04:00",
        "2024-03-12T02:30:00-04:00",
    ]
    start = datetime(2024, 11, 2, 12, tzinfo=ny).timestamp()
    end = datetime(2024, 11, 4, 12, tzinfo=ny).timestamp()
    times, _ = ticks_between(["30 1 * * *"], "America/New_York", start, end, None)
    assert [datetime.fromtimestamp(t, UTC).strftime("%m-%d %H:%M") for t in times] == [
        "11-03 05:30",  # 01:30 EDT, once
        "11-04 06:30",  # 01:30 EST
    ]
    start = datetime(2024, 11, 3, 0, tzinfo=ny).timestamp()
    end = datetime(2024, 11, 3, 3, tzinfo=ny).timestamp()
    times, _ = ticks_between(["0 * * * *"], "America/New_York", start, end, None)
    assert [datetime.fromtimestamp(t, ny).isoformat() for t in times] == [
        "2024-11-03T01:00:00-04:00",
        "2024-11-03T01:00:00-05:00",
        "2024-11-03T02:00:00-05:00",
        "2024-11-03T03:00:00-05:00",
    ]


def test_a_failing_schedule_records_the_traceback_and_moves_on(tmp_path, monkeypatch):
    from trellis.instance.instance import Instance

    instance = Instance.from_config(tmp_path / "home", {})
    h = Harness(instance)
    hourly = h.location.definitions.get_schedule_def("hourly")

    def boom(context):
        raise RuntimeError("the schedule's bug")

    monkeypatch.setattr(hourly._evaluation, "call_for_tick", lambda *a, **k: boom(None))
    h.at(0)
    h.at(3600)
    monkeypatch.undo()
    h.at(7200)
    ticks = instance.get_ticks("hourly")
    assert [t.status for t in ticks] == [TickStatus.SUCCESS, TickStatus.FAILURE]
    assert "RuntimeError: the schedule's bug" in ticks[1].error
    assert "Traceback" in ticks[1].error
    instance.dispose()
