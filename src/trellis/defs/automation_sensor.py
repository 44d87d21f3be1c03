"""``AutomationConditionSensorDefinition``: the sensor that evaluates the automation
conditions of a selection of assets and requests runs for them.

A pure description, like every definition: the daemon's automation loop
(``trellis.automation.loop.AutomationLoop``) evaluates it, keeping its cursor in the
sensor's instigator state. When a code location has assets with automation conditions
that no such sensor targets, Trellis adds one for them, named
``default_automation_condition_sensor`` (``trellis.automation.sensors``), as Dagster does.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from trellis.core.errors import InvalidDefinitionError, InvariantViolationError
from trellis.defs.asset_spec import is_automation_condition
from trellis.defs.run_request import check_tags
from trellis.defs.sensor import DefaultSensorStatus, SensorDefinition, SensorEvaluationResult

if TYPE_CHECKING:
    from trellis.defs.asset_selection import AssetSelection, CoercibleToAssetSelection

DEFAULT_AUTOMATION_CONDITION_SENSOR_NAME = "default_automation_condition_sensor"


def _evaluated_by_the_automation_loop(context: Any) -> None:
    raise InvariantViolationError(
        "An AutomationConditionSensorDefinition is not a function to call: the daemon's "
        "automation loop evaluates it (trellis.automation.loop.AutomationLoop), and tests "
        "use evaluate_automation_conditions(defs, instance)."
    )


class AutomationConditionSensorDefinition(SensorDefinition):
    """Evaluates the automation conditions of the assets in ``target`` every
    ``minimum_interval_seconds`` (default 30) and requests runs for what they select;
    ``run_tags`` go on those runs.

    ``default_condition`` applies to the targeted assets that have no condition of their
    own. ``use_user_code_server`` and ``emit_backfills`` are accepted for Dagster code and
    change nothing: conditions are always evaluated with the loaded code (custom condition
    classes work), and Trellis, which has no backfills, requests one run per partition.
    """

    def __init__(
        self,
        name: str,
        *,
        target: CoercibleToAssetSelection,
        tags: Mapping[str, str] | None = None,
        run_tags: Mapping[str, Any] | None = None,
        default_status: DefaultSensorStatus = DefaultSensorStatus.STOPPED,
        minimum_interval_seconds: int | None = None,
        description: str | None = None,
        metadata: Mapping[str, Any] | None = None,
        emit_backfills: bool = True,
        use_user_code_server: bool = False,
        default_condition: Any = None,
    ) -> None:
        owner = f"AutomationConditionSensorDefinition '{name}'"
        if target is None:
            raise InvalidDefinitionError(f"{owner} needs a target (an asset selection).")
        if default_condition is not None and not is_automation_condition(default_condition):
            raise InvalidDefinitionError(
                f"{owner}: default_condition must be an AutomationCondition, got "
                f"{default_condition!r}."
            )
        self._run_tags = check_tags(
            owner, {k: str(v) for k, v in (run_tags or {}).items()}, InvalidDefinitionError
        )
        self._emit_backfills = bool(emit_backfills)
        self._use_user_code_server = bool(use_user_code_server)
        self._default_condition = default_condition
        self._sensor_target = target
        super().__init__(
            name,
            evaluation_fn=_evaluated_by_the_automation_loop,
            minimum_interval_seconds=minimum_interval_seconds,
            description=description,
            default_status=default_status,
            asset_selection=target,
            tags=tags,
            metadata=metadata,
        )

    @property
    def run_tags(self) -> dict[str, str]:
        """Tags put on every run the sensor requests."""
        return dict(self._run_tags)

    @property
    def default_condition(self) -> Any:
        """The condition of targeted assets that have none (None: such assets are not
        evaluated)."""
        return self._default_condition

    @property
    def emit_backfills(self) -> bool:
        """As given (Trellis has no backfills: runs are requested instead)."""
        return self._emit_backfills

    @property
    def use_user_code_server(self) -> bool:
        """As given (it changes nothing in Trellis)."""
        return self._use_user_code_server

    def target_selection(self) -> AssetSelection:
        """The target as an ``AssetSelection``."""
        from trellis.defs.asset_selection import coerce_selection

        return coerce_selection(self._sensor_target)

    def evaluate_tick(self, context: Any) -> SensorEvaluationResult:
        """Not for this sensor: the automation loop evaluates it."""
        _evaluated_by_the_automation_loop(context)
        raise AssertionError  # unreachable

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        """Not for this sensor: the automation loop evaluates it."""
        _evaluated_by_the_automation_loop(None)

    def __repr__(self) -> str:
        return f"AutomationConditionSensorDefinition(name={self.name!r})"
