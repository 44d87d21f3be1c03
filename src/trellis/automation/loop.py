"""``AutomationLoop``: the daemon's seam into declarative automation.

The daemon treats each automation sensor (``AutomationLoop.sensors(definitions)``: the
code location's ``AutomationConditionSensorDefinition``s and the default one) as an
instigator with its own status, interval and cursor. On a tick it calls ``run_once``
with the sensor's stored cursor; the loop evaluates the sensor's assets, stores the
evaluation records in the instance, and hands back the run requests and the new cursor,
which the daemon stores once the runs are launched. The records are keyed by evaluation
id and each run request has a run key made from the evaluation, so a tick repeated after
a crash (same cursor, same evaluation id) replaces its records and asks for the same run
keys instead of adding new ones.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from trellis.automation.cursor import AutomationCursor
from trellis.automation.evaluator import AutomationEvaluation, AutomationEvaluator, as_utc
from trellis.automation.run_requests import build_run_requests
from trellis.automation.sensors import (
    automation_condition_sensors,
    automation_sensor_named,
    sensor_targets,
)
from trellis.automation.state import InstanceStateView
from trellis.automation.subset import AssetSubset
from trellis.core.asset_key import AssetKey
from trellis.core.collector import collector_paused
from trellis.core.errors import InvalidInvocationError
from trellis.defs.automation_sensor import (
    DEFAULT_AUTOMATION_CONDITION_SENSOR_NAME,
    AutomationConditionSensorDefinition,
)
from trellis.defs.run_request import RunRequest
from trellis.instance.automation_records import AutomationEvaluationRecord

Clock = Callable[[], datetime | float] | Any
"""What tells the time: a function returning a datetime or a timestamp, an object with a
``now()`` method, or a fixed datetime or timestamp (None: the system clock)."""


def read_clock(clock: Clock) -> datetime:
    """The time ``clock`` says, as an aware datetime."""
    if clock is None or isinstance(clock, (datetime, int, float)):
        return as_utc(clock)
    now = getattr(clock, "now", None)
    value = now() if callable(now) else clock()
    return as_utc(value)


@dataclass
class AutomationTick:
    """One evaluation of an automation sensor: the runs to request, the cursor to store
    (JSON), the records stored in the instance, and what was requested per asset."""

    sensor_name: str
    evaluation_id: int
    evaluation_time: datetime
    run_requests: list[RunRequest]
    cursor: str
    evaluations: list[AutomationEvaluationRecord]
    requested: dict[AssetKey, AssetSubset] = field(default_factory=dict)
    evaluation: AutomationEvaluation | None = None

    @property
    def skip_reason(self) -> str | None:
        """Why no run is requested (None when some are)."""
        if self.run_requests:
            return None
        return "No asset's automation condition is true."


class AutomationLoop:
    """Evaluates automation sensors for the daemon (see the module docstring).

    ``record_evaluations=False`` keeps the records out of the instance (they are still
    returned)."""

    name = "automation"

    def __init__(self, *, record_evaluations: bool = True, logger: logging.Logger | None = None):
        self.record_evaluations = record_evaluations
        self.logger = logger or logging.getLogger("trellis.automation")

    @staticmethod
    def sensors(definitions: Any) -> list[AutomationConditionSensorDefinition]:
        """The automation sensors of ``definitions`` (the default one included)."""
        return automation_condition_sensors(definitions)

    @collector_paused()
    def run_once(
        self,
        instance: Any,
        definitions: Any,
        clock: Clock,
        cursor: str | None,
        sensor: AutomationConditionSensorDefinition | str | None = None,
    ) -> AutomationTick:
        """Evaluate ``sensor`` (an automation sensor of ``definitions`` or its name; by
        default the only one, or the default one) at the time ``clock`` says, from
        ``cursor`` (the JSON a previous tick returned; None for the first), record the
        evaluations, and return the tick. The cyclic garbage collector is paused for the
        tick (reading and writing a large cursor made it rescan everything alive)."""
        chosen = self._sensor(definitions, sensor)
        graph = definitions.asset_graph
        targets = sensor_targets(chosen, graph)
        previous = AutomationCursor.from_json(cursor)
        if previous.is_empty and previous.evaluation_id == 0:
            # A sensor without history continues the instance's evaluation ids, so its
            # records never replace older ones.
            previous.evaluation_id = instance.get_max_automation_evaluation_id() or 0
        evaluator = AutomationEvaluator(
            asset_graph=graph,
            conditions_by_key=targets,
            keys=targets,
            state=InstanceStateView(instance, graph, definitions),
            cursor=previous,
            evaluation_time=read_clock(clock),
            logger=self.logger,
        )
        evaluation = evaluator.evaluate()
        if self.record_evaluations and evaluation.records:
            instance.add_automation_evaluations(evaluation.records)
        requests = build_run_requests(
            evaluation.requested, graph, chosen.run_tags, evaluation.evaluation_id
        )
        if requests:
            self.logger.info(
                "%s: evaluation %d requested %d run(s).",
                chosen.name,
                evaluation.evaluation_id,
                len(requests),
            )
        return AutomationTick(
            sensor_name=chosen.name,
            evaluation_id=evaluation.evaluation_id,
            evaluation_time=evaluation.evaluation_time,
            run_requests=requests,
            cursor=evaluation.cursor.to_json(),
            evaluations=evaluation.records,
            requested=evaluation.requested,
            evaluation=evaluation,
        )

    @staticmethod
    def _sensor(
        definitions: Any, sensor: AutomationConditionSensorDefinition | str | None
    ) -> AutomationConditionSensorDefinition:
        if isinstance(sensor, AutomationConditionSensorDefinition):
            return sensor
        if isinstance(sensor, str):
            return automation_sensor_named(definitions, sensor)
        sensors = automation_condition_sensors(definitions)
        if len(sensors) == 1:
            return sensors[0]
        for candidate in sensors:
            if candidate.name == DEFAULT_AUTOMATION_CONDITION_SENSOR_NAME:
                return candidate
        names = ", ".join(s.name for s in sensors) or "none"
        raise InvalidInvocationError(
            f"Name the automation sensor to evaluate (the definitions have: {names})."
        )
