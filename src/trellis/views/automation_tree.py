"""An asset's recorded automation evaluation as text: a header line, then the condition
tree, one node per line with whether it was true (and, for a partitioned asset, for how
many partitions, and which)::

    orders  evaluation 12 at 2026-01-02 03:04:05 UTC  requested 1
    ✓ eager (AND)
    ├─ ✓ in_latest_time_window
    ├─ ✓ SINCE
    │  ├─ ✓ OR
    ...

This is what ``trellis asset automation KEY`` prints.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from trellis.instance.automation_records import AutomationEvaluationRecord

TRUE_MARK, FALSE_MARK = "✓", "✗"
SHOWN_KEYS = 6  # partition keys (or runs of keys) shown on a line, then "..."


def describe_keys(encoded: Any, limit: int = SHOWN_KEYS) -> str:
    """Encoded partition keys as text: ``a, b, 2024-01-01...2024-01-31``."""
    items = []
    for item in encoded or ():
        items.append(f"{item[0]}...{item[1]}" if isinstance(item, list) else str(item))
    shown = ", ".join(items[:limit])
    return shown + (", ..." if len(items) > limit else "")


def _node_line(node: dict[str, Any], partitioned: bool) -> str:
    true = bool(node.get("num_true"))
    mark = TRUE_MARK if true else FALSE_MARK
    label, name = node.get("label"), node.get("name", "?")
    title = f"{label} ({name})" if label and label != name else name
    if not partitioned:
        return f"{mark} {title}"
    count = f"{node.get('num_true', 0)} of {node.get('num_candidates', 0)}"
    keys = describe_keys(node.get("true")) if true else ""
    return f"{mark} {title}  [{count}{': ' + keys if keys else ''}]"


def _tree_lines(node: dict[str, Any], prefix: str) -> list[str]:
    lines = []
    children = node.get("children") or []
    for i, child in enumerate(children):
        is_last = i == len(children) - 1
        branch = "└─ " if is_last else "├─ "
        # A node evaluated for another asset (a dependency) is partitioned as that asset is.
        child_partitioned = isinstance(child.get("true"), list)
        lines.append(prefix + branch + _node_line(child, child_partitioned))
        lines.extend(_tree_lines(child, prefix + ("   " if is_last else "│  ")))
    return lines


def render_evaluation(record: AutomationEvaluationRecord) -> list[str]:
    """The lines that show one evaluation record."""
    body = record.body
    partitioned = bool(body.get("partitioned"))
    when = datetime.fromtimestamp(record.timestamp, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
    requested = f"requested {record.num_requested}"
    if partitioned and record.num_requested:
        requested += f" ({describe_keys(body.get('requested'))})"
    header = (
        f"{record.asset_key.to_user_string()}  evaluation {record.evaluation_id} at {when}  "
        f"{requested}"
    )
    tree = body.get("tree") or {}
    root = _node_line(tree, partitioned)
    return [header, root, *_tree_lines(tree, "")]
