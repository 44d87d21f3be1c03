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


def condition_node(node: dict[str, Any], partitioned: bool) -> dict[str, Any]:
    """One node of a recorded tree as the views show it, with its operands: ``title``
    (its label, and its name when they differ), ``true``, the count of partitions it is
    true for and the candidates (a partitioned asset), the keys it is true for as text,
    its description and the asset it was evaluated for. The one builder behind the text
    tree and the web UI's drawn tree."""
    label, name = node.get("label"), node.get("name", "?")
    # A node evaluated for another asset (a dependency) is partitioned as that asset is.
    children = [
        condition_node(child, isinstance(child.get("true"), list))
        for child in node.get("children") or []
    ]
    true = bool(node.get("num_true"))
    return {
        "title": f"{label} ({name})" if label and label != name else name,
        "name": name,
        "label": label,
        "description": node.get("description"),
        "key": node.get("key"),
        "true": true,
        "partitioned": partitioned,
        "num_true": node.get("num_true", 0),
        "num_candidates": node.get("num_candidates", 0),
        "true_keys": describe_keys(node.get("true")) if partitioned and true else "",
        "children": children,
    }


def evaluation_view(record: AutomationEvaluationRecord) -> dict[str, Any]:
    """One evaluation record as data: the asset, the evaluation's id and time, what it
    requested (and, partitioned, which partitions) and its condition tree
    (``condition_node``)."""
    body = record.body
    partitioned = bool(body.get("partitioned"))
    return {
        "key": record.asset_key.to_user_string(),
        "evaluation_id": record.evaluation_id,
        "timestamp": record.timestamp,
        "num_requested": record.num_requested,
        "partitioned": partitioned,
        "requested_keys": describe_keys(body.get("requested")) if partitioned else "",
        "tree": condition_node(body.get("tree") or {}, partitioned),
    }


def _node_line(node: dict[str, Any]) -> str:
    mark = TRUE_MARK if node["true"] else FALSE_MARK
    if not node["partitioned"]:
        return f"{mark} {node['title']}"
    count = f"{node['num_true']} of {node['num_candidates']}"
    keys = node["true_keys"]
    return f"{mark} {node['title']}  [{count}{': ' + keys if keys else ''}]"


def _tree_lines(node: dict[str, Any], prefix: str) -> list[str]:
    lines = []
    children = node["children"]
    for i, child in enumerate(children):
        is_last = i == len(children) - 1
        branch = "└─ " if is_last else "├─ "
        lines.append(prefix + branch + _node_line(child))
        lines.extend(_tree_lines(child, prefix + ("   " if is_last else "│  ")))
    return lines


def render_evaluation(record: AutomationEvaluationRecord) -> list[str]:
    """The lines that show one evaluation record."""
    view = evaluation_view(record)
    when = datetime.fromtimestamp(record.timestamp, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
    requested = f"requested {record.num_requested}"
    if view["partitioned"] and record.num_requested:
        requested += f" ({view['requested_keys']})"
    header = f"{view['key']}  evaluation {record.evaluation_id} at {when}  {requested}"
    tree = view["tree"]
    return [header, _node_line(tree), *_tree_lines(tree, "")]
