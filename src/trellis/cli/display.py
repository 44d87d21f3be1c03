"""Rich output: consoles, tables of runs, steps, assets and jobs, and run summaries."""

from __future__ import annotations

import os
import time
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from rich.console import Console
from rich.table import Table
from rich.text import Text

from trellis.cli.step_summary import (
    HookRun,
    MappedNodeSummary,
    StepSummary,
    metadata_text,
)
from trellis.core.data_version import (
    CODE_VERSION_TAG,
    DATA_VERSION_IS_USER_PROVIDED_TAG,
    DATA_VERSION_TAG,
)
from trellis.core.events import EventType

STATUS_STYLES = {
    "SUCCESS": "green",
    "FAILURE": "red",
    "INTERRUPTED": "red",
    "CANCELED": "yellow",
    "CANCELING": "yellow",
    "SKIPPED": "yellow",
    "UP_FOR_RETRY": "yellow",
    "COMPLETED": "green",
    "ERRORED": "red",
    "STARTED": "cyan",
    "STARTING": "cyan",
    "RUNNING": "cyan",
    "QUEUED": "dim",
    "NOT_STARTED": "dim",
}
_PIPE_WIDTH = 200  # tables are not wrapped at 80 columns when piped to a file


def make_console(stderr: bool = False) -> Console:
    """A console on stdout (or stderr); wide and colourless when not a terminal."""
    console = Console(stderr=stderr, highlight=False)
    if not console.is_terminal and "COLUMNS" not in os.environ:
        console = Console(stderr=stderr, highlight=False, width=_PIPE_WIDTH)
    return console


def cell(value: Any) -> Text:
    """A table cell holding ``value`` as plain text (never parsed as rich markup)."""
    return value if isinstance(value, Text) else Text(str(value))


def status_text(status: Any) -> Text:
    """A status, coloured by what it means."""
    value = str(status)
    return Text(value, style=STATUS_STYLES.get(value, ""))


def format_time(timestamp: float | None) -> str:
    """Local date and time, to the second; ``-`` for none."""
    if timestamp is None:
        return "-"
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(timestamp))


def format_duration(seconds: float | None) -> str:
    """``12ms``, ``3.4s``, ``2m05s``, ``1h02m``; ``-`` for none."""
    if seconds is None:
        return "-"
    if seconds < 1:
        return f"{seconds * 1000:.0f}ms"
    if seconds < 60:
        return f"{seconds:.1f}s"
    minutes, secs = divmod(int(seconds), 60)
    if minutes < 60:
        return f"{minutes}m{secs:02d}s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m"


def run_duration(run: Any) -> float | None:
    """How long a run took (or has been running)."""
    if run.start_time is None:
        return None
    end = run.end_time if run.end_time is not None else time.time()
    return end - run.start_time


def runs_table(runs: Sequence[Any]) -> Table:
    """One row per run: id, job, status, created, duration, parent."""
    table = Table(title=f"{len(runs)} run{'' if len(runs) == 1 else 's'}", title_justify="left")
    for name in ("RUN ID", "JOB", "STATUS", "CREATED", "DURATION", "PARENT"):
        table.add_column(name, no_wrap=name == "RUN ID")
    for run in runs:
        table.add_row(
            *map(
                cell,
                (
                    run.run_id,
                    run.job_name,
                    status_text(run.status),
                    format_time(run.create_time),
                    format_duration(run_duration(run)),
                    (run.parent_run_id or "")[:8],
                ),
            )
        )
    return table


def steps_table(steps: Sequence[StepSummary]) -> Table:
    """One row per step: key, status, attempts, duration, materializations, and, when a
    step waited for a slot of a concurrency pool, the pool and how long."""
    table = Table(title="Steps", title_justify="left")
    pooled = any(step.pool is not None for step in steps)
    names = ("STEP", "STATUS", "ATTEMPTS", "DURATION", "MATERIALIZATIONS")
    for name in (*names, "POOL") if pooled else names:
        table.add_column(name, justify="right" if name in ("ATTEMPTS", "DURATION") else "left")
    for step in steps:
        row = [
            step.step_key,
            status_text(step.status),
            step.attempts,
            format_duration(step.duration_seconds),
            ", ".join(step.materializations) or "-",
        ]
        if pooled:
            row.append(step.pool_text)
        table.add_row(*map(cell, row))
    return table


def hooks_table(hooks: Sequence[HookRun]) -> Table:
    """One row per hook run after a step: step, hook, result, duration, why skipped or
    what it raised."""
    table = Table(title="Hooks", title_justify="left")
    for name in ("STEP", "HOOK", "RESULT", "DURATION", "DETAIL"):
        table.add_column(name, justify="right" if name == "DURATION" else "left")
    for hook in hooks:
        seconds = hook.duration_ms / 1000.0 if hook.duration_ms is not None else None
        table.add_row(
            *map(
                cell,
                (
                    hook.step_key,
                    hook.hook_name,
                    status_text(hook.result),
                    format_duration(seconds),
                    hook.detail or "-",
                ),
            )
        )
    return table


def mapped_table(nodes: Sequence[MappedNodeSummary]) -> Table:
    """One row per node mapped over a dynamic output: its steps by status and keys."""
    table = Table(title="Mapped steps (one per mapping key)", title_justify="left")
    for name in ("NODE", "STEPS", "BY STATUS", "MAPPING KEYS"):
        table.add_column(name, justify="right" if name == "STEPS" else "left")
    for node in nodes:
        made = [k for k in node.keys if "?" not in k]
        statuses = ", ".join(f"{n} {s}" for s, n in sorted(node.statuses.items()))
        keys = ", ".join(made[:5]) + (f", ... ({len(made) - 5} more)" if len(made) > 5 else "")
        table.add_row(*map(cell, (f"{node.node}[...]", len(made), statuses, keys or "-")))
    return table


def materializations_table(
    events: Iterable[Any], title: str = "Materializations", observations: bool = False
) -> Table:
    """One row per materialization (or, with ``observations``, per observation): asset,
    partition, step, data version (and code version), metadata."""
    table = Table(title=title, title_justify="left")
    for name in ("ASSET", "PARTITION", "STEP", "DATA VERSION", "METADATA"):
        table.add_column(name)
    wanted = EventType.ASSET_OBSERVATION if observations else EventType.ASSET_MATERIALIZATION
    for event in events:
        if event.event_type is not wanted:
            continue
        table.add_row(
            *map(
                cell,
                (
                    event.asset_key.to_user_string() if event.asset_key is not None else "?",
                    event.partition or "-",
                    event.step_key or "-",
                    version_text(event.tags),
                    metadata_text(event.metadata) or "-",
                ),
            )
        )
    return table


def version_text(tags: Mapping[str, str]) -> str:
    """An asset event's data version (shortened) and code version, for a table cell."""
    version = tags.get(DATA_VERSION_TAG)
    if version is None:
        return "-"
    shown = version if len(version) <= 12 else version[:12] + "…"
    if tags.get(DATA_VERSION_IS_USER_PROVIDED_TAG) == "true":
        shown += " (given)"
    code = tags.get(CODE_VERSION_TAG)
    return f"{shown}, code {code}" if code is not None else shown


def fields_table(fields: Mapping[str, Any]) -> Table:
    """A two-column grid of ``name  value`` lines."""
    grid = Table.grid(padding=(0, 2))
    grid.add_column(style="bold")
    grid.add_column()
    for name, value in fields.items():
        grid.add_row(cell(name), cell(value))
    return grid


def run_fields(run: Any) -> dict[str, Any]:
    """The fields ``run show`` prints for a run."""
    tags = ", ".join(f"{k}={v}" for k, v in sorted(run.tags.items())) or "-"
    fields: dict[str, Any] = {
        "run id": run.run_id,
        "job": run.job_name,
        "status": status_text(run.status),
        "created": format_time(run.create_time),
        "started": format_time(run.start_time),
        "ended": format_time(run.end_time),
        "duration": format_duration(run_duration(run)),
        "parent run": run.parent_run_id or "-",
        "root run": run.root_run_id or "-",
        "tags": tags,
    }
    if run.asset_check_selection is not None:  # a run that selected its asset checks
        fields["asset checks"] = ", ".join(run.asset_check_selection) or "-"
    return fields


def simple_table(title: str, columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> Table:
    """A table with a title, the given columns and rows of plain values."""
    table = Table(title=title, title_justify="left")
    for name in columns:
        table.add_column(name)
    for row in rows:
        table.add_row(*map(cell, row))
    return table
