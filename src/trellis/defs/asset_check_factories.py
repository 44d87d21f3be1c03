"""Asset check factories: checks built for a list of assets, reading what the instance
recorded about them (never loading the assets themselves).

- ``build_last_update_freshness_checks``: an asset passes when its latest
  materialization is at most ``lower_bound_delta`` old; with ``deadline_cron``, at most
  that old at the latest deadline tick (``timezone``) before now.
- ``build_time_partition_freshness_checks``: a time-partitioned asset passes when the
  last partition completed at the latest ``deadline_cron`` tick is materialized.
- ``build_metadata_bounds_checks``: the numeric metadata value ``metadata_key`` of the
  latest materialization is within ``[min_value, max_value]`` (``exclusive_min`` /
  ``exclusive_max`` make a bound strict).
- ``build_column_schema_change_checks``: the ``dagster/column_schema`` of the latest
  materialization is the previous one's (added, removed and retyped columns listed).

"Now" is the clock, or the time of an enclosing ``partition_loading_context``. Each
check's result carries what it decided from as metadata. Checks default to severity
``WARN`` and are not blocking, as in Dagster.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from hashlib import sha256
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from trellis.core.asset_checks import AssetCheckResult, AssetCheckSeverity
from trellis.core.asset_key import AssetKey
from trellis.core.errors import InvalidDefinitionError
from trellis.defs.asset_check_spec import AssetCheckSpec
from trellis.defs.asset_checks_definition import AssetChecksDefinition, multi_asset_check
from trellis.defs.cron import check_cron_schedule, make_ticks
from trellis.defs.partition_loading import EFFECTIVE_TIME

COLUMN_SCHEMA_KEY = "dagster/column_schema"
FRESHNESS_PARAMS_KEY = "dagster/freshness_params"
"""The metadata of a freshness check's spec and results: the factory's parameters."""
FRESH_UNTIL_KEY = "dagster/fresh_until_timestamp"
"""The metadata of a passed freshness check: until when the result cannot change (the
freshness sensor evaluates the check again once that time has passed)."""


def _asset_keys(assets: Iterable[Any], owner: str) -> list[AssetKey]:
    """The keys of ``assets`` (definitions, specs or keys), each once."""
    keys: list[AssetKey] = []
    for item in assets:
        found = getattr(item, "keys", None)
        if found is not None and not isinstance(item, (str, AssetKey)):
            new = list(found) if not callable(found) else list(found())
        elif getattr(item, "key", None) is not None and not isinstance(item, AssetKey):
            new = [item.key]
        else:
            new = [AssetKey.from_coercible(item)]
        keys += [k for k in new if k not in keys]
    if not keys:
        raise InvalidDefinitionError(f"{owner}: assets= names no asset.")
    return keys


def now_time() -> datetime:
    """Now, for the checks: the time of an enclosing ``partition_loading_context``, else
    the clock."""
    return EFFECTIVE_TIME.get() or datetime.now(UTC)


def _zone(timezone: str, owner: str) -> ZoneInfo:
    try:
        return ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise InvalidDefinitionError(f"{owner}: unknown timezone {timezone!r}.") from None


def _last_deadline(cron: str, zone: ZoneInfo, now: datetime) -> datetime:
    ticks = make_ticks(cron, zone, now)
    return ticks.at(ticks.floor(now))


def _next_deadline(cron: str, zone: ZoneInfo, after: datetime) -> datetime:
    """The first ``cron`` tick strictly after ``after``."""
    ticks = make_ticks(cron, zone, after)
    return ticks.at(ticks.floor(after) + 1)


def _unique_name(op_name: str, keys: Sequence[AssetKey]) -> str:
    """The op name of one factory call: ``op_name`` and its asset (a digest of its assets
    when there are several), so that two calls' checks can live in one ``Definitions``."""
    if len(keys) == 1:
        return f"{op_name}_{keys[0].to_python_identifier()}"
    digest = sha256("\n".join(sorted(k.to_user_string() for k in keys)).encode()).hexdigest()
    return f"{op_name}_{digest[:8]}"


def _checks(
    keys: Sequence[AssetKey],
    check_name: str,
    description: str,
    blocking: bool,
    severity: AssetCheckSeverity | str,
    evaluate: Callable[[Any, AssetKey], tuple[bool, dict[str, Any], str | None]],
    op_name: str,
    spec_metadata: Mapping[str, Any] | None = None,
) -> list[AssetChecksDefinition]:
    """One multi-asset check evaluating ``evaluate(instance, key)`` for each key."""
    specs = [
        AssetCheckSpec(
            check_name,
            asset=key,
            description=description,
            blocking=blocking,
            metadata=spec_metadata,
        )
        for key in keys
    ]

    @multi_asset_check(specs=specs, name=_unique_name(op_name, keys), can_subset=True)
    def run_checks(context: Any) -> Iterable[AssetCheckResult]:
        for check_key in sorted(context.selected_asset_check_keys, key=str):
            passed, metadata, text = evaluate(context.instance, check_key.asset_key)
            yield AssetCheckResult(
                asset_key=check_key.asset_key,
                check_name=check_key.name,
                passed=passed,
                metadata=metadata,
                severity=severity,
                description=text,
            )

    return [run_checks]


def build_last_update_freshness_checks(
    *,
    assets: Sequence[Any],
    lower_bound_delta: timedelta,
    deadline_cron: str | None = None,
    timezone: str = "UTC",
    severity: AssetCheckSeverity | str = AssetCheckSeverity.WARN,
    blocking: bool = False,
) -> Sequence[AssetChecksDefinition]:
    """Checks (``freshness_check``) that each asset was materialized recently enough
    (see the module docstring)."""
    owner = "build_last_update_freshness_checks"
    keys = _asset_keys(assets, owner)
    if not isinstance(lower_bound_delta, timedelta) or lower_bound_delta <= timedelta(0):
        raise InvalidDefinitionError(
            f"{owner}: lower_bound_delta must be a positive timedelta, got {lower_bound_delta!r}."
        )
    zone = _zone(timezone, owner)
    if deadline_cron is not None:
        check_cron_schedule(deadline_cron, owner)
    params: dict[str, Any] = {"lower_bound_delta_seconds": lower_bound_delta.total_seconds()}
    if deadline_cron is not None:
        params |= {"deadline_cron": deadline_cron, "timezone": timezone}

    def evaluate(instance: Any, key: AssetKey) -> tuple[bool, dict[str, Any], str | None]:
        now = now_time()
        anchor = now if deadline_cron is None else _last_deadline(deadline_cron, zone, now)
        lower_bound = (anchor - lower_bound_delta).timestamp()
        record = instance.get_latest_materialization_record(key)
        metadata: dict[str, Any] = {
            FRESHNESS_PARAMS_KEY: params,
            "dagster/freshness_lower_bound_timestamp": lower_bound,
        }
        if record is None:
            return False, metadata, f"{key.to_user_string()} was never materialized."
        updated = record.timestamp
        metadata["dagster/last_updated_timestamp"] = updated
        # When it is (or was) overdue: lower_bound_delta after its update, or with a cron
        # the first deadline after that.
        stale_after = datetime.fromtimestamp(updated, UTC) + lower_bound_delta
        if deadline_cron is not None:
            stale_after = _next_deadline(deadline_cron, zone, stale_after)
        if updated >= lower_bound:
            metadata[FRESH_UNTIL_KEY] = stale_after.timestamp()
            return True, metadata, None
        metadata["dagster/overdue_seconds"] = round(now.timestamp() - stale_after.timestamp(), 3)
        return (
            False,
            metadata,
            f"{key.to_user_string()} was last materialized "
            f"{datetime.fromtimestamp(updated, UTC).isoformat()}, before "
            f"{datetime.fromtimestamp(lower_bound, UTC).isoformat()}.",
        )

    return _checks(
        keys,
        "freshness_check",
        f"Materialized within {lower_bound_delta} of "
        + ("now." if deadline_cron is None else f"the latest '{deadline_cron}' tick."),
        blocking,
        severity,
        evaluate,
        "freshness_checks",
        {FRESHNESS_PARAMS_KEY: params},
    )


def build_time_partition_freshness_checks(
    *,
    assets: Sequence[Any],
    deadline_cron: str,
    timezone: str = "UTC",
    severity: AssetCheckSeverity | str = AssetCheckSeverity.WARN,
    blocking: bool = False,
) -> Sequence[AssetChecksDefinition]:
    """Checks (``freshness_check``) that each time-partitioned asset's partition completed
    by the latest ``deadline_cron`` tick is materialized."""
    from trellis.defs.time_partitions import TimeWindowPartitionsDefinition

    owner = "build_time_partition_freshness_checks"
    partitions_by_key: dict[AssetKey, TimeWindowPartitionsDefinition] = {}
    for item in assets:
        partitions_def = getattr(item, "partitions_def", None)
        if not isinstance(partitions_def, TimeWindowPartitionsDefinition):
            raise InvalidDefinitionError(
                f"{owner}: {item!r} is not partitioned by time windows; pass the asset "
                "definitions (or specs) of time-partitioned assets."
            )
        for key in _asset_keys([item], owner):
            partitions_by_key[key] = partitions_def
    if not partitions_by_key:
        raise InvalidDefinitionError(f"{owner}: assets= names no asset.")
    check_cron_schedule(deadline_cron, owner)
    zone = _zone(timezone, owner)
    params = {"deadline_cron": deadline_cron, "timezone": timezone}

    def evaluate(instance: Any, key: AssetKey) -> tuple[bool, dict[str, Any], str | None]:
        now = now_time()
        deadline = _last_deadline(deadline_cron, zone, now)
        expected = partitions_by_key[key].get_last_partition_key(current_time=deadline)
        metadata: dict[str, Any] = {
            FRESHNESS_PARAMS_KEY: params,
            "dagster/deadline_timestamp": deadline.timestamp(),
            # a pass holds until the next deadline expects another partition
            FRESH_UNTIL_KEY: _next_deadline(deadline_cron, zone, now).timestamp(),
        }
        if expected is None:
            return True, metadata, "No partition had completed by the deadline."
        metadata["dagster/expected_partition"] = expected
        done = instance.get_latest_materializations_by_partition(key)
        if expected in done:
            metadata["dagster/last_updated_timestamp"] = done[expected].timestamp
            return True, metadata, None
        del metadata[FRESH_UNTIL_KEY]
        return False, metadata, f"Partition {expected} of {key.to_user_string()} is missing."

    return _checks(
        list(partitions_by_key),
        "freshness_check",
        f"The partition completed by the latest '{deadline_cron}' tick is materialized.",
        blocking,
        severity,
        evaluate,
        "time_partition_freshness_checks",
        {FRESHNESS_PARAMS_KEY: params},
    )


def build_metadata_bounds_checks(
    *,
    assets: Sequence[Any],
    metadata_key: str,
    min_value: float | None = None,
    max_value: float | None = None,
    exclusive_min: bool = False,
    exclusive_max: bool = False,
    severity: AssetCheckSeverity | str = AssetCheckSeverity.WARN,
    blocking: bool = False,
) -> Sequence[AssetChecksDefinition]:
    """Checks (``<metadata_key>_bounds_check``) that the latest materialization's numeric
    metadata ``metadata_key`` is within the bounds."""
    owner = "build_metadata_bounds_checks"
    keys = _asset_keys(assets, owner)
    if min_value is None and max_value is None:
        raise InvalidDefinitionError(f"{owner}: give min_value, max_value or both.")
    if min_value is not None and max_value is not None and min_value > max_value:
        raise InvalidDefinitionError(
            f"{owner}: min_value {min_value} is greater than max_value {max_value}."
        )

    def evaluate(instance: Any, key: AssetKey) -> tuple[bool, dict[str, Any], str | None]:
        record = instance.get_latest_materialization_record(key)
        if record is None:
            return False, {}, f"{key.to_user_string()} was never materialized."
        entry = (record.event.asset_materialization.metadata or {}).get(metadata_key)
        value = getattr(entry, "value", entry)
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            return (
                False,
                {},
                f"Metadata '{metadata_key}' of {key.to_user_string()} is "
                + ("missing." if entry is None else f"not a number: {value!r}."),
            )
        low_ok = min_value is None or (value > min_value if exclusive_min else value >= min_value)
        high_ok = max_value is None or (value < max_value if exclusive_max else value <= max_value)
        passed = low_ok and high_ok
        low = "" if min_value is None else ("(" if exclusive_min else "[") + f"{min_value}"
        high = "" if max_value is None else f"{max_value}" + (")" if exclusive_max else "]")
        text = f"'{metadata_key}' is {value}, " + ("within" if passed else "outside")
        return passed, {"value": value}, f"{text} {low or '(-inf'}, {high or 'inf)'}."

    return _checks(
        keys,
        f"{metadata_key}_bounds_check",
        f"Metadata '{metadata_key}' within bounds.",
        blocking,
        severity,
        evaluate,
        f"{_identifier(metadata_key)}_bounds_checks",
    )


def _identifier(text: str) -> str:
    return "".join(c if c.isalnum() else "_" for c in text)


def _columns(record: Any) -> dict[str, str] | None:
    entry = (record.event.asset_materialization.metadata or {}).get(COLUMN_SCHEMA_KEY)
    schema = getattr(entry, "value", entry)
    columns = getattr(schema, "columns", None)
    if columns is None:
        return None
    return {column.name: column.type for column in columns}


def build_column_schema_change_checks(
    *,
    assets: Sequence[Any],
    severity: AssetCheckSeverity | str = AssetCheckSeverity.WARN,
) -> Sequence[AssetChecksDefinition]:
    """Checks (``column_schema_change``) that an asset's ``dagster/column_schema`` did not
    change between its last two materializations."""
    keys = _asset_keys(assets, "build_column_schema_change_checks")

    def evaluate(instance: Any, key: AssetKey) -> tuple[bool, dict[str, Any], str | None]:
        records = instance.get_materialization_records(key, limit=2)
        if len(records) < 2:
            return True, {}, "Fewer than two materializations to compare."
        current, previous = _columns(records[0]), _columns(records[1])
        if current is None or previous is None:
            return True, {}, f"A materialization has no {COLUMN_SCHEMA_KEY} metadata."
        added = sorted(set(current) - set(previous))
        removed = sorted(set(previous) - set(current))
        retyped = sorted(
            f"{name}: {previous[name]} -> {current[name]}"
            for name in set(current) & set(previous)
            if current[name] != previous[name]
        )
        changes: Mapping[str, list[str]] = {
            "added_columns": added,
            "removed_columns": removed,
            "column_type_changes": retyped,
        }
        passed = not (added or removed or retyped)
        return passed, dict(changes), None if passed else "The column schema changed."

    return _checks(
        keys,
        "column_schema_change",
        "The column schema did not change since the previous materialization.",
        False,
        severity,
        evaluate,
        "column_schema_change_checks",
    )
