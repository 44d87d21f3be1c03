"""The composite conditions, built from the operands and operators as Dagster 1.13 builds
them (the labels are Dagster's, so evaluation trees read the same).

- ``eager()``: in the latest time window, (newly missing OR any dependency updated) since
  last handled, AND NOT any dependency missing, AND NOT any dependency in progress, AND
  NOT in progress.
- ``on_cron(cron, tz)``: in the latest time window, a cron tick passed since last handled,
  AND every dependency updated since that tick.
- ``on_missing()``: in the latest time window, newly missing since last handled, AND NOT
  any dependency missing.

"Handled" is: newly requested OR newly updated OR the initial evaluation.
"""

from __future__ import annotations

from trellis.automation.condition import AutomationCondition
from trellis.automation.deps import DepsAutomationCondition
from trellis.automation.operators import AndAutomationCondition

AC = AutomationCondition


def any_deps_updated() -> DepsAutomationCondition:
    """A dependency was updated since the previous evaluation, by a run that did not also
    target the asset being evaluated, or will be requested by this evaluation."""
    updated_without_root = (AC.newly_updated() & ~AC.executed_with_root_target()).with_label(
        "newly_updated_without_root"
    )
    return AC.any_deps_match(updated_without_root | AC.will_be_requested()).with_label(
        "any_deps_updated"
    )


def any_deps_missing() -> DepsAutomationCondition:
    """A dependency is missing and this evaluation does not request it."""
    return AC.any_deps_match(AC.missing() & ~AC.will_be_requested()).with_label("any_deps_missing")


def all_deps_updated_since_cron(cron_schedule: str, cron_timezone: str) -> DepsAutomationCondition:
    """Every dependency was updated since the latest tick of the schedule (or is requested
    by this evaluation)."""
    since_tick = AC.newly_updated().since(AC.cron_tick_passed(cron_schedule, cron_timezone))
    return AC.all_deps_match(since_tick | AC.will_be_requested()).with_label(
        f"all_deps_updated_since_cron({cron_schedule}, {cron_timezone})"
    )


def eager() -> AndAutomationCondition:
    """See the module docstring."""
    return (
        AC.in_latest_time_window()
        & (AC.newly_missing() | AC.any_deps_updated()).since_last_handled()
        & ~AC.any_deps_missing()
        & ~AC.any_deps_in_progress()
        & ~AC.in_progress()
    ).with_label("eager")


def on_cron(cron_schedule: str, cron_timezone: str) -> AndAutomationCondition:
    """See the module docstring."""
    return (
        AC.in_latest_time_window()
        & AC.cron_tick_passed(cron_schedule, cron_timezone).since_last_handled()
        & AC.all_deps_updated_since_cron(cron_schedule, cron_timezone)
    ).with_label(f"on_cron({cron_schedule}, {cron_timezone})")


def on_missing() -> AndAutomationCondition:
    """See the module docstring."""
    return (
        AC.in_latest_time_window()
        & AC.missing().newly_true().since_last_handled().with_label("missing_since_last_handled")
        & ~AC.any_deps_missing()
    ).with_label("on_missing")
