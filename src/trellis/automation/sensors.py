"""Which automation sensors a code location has, and which assets each evaluates.

The sensors are the ``AutomationConditionSensorDefinition``s among the definitions'
sensors, plus ``default_automation_condition_sensor`` when some materializable asset with
an automation condition is targeted by none of them (it targets exactly those assets and
starts stopped, as in Dagster). An asset targeted by two automation sensors is an error:
each asset's evaluations have one cursor and one history.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from trellis.automation.condition import AutomationCondition
from trellis.core.asset_key import AssetKey
from trellis.core.errors import InvalidDefinitionError
from trellis.defs.asset_graph import AssetGraph
from trellis.defs.asset_selection import AssetSelection
from trellis.defs.automation_sensor import (
    DEFAULT_AUTOMATION_CONDITION_SENSOR_NAME,
    AutomationConditionSensorDefinition,
)
from trellis.defs.sensor import DefaultSensorStatus


def conditions_of(asset_graph: AssetGraph) -> dict[AssetKey, AutomationCondition]:
    """The automation condition of every materializable asset that has one."""
    found: dict[AssetKey, AutomationCondition] = {}
    for key, producer in asset_graph.producer.items():
        condition = producer.specs_by_key[key].automation_condition
        if condition is not None:
            found[key] = condition
    return found


def _user_sensors(definitions: Any) -> list[AutomationConditionSensorDefinition]:
    return [s for s in definitions.sensors if isinstance(s, AutomationConditionSensorDefinition)]


def sensor_targets(
    sensor: AutomationConditionSensorDefinition, asset_graph: AssetGraph
) -> dict[AssetKey, AutomationCondition]:
    """The assets ``sensor`` evaluates, with their conditions: the materializable assets
    of its target that have a condition (or, with the sensor's ``default_condition``,
    all of them)."""
    own = conditions_of(asset_graph)
    selected = sensor.target_selection().resolve(asset_graph) & asset_graph.materializable_keys
    default = sensor.default_condition
    targets: dict[AssetKey, AutomationCondition] = {}
    for key in selected:
        condition = own.get(key, default)
        if condition is not None:
            targets[key] = condition
    return targets


def automation_condition_sensors(definitions: Any) -> list[AutomationConditionSensorDefinition]:
    """The automation sensors of ``definitions``: its own, then the default one when
    assets with conditions are left over. Raises ``InvalidDefinitionError`` when two
    sensors target one asset."""
    graph = definitions.asset_graph
    sensors = _user_sensors(definitions)
    owner: dict[AssetKey, str] = {}
    for sensor in sensors:
        for key in sensor_targets(sensor, graph):
            if key in owner:
                raise InvalidDefinitionError(
                    f"Asset '{key.to_user_string()}' is targeted by two automation condition "
                    f"sensors, '{owner[key]}' and '{sensor.name}'; each asset's conditions "
                    "are evaluated by one sensor. Narrow their targets."
                )
            owner[key] = sensor.name
    leftover = sorted(set(conditions_of(graph)) - set(owner))
    if leftover and all(s.name != DEFAULT_AUTOMATION_CONDITION_SENSOR_NAME for s in sensors):
        sensors.append(default_sensor_for(leftover))
    return sensors


def default_sensor_for(keys: Iterable[AssetKey]) -> AutomationConditionSensorDefinition:
    """``default_automation_condition_sensor`` over ``keys``."""
    return AutomationConditionSensorDefinition(
        DEFAULT_AUTOMATION_CONDITION_SENSOR_NAME,
        target=AssetSelection.keys(*sorted(keys)),
        default_status=DefaultSensorStatus.STOPPED,
        description="Evaluates the automation conditions that no other sensor evaluates.",
    )


def automation_sensor_named(definitions: Any, name: str) -> AutomationConditionSensorDefinition:
    """The automation sensor called ``name`` (the default one included)."""
    sensors = automation_condition_sensors(definitions)
    for sensor in sensors:
        if sensor.name == name:
            return sensor
    names = ", ".join(s.name for s in sensors) or "none"
    raise InvalidDefinitionError(
        f"No automation condition sensor named '{name}' (there are: {names})."
    )
