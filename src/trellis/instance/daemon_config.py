"""The daemon's sections of ``trellis.yaml`` (Dagster's shapes), validated with the rest
of the file::

    run_queue:
      max_concurrent_runs: 10          # -1: no limit
      tag_concurrency_limits:
        - key: database
          value: redshift              # runs with database=redshift: at most 2 at once
          limit: 2
        - key: team
          value: {applyLimitPerUniqueValue: true}   # at most 1 per team value
          limit: 1
        - key: heavy                   # any value of the tag counts
          limit: 3
      dequeue_interval_seconds: 0.5    # how often the queue looks, besides being woken
    scheduler:
      max_catchup_runs: 1              # missed ticks launched after downtime (newest)
    sensors:
      evaluation_timeout_seconds: 60   # a schedule or sensor running longer fails its tick
    retention:
      schedule: {purge_after_days: 90} # -1: keep forever
      sensor: {purge_after_days: 7}
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from trellis.config.types import Any as AnyConfig, Array, Field, Float, Int, Shape, StringSource
from trellis.config.validate import ConfigError, ConfigErrorReason

DEFAULT_MAX_CONCURRENT_RUNS = 10
DEFAULT_DEQUEUE_INTERVAL = 0.5
DEFAULT_MAX_CATCHUP_RUNS = 1
DEFAULT_EVALUATION_TIMEOUT = 60.0
DEFAULT_SCHEDULE_RETENTION_DAYS = 90.0
DEFAULT_SENSOR_RETENTION_DAYS = 7.0
PER_UNIQUE_VALUE = "applyLimitPerUniqueValue"


@dataclass(frozen=True)
class TagConcurrencyLimit:
    """At most ``limit`` runs in progress whose tag ``key`` is set (to ``value`` when
    given); ``per_unique_value``: the limit holds for each distinct value."""

    key: str
    limit: int
    value: str | None = None
    per_unique_value: bool = False


@dataclass(frozen=True)
class DaemonSettings:
    """What ``trellis.yaml`` says about the daemon: the run queue's limits, how many
    missed schedule ticks to launch after downtime, the time user code may take per
    evaluation, and how long ticks are kept (seconds; None: forever)."""

    max_concurrent_runs: int = DEFAULT_MAX_CONCURRENT_RUNS
    tag_concurrency_limits: tuple[TagConcurrencyLimit, ...] = field(default_factory=tuple)
    dequeue_interval_seconds: float = DEFAULT_DEQUEUE_INTERVAL
    max_catchup_runs: int = DEFAULT_MAX_CATCHUP_RUNS
    evaluation_timeout_seconds: float = DEFAULT_EVALUATION_TIMEOUT
    schedule_tick_retention_seconds: float | None = DEFAULT_SCHEDULE_RETENTION_DAYS * 86400
    sensor_tick_retention_seconds: float | None = DEFAULT_SENSOR_RETENTION_DAYS * 86400


def daemon_config_fields() -> dict[str, Field]:
    """The top-level fields of ``trellis.yaml`` that configure the daemon."""
    limit = Shape(
        {
            "key": Field(StringSource),
            "value": Field(AnyConfig, is_required=False),
            "limit": Field(Int),
        }
    )
    run_queue = Shape(
        {
            "max_concurrent_runs": Field(Int, default_value=DEFAULT_MAX_CONCURRENT_RUNS),
            "tag_concurrency_limits": Field(Array(limit), is_required=False),
            "dequeue_interval_seconds": Field(Float, default_value=DEFAULT_DEQUEUE_INTERVAL),
        }
    )
    retention_of = Shape({"purge_after_days": Field(Float, is_required=False)})
    return {
        "run_queue": Field(run_queue, is_required=False),
        "scheduler": Field(
            Shape({"max_catchup_runs": Field(Int, default_value=DEFAULT_MAX_CATCHUP_RUNS)}),
            is_required=False,
        ),
        "sensors": Field(
            Shape(
                {
                    "evaluation_timeout_seconds": Field(
                        Float, default_value=DEFAULT_EVALUATION_TIMEOUT
                    )
                }
            ),
            is_required=False,
        ),
        "retention": Field(
            Shape(
                {
                    "schedule": Field(retention_of, is_required=False),
                    "sensor": Field(retention_of, is_required=False),
                }
            ),
            is_required=False,
        ),
    }


def _error(path: tuple[str, ...], message: str) -> ConfigError:
    return ConfigError(("root", *path), ConfigErrorReason.RUNTIME_TYPE_MISMATCH, message)


def _limit(index: int, raw: dict[str, Any], errors: list[ConfigError]) -> TagConcurrencyLimit:
    path = ("run_queue", "tag_concurrency_limits", f"[{index}]")
    value = raw.get("value")
    per_unique = False
    if isinstance(value, dict):
        if set(value) != {PER_UNIQUE_VALUE} or not isinstance(value[PER_UNIQUE_VALUE], bool):
            errors.append(
                _error(
                    (*path, "value"),
                    f"run_queue: tag_concurrency_limits[{index}]: value must be a string or "
                    f"{{{PER_UNIQUE_VALUE}: true}}, got {value!r}.",
                )
            )
        else:
            per_unique = value[PER_UNIQUE_VALUE]
        value = None
    elif value is not None and not isinstance(value, str):
        errors.append(
            _error(
                (*path, "value"),
                f"run_queue: tag_concurrency_limits[{index}]: value must be a string or "
                f"{{{PER_UNIQUE_VALUE}: true}}, got {value!r}.",
            )
        )
        value = None
    if raw["limit"] < 0:
        errors.append(
            _error(
                (*path, "limit"),
                f"run_queue: tag_concurrency_limits[{index}]: limit must be 0 or more, "
                f"got {raw['limit']}.",
            )
        )
    return TagConcurrencyLimit(raw["key"], raw["limit"], value, per_unique)


def _retention(days: float | None) -> float | None:
    return None if days is None or days < 0 else days * 86400


def daemon_settings(value: dict[str, Any]) -> tuple[DaemonSettings, list[ConfigError]]:
    """The daemon's settings from a validated ``trellis.yaml`` value, and the errors no
    schema can express (a limit below zero, a tag value that is neither a string nor
    ``{applyLimitPerUniqueValue: true}``, an interval that is not positive)."""
    errors: list[ConfigError] = []
    queue = value.get("run_queue") or {}
    limits = tuple(
        _limit(i, raw, errors) for i, raw in enumerate(queue.get("tag_concurrency_limits") or [])
    )
    interval = float(queue.get("dequeue_interval_seconds", DEFAULT_DEQUEUE_INTERVAL))
    if interval <= 0:
        errors.append(
            _error(
                ("run_queue", "dequeue_interval_seconds"),
                f"run_queue: dequeue_interval_seconds must be positive, got {interval:g}.",
            )
        )
    catchup = int((value.get("scheduler") or {}).get("max_catchup_runs", DEFAULT_MAX_CATCHUP_RUNS))
    if catchup < 1:
        errors.append(
            _error(
                ("scheduler", "max_catchup_runs"),
                f"scheduler: max_catchup_runs must be 1 or more (the newest due tick always "
                f"runs), got {catchup}.",
            )
        )
    timeout = float(
        (value.get("sensors") or {}).get("evaluation_timeout_seconds", DEFAULT_EVALUATION_TIMEOUT)
    )
    if timeout <= 0:
        errors.append(
            _error(
                ("sensors", "evaluation_timeout_seconds"),
                f"sensors: evaluation_timeout_seconds must be positive, got {timeout:g}.",
            )
        )
    retention = value.get("retention") or {}
    schedule_days = (retention.get("schedule") or {}).get(
        "purge_after_days", DEFAULT_SCHEDULE_RETENTION_DAYS
    )
    sensor_days = (retention.get("sensor") or {}).get(
        "purge_after_days", DEFAULT_SENSOR_RETENTION_DAYS
    )
    settings = DaemonSettings(
        max_concurrent_runs=int(queue.get("max_concurrent_runs", DEFAULT_MAX_CONCURRENT_RUNS)),
        tag_concurrency_limits=limits,
        dequeue_interval_seconds=interval,
        max_catchup_runs=catchup,
        evaluation_timeout_seconds=timeout,
        schedule_tick_retention_seconds=_retention(schedule_days),
        sensor_tick_retention_seconds=_retention(sensor_days),
    )
    return settings, errors
