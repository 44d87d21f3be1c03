"""``SensorEvaluationContext``: what a sensor's function receives at each tick."""

from __future__ import annotations

import logging
import warnings
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from trellis.contexts.resources_view import ResourcesView
from trellis.contexts.tick import TickContext
from trellis.core.errors import InvalidInvocationError


def _timestamp(value: float | datetime | None, name: str) -> float | None:
    if value is None or (isinstance(value, (int, float)) and not isinstance(value, bool)):
        return value
    if isinstance(value, datetime):
        return (value if value.tzinfo else value.replace(tzinfo=UTC)).timestamp()
    raise InvalidInvocationError(f"{name} must be a timestamp or a datetime, got {value!r}.")


class SensorEvaluationContext(TickContext):
    """Given to a sensor's function at each tick: the cursor kept between ticks
    (``cursor`` / ``update_cursor``), the tick history, the instance, the declared
    resources and a logger.

    A view: it holds what the caller built (resources already initialised) and runs
    nothing. Times are seconds since the epoch. Usable as a context manager, like
    ``ScheduleEvaluationContext``.
    """

    __slots__ = (
        "_cursor",
        "_cursor_updated",
        "_first_tick",
        "_last_run_key",
        "_last_sensor_start_time",
        "_last_tick_completion_time",
        "_sensor_name",
    )
    _kind = "sensor"

    def __init__(
        self,
        instance: Any = None,
        cursor: str | None = None,
        last_tick_completion_time: float | datetime | None = None,
        last_run_key: str | None = None,
        last_sensor_start_time: float | datetime | None = None,
        is_first_tick_since_sensor_start: bool | None = None,
        repository_def: Any = None,
        sensor_name: str | None = None,
        resources: Mapping[str, Any] | ResourcesView | None = None,
        log: logging.Logger | None = None,
    ) -> None:
        if cursor is not None and not isinstance(cursor, str):
            raise InvalidInvocationError(f"cursor must be a string or None, got {cursor!r}.")
        owner = f"sensor '{sensor_name}'" if sensor_name else "the sensor"
        suffix = f".{sensor_name}" if sensor_name else ""
        super().__init__(
            instance,
            resources,
            owner,
            repository_def,
            log or logging.getLogger(f"trellis.sensor{suffix}"),
        )
        self._cursor = cursor
        self._cursor_updated = False
        self._last_tick_completion_time = _timestamp(
            last_tick_completion_time, "last_tick_completion_time"
        )
        self._last_sensor_start_time = _timestamp(last_sensor_start_time, "last_sensor_start_time")
        self._first_tick = is_first_tick_since_sensor_start
        self._last_run_key = last_run_key
        self._sensor_name = sensor_name

    # -- cursor -------------------------------------------------------------------------

    @property
    def cursor(self) -> str | None:
        """The string the sensor keeps between ticks (None before the first one)."""
        return self._cursor

    def update_cursor(self, cursor: str | None) -> None:
        """Set the cursor the next tick will see. Do not also return
        ``SensorResult(cursor=...)`` from the same tick."""
        if cursor is not None and not isinstance(cursor, str):
            raise InvalidInvocationError(
                f"update_cursor takes a string or None, got {cursor!r}; serialise it first "
                "(for example with json.dumps)."
            )
        self._cursor = cursor
        self._cursor_updated = True

    @property
    def cursor_updated(self) -> bool:
        """Whether ``update_cursor`` was called during this tick."""
        return self._cursor_updated

    # -- tick history -------------------------------------------------------------------

    @property
    def last_tick_completion_time(self) -> float | None:
        """When the previous tick finished (seconds since the epoch), or None."""
        return self._last_tick_completion_time

    @property
    def last_completion_time(self) -> float | None:
        """Deprecated alias of ``last_tick_completion_time``."""
        warnings.warn(
            "SensorEvaluationContext.last_completion_time is deprecated; use "
            "last_tick_completion_time.",
            DeprecationWarning,
            stacklevel=2,
        )
        return self._last_tick_completion_time

    @property
    def last_sensor_start_time(self) -> float | None:
        """When the sensor was last started (seconds since the epoch), or None."""
        return self._last_sensor_start_time

    @property
    def is_first_tick_since_sensor_start(self) -> bool:
        """Whether no tick has completed since the sensor was (re)started."""
        if self._first_tick is not None:
            return self._first_tick
        last_tick, started = self._last_tick_completion_time, self._last_sensor_start_time
        return last_tick is None or (started is not None and last_tick < started)

    @property
    def last_run_key(self) -> str | None:
        """The run key of the last run request this sensor made, or None."""
        return self._last_run_key

    # -- environment --------------------------------------------------------------------

    @property
    def sensor_name(self) -> str | None:
        """The name of the sensor being evaluated, or None in a bare test context."""
        return self._sensor_name

    def __repr__(self) -> str:
        return f"<SensorEvaluationContext {self._sensor_name or '?'} cursor={self._cursor!r}>"
