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

Dagster's ``run_coordinator`` and ``run_launcher`` sections are read too::

    run_coordinator:                   # instead of run_queue (not both)
      module: dagster.core.run_coordinator
      class: QueuedRunCoordinator      # or DefaultRunCoordinator: no limits
      config: {max_concurrent_runs: 4, tag_concurrency_limits: [...],
               dequeue_interval_seconds: 1}   # Dagster's other keys are accepted, unused
      # module: my_project.coordinators  # with your module: your QueuedRunCoordinator
      # class: TaggingCoordinator        # subclass, built with the config (its queue
                                         # keys still set the queue's limits)
    run_launcher:
      class: ForkRunLauncher           # DefaultRunLauncher, SubprocessRunLauncher,
                                       # DaskRunLauncher (config: address, n_workers, ...)
      # module: my_project.launchers   # with a module: your own RunLauncher subclass,
      # config: {...}                  # built with the config as keyword arguments

The launcher is only described here (``LauncherSpec``): the daemon builds it
(``trellis.daemon.launchers``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from trellis.config.types import (
    Any as AnyConfig,
    Array,
    Field,
    Float,
    Int,
    Permissive,
    Shape,
    StringSource,
)
from trellis.config.validate import ConfigError, ConfigErrorReason

DEFAULT_MAX_CONCURRENT_RUNS = 10
DEFAULT_DEQUEUE_INTERVAL = 0.5
DEFAULT_MAX_CATCHUP_RUNS = 1
DEFAULT_EVALUATION_TIMEOUT = 60.0
DEFAULT_SCHEDULE_RETENTION_DAYS = 90.0
DEFAULT_SENSOR_RETENTION_DAYS = 7.0
PER_UNIQUE_VALUE = "applyLimitPerUniqueValue"

QUEUED_COORDINATOR = "QueuedRunCoordinator"
DEFAULT_COORDINATOR = "DefaultRunCoordinator"
# Keys of Dagster's QueuedRunCoordinator that Trellis accepts and has no use for.
DAGSTER_ONLY_COORDINATOR_KEYS = (
    "block_op_concurrency_limited_runs",
    "dequeue_num_workers",
    "dequeue_use_threads",
    "max_user_code_failure_retries",
    "user_code_failure_retry_delay",
)
LAUNCHER_CONFIG_KEYS: dict[str, tuple[str, ...]] = {
    "DefaultRunLauncher": (),
    "ForkRunLauncher": (),
    "SubprocessRunLauncher": ("standby",),
    "DaskRunLauncher": ("address", "n_workers", "threads_per_worker", "timeout"),
}
"""Trellis's launchers (and Dagster's default one) by class name, with their config keys."""


@dataclass(frozen=True)
class TagConcurrencyLimit:
    """At most ``limit`` runs in progress whose tag ``key`` is set (to ``value`` when
    given); ``per_unique_value``: the limit holds for each distinct value."""

    key: str
    limit: int
    value: str | None = None
    per_unique_value: bool = False


@dataclass(frozen=True)
class LauncherSpec:
    """The ``run_launcher`` section: a class name (one of ``LAUNCHER_CONFIG_KEYS``, or a
    user's ``RunLauncher`` subclass in ``module``) and its config."""

    class_name: str
    module: str | None = None
    config: dict[str, Any] = field(default_factory=dict)

    @property
    def is_builtin(self) -> bool:
        """Whether it names one of Trellis's launchers (or Dagster's default)."""
        return self.class_name in LAUNCHER_CONFIG_KEYS and (
            self.module is None or self.module.split(".")[0] in ("trellis", "dagster")
        )


@dataclass(frozen=True)
class CoordinatorSpec:
    """A ``run_coordinator`` section naming a user's class (a ``QueuedRunCoordinator``
    subclass in ``module``), built with ``config`` as keyword arguments by the instance
    (``trellis.instance.run_coordinator``); its queue keys also set the queue's limits."""

    class_name: str
    module: str
    config: dict[str, Any] = field(default_factory=dict)


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
    run_launcher: LauncherSpec | None = None
    run_coordinator: CoordinatorSpec | None = None


def daemon_config_fields() -> dict[str, Field]:
    """The top-level fields of ``trellis.yaml`` that configure the daemon."""
    limit = Shape(
        {
            "key": Field(StringSource),
            "value": Field(AnyConfig, is_required=False),
            "limit": Field(Int),
        }
    )
    queue_fields = {
        "max_concurrent_runs": Field(Int, is_required=False),
        "tag_concurrency_limits": Field(Array(limit), is_required=False),
        "dequeue_interval_seconds": Field(Float, is_required=False),
    }
    # Permissive: a user's coordinator class takes keys of its own (Dagster's class is
    # checked for unknown keys by ``_queue_section``).
    coordinator_config = Permissive(
        {
            **queue_fields,
            **{key: Field(AnyConfig, is_required=False) for key in DAGSTER_ONLY_COORDINATOR_KEYS},
        }
    )
    retention_of = Shape({"purge_after_days": Field(Float, is_required=False)})
    return {
        "run_queue": Field(Shape(queue_fields), is_required=False),
        "run_coordinator": Field(
            Shape(
                {
                    "module": Field(StringSource, is_required=False),
                    "class": Field(StringSource),
                    "config": Field(coordinator_config, is_required=False),
                }
            ),
            is_required=False,
        ),
        "run_launcher": Field(
            Shape(
                {
                    "module": Field(StringSource, is_required=False),
                    "class": Field(StringSource),
                    "config": Field(Permissive({}), is_required=False),
                }
            ),
            is_required=False,
        ),
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


def _limit(
    section: tuple[str, ...], index: int, raw: dict[str, Any], errors: list[ConfigError]
) -> TagConcurrencyLimit:
    path = (*section, "tag_concurrency_limits", f"[{index}]")
    where = ": ".join(section)
    value = raw.get("value")
    per_unique = False
    if isinstance(value, dict):
        if set(value) != {PER_UNIQUE_VALUE} or not isinstance(value[PER_UNIQUE_VALUE], bool):
            errors.append(
                _error(
                    (*path, "value"),
                    f"{where}: tag_concurrency_limits[{index}]: value must be a string or "
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
                f"{where}: tag_concurrency_limits[{index}]: value must be a string or "
                f"{{{PER_UNIQUE_VALUE}: true}}, got {value!r}.",
            )
        )
        value = None
    if raw["limit"] < 0:
        errors.append(
            _error(
                (*path, "limit"),
                f"{where}: tag_concurrency_limits[{index}]: limit must be 0 or more, "
                f"got {raw['limit']}.",
            )
        )
    return TagConcurrencyLimit(raw["key"], raw["limit"], value, per_unique)


def _queue_section(
    value: dict[str, Any], errors: list[ConfigError]
) -> tuple[tuple[str, ...], dict[str, Any]]:
    """Where the queue's settings are (``run_queue``, or Dagster's ``run_coordinator``
    config) and what they say."""
    coordinator = value.get("run_coordinator")
    if coordinator is None:
        return ("run_queue",), value.get("run_queue") or {}
    if value.get("run_queue"):  # (an empty section is what the schema fills in)
        errors.append(
            _error(
                ("run_coordinator",),
                "run_queue and run_coordinator both configure the run queue: keep one.",
            )
        )
    section = ("run_coordinator", "config")
    name, module = coordinator["class"], coordinator.get("module")
    config = dict(coordinator.get("config") or {})
    queue_keys = ("max_concurrent_runs", "tag_concurrency_limits", "dequeue_interval_seconds")
    if module is not None and module.split(".")[0] not in ("dagster", "trellis"):
        # A user's coordinator: its class is imported when a run is first submitted.
        return section, {key: config[key] for key in queue_keys if key in config}
    unknown = sorted(set(config) - {*queue_keys, *DAGSTER_ONLY_COORDINATOR_KEYS})
    if unknown and name == QUEUED_COORDINATOR:
        errors.append(
            _error(
                section,
                f"run_coordinator: {QUEUED_COORDINATOR} does not take {', '.join(unknown)} "
                f"(its config keys: {', '.join(queue_keys)}, and Dagster's "
                f"{', '.join(DAGSTER_ONLY_COORDINATOR_KEYS)}, which Trellis accepts unused).",
            )
        )
    if name == DEFAULT_COORDINATOR:
        if config:
            errors.append(
                _error(
                    section,
                    f"run_coordinator: {DEFAULT_COORDINATOR} takes no config (it starts every "
                    f"run at once); use {QUEUED_COORDINATOR} for limits, got {sorted(config)}.",
                )
            )
        return section, {"max_concurrent_runs": -1}
    elif name != QUEUED_COORDINATOR:
        errors.append(
            _error(
                ("run_coordinator", "class"),
                f"run_coordinator: class {name!r} is not one Trellis offers: use "
                f"{QUEUED_COORDINATOR} (the run queue, with limits) or {DEFAULT_COORDINATOR} "
                "(no limits).",
            )
        )
    return section, config


def _launcher_spec(raw: dict[str, Any] | None, errors: list[ConfigError]) -> LauncherSpec | None:
    """The ``run_launcher`` section, its class name and config keys checked for
    Trellis's own launchers (a user's class is checked when the daemon builds it)."""
    if raw is None:
        return None
    spec = LauncherSpec(raw["class"], raw.get("module"), dict(raw.get("config") or {}))
    names = ", ".join(LAUNCHER_CONFIG_KEYS)
    if spec.module is None and spec.class_name not in LAUNCHER_CONFIG_KEYS:
        errors.append(
            _error(
                ("run_launcher", "class"),
                f"run_launcher: class {spec.class_name!r} is not a Trellis launcher ({names}); "
                "for your own RunLauncher subclass give its module too.",
            )
        )
    elif spec.module is not None and spec.module.startswith("dagster") and not spec.is_builtin:
        errors.append(
            _error(
                ("run_launcher", "class"),
                f"run_launcher: Dagster's {spec.class_name} is not offered by Trellis; use one "
                f"of {names}, or your own RunLauncher subclass (module and class).",
            )
        )
    elif spec.is_builtin:
        allowed = LAUNCHER_CONFIG_KEYS[spec.class_name]
        unknown = sorted(set(spec.config) - set(allowed))
        if unknown:
            errors.append(
                _error(
                    ("run_launcher", "config"),
                    f"run_launcher: {spec.class_name} does not take {', '.join(unknown)} "
                    f"(its config keys: {', '.join(allowed) or 'none'}).",
                )
            )
    return spec


def _coordinator_spec(raw: dict[str, Any] | None) -> CoordinatorSpec | None:
    """A ``run_coordinator`` section that names a user's class (a module outside
    ``dagster`` and ``trellis``), else None: the run queue as it is."""
    if raw is None or raw.get("module") is None:
        return None
    module = str(raw["module"])
    if module.split(".")[0] in ("dagster", "trellis"):
        return None
    return CoordinatorSpec(str(raw["class"]), module, dict(raw.get("config") or {}))


def _retention(days: float | None) -> float | None:
    return None if days is None or days < 0 else days * 86400


def daemon_settings(value: dict[str, Any]) -> tuple[DaemonSettings, list[ConfigError]]:
    """The daemon's settings from a validated ``trellis.yaml`` value, and the errors no
    schema can express (a limit below zero, a tag value that is neither a string nor
    ``{applyLimitPerUniqueValue: true}``, an interval that is not positive)."""
    errors: list[ConfigError] = []
    section, queue = _queue_section(value, errors)
    limits = tuple(
        _limit(section, i, raw, errors)
        for i, raw in enumerate(queue.get("tag_concurrency_limits") or [])
    )
    interval = float(queue.get("dequeue_interval_seconds", DEFAULT_DEQUEUE_INTERVAL))
    if interval <= 0:
        where = ": ".join(section)
        errors.append(
            _error(
                (*section, "dequeue_interval_seconds"),
                f"{where}: dequeue_interval_seconds must be positive, got {interval:g}.",
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
        run_launcher=_launcher_spec(value.get("run_launcher"), errors),
        run_coordinator=_coordinator_spec(value.get("run_coordinator")),
        tag_concurrency_limits=limits,
        dequeue_interval_seconds=interval,
        max_catchup_runs=catchup,
        evaluation_timeout_seconds=timeout,
        schedule_tick_retention_seconds=_retention(schedule_days),
        sensor_tick_retention_seconds=_retention(sensor_days),
    )
    return settings, errors
