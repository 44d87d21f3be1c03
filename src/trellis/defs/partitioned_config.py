"""Partitioned config: a job's run config computed from the partition a run is for.

``@job(config=my_partitioned_config)`` gives the job the config's partitions definition
(unless the job names its own, which must then be the same); a run of the job for
partition ``K`` starts from ``config.get_run_config_for_partition_key(K)`` (the run config
given at launch is merged over it) and carries ``config.get_tags_for_partition_key(K)``
under its own tags. The decorators build one from a function:

- ``@static_partitioned_config(keys)`` and ``@partitioned_config(partitions_def)``: the
  function takes the partition key;
- ``@daily_partitioned_config(start_date, ...)`` (and ``hourly_``, ``weekly_``,
  ``monthly_``): the function takes the start and end of the partition's time window
  (timezone-aware datetimes), as do their ``tags_for_partition_fn``.

The function runs when a run is launched (in the process that executes the run), so a
config that reads the clock or a file sees them as they are then. An exception it raises,
or a value that is not a dict, is an error naming the config function and the partition.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Any, Generic, TypeVar

from trellis.config.run_config import RunConfig
from trellis.core.errors import InvalidDefinitionError, UserCodeExecutionError
from trellis.defs.partitions import PartitionsDefinition, StaticPartitionsDefinition
from trellis.defs.time_partitions import (
    DailyPartitionsDefinition,
    HourlyPartitionsDefinition,
    MonthlyPartitionsDefinition,
    TimeWindowPartitionsDefinition,
    WeeklyPartitionsDefinition,
)

P = TypeVar("P", bound=PartitionsDefinition)


class Partition:
    """A partition as Dagster's legacy partition functions receive it: its ``value`` and
    its ``name`` (the key; ``str(value)`` when not given)."""

    def __init__(self, value: Any, name: str | None = None) -> None:
        self.value = value
        self.name = str(value) if name is None else name

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Partition) and (self.value, self.name) == (
            other.value,
            other.name,
        )

    def __hash__(self) -> int:
        return hash(self.name)

    def __repr__(self) -> str:
        return f"Partition(value={self.value!r}, name={self.name!r})"


def _function_name(fn: Callable[..., Any] | None) -> str:
    return getattr(fn, "__name__", None) or repr(fn)


class PartitionedConfig(Generic[P]):
    """Run config (and tags) for each partition of ``partitions_def``, from
    ``run_config_for_partition_key_fn(key)`` (or the legacy
    ``run_config_for_partition_fn(Partition)``); see the module docstring."""

    def __init__(
        self,
        partitions_def: P,
        run_config_for_partition_fn: Callable[[Partition], Mapping[str, Any]] | None = None,
        decorated_fn: Callable[..., Mapping[str, Any]] | None = None,
        tags_for_partition_fn: Callable[[Partition], Mapping[str, str]] | None = None,
        run_config_for_partition_key_fn: Callable[[str], Mapping[str, Any]] | None = None,
        tags_for_partition_key_fn: Callable[[str], Mapping[str, str]] | None = None,
    ) -> None:
        if not isinstance(partitions_def, PartitionsDefinition):
            raise InvalidDefinitionError(
                f"PartitionedConfig needs a PartitionsDefinition, got {partitions_def!r}."
            )
        if (run_config_for_partition_fn is None) == (run_config_for_partition_key_fn is None):
            raise InvalidDefinitionError(
                "PartitionedConfig takes exactly one of run_config_for_partition_key_fn and "
                "run_config_for_partition_fn."
            )
        if tags_for_partition_fn is not None and tags_for_partition_key_fn is not None:
            raise InvalidDefinitionError(
                "PartitionedConfig takes tags_for_partition_key_fn or tags_for_partition_fn, "
                "not both."
            )
        self._partitions_def = partitions_def
        self._legacy_config_fn = run_config_for_partition_fn
        self._config_key_fn = run_config_for_partition_key_fn
        self._legacy_tags_fn = tags_for_partition_fn
        self._tags_key_fn = tags_for_partition_key_fn
        self._decorated_fn = decorated_fn

    @property
    def partitions_def(self) -> P:
        """The partitions the config is computed for."""
        return self._partitions_def

    @property
    def run_config_for_partition_key_fn(self) -> Callable[[str], Mapping[str, Any]] | None:
        """The function from a partition key to run config, if given that way."""
        return self._config_key_fn

    @property
    def tags_for_partition_key_fn(self) -> Callable[[str], Mapping[str, str]] | None:
        """The function from a partition key to run tags, if given that way."""
        return self._tags_key_fn

    @property
    def decorated_fn(self) -> Callable[..., Mapping[str, Any]] | None:
        """The user's function under the decorator that made this config."""
        return self._decorated_fn

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        """Call the decorated function directly (tests): ``my_config(start, end)``."""
        if self._decorated_fn is None:
            raise InvalidDefinitionError(
                "This PartitionedConfig was not made by a decorator; call "
                "get_run_config_for_partition_key(key) instead."
            )
        return self._decorated_fn(*args, **kwargs)

    def get_partition_keys(self, current_time: datetime | None = None) -> list[str]:
        """The keys of the partitions definition."""
        return list(self._partitions_def.get_partition_keys(current_time))

    def get_run_config_for_partition_key(self, partition_key: str) -> dict[str, Any]:
        """The run config of a run for ``partition_key`` (validated as one of the
        definition's keys first)."""
        self._partitions_def.validate_partition_key(partition_key)
        if self._config_key_fn is not None:
            fn: Callable[..., Any] = self._config_key_fn
            value = self._call(fn, partition_key, partition_key, "run config")
        else:
            assert self._legacy_config_fn is not None
            fn = self._legacy_config_fn
            value = self._call(fn, Partition(partition_key), partition_key, "run config")
        if isinstance(value, RunConfig):
            return value.to_config_dict()
        if not isinstance(value, Mapping):
            raise InvalidDefinitionError(
                f"Partitioned config function '{_function_name(self._decorated_fn or fn)}' "
                f"returned {type(value).__name__} {value!r} for partition "
                f"{partition_key!r}; it must return a run config dict."
            )
        return dict(value)

    def get_tags_for_partition_key(
        self, partition_key: str, job_name: str | None = None
    ) -> dict[str, str]:
        """The tags the config adds to a run for ``partition_key`` (``{}`` without a tags
        function); every value must be a string."""
        if self._tags_key_fn is not None:
            fn: Callable[..., Any] = self._tags_key_fn
            tags = self._call(fn, partition_key, partition_key, "tags")
        elif self._legacy_tags_fn is not None:
            fn = self._legacy_tags_fn
            tags = self._call(fn, Partition(partition_key), partition_key, "tags")
        else:
            return {}
        if not isinstance(tags, Mapping) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in tags.items()
        ):
            raise InvalidDefinitionError(
                f"Partition tags function '{_function_name(fn)}' returned {tags!r} for "
                f"partition {partition_key!r}; it must return a dict of strings to strings."
            )
        return dict(tags)

    @staticmethod
    def _call(fn: Callable[..., Any], argument: Any, partition_key: str, what: str) -> Any:
        try:
            return fn(argument)
        except Exception as exc:
            raise UserCodeExecutionError(
                f"The {what} function '{_function_name(fn)}' of a partitioned config raised "
                f"for partition {partition_key!r}: {type(exc).__name__}: {exc}"
            ) from exc


def partitioned_config(
    partitions_def: PartitionsDefinition,
    tags_for_partition_key_fn: Callable[[str], Mapping[str, str]] | None = None,
) -> Callable[[Callable[[str], Mapping[str, Any]]], PartitionedConfig[PartitionsDefinition]]:
    """Decorate ``fn(partition_key) -> run config`` into a ``PartitionedConfig`` over
    ``partitions_def``."""

    def decorate(fn: Callable[[str], Mapping[str, Any]]) -> PartitionedConfig[Any]:
        return PartitionedConfig(
            partitions_def,
            run_config_for_partition_key_fn=fn,
            decorated_fn=fn,
            tags_for_partition_key_fn=tags_for_partition_key_fn,
        )

    return decorate


def static_partitioned_config(
    partition_keys: Sequence[str],
    tags_for_partition_fn: Callable[[str], Mapping[str, str]] | None = None,
    tags_for_partition_key_fn: Callable[[str], Mapping[str, str]] | None = None,
) -> Callable[[Callable[[str], Mapping[str, Any]]], PartitionedConfig[StaticPartitionsDefinition]]:
    """Decorate ``fn(partition_key) -> run config`` into a ``PartitionedConfig`` over a
    ``StaticPartitionsDefinition(partition_keys)``."""
    if tags_for_partition_fn is not None and tags_for_partition_key_fn is not None:
        raise InvalidDefinitionError(
            "static_partitioned_config takes tags_for_partition_key_fn or "
            "tags_for_partition_fn, not both."
        )
    tags_fn = tags_for_partition_key_fn or tags_for_partition_fn

    def decorate(fn: Callable[[str], Mapping[str, Any]]) -> PartitionedConfig[Any]:
        return PartitionedConfig(
            StaticPartitionsDefinition(list(partition_keys)),
            run_config_for_partition_key_fn=fn,
            decorated_fn=fn,
            tags_for_partition_key_fn=tags_fn,
        )

    return decorate


WindowFn = Callable[[datetime, datetime], Any]


def _time_window_config(
    partitions_def: TimeWindowPartitionsDefinition,
    tags_for_partition_fn: WindowFn | None,
    tags_for_partition_key_fn: Callable[[str], Mapping[str, str]] | None,
) -> Callable[[WindowFn], PartitionedConfig[Any]]:
    """The decorator of the ``*_partitioned_config`` functions: the user's functions take
    the partition's window, the config's take its key."""
    if tags_for_partition_fn is not None and tags_for_partition_key_fn is not None:
        raise InvalidDefinitionError(
            "A time-window partitioned config takes tags_for_partition_key_fn or "
            "tags_for_partition_fn, not both."
        )

    def on_window(fn: WindowFn) -> Callable[[str], Any]:
        def for_key(partition_key: str) -> Any:
            window = partitions_def.time_window_for_partition_key(partition_key)
            return fn(window.start, window.end)

        for_key.__name__ = _function_name(fn)
        return for_key

    def decorate(fn: WindowFn) -> PartitionedConfig[Any]:
        tags_fn = tags_for_partition_key_fn
        if tags_for_partition_fn is not None:
            tags_fn = on_window(tags_for_partition_fn)
        return PartitionedConfig(
            partitions_def,
            run_config_for_partition_key_fn=on_window(fn),
            decorated_fn=fn,
            tags_for_partition_key_fn=tags_fn,
        )

    return decorate


def hourly_partitioned_config(
    start_date: datetime | str,
    minute_offset: int = 0,
    timezone: str | None = None,
    fmt: str | None = None,
    end_offset: int = 0,
    tags_for_partition_fn: WindowFn | None = None,
    tags_for_partition_key_fn: Callable[[str], Mapping[str, str]] | None = None,
) -> Callable[[WindowFn], PartitionedConfig[HourlyPartitionsDefinition]]:
    """Decorate ``fn(start, end) -> run config`` into a ``PartitionedConfig`` over hourly
    partitions (the arguments of ``HourlyPartitionsDefinition``)."""
    partitions = HourlyPartitionsDefinition(
        start_date, minute_offset=minute_offset, timezone=timezone, fmt=fmt, end_offset=end_offset
    )
    return _time_window_config(partitions, tags_for_partition_fn, tags_for_partition_key_fn)


def daily_partitioned_config(
    start_date: datetime | str,
    minute_offset: int = 0,
    hour_offset: int = 0,
    timezone: str | None = None,
    fmt: str | None = None,
    end_offset: int = 0,
    tags_for_partition_fn: WindowFn | None = None,
    tags_for_partition_key_fn: Callable[[str], Mapping[str, str]] | None = None,
) -> Callable[[WindowFn], PartitionedConfig[DailyPartitionsDefinition]]:
    """Decorate ``fn(start, end) -> run config`` into a ``PartitionedConfig`` over daily
    partitions (the arguments of ``DailyPartitionsDefinition``)."""
    partitions = DailyPartitionsDefinition(
        start_date,
        minute_offset=minute_offset,
        hour_offset=hour_offset,
        timezone=timezone,
        fmt=fmt,
        end_offset=end_offset,
    )
    return _time_window_config(partitions, tags_for_partition_fn, tags_for_partition_key_fn)


def weekly_partitioned_config(
    start_date: datetime | str,
    minute_offset: int = 0,
    hour_offset: int = 0,
    day_offset: int = 0,
    timezone: str | None = None,
    fmt: str | None = None,
    end_offset: int = 0,
    tags_for_partition_fn: WindowFn | None = None,
    tags_for_partition_key_fn: Callable[[str], Mapping[str, str]] | None = None,
) -> Callable[[WindowFn], PartitionedConfig[WeeklyPartitionsDefinition]]:
    """Decorate ``fn(start, end) -> run config`` into a ``PartitionedConfig`` over weekly
    partitions (the arguments of ``WeeklyPartitionsDefinition``)."""
    partitions = WeeklyPartitionsDefinition(
        start_date,
        minute_offset=minute_offset,
        hour_offset=hour_offset,
        day_offset=day_offset,
        timezone=timezone,
        fmt=fmt,
        end_offset=end_offset,
    )
    return _time_window_config(partitions, tags_for_partition_fn, tags_for_partition_key_fn)


def monthly_partitioned_config(
    start_date: datetime | str,
    minute_offset: int = 0,
    hour_offset: int = 0,
    day_offset: int = 1,
    timezone: str | None = None,
    fmt: str | None = None,
    end_offset: int = 0,
    tags_for_partition_fn: WindowFn | None = None,
    tags_for_partition_key_fn: Callable[[str], Mapping[str, str]] | None = None,
) -> Callable[[WindowFn], PartitionedConfig[MonthlyPartitionsDefinition]]:
    """Decorate ``fn(start, end) -> run config`` into a ``PartitionedConfig`` over monthly
    partitions (the arguments of ``MonthlyPartitionsDefinition``)."""
    partitions = MonthlyPartitionsDefinition(
        start_date,
        minute_offset=minute_offset,
        hour_offset=hour_offset,
        day_offset=day_offset,
        timezone=timezone,
        fmt=fmt,
        end_offset=end_offset,
    )
    return _time_window_config(partitions, tags_for_partition_fn, tags_for_partition_key_fn)
