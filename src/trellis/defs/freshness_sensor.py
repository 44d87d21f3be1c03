"""``build_sensor_for_freshness_checks``: a sensor that runs freshness checks when their
result may have changed, so that an asset that goes overdue is reported without a
schedule re-running every check.

    checks = build_last_update_freshness_checks(
        assets=[orders], lower_bound_delta=timedelta(hours=6)
    )
    freshness_sensor = build_sensor_for_freshness_checks(freshness_checks=checks)
    defs = Definitions(assets=[orders], asset_checks=checks, sensors=[freshness_sensor])

At each tick it requests one run of the checks that are due (``RunRequest(asset_check_keys=
...)``, which evaluates those checks alone). A check is due when

- it was never evaluated;
- it last passed and the time it recorded as ``dagster/fresh_until_timestamp`` (when the
  asset would become overdue without a new materialization) has come;
- it last failed and the asset has been materialized since (Dagster leaves this to the
  check running with the materialization; Trellis also catches a materialization made
  without it, such as a runless one or one from a job that did not select the check).

A check that a run of this sensor is still going to evaluate (the run is not finished) is
not requested again. "Now" is the tick's time (the daemon's clock). The checks are read in
turns from the cursor (the last check looked at), so a tick with very many checks that
runs out of time (``MAXIMUM_RUNTIME_SECONDS``) goes on where it stopped at the next tick.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from typing import Any

from trellis.core.asset_checks import AssetCheckKey
from trellis.core.errors import InvalidDefinitionError
from trellis.core.run import SENSOR_NAME_TAG, RunStatus
from trellis.defs.asset_check_factories import FRESH_UNTIL_KEY, FRESHNESS_PARAMS_KEY, now_time
from trellis.defs.asset_checks_definition import AssetChecksDefinition
from trellis.defs.run_request import RunRequest, SkipReason
from trellis.defs.sensor import TICK_TIME, DefaultSensorStatus, SensorDefinition

DEFAULT_FRESHNESS_SENSOR_NAME = "freshness_checks_sensor"

MAXIMUM_RUNTIME_SECONDS = 35.0
"""How long one tick may spend deciding which checks are due before it stops (the next
tick goes on from the cursor)."""

_UNFINISHED = [s for s in RunStatus if not s.is_finished]


def _freshness_check_keys(freshness_checks: Any, owner: str) -> list[AssetCheckKey]:
    """The check keys of ``freshness_checks``, refusing what is not a freshness check."""
    if isinstance(freshness_checks, AssetChecksDefinition) or not isinstance(
        freshness_checks, Sequence
    ):
        raise InvalidDefinitionError(
            f"{owner}: freshness_checks must be a list of checks (what "
            f"build_last_update_freshness_checks returns), got {freshness_checks!r:.100}."
        )
    keys: list[AssetCheckKey] = []
    for checks_def in freshness_checks:
        if not isinstance(checks_def, AssetChecksDefinition):
            raise InvalidDefinitionError(
                f"{owner}: freshness_checks holds {checks_def!r:.100}, not an asset check "
                "definition."
            )
        for key, spec in checks_def.check_specs_by_key.items():
            if FRESHNESS_PARAMS_KEY not in (spec.metadata or {}):
                raise InvalidDefinitionError(
                    f"{owner}: check '{key.to_user_string()}' is not a freshness check; build "
                    "them with build_last_update_freshness_checks or "
                    "build_time_partition_freshness_checks."
                )
            if key in keys:
                raise InvalidDefinitionError(
                    f"{owner}: check '{key.to_user_string()}' is given twice."
                )
            keys.append(key)
    if not keys:
        raise InvalidDefinitionError(f"{owner}: freshness_checks holds no check.")
    return sorted(keys, key=AssetCheckKey.to_user_string)


def _is_due(instance: Any, key: AssetCheckKey, now: float) -> bool:
    """Whether the check's result may have changed since its latest evaluation."""
    record = instance.get_latest_asset_check_evaluation_record(key)
    evaluation = record.asset_check_evaluation if record is not None else None
    if evaluation is None:
        return True
    if evaluation.passed:
        until = (evaluation.metadata or {}).get(FRESH_UNTIL_KEY)
        until = getattr(until, "value", until)
        return not isinstance(until, (int, float)) or now >= until
    latest = instance.get_latest_materialization_record(key.asset_key)
    return latest is not None and latest.storage_id > record.storage_id


def _in_flight(instance: Any, sensor_name: str) -> set[str]:
    """The checks that unfinished runs of this sensor are going to evaluate."""
    runs = instance.get_runs(statuses=_UNFINISHED, tags={SENSOR_NAME_TAG: sensor_name})
    return {key for run in runs for key in (run.asset_check_selection or ())}


def build_sensor_for_freshness_checks(
    *,
    freshness_checks: Sequence[AssetChecksDefinition],
    minimum_interval_seconds: int | None = None,
    name: str = DEFAULT_FRESHNESS_SENSOR_NAME,
    default_status: DefaultSensorStatus = DefaultSensorStatus.STOPPED,
    tags: Mapping[str, str] | None = None,
) -> SensorDefinition:
    """A sensor (``name``, every ``minimum_interval_seconds``) that requests a run of the
    ``freshness_checks`` that are due at each tick: never evaluated, passed but past the
    time they were fresh until, or failed with a materialization since (see the module
    docstring). Its runs carry ``tags``."""
    owner = "build_sensor_for_freshness_checks"
    keys = _freshness_check_keys(freshness_checks, owner)
    by_name = {key.to_user_string(): index for index, key in enumerate(keys)}
    run_tags = dict(tags or {})

    def evaluate(context: Any) -> RunRequest | SkipReason:
        now = TICK_TIME.get() or now_time().timestamp()
        instance = context.instance
        in_flight = _in_flight(instance, context.sensor_name or name)
        start = by_name.get(context.cursor or "", -1) + 1
        started = time.monotonic()
        due: list[AssetCheckKey] = []
        last = None
        for key in keys[start:] + keys[:start]:
            last = key
            if key.to_user_string() not in in_flight and _is_due(instance, key, now):
                due.append(key)
            if time.monotonic() - started > MAXIMUM_RUNTIME_SECONDS:
                break
        if last is not None:
            context.update_cursor(last.to_user_string())
        if due:
            return RunRequest(asset_check_keys=due, tags=run_tags)
        return SkipReason(
            "No freshness check is due: each passed and is fresh until later, failed with "
            "no materialization since, or is being evaluated."
        )

    evaluate.__name__ = name
    return SensorDefinition(
        name,
        evaluation_fn=evaluate,
        minimum_interval_seconds=minimum_interval_seconds,
        description=f"Evaluates {len(keys)} freshness check{'s' if len(keys) != 1 else ''} "
        "when their result may have changed.",
        default_status=default_status,
    )
