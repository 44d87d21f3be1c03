"""Medians of the runner's records and the markdown table they are shown in."""

from __future__ import annotations

import statistics
from typing import Any

FIELDS = ("wall_s", "define_s", "per_step_s", "rss_mb")


def medians(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One row per (workload, n) in first-seen order, with each framework's medians
    (or its ``skipped`` reason, or ``error`` when any of its runs failed)."""
    rows: dict[tuple[str, int], dict[str, Any]] = {}
    for record in records:
        row = rows.setdefault(
            (record["workload"], record["n"]), {"workload": record["workload"], "n": record["n"]}
        )
        row.setdefault(record["framework"], []).append(record)
    for row in rows.values():
        for framework in ("trellis", "dagster"):
            if framework in row:
                row[framework] = _summary(row[framework])
    return list(rows.values())


def _summary(runs: list[dict[str, Any]]) -> dict[str, Any]:
    failed = [r["error"] for r in runs if "error" in r]
    if failed:
        return {"error": failed[0], "runs": len(runs)}
    if any("skipped" in r for r in runs):
        return {"skipped": runs[0]["skipped"]}
    summary: dict[str, Any] = {"runs": len(runs)}
    for field in FIELDS:
        summary[field] = statistics.median(r[field] for r in runs)
    return summary


def fmt_time(seconds: float) -> str:
    """A duration in s, ms or µs with about three significant digits."""
    for unit, scale in (("s", 1.0), ("ms", 1e-3), ("µs", 1e-6)):
        if abs(seconds) >= scale or unit == "µs":
            value = seconds / scale
            return f"{value:.3g} {unit}" if abs(value) < 1000 else f"{value:.0f} {unit}"
    return "?"


def _cells(summary: dict[str, Any] | None) -> list[str]:
    if summary is None:
        return ["-"] * 3
    if "error" in summary:
        return ["error"] * 3
    if "skipped" in summary:
        return ["skipped"] * 3
    return [
        fmt_time(summary["per_step_s"]),
        fmt_time(summary["wall_s"]),
        f"{summary['rss_mb']:.0f} MB",
    ]


def _ratio(trellis: dict[str, Any] | None, dagster: dict[str, Any] | None) -> str:
    if not trellis or not dagster or "wall_s" not in trellis or "wall_s" not in dagster:
        return "-"
    ratio = trellis["wall_s"] / dagster["wall_s"]
    return f"{ratio:.2g} ({1 / ratio:.0f}x faster)" if ratio < 0.5 else f"{ratio:.2g}"


def table(rows: list[dict[str, Any]], include_dagster: bool = True) -> str:
    """The markdown table: per framework per-step overhead, run wall time and peak RSS
    (medians), and the Trellis/Dagster ratio of wall times."""
    head = ["workload", "n", "Trellis per-step", "Trellis wall", "Trellis RSS"]
    if include_dagster:
        head += ["Dagster per-step", "Dagster wall", "Dagster RSS", "Trellis/Dagster (wall)"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for row in rows:
        cells = [f"`{row['workload']}`", str(row["n"]), *_cells(row.get("trellis"))]
        if include_dagster:
            cells += [*_cells(row.get("dagster")), _ratio(row.get("trellis"), row.get("dagster"))]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)
