"""Freshness policies: how recently an asset must have been updated.

- ``FreshnessPolicy.time_window(fail_window=, warn_window=None)``: the asset fails when
  its latest update is older than ``fail_window``, warns when older than ``warn_window``.
- ``FreshnessPolicy.cron(deadline_cron=, lower_bound_delta=, timezone="UTC")``: by each
  tick of ``deadline_cron`` the asset must have been updated within ``lower_bound_delta``
  before that tick (an update after the tick also counts); otherwise it fails.
- ``LegacyFreshnessPolicy(maximum_lag_minutes, cron_schedule=None, ...)``: Dagster's older
  policy, kept as data (Dagster 1.13 no longer schedules runs for it). Trellis evaluates it
  from the asset's own update time: it fails when that is more than ``maximum_lag_minutes``
  old (as of now, or as of the latest ``cron_schedule`` tick).

A policy is attached with ``freshness_policy=`` on ``@asset``, ``AssetOut`` and
``AssetSpec`` (``legacy_freshness_policy=`` for the legacy one), or to many assets with
``apply_freshness_policy``. ``evaluate(last_updated, now)`` gives the state;
``trellis.instance.freshness`` reads the update time from an instance.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import Enum
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from trellis.core.errors import InvalidDefinitionError
from trellis.defs.cron import check_cron_schedule, make_ticks

_MINUTE = timedelta(minutes=1)


class FreshnessState(Enum):
    """An asset's freshness: passing, warning, failing, or unknown (never updated)."""

    PASS = "PASS"
    WARN = "WARN"
    FAIL = "FAIL"
    UNKNOWN = "UNKNOWN"


def _stamp(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def _age(seconds: float) -> str:
    return str(timedelta(seconds=round(seconds)))


def _zone(timezone: str, owner: str) -> ZoneInfo:
    try:
        return ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError, TypeError):
        raise InvalidDefinitionError(
            f"{owner}: unknown timezone {timezone!r}; use an IANA name such as 'UTC' or "
            "'America/New_York'."
        ) from None


def _delta(value: Any, name: str, owner: str, minimum: timedelta = _MINUTE) -> timedelta:
    if not isinstance(value, timedelta) or value < minimum:
        raise InvalidDefinitionError(
            f"{owner}: {name} must be a timedelta of at least {minimum}, got {value!r}."
        )
    return value


def _previous_tick(cron: str, timezone: str, now: float) -> float:
    when = datetime.fromtimestamp(now, UTC)
    ticks = make_ticks(cron, ZoneInfo(timezone), when)
    return ticks.at(ticks.floor(when)).timestamp()


class FreshnessPolicy:
    """How recently an asset must have been updated; build one with
    ``FreshnessPolicy.time_window(...)`` or ``FreshnessPolicy.cron(...)`` and attach it with
    ``@asset(freshness_policy=...)``, ``AssetSpec(freshness_policy=...)`` or
    ``apply_freshness_policy``.

    Called with the old arguments (``FreshnessPolicy(maximum_lag_minutes=...)``) it makes a
    ``LegacyFreshnessPolicy`` with a ``DeprecationWarning``.
    """

    def __new__(cls, *args: Any, **kwargs: Any) -> Any:
        """Refuse direct construction of the base class (the legacy arguments excepted)."""
        if cls is not FreshnessPolicy:
            return super().__new__(cls)
        if args or "maximum_lag_minutes" in kwargs:
            warnings.warn(
                "FreshnessPolicy(maximum_lag_minutes=...) is the legacy freshness policy: "
                "use LegacyFreshnessPolicy, or FreshnessPolicy.time_window(...) / "
                "FreshnessPolicy.cron(...).",
                DeprecationWarning,
                stacklevel=2,
            )
            return LegacyFreshnessPolicy(*args, **kwargs)
        raise InvalidDefinitionError(
            "FreshnessPolicy cannot be built directly: use FreshnessPolicy.time_window("
            "fail_window=..., warn_window=...) or FreshnessPolicy.cron(deadline_cron=..., "
            "lower_bound_delta=...)."
        )

    @staticmethod
    def time_window(
        fail_window: timedelta, warn_window: timedelta | None = None
    ) -> TimeWindowFreshnessPolicy:
        """Fail when the latest update is older than ``fail_window``; warn when it is older
        than ``warn_window`` (shorter than ``fail_window``)."""
        owner = "FreshnessPolicy.time_window"
        fail = _delta(fail_window, "fail_window", owner)
        if warn_window is not None:
            warn = _delta(warn_window, "warn_window", owner)
            if warn >= fail:
                raise InvalidDefinitionError(
                    f"{owner}: warn_window ({warn}) must be shorter than fail_window ({fail})."
                )
        return TimeWindowFreshnessPolicy(fail_window=fail, warn_window=warn_window)

    @staticmethod
    def cron(
        deadline_cron: str, lower_bound_delta: timedelta, timezone: str = "UTC"
    ) -> CronFreshnessPolicy:
        """By each tick of ``deadline_cron`` (in ``timezone``), the asset must have been
        updated within ``lower_bound_delta`` before the tick (at least a minute, at most
        the time between two ticks)."""
        owner = "FreshnessPolicy.cron"
        check_cron_schedule(deadline_cron, owner)
        _zone(timezone, owner)
        delta = _delta(lower_bound_delta, "lower_bound_delta", owner)
        ticks = make_ticks(deadline_cron, ZoneInfo(timezone), datetime(2024, 1, 1, tzinfo=UTC))
        first = ticks.floor(datetime(2024, 1, 1, tzinfo=UTC))
        shortest = min(ticks.at(n + 1) - ticks.at(n) for n in range(first, first + 32))
        if delta > shortest:
            raise InvalidDefinitionError(
                f"{owner}: lower_bound_delta ({delta}) is longer than the time between two "
                f"ticks of '{deadline_cron}' ({shortest})."
            )
        return CronFreshnessPolicy(
            deadline_cron=deadline_cron, lower_bound_delta=delta, timezone=timezone
        )

    def evaluate(self, last_updated: float | None, now: float) -> tuple[FreshnessState, str]:
        """The state for an asset last updated at ``last_updated`` (a timestamp; None:
        never), at ``now``, and why."""
        raise NotImplementedError

    def describe(self) -> str:
        """The policy in words."""
        raise NotImplementedError


def _never(_: Any = None) -> tuple[FreshnessState, str]:
    return FreshnessState.UNKNOWN, "never updated"


@dataclass(frozen=True, eq=True)
class TimeWindowFreshnessPolicy(FreshnessPolicy):
    """``FreshnessPolicy.time_window(...)``: see the module docstring."""

    fail_window: timedelta
    warn_window: timedelta | None = None

    def evaluate(self, last_updated: float | None, now: float) -> tuple[FreshnessState, str]:
        """FAIL past ``fail_window``, WARN past ``warn_window``, else PASS."""
        if last_updated is None:
            return _never()
        age = now - last_updated
        said = f"last updated {_stamp(last_updated)}, {_age(age)} ago"
        if age > self.fail_window.total_seconds():
            return FreshnessState.FAIL, f"{said}: older than the fail window ({self.fail_window})"
        if self.warn_window is not None and age > self.warn_window.total_seconds():
            return FreshnessState.WARN, f"{said}: older than the warn window ({self.warn_window})"
        return FreshnessState.PASS, said

    def describe(self) -> str:
        """The policy in words."""
        warn = f", warn after {self.warn_window}" if self.warn_window is not None else ""
        return f"updated within {self.fail_window}{warn}"


@dataclass(frozen=True, eq=True)
class CronFreshnessPolicy(FreshnessPolicy):
    """``FreshnessPolicy.cron(...)``: see the module docstring."""

    deadline_cron: str
    lower_bound_delta: timedelta
    timezone: str = "UTC"

    def evaluate(self, last_updated: float | None, now: float) -> tuple[FreshnessState, str]:
        """PASS when updated since the latest deadline's window opened, else FAIL."""
        if last_updated is None:
            return _never()
        deadline = _previous_tick(self.deadline_cron, self.timezone, now)
        opened = deadline - self.lower_bound_delta.total_seconds()
        said = f"last updated {_stamp(last_updated)}"
        if last_updated >= opened:
            return FreshnessState.PASS, said
        return FreshnessState.FAIL, (
            f"{said}, before the window of the deadline {_stamp(deadline)} opened "
            f"({_stamp(opened)})"
        )

    def describe(self) -> str:
        """The policy in words."""
        return (
            f"updated within {self.lower_bound_delta} before each '{self.deadline_cron}' "
            f"tick ({self.timezone})"
        )


@dataclass(frozen=True, eq=True)
class LegacyFreshnessPolicy:
    """Dagster's older freshness policy: the asset's data should be at most
    ``maximum_lag_minutes`` old (as of each tick of ``cron_schedule``, when given). Data
    only in Dagster 1.13; Trellis evaluates it from the asset's own update time."""

    maximum_lag_minutes: float
    cron_schedule: str | None = None
    cron_schedule_timezone: str | None = None

    def __post_init__(self) -> None:
        owner = "LegacyFreshnessPolicy"
        lag = self.maximum_lag_minutes
        if isinstance(lag, bool) or not isinstance(lag, (int, float)) or lag < 0:
            raise InvalidDefinitionError(
                f"{owner}: maximum_lag_minutes must be a non-negative number, got {lag!r}."
            )
        if self.cron_schedule is not None:
            check_cron_schedule(self.cron_schedule, owner)
        if self.cron_schedule_timezone is not None:
            if self.cron_schedule is None:
                raise InvalidDefinitionError(
                    f"{owner}: cron_schedule_timezone is given without a cron_schedule."
                )
            _zone(self.cron_schedule_timezone, owner)

    @property
    def maximum_lag_delta(self) -> timedelta:
        """``maximum_lag_minutes`` as a ``timedelta``."""
        return timedelta(minutes=self.maximum_lag_minutes)

    def evaluate(self, last_updated: float | None, now: float) -> tuple[FreshnessState, str]:
        """FAIL when the update is more than the lag old as of now (or as of the latest
        cron tick), else PASS."""
        if last_updated is None:
            return _never()
        anchor = now
        if self.cron_schedule is not None:
            zone = self.cron_schedule_timezone or "UTC"
            anchor = _previous_tick(self.cron_schedule, zone, now)
        lag = anchor - last_updated
        said = f"last updated {_stamp(last_updated)}"
        if lag > self.maximum_lag_delta.total_seconds():
            when = "" if self.cron_schedule is None else f" at the tick {_stamp(anchor)}"
            return FreshnessState.FAIL, (
                f"{said}: more than {self.maximum_lag_minutes} minutes old{when}"
            )
        return FreshnessState.PASS, said

    def describe(self) -> str:
        """The policy in words."""
        tick = "" if self.cron_schedule is None else f" by each '{self.cron_schedule}' tick"
        return f"at most {self.maximum_lag_minutes} minutes old{tick} (legacy)"


def check_freshness_policy(value: Any, owner: str, legacy: bool = False) -> Any:
    """``value`` if it is None or a freshness policy of the kind the argument takes
    (``legacy``: a ``LegacyFreshnessPolicy``), else a definition error naming ``owner``."""
    kind = LegacyFreshnessPolicy if legacy else FreshnessPolicy
    if value is None or isinstance(value, kind):
        return value
    name = "legacy_freshness_policy" if legacy else "freshness_policy"
    hint = (
        "LegacyFreshnessPolicy(maximum_lag_minutes=...)"
        if legacy
        else "FreshnessPolicy.time_window(...) or FreshnessPolicy.cron(...)"
    )
    raise InvalidDefinitionError(f"{owner}: {name} must be a {hint}, got {value!r}.")


def split_freshness_policies(
    freshness_policy: Any, legacy_freshness_policy: Any, owner: str
) -> tuple[Any, Any]:
    """``(freshness_policy, legacy_freshness_policy)`` checked; a ``LegacyFreshnessPolicy``
    passed as ``freshness_policy`` (as older Dagster code does) moves to the second."""
    if isinstance(freshness_policy, LegacyFreshnessPolicy):
        if legacy_freshness_policy is not None:
            raise InvalidDefinitionError(
                f"{owner}: two legacy freshness policies given (freshness_policy= and "
                "legacy_freshness_policy=); pass one."
            )
        freshness_policy, legacy_freshness_policy = None, freshness_policy
    return (
        check_freshness_policy(freshness_policy, owner),
        check_freshness_policy(legacy_freshness_policy, owner, legacy=True),
    )


def apply_freshness_policy(
    assets_defs_or_specs: Iterable[Any],
    policy: FreshnessPolicy,
    overwrite_existing: bool = True,
) -> list[Any]:
    """Copies of ``assets_defs_or_specs`` (asset definitions and ``AssetSpec``s) with
    ``policy`` attached to each of their assets; ``overwrite_existing=False`` keeps the
    policy of an asset that has one."""
    from trellis.defs.asset_decorators import map_asset_specs

    check_freshness_policy(policy, "apply_freshness_policy")
    if policy is None:
        raise InvalidDefinitionError("apply_freshness_policy: policy is required, got None.")

    def attach(spec: Any) -> Any:
        if spec.freshness_policy is not None and not overwrite_existing:
            return spec
        return spec.replace_attributes(freshness_policy=policy)

    return map_asset_specs(attach, list(assets_defs_or_specs))
