"""Evaluation trees: one asset's ``AutomationResult`` tree as JSON, the way it is recorded
in the instance (``AutomationEvaluationRecord``) and printed by ``trellis asset
automation``.

Each node is ``{"name", "label", "description", "key", "true", "num_true",
"num_candidates", "children"}``: ``true`` is a bool for an unpartitioned asset, else the
partitions it is true for (keys and ``[first, last]`` runs); ``key`` is the asset the node
was evaluated for (a dependency's, under ``any_deps_match``).
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from trellis.automation.context import AutomationResult
from trellis.automation.graph_view import AutomationGraphView
from trellis.automation.subset import AssetSubset
from trellis.core.asset_key import AssetKey
from trellis.instance.automation_records import AutomationEvaluationRecord

RECORD_VERSION = 1

_compact = json.JSONEncoder(separators=(",", ":"), sort_keys=True).encode


def result_tree(result: AutomationResult, view: AutomationGraphView) -> dict[str, Any]:
    """The JSON tree of ``result`` and its operands' results."""
    name, label, description = result.condition.node_facts()
    return {
        "name": name,
        "label": label,
        "description": description,
        "key": result.key.to_user_string(),
        "true": view.encode(result.true_subset),
        "num_true": result.true_subset.size,
        "num_candidates": result.candidate_subset.size,
        "children": [result_tree(child, view) for child in result.child_results],
    }


def tree_digest(tree: dict[str, Any]) -> str:
    """A short digest of a tree: equal trees, equal digests (what decides whether an
    evaluation is recorded again)."""
    return hashlib.sha1(_compact(tree).encode()).hexdigest()[:20]


def evaluation_record(
    key: AssetKey,
    evaluation_id: int,
    timestamp: float,
    requested: AssetSubset,
    tree: dict[str, Any],
    view: AutomationGraphView,
) -> AutomationEvaluationRecord:
    """The record of one asset's evaluation: its tree and what it requested."""
    body = {
        "version": RECORD_VERSION,
        "partitioned": requested.is_partitioned,
        "requested": view.encode(requested),
        "tree": tree,
    }
    return AutomationEvaluationRecord(key, evaluation_id, timestamp, requested.size, body)
