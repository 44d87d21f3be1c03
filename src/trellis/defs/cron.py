"""Cron arithmetic: the ticks of a cron schedule in one timezone, each addressed by an
integer ordinal (``make_ticks``), and the check that a cron string is valid
(``check_cron_schedule``).

Fixed-period schedules (hourly, daily, weekly, monthly on days 1-28: what the
``Hourly``/``Daily``/``Weekly``/``Monthly`` partitions build, or the same strings written
by hand) are stepped with date arithmetic, which is exact across DST changes and costs no
import; any other cron string goes through croniter, imported only then. Time-window
partitions and schedules both tick with this module.
"""

from __future__ import annotations

import threading
from abc import ABC, abstractmethod
from bisect import bisect_right
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from trellis.core.errors import InvalidDefinitionError

_HOUR = timedelta(hours=1)
_MAX_WALK_BACK, _FAR = 1_000, 10**9
CRON_ALIASES = {
    "@hourly": "0 * * * *",
    "@daily": "0 0 * * *",
    "@midnight": "0 0 * * *",
    "@weekly": "0 0 * * 0",
    "@monthly": "0 0 1 * *",
}


# ---------------------------------------------------------------------------------------
# Ticks: a cron schedule in one timezone, each tick addressed by an integer ordinal.


class Ticks(ABC):
    """The ticks of one cron schedule in one timezone, addressed by integer ordinals."""

    def __init__(self, tz: ZoneInfo) -> None:
        self.tz = tz

    @abstractmethod
    def floor(self, t: datetime) -> int:
        """Ordinal of the latest tick at or before ``t``."""

    @abstractmethod
    def at(self, n: int) -> datetime:
        """Tick ``n`` as an aware datetime in the timezone."""


class _HourlyTicks(Ticks):
    # Ticks are a reference instant plus whole hours: right wherever DST moves clocks by
    # whole hours (all but a handful of zones).
    def __init__(self, minute: int, tz: ZoneInfo, near: datetime) -> None:
        super().__init__(tz)
        local = near.astimezone(tz).replace(minute=minute, second=0, microsecond=0)
        self._ref = local.astimezone(UTC)

    def floor(self, t: datetime) -> int:
        return (t.astimezone(UTC) - self._ref) // _HOUR

    def at(self, n: int) -> datetime:
        return (self._ref + n * _HOUR).astimezone(self.tz)


class _CalendarTicks(Ticks):
    # Ticks at a fixed wall-clock time on a calendar step; ``_guess`` maps a local date to
    # the ordinal of the tick on or just after it, ``floor`` then steps back if needed.
    def __init__(self, minute: int, hour: int, tz: ZoneInfo) -> None:
        super().__init__(tz)
        self._minute, self._hour = minute, hour

    @abstractmethod
    def _date(self, n: int) -> date: ...

    @abstractmethod
    def _guess(self, local: datetime) -> int: ...

    def at(self, n: int) -> datetime:
        d = self._date(n)
        return datetime(d.year, d.month, d.day, self._hour, self._minute, tzinfo=self.tz)

    def floor(self, t: datetime) -> int:
        n = self._guess(t.astimezone(self.tz))
        return n - 1 if self.at(n).timestamp() > t.timestamp() else n


class _DayStepTicks(_CalendarTicks):
    # Every ``step`` days (1: daily, 7: weekly) from date ordinal ``shift``.
    def __init__(self, minute: int, hour: int, step: int, shift: int, tz: ZoneInfo) -> None:
        super().__init__(minute, hour, tz)
        self._step, self._shift = step, shift

    def _date(self, n: int) -> date:
        return date.fromordinal(self._shift + self._step * n)

    def _guess(self, local: datetime) -> int:
        return (local.toordinal() - self._shift) // self._step


class _MonthlyTicks(_CalendarTicks):
    def __init__(self, minute: int, hour: int, day: int, tz: ZoneInfo) -> None:
        super().__init__(minute, hour, tz)
        self._day = day

    def _date(self, n: int) -> date:
        return date(n // 12, n % 12 + 1, self._day)

    def _guess(self, local: datetime) -> int:
        return local.year * 12 + local.month - 1


class _CronTicks(Ticks):
    # Any cron schedule, through croniter. Ticks from the first one at or after ``near``
    # are cached in order; ordinal 0 is that first tick.
    def __init__(self, cron: str, tz: ZoneInfo, near: datetime) -> None:
        super().__init__(tz)
        from croniter import croniter

        self._croniter = croniter
        self._cron = cron
        first = self._next(near.astimezone(tz) - timedelta(seconds=1))
        if first.timestamp() < near.timestamp():
            first = self._next(first)
        self._ticks = [first]
        self._stamps = [first.timestamp()]
        self._lock = threading.Lock()

    def _next(self, t: datetime) -> datetime:
        return self._croniter(self._cron, t).get_next(datetime)

    def _prev(self, t: datetime) -> datetime:
        return self._croniter(self._cron, t).get_prev(datetime)

    def _extend(self, n: int | None = None, stamp: float | None = None) -> None:
        with self._lock:
            it = self._croniter(self._cron, self._ticks[-1])
            while (n is not None and len(self._ticks) <= n) or (
                stamp is not None and self._stamps[-1] <= stamp
            ):
                tick = it.get_next(datetime)
                self._ticks.append(tick)
                self._stamps.append(tick.timestamp())

    def at(self, n: int) -> datetime:
        if n < 0:  # before the cache: walk back (rare: keys before the start)
            tick = self._ticks[0]
            for _ in range(-n):
                tick = self._prev(tick)
            return tick
        if n >= len(self._ticks):
            self._extend(n=n)
        return self._ticks[n]

    def floor(self, t: datetime) -> int:
        stamp = t.timestamp()
        if stamp < self._stamps[0]:
            # Before the first window: walk back a little; further back only "far" matters.
            n, tick = 0, self._ticks[0]
            while tick.timestamp() > stamp:
                if n < -_MAX_WALK_BACK:
                    return -_FAR
                n, tick = n - 1, self._prev(tick)
            return n
        if stamp >= self._stamps[-1]:
            self._extend(stamp=stamp)
        return bisect_right(self._stamps, stamp) - 1


def fixed_period(cron: str) -> Callable[[ZoneInfo, datetime], Ticks] | None:
    """A builder of arithmetic ticks when ``cron`` is a fixed-period schedule (hourly,
    daily, weekly, or monthly on days 1-28), else None."""
    fields = CRON_ALIASES.get(cron.strip(), cron).split()
    if len(fields) != 5 or not all(f == "*" or f.isdigit() for f in fields):
        return None
    minute, hour, dom, month, dow = fields
    if month != "*" or minute == "*" or int(minute) > 59:
        return None
    m = int(minute)
    if hour == dom == dow == "*":
        return lambda tz, near: _HourlyTicks(m, tz, near)
    if hour == "*" or int(hour) > 23 or (dom != "*" and dow != "*"):
        return None
    h = int(hour)
    if dom == dow == "*":
        return lambda tz, near: _DayStepTicks(m, h, 1, 0, tz)
    if dom == "*":
        # cron counts weekdays from Sunday = 0 (or 7); date ordinal 1 is a Monday.
        shift = 1 + (int(dow) + 6) % 7
        return (lambda tz, near: _DayStepTicks(m, h, 7, shift, tz)) if int(dow) <= 7 else None
    day = int(dom)
    return (lambda tz, near: _MonthlyTicks(m, h, day, tz)) if 1 <= day <= 28 else None


def check_cron_schedule(cron_schedule: object, owner: str) -> str:
    """Return ``cron_schedule`` if it is a valid five-field cron string (or an ``@daily``-style
    alias), else raise ``InvalidDefinitionError`` naming ``owner`` and the string.

    Fixed-period strings are recognised without croniter; others import it here.
    """
    if not isinstance(cron_schedule, str):
        raise InvalidDefinitionError(
            f"Invalid cron schedule {cron_schedule!r} for {owner}: expected a string "
            "such as '0 0 * * *'."
        )
    if fixed_period(cron_schedule) is not None:
        return cron_schedule
    from croniter import croniter

    stripped = cron_schedule.strip()
    five_fields = stripped.startswith("@") or len(stripped.split()) == 5
    if not (five_fields and croniter.is_valid(stripped)):
        raise InvalidDefinitionError(
            f"Invalid cron schedule '{cron_schedule}' for {owner}: expected five fields "
            "(minute hour day-of-month month day-of-week), e.g. '0 0 * * *'."
        )
    return cron_schedule


def make_ticks(cron: str, tz: ZoneInfo, near: datetime) -> Ticks:
    """The ticks of ``cron`` in ``tz``; ordinals count from a tick near ``near``."""
    fixed = fixed_period(cron)
    return _CronTicks(cron, tz, near) if fixed is None else fixed(tz, near)
