"""The ``scheduler`` loop: ticks every running schedule at each tick of its cron schedule,
read in its ``execution_timezone`` (default UTC; DST changes follow the zone: a local
time that does not exist that day is skipped, one that happens twice ticks once), and
sleeps until the next tick of any schedule.

A schedule's cursor is the time of the last tick it handled (its start time before the
first). After downtime, the ticks missed since the cursor are launched, at most
``scheduler: max_catchup_runs`` of them (default 1: the newest; the newest due tick
always runs), each with its own scheduled time; the older ones are passed over.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from trellis.daemon.code_location import CodeLocation
from trellis.daemon.loop import DaemonLoop
from trellis.daemon.sensor_loop import resources_for
from trellis.daemon.ticks import (
    RunCreator,
    TickOutcome,
    complete_tick,
    instigator_state,
    start_tick,
)
from trellis.daemon.user_code import call_with_timeout
from trellis.defs.cron import make_ticks
from trellis.instance.daemon_config import DaemonSettings
from trellis.instance.daemon_records import (
    InstigatorState,
    InstigatorStatus,
    InstigatorTick,
    InstigatorType,
    TickStatus,
)

log = logging.getLogger("trellis.daemon.scheduler")

STATE_REFRESH_SECONDS = 1.0  # how soon a `trellis schedule start` is noticed


def cron_strings(schedule: Any) -> list[str]:
    """The cron strings of a schedule (one, or its list)."""
    crons = schedule.cron_schedule
    return [crons] if isinstance(crons, str) else list(crons)


def ticks_between(
    crons: list[str], timezone: str | None, after: float, until: float, most: int | None
) -> tuple[list[float], float]:
    """The tick times of ``crons`` in ``timezone`` in ``(after, until]`` (the newest
    ``most`` of them when given), and the first tick after ``until``."""
    tz = ZoneInfo(timezone or "UTC")
    start = datetime.fromtimestamp(after, tz)
    found: set[float] = set()
    following = float("inf")
    for cron in crons:
        ticks = make_ticks(cron, tz, start)
        first = ticks.floor(start) + 1
        last = ticks.floor(datetime.fromtimestamp(until, tz))
        if most is not None:
            first = max(first, last - most + 1)
        found.update(ticks.at(n).timestamp() for n in range(first, last + 1))
        following = min(following, ticks.at(last + 1).timestamp())
    times = sorted(found)
    return (times[-most:] if most is not None else times), following


class SchedulerLoop(DaemonLoop):
    """Ticks the running schedules of a code location (see the module docstring)."""

    name = "scheduler"

    def __init__(
        self,
        instance: Any,
        location: CodeLocation,
        settings: DaemonSettings,
        on_runs: Callable[[], None] | None = None,
    ) -> None:
        super().__init__(STATE_REFRESH_SECONDS)
        self.instance = instance
        self.location = location
        self.settings = settings
        self.on_runs = on_runs
        self.creator = RunCreator(instance, location)
        self._next_tick: dict[str, float] = {}
        # Per schedule: the (cursor, start time) this loop last left and its next tick.
        self._known: dict[str, tuple[tuple[str | None, float | None], float]] = {}
        self.ticks = 0

    def next_due(self, now: float) -> float:
        """The next tick of any running schedule, or the next look at their states."""
        return min([super().next_due(now), *self._next_tick.values()])

    def run_iteration(self, now: float) -> None:
        """Tick each running schedule whose tick time has come."""
        self.last_run = now
        states = {s.name: s for s in self.instance.get_instigator_states()}
        upcoming: dict[str, float] = {}
        for schedule in self.location.schedules:
            state = instigator_state(
                self.instance, schedule, InstigatorType.SCHEDULE, states.get(schedule.name), now
            )
            if state.status is not InstigatorStatus.RUNNING:
                continue
            upcoming[schedule.name] = self._run_schedule(schedule, state, now)
        self._next_tick = upcoming
        self.info = {"running_schedules": len(upcoming), "ticks": self.ticks}

    def _run_schedule(self, schedule: Any, state: InstigatorState, now: float) -> float:
        """Handle the due ticks of one schedule; the time of its next tick."""
        known = self._known.get(schedule.name)
        if known is not None and known[0] == (state.cursor, state.start_timestamp):
            if now < known[1]:
                return known[1]  # nothing due; the state is as this loop left it
        else:  # first look in this process (or the state changed): a crash's tick first
            latest = self.instance.get_ticks(schedule.name, limit=1)
            if latest and latest[0].status is TickStatus.STARTED:
                state = self._tick(schedule, state, latest[0].timestamp, now)
        if state.cursor is not None:
            after = float(state.cursor)
        else:
            after = state.start_timestamp if state.start_timestamp is not None else now
        most = self.settings.max_catchup_runs
        due, following = ticks_between(
            cron_strings(schedule), schedule.execution_timezone, after, now, most
        )
        for scheduled in due:
            state = self._tick(schedule, state, scheduled, now)
        self._known[schedule.name] = ((state.cursor, state.start_timestamp), following)
        return following

    def _tick(
        self, schedule: Any, state: InstigatorState, scheduled: float, now: float
    ) -> InstigatorState:
        """Evaluate one tick of ``schedule`` at its scheduled time; the state after it."""
        tick, _ = start_tick(
            self.instance, schedule.name, InstigatorType.SCHEDULE, scheduled, state.cursor
        )
        self.ticks += 1
        outcome = self._evaluate(schedule, tick)
        done = complete_tick(
            self.instance,
            self.creator,
            schedule,
            InstigatorType.SCHEDULE,
            tick,
            state,
            outcome,
            now,
        )
        if done.run_ids and self.on_runs is not None:
            self.on_runs()
        return state.with_changes(cursor=outcome.cursor)

    def _evaluate(self, schedule: Any, tick: InstigatorTick) -> TickOutcome:
        from trellis.api.testing import build_schedule_context

        defs = self.location.definitions
        tz = ZoneInfo(schedule.execution_timezone or "UTC")
        when = datetime.fromtimestamp(tick.timestamp, tz)
        cursor = repr(tick.timestamp)

        def evaluate() -> Any:
            context = build_schedule_context(
                instance=self.instance,
                scheduled_execution_time=when,
                resources=resources_for(defs, schedule.required_resource_keys),
                repository_def=defs,
            )
            with context:
                return schedule.evaluate_tick(context)

        result = call_with_timeout(
            evaluate, self.settings.evaluation_timeout_seconds, f"schedule '{schedule.name}'"
        )
        if result.error is not None:
            return TickOutcome(error=result.error, cursor=cursor)
        value = result.value
        return TickOutcome(list(value.run_requests), value.skip_message, cursor=cursor)
