"""The ``sensors`` loop: ticks every running sensor when its ``minimum_interval_seconds``
has passed since its previous tick began. Plain sensors run their function (in a thread,
with the evaluation timeout); automation sensors are evaluated by declarative
automation's ``AutomationLoop`` from their stored cursor. Either way the tick's run
requests become queued runs exactly once (``ticks.py``); the asset events of a
``SensorResult`` are recorded in the instance outside any run."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from trellis.automation.loop import AutomationLoop
from trellis.daemon.code_location import CodeLocation
from trellis.daemon.loop import DaemonLoop
from trellis.daemon.ticks import (
    RunCreator,
    TickOutcome,
    complete_tick,
    instigator_state,
    start_tick,
)
from trellis.daemon.user_code import call_with_timeout
from trellis.defs.automation_sensor import AutomationConditionSensorDefinition
from trellis.defs.sensor import TICK_TIME
from trellis.instance.daemon_config import DaemonSettings
from trellis.instance.daemon_records import (
    InstigatorState,
    InstigatorStatus,
    InstigatorTick,
    InstigatorType,
    TickStatus,
)

log = logging.getLogger("trellis.daemon.sensors")

_EARLY = 0.002  # a wake-up this close to the due time counts as on time
STATE_REFRESH_SECONDS = 1.0  # how soon a `trellis sensor start` is noticed


def resources_for(definitions: Any, keys: Any) -> dict[str, Any]:
    """The code location's resources that an instigator declared."""
    available = getattr(definitions, "resources", None) or {}
    return {key: available[key] for key in keys if key in available}


class SensorLoop(DaemonLoop):
    """Ticks the running sensors of a code location (see the module docstring).
    ``on_runs`` is called after a tick queued runs (the daemon wakes its run queue)."""

    name = "sensors"

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
        self.automation = AutomationLoop(logger=log)
        self._last_tick: dict[str, float] = {}
        self._running: dict[str, float] = {}
        self.ticks = 0

    # -- scheduling ----------------------------------------------------------------------
    def _last_tick_time(self, name: str) -> float | None:
        if name not in self._last_tick:
            latest = self.instance.get_ticks(name, limit=1)
            if not latest or latest[0].status is TickStatus.STARTED:
                return None  # never ticked, or a tick a dead daemon left: due now
            self._last_tick[name] = latest[0].timestamp
        return self._last_tick[name]

    def next_due(self, now: float) -> float:
        """The earliest of the running sensors' next ticks, and the next look at their
        states."""
        due = super().next_due(now)
        for name, interval in self._running.items():
            last = self._last_tick.get(name)
            due = min(due, now if last is None else last + interval)
        return due

    def run_iteration(self, now: float) -> None:
        """Tick each running sensor that is due."""
        self.last_run = now
        states = {s.name: s for s in self.instance.get_instigator_states()}
        running: dict[str, float] = {}
        for sensor in self.location.sensors:
            state = instigator_state(
                self.instance, sensor, InstigatorType.SENSOR, states.get(sensor.name), now
            )
            if state.status is not InstigatorStatus.RUNNING:
                continue
            interval = float(sensor.minimum_interval_seconds)
            running[sensor.name] = interval
            last = self._last_tick_time(sensor.name)
            if last is not None and now < last + interval - _EARLY:
                continue
            self.tick(sensor, state, now)
        self._running = running
        self.info = {"running_sensors": len(running), "ticks": self.ticks}

    # -- one tick ------------------------------------------------------------------------
    def tick(self, sensor: Any, state: InstigatorState, now: float) -> InstigatorTick:
        """Evaluate ``sensor`` once at ``now`` (or resume its unfinished tick), queue its
        runs, and record the tick."""
        tick, _resumed = start_tick(
            self.instance, sensor.name, InstigatorType.SENSOR, now, state.cursor
        )
        self._last_tick[sensor.name] = now
        self.ticks += 1
        if isinstance(sensor, AutomationConditionSensorDefinition):
            outcome = self._evaluate_automation(sensor, state, tick)
        else:
            outcome = self._evaluate(sensor, state, tick)
        done = complete_tick(
            self.instance, self.creator, sensor, InstigatorType.SENSOR, tick, state, outcome, now
        )
        if done.run_ids and self.on_runs is not None:
            self.on_runs()
        return done

    def _evaluate(self, sensor: Any, state: InstigatorState, tick: InstigatorTick) -> TickOutcome:
        from trellis.api.testing import build_sensor_context

        defs = self.location.definitions
        previous = [t for t in self.instance.get_ticks(sensor.name, limit=2) if t != tick]
        last = previous[0] if previous else None

        def evaluate() -> Any:
            context = build_sensor_context(
                instance=self.instance,
                cursor=state.cursor,
                repository_def=defs,
                sensor_name=sensor.name,
                resources=resources_for(defs, sensor.required_resource_keys),
                last_tick_completion_time=last.end_timestamp if last else None,
                last_run_key=(last.run_keys[-1] if last and last.run_keys else None),
                last_sensor_start_time=state.start_timestamp,
            )
            token = TICK_TIME.set(tick.timestamp)  # in the evaluating thread
            try:
                with context:
                    return sensor.evaluate_tick(context)
            finally:
                TICK_TIME.reset(token)

        result = call_with_timeout(
            evaluate, self.settings.evaluation_timeout_seconds, f"sensor '{sensor.name}'"
        )
        if result.error is not None:
            return TickOutcome(error=result.error)
        value = result.value
        for asset_event in value.asset_events:  # recorded before the tick's runs are made
            self.instance.report_runless_asset_event(asset_event)
        return TickOutcome(list(value.run_requests), value.skip_message, cursor=value.cursor)

    def _evaluate_automation(
        self, sensor: AutomationConditionSensorDefinition, state: InstigatorState, tick: Any
    ) -> TickOutcome:
        defs = self.location.definitions

        def evaluate() -> Any:
            return self.automation.run_once(
                self.instance, defs, tick.timestamp, state.cursor, sensor=sensor
            )

        result = call_with_timeout(
            evaluate, self.settings.evaluation_timeout_seconds, f"sensor '{sensor.name}'"
        )
        if result.error is not None:
            return TickOutcome(error=result.error)
        value = result.value
        return TickOutcome(list(value.run_requests), value.skip_reason, cursor=value.cursor)
