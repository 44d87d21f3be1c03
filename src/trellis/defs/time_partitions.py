"""Time-window partitions: one partition per tick of a cron schedule, keyed by the start of
its window formatted with ``fmt`` in the definition's timezone.

Window ``n`` runs from tick ``n`` to tick ``n + 1``; the first window starts at the first
tick at or after ``start``. By default the last partition is the last window that has
*ended* by the current time; ``end_offset`` shifts that by whole windows, and ``end``
(exclusive) caps it. Fixed-period schedules (what ``Hourly`` / ``Daily`` / ``Weekly`` /
``Monthly`` build, or the same cron strings written by hand) are stepped with date
arithmetic; any other cron string goes through croniter (``trellis.defs.cron``).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime
from operator import attrgetter
from typing import Any, NamedTuple
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from trellis.core.errors import InvalidDefinitionError, InvariantViolationError
from trellis.defs.cron import CRON_ALIASES, Ticks, check_cron_schedule, make_ticks
from trellis.defs.partition_loading import EFFECTIVE_TIME
from trellis.defs.partitions import (
    PartitionKeyRange,
    PartitionsDefinition,
    _check_range_order,
)


class _TimeWindowFields(NamedTuple):
    start: datetime
    end: datetime


class TimeWindow(_TimeWindowFields):
    """The half-open interval ``[start, end)`` a time partition covers (aware datetimes)."""

    __slots__ = ()

    def __new__(cls, start: datetime, end: datetime) -> TimeWindow:
        if start.tzinfo is None or end.tzinfo is None:
            raise InvariantViolationError(
                f"TimeWindow needs timezone-aware datetimes, got start={start!r}, end={end!r}."
            )
        return super().__new__(cls, start, end)


# ---------------------------------------------------------------------------------------
# Keys

_FIELDS = {"Y": ("year", "%04d"), "m": ("month", "%02d"), "d": ("day", "%02d")}
_FIELDS |= {"H": ("hour", "%02d"), "M": ("minute", "%02d"), "S": ("second", "%02d")}


def _compile_fmt(fmt: str) -> Callable[[datetime], str]:
    """A fast equivalent of ``dt.strftime(fmt)`` (which costs microseconds a key) when
    ``fmt`` only uses numeric date and time fields; ``strftime`` itself otherwise."""
    pieces, attrs = fmt.replace("%%", "\0").split("%"), []
    template = [pieces[0].replace("%", "%%")]
    for piece in pieces[1:]:
        field = _FIELDS.get(piece[:1])
        if field is None:
            return lambda dt: dt.strftime(fmt)
        attrs.append(field[0])
        template.append(field[1] + piece[1:].replace("%", "%%"))
    if not attrs:
        return lambda dt: dt.strftime(fmt)
    text, get = "".join(template).replace("\0", "%%"), attrgetter(*attrs)
    if len(attrs) == 1:
        return lambda dt: text % (get(dt),)
    return lambda dt: text % get(dt)


def _is_second_fold(dt: datetime) -> bool:
    # The repeated wall time after clocks go back: the key alone would name two windows.
    return bool(dt.fold) and dt.utcoffset() != dt.replace(fold=0).utcoffset()


# ---------------------------------------------------------------------------------------
# Definitions


def _zone(timezone: str | None, owner: str) -> ZoneInfo:
    try:
        return ZoneInfo(timezone or "UTC")
    except (ZoneInfoNotFoundError, ValueError, TypeError):
        raise InvalidDefinitionError(
            f"Unknown timezone {timezone!r} for {owner}; use an IANA name such as "
            "'UTC' or 'America/New_York'."
        ) from None


def _in_zone(value: datetime, tz: ZoneInfo) -> datetime:
    return value.replace(tzinfo=tz) if value.tzinfo is None else value.astimezone(tz)


def _to_datetime(value: object, fmt: str, tz: ZoneInfo, what: str) -> datetime:
    if isinstance(value, datetime):
        return _in_zone(value, tz)
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day, tzinfo=tz)
    if isinstance(value, str):
        parsers: tuple[Callable[[], datetime], ...] = (
            lambda: datetime.strptime(value, fmt),
            lambda: datetime.fromisoformat(value),
        )
        for parse in parsers:
            try:
                return _in_zone(parse(), tz)
            except ValueError:
                continue
        raise InvalidDefinitionError(
            f"{what} '{value}' matches neither the format '{fmt}' nor ISO 8601."
        )
    raise InvalidDefinitionError(f"{what} must be a datetime or a string, got {value!r}.")


def _check_int(owner: str, name: str, value: object, low: int | None, high: int | None) -> int:
    if (
        isinstance(value, int)
        and not isinstance(value, bool)
        and (low is None or value >= low)
        and (high is None or value <= high)
    ):
        return value
    bounds = "an integer" if low is None else f"an integer from {low} to {high}"
    raise InvalidDefinitionError(f"{owner}: {name} must be {bounds}, got {value!r}.")


class TimeWindowPartitionsDefinition(PartitionsDefinition):
    """Partitions that are the windows between consecutive ticks of ``cron_schedule``.

    ``start`` and ``end`` (exclusive) are datetimes or strings in ``fmt`` (ISO 8601 is
    accepted too); naive datetimes are read in ``timezone`` (an IANA name, default UTC).
    The last partition is the last window completed by the current time, shifted by
    ``end_offset`` windows (``1`` adds the window in progress) and never past ``end``.
    """

    __slots__ = (
        "_cron",
        "_end",
        "_end_offset",
        "_fmt",
        "_format",
        "_start",
        "_ticks_cache",
        "_tz",
    )

    def __init__(
        self,
        start: datetime | str,
        fmt: str,
        end: datetime | str | None = None,
        *,
        cron_schedule: str,
        timezone: str | None = None,
        end_offset: int = 0,
    ) -> None:
        owner = type(self).__name__
        if not isinstance(fmt, str) or not fmt:
            raise InvalidDefinitionError(f"{owner}: fmt must be a non-empty strftime format.")
        self._tz = _zone(timezone, owner)
        self._fmt = fmt
        self._cron = check_cron_schedule(cron_schedule, owner)
        self._end_offset = _check_int(owner, "end_offset", end_offset, None, None)
        self._start = _to_datetime(start, fmt, self._tz, f"{owner} start")
        self._end = None if end is None else _to_datetime(end, fmt, self._tz, f"{owner} end")
        if self._end is not None and self._end.timestamp() <= self._start.timestamp():
            raise InvalidDefinitionError(
                f"{owner}: end {self._end.isoformat()} is not after start "
                f"{self._start.isoformat()}."
            )
        self._ticks_cache: tuple[Ticks, int] | None = None
        self._format = _compile_fmt(fmt)

    # -- the schedule, built on first use ----------------------------------------------

    @property
    def _ticks(self) -> tuple[Ticks, int]:
        """The tick stepper and the ordinal of the first window."""
        cache = self._ticks_cache
        if cache is None:
            ticks = make_ticks(self._cron, self._tz, self._start)
            first = ticks.floor(self._start)
            if ticks.at(first).timestamp() < self._start.timestamp():
                first += 1
            cache = self._ticks_cache = (ticks, first)
        return cache

    def _now(self, current_time: datetime | None) -> datetime:
        if current_time is None:  # a partition_loading_context's time, else the clock
            current_time = EFFECTIVE_TIME.get()
            if current_time is None:
                return datetime.now(UTC)
        return _in_zone(current_time, self._tz)

    def _last(self, current_time: datetime | None) -> int:
        """Ordinal of the last window (less than the first ordinal when there is none)."""
        ticks, _ = self._ticks
        last = ticks.floor(self._now(current_time)) - 1 + self._end_offset
        if self._end is not None:
            last = min(last, ticks.floor(self._end) - 1)
        return last

    def _key(self, dt: datetime) -> str:
        """The key of the window starting at ``dt``. In the hour repeated when clocks go
        back, the second window's key gets its UTC offset appended, so keys stay unique."""
        key = self._format(dt)
        if dt.fold and "%z" not in self._fmt and _is_second_fold(dt):
            key += dt.strftime("%z")
        return key

    def _key_at(self, n: int) -> str:
        return self._key(self._ticks[0].at(n))

    def _parse(self, key: str) -> datetime | None:
        for fmt in (self._fmt, self._fmt + "%z"):
            try:
                return _in_zone(datetime.strptime(key, fmt), self._tz)
            except (ValueError, TypeError):
                continue
        return None

    def _ordinal_of(self, key: str) -> int | None:
        """The ordinal of the window ``key`` names, or None when it names none."""
        dt = self._parse(key)
        if dt is None:
            return None
        # The first tick at or after the parsed time: a ``%Y-%m-%d`` key of a window that
        # starts at 06:00 parses to midnight. The key must then be that tick's own key.
        ticks, first = self._ticks
        if dt.timestamp() <= ticks.at(first - 1).timestamp():
            return None  # a window before the first one
        n = ticks.floor(dt)
        if ticks.at(n).timestamp() < dt.timestamp():
            n += 1
        return n if self._key(ticks.at(n)) == key else None

    # -- PartitionsDefinition -----------------------------------------------------------

    def get_partition_keys(self, current_time: datetime | None = None) -> list[str]:
        """Every key from the first window to the last one at ``current_time``."""
        ticks, first = self._ticks
        key, at = self._key, ticks.at
        return [key(at(n)) for n in range(first, self._last(current_time) + 1)]

    def has_partition_key(self, partition_key: str, current_time: datetime | None = None) -> bool:
        """Whether ``partition_key`` names a window between the first and the last."""
        n = self._ordinal_of(partition_key) if isinstance(partition_key, str) else None
        return n is not None and self._ticks[1] <= n <= self._last(current_time)

    def get_num_partitions(self, current_time: datetime | None = None) -> int:
        """How many windows exist at ``current_time`` (computed, not enumerated)."""
        return max(0, self._last(current_time) - self._ticks[1] + 1)

    def get_first_partition_key(self, current_time: datetime | None = None) -> str | None:
        """The key of the first window, or None if no window has completed yet."""
        window = self.get_first_partition_window(current_time)
        return None if window is None else self._key(window.start)

    def get_last_partition_key(self, current_time: datetime | None = None) -> str | None:
        """The key of the last window at ``current_time``, or None if there is none."""
        window = self.get_last_partition_window(current_time)
        return None if window is None else self._key(window.start)

    def get_partition_keys_in_range(
        self, partition_key_range: PartitionKeyRange, current_time: datetime | None = None
    ) -> list[str]:
        """The keys from ``start`` to ``end`` inclusive (both must exist)."""
        start, end = partition_key_range
        self.validate_partition_key(start, current_time)
        self.validate_partition_key(end, current_time)
        i, j = self._ordinal_of(start), self._ordinal_of(end)
        assert i is not None and j is not None  # validated above
        _check_range_order(start, end, i, j)
        return [self._key_at(n) for n in range(i, j + 1)]

    def _invalid_key_reason(self, partition_key: str, current_time: datetime | None) -> str | None:
        dt = self._parse(partition_key)
        if dt is None:
            return f"It does not match the format '{self._fmt}'."
        ticks, first = self._ticks
        if dt.timestamp() <= ticks.at(first - 1).timestamp():
            return f"It is before the first partition '{self._key_at(first)}'."
        n = self._ordinal_of(partition_key)
        if n is None:
            return f"It is not the start of a window of the cron schedule '{self._cron}'."
        last = self._last(current_time)
        if n > last >= first:
            return (
                f"It is after the last partition '{self._key_at(last)}' (the last window "
                f"completed by now, shifted by end_offset={self._end_offset}, before any end)."
            )
        return None

    # -- time windows -------------------------------------------------------------------

    def time_window_for_partition_key(self, partition_key: str) -> TimeWindow:
        """The window ``partition_key`` names (it may be past the last partition, not
        before the first)."""
        n = self._ordinal_of(partition_key) if isinstance(partition_key, str) else None
        if n is None:
            raise InvariantViolationError(
                f"Partition key {partition_key!r} names no time window of {self!r}. "
                f"{self._invalid_key_reason(str(partition_key), None) or ''}".strip()
            )
        ticks = self._ticks[0]
        return TimeWindow(ticks.at(n), ticks.at(n + 1))

    def ordinals_overlapping(self, start: datetime, end: datetime) -> tuple[int, int]:
        """The first and last ordinals of the windows that overlap ``[start, end)``
        (whether or not they exist; the last is below the first when none does)."""
        ticks = self._ticks[0]
        lo, hi = ticks.floor(start), ticks.floor(end)
        if ticks.at(hi).timestamp() >= end.timestamp():
            hi -= 1
        return lo, hi

    def keys_for_ordinals(
        self, lo: int, hi: int, current_time: datetime | None = None
    ) -> tuple[list[str], list[str]]:
        """The keys of windows ``lo`` to ``hi``: those that exist at ``current_time``, and
        those that lie before the first window or after the last one."""
        first, last = self._ticks[1], self._last(current_time)
        existing: list[str] = []
        missing: list[str] = []
        for n in range(lo, hi + 1):
            (existing if first <= n <= last else missing).append(self._key_at(n))
        return existing, missing

    def partition_ordinal(self, partition_key: str) -> int | None:
        """The window's tick ordinal (None when ``partition_key`` names no window)."""
        return self._ordinal_of(partition_key) if isinstance(partition_key, str) else None

    def partition_key_at(self, ordinal: int) -> str:
        """The key of window ``ordinal``."""
        return self._key_at(ordinal)

    def ordinal_bounds(self, current_time: datetime | None = None) -> tuple[int, int] | None:
        """The ordinals of the first and the last window at ``current_time`` (None when
        there is no window yet)."""
        first, last = self._ticks[1], self._last(current_time)
        return (first, last) if last >= first else None

    def window_of_ordinals(self, lo: int, hi: int) -> TimeWindow:
        """The time from the start of window ``lo`` to the end of window ``hi``."""
        at = self._ticks[0].at
        return TimeWindow(at(lo), at(hi + 1))

    def ordinal_of(self, partition_key: str) -> int:
        """The ordinal of the window ``partition_key`` names (raises when it names none)."""
        n = self._ordinal_of(partition_key) if isinstance(partition_key, str) else None
        if n is None:
            self.time_window_for_partition_key(partition_key)  # raises, naming the key
            raise AssertionError  # unreachable
        return n

    def get_first_partition_window(self, current_time: datetime | None = None) -> TimeWindow | None:
        """The first window, or None when no window exists at ``current_time``."""
        ticks, first = self._ticks
        if self._last(current_time) < first:
            return None
        return TimeWindow(ticks.at(first), ticks.at(first + 1))

    def get_last_partition_window(self, current_time: datetime | None = None) -> TimeWindow | None:
        """The last window at ``current_time``, or None when there is none."""
        ticks, first = self._ticks
        last = self._last(current_time)
        if last < first:
            return None
        return TimeWindow(ticks.at(last), ticks.at(last + 1))

    # -- attributes, equality -----------------------------------------------------------

    @property
    def start(self) -> datetime:
        """The given start, aware in the definition's timezone."""
        return self._start

    @property
    def end(self) -> datetime | None:
        """The exclusive end, aware in the definition's timezone, or None."""
        return self._end

    @property
    def fmt(self) -> str:
        """The strftime format of the keys."""
        return self._fmt

    @property
    def cron_schedule(self) -> str:
        """The cron schedule whose ticks bound the windows."""
        return self._cron

    @property
    def timezone(self) -> str:
        """The IANA name of the timezone the windows and keys are in."""
        return self._tz.key

    @property
    def end_offset(self) -> int:
        """How many windows the last partition is shifted past the last completed one."""
        return self._end_offset

    def _identity(self) -> tuple[Any, ...]:
        cron = " ".join(CRON_ALIASES.get(self._cron.strip(), self._cron).split())
        end = None if self._end is None else self._end.timestamp()
        return (cron, self._fmt, self._start.timestamp(), end, self._tz.key, self._end_offset)

    def __eq__(self, other: object) -> bool:
        return (
            isinstance(other, TimeWindowPartitionsDefinition)
            and self._identity() == other._identity()
        )

    def __hash__(self) -> int:
        return hash(("TimeWindowPartitionsDefinition", *self._identity()))

    def __repr__(self) -> str:
        end = "" if self._end is None else f", end='{self._end.strftime(self._fmt)}'"
        offset = f", end_offset={self._end_offset}" if self._end_offset else ""
        return (
            f"{type(self).__name__}(start='{self._start.strftime(self._fmt)}'{end}, "
            f"cron_schedule='{self._cron}', fmt='{self._fmt}', timezone='{self._tz.key}'"
            f"{offset})"
        )

    def __getstate__(self) -> dict[str, Any]:
        names = ("_cron", "_end", "_end_offset", "_fmt", "_start", "_tz")
        return {name: getattr(self, name) for name in names}

    def __setstate__(self, state: dict[str, Any]) -> None:
        for name, value in state.items():
            object.__setattr__(self, name, value)
        self._ticks_cache = None
        self._format = _compile_fmt(self._fmt)


def _offsets(owner: object, **values: tuple[int, int, int]) -> list[int]:
    """Check each ``name=(value, low, high)``; return the values."""
    name = type(owner).__name__
    return [_check_int(name, key, v, low, high) for key, (v, low, high) in values.items()]


class HourlyPartitionsDefinition(TimeWindowPartitionsDefinition):
    """One partition per hour, keyed ``%Y-%m-%d-%H:%M``; windows start ``minute_offset``
    minutes past the hour."""

    __slots__ = ()

    def __init__(
        self,
        start_date: datetime | str,
        end_date: datetime | str | None = None,
        minute_offset: int = 0,
        timezone: str | None = None,
        fmt: str | None = None,
        end_offset: int = 0,
    ) -> None:
        (m,) = _offsets(self, minute_offset=(minute_offset, 0, 59))
        cron = f"{m} * * * *"
        fmt = fmt or "%Y-%m-%d-%H:%M"
        super().__init__(
            start_date, fmt, end_date, cron_schedule=cron, timezone=timezone, end_offset=end_offset
        )


class DailyPartitionsDefinition(TimeWindowPartitionsDefinition):
    """One partition per day, keyed ``%Y-%m-%d``; days start at ``hour_offset``:
    ``minute_offset`` local time."""

    __slots__ = ()

    def __init__(
        self,
        start_date: datetime | str,
        end_date: datetime | str | None = None,
        minute_offset: int = 0,
        hour_offset: int = 0,
        timezone: str | None = None,
        fmt: str | None = None,
        end_offset: int = 0,
    ) -> None:
        m, h = _offsets(
            self, minute_offset=(minute_offset, 0, 59), hour_offset=(hour_offset, 0, 23)
        )
        cron = f"{m} {h} * * *"
        super().__init__(
            start_date,
            fmt or "%Y-%m-%d",
            end_date,
            cron_schedule=cron,
            timezone=timezone,
            end_offset=end_offset,
        )


class WeeklyPartitionsDefinition(TimeWindowPartitionsDefinition):
    """One partition per week, keyed ``%Y-%m-%d`` by its first day; weeks start on
    ``day_offset`` (0 = Sunday, as in cron) at ``hour_offset``:``minute_offset``."""

    __slots__ = ()

    def __init__(
        self,
        start_date: datetime | str,
        end_date: datetime | str | None = None,
        minute_offset: int = 0,
        hour_offset: int = 0,
        day_offset: int = 0,
        timezone: str | None = None,
        fmt: str | None = None,
        end_offset: int = 0,
    ) -> None:
        m, h, d = _offsets(
            self,
            minute_offset=(minute_offset, 0, 59),
            hour_offset=(hour_offset, 0, 23),
            day_offset=(day_offset, 0, 6),
        )
        cron = f"{m} {h} * * {d}"
        super().__init__(
            start_date,
            fmt or "%Y-%m-%d",
            end_date,
            cron_schedule=cron,
            timezone=timezone,
            end_offset=end_offset,
        )


class MonthlyPartitionsDefinition(TimeWindowPartitionsDefinition):
    """One partition per month, keyed ``%Y-%m-%d`` by its first day; months start on day
    ``day_offset`` (default 1) at ``hour_offset``:``minute_offset``."""

    __slots__ = ()

    def __init__(
        self,
        start_date: datetime | str,
        end_date: datetime | str | None = None,
        minute_offset: int = 0,
        hour_offset: int = 0,
        day_offset: int = 1,
        timezone: str | None = None,
        fmt: str | None = None,
        end_offset: int = 0,
    ) -> None:
        m, h, d = _offsets(
            self,
            minute_offset=(minute_offset, 0, 59),
            hour_offset=(hour_offset, 0, 23),
            day_offset=(day_offset, 1, 31),
        )
        cron = f"{m} {h} {d} * *"
        super().__init__(
            start_date,
            fmt or "%Y-%m-%d",
            end_date,
            cron_schedule=cron,
            timezone=timezone,
            end_offset=end_offset,
        )
