"""Asset checks on the terminal: the checks of a run (``trellis run show``) and the status
of each asset's checks (``trellis asset list``), read from events and the instance's check
index."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from rich.table import Table
from rich.text import Text

from trellis.cli.step_summary import metadata_text
from trellis.core.events import Event, EventType

CHECK_STYLES = {
    "passed": "green",
    "failed": "red",
    "warned": "yellow",
    "never": "dim",
    "not evaluated": "dim",
}


def check_status_text(status: str) -> Text:
    """A check status (``passed``, ``failed``, ``warned``, ``never``), coloured."""
    return Text(status, style=CHECK_STYLES.get(status, ""))


def run_check_rows(events: Iterable[Event]) -> list[tuple[str, str, str, str, str, str]]:
    """One row per check a run planned or evaluated, in order: check, status (``not
    evaluated`` for a planned check whose step did not run or failed first), severity,
    blocking, step, metadata and description."""
    rows: dict[str, tuple[str, str, str, str, str, str]] = {}
    for event in events:
        data = event.data
        if event.event_type is EventType.ASSET_CHECK_EVALUATION_PLANNED:
            key = data.asset_check_key  # type: ignore[union-attr]
            if key is not None:
                name = key.to_user_string()
                step = data.step_key or "-"  # type: ignore[union-attr]
                rows.setdefault(name, (name, "not evaluated", "-", "-", step, "-"))
        elif event.event_type is EventType.ASSET_CHECK_EVALUATION:
            evaluation = getattr(data, "evaluation", None)
            if evaluation is None:
                continue
            name = evaluation.asset_check_key.to_user_string()
            details = metadata_text(evaluation.metadata)
            if evaluation.description:
                details = (
                    f"{evaluation.description}; {details}" if details else evaluation.description
                )
            rows[name] = (
                name,
                evaluation.status,
                evaluation.severity.value,
                "yes" if evaluation.blocking else "no",
                event.step_key or "-",
                details or "-",
            )
    return list(rows.values())


def run_checks_table(events: Iterable[Event]) -> Table | None:
    """The table of a run's asset checks, or None when the run had none."""
    rows = run_check_rows(events)
    if not rows:
        return None
    table = Table(title="Asset checks", title_justify="left")
    for name in ("CHECK", "STATUS", "SEVERITY", "BLOCKING", "STEP", "DETAILS"):
        table.add_column(name)
    for check, status, *rest in rows:
        table.add_row(Text(check), check_status_text(status), *map(Text, rest))
    return table


def check_status_by_asset(graph: Any, instance: Any) -> dict[Any, list[tuple[str, str]]]:
    """For each asset with checks, ``(check name, status)`` pairs from the latest
    evaluation of each (``never`` for a check that never ran)."""
    keys = sorted(graph.check_specs)
    latest = instance.get_latest_asset_check_evaluations(keys) if keys else {}
    found: dict[Any, list[tuple[str, str]]] = {}
    for key in keys:
        evaluation = latest.get(key)
        status = evaluation.status if evaluation is not None else "never"
        found.setdefault(key.asset_key, []).append((key.name, status))
    return found


def checks_cell(statuses: list[tuple[str, str]]) -> Text:
    """``name: status`` for each check of one asset, coloured by status."""
    if not statuses:
        return Text("-")
    text = Text()
    for i, (name, status) in enumerate(statuses):
        if i:
            text.append(", ")
        text.append(f"{name}: ")
        text.append(check_status_text(status))
    return text
