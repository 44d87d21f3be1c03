"""From requested asset partitions to run requests, grouped as Dagster groups them: one
run per partitions definition and partition key (so the unpartitioned assets requested
together run together, and each partition of a partitioned asset in its own run with
the other assets of its partitions definition requested for that key).

Each request selects its assets (``asset_selection``) and names no job: it runs as the
code location's implicit asset job (``__ASSET_JOB``) restricted to those assets.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import Any

from trellis.automation.subset import AssetSubset
from trellis.core.asset_key import AssetKey
from trellis.defs.asset_graph import AssetGraph
from trellis.defs.run_request import RunRequest

FROM_AUTOMATION_TAG = "trellis/from_automation_condition"
EVALUATION_ID_TAG = "trellis/automation_evaluation_id"


def build_run_requests(
    requested: Mapping[AssetKey, AssetSubset],
    asset_graph: AssetGraph,
    run_tags: Mapping[str, str] | None = None,
    evaluation_id: int | None = None,
) -> list[RunRequest]:
    """One ``RunRequest`` per (partitions definition, partition key) among ``requested``:
    unpartitioned groups first, then partitions in key order, assets sorted by key.

    With ``evaluation_id``, each request gets a run key made from the evaluation and its
    contents, so a tick evaluated again after a crash asks for the same runs (the daemon
    launches a run key once), and the evaluation's id as a tag."""
    groups: dict[tuple[Any, str | None], set[AssetKey]] = {}
    for key, subset in requested.items():
        if subset.is_empty:
            continue
        partitions_def = asset_graph.partitions_def_for(key)
        partitions: list[str | None] = (
            [*sorted(subset.partition_keys)] if subset.is_partitioned else [None]
        )
        for partition in partitions:
            groups.setdefault((partitions_def, partition), set()).add(key)
    tags = {**(run_tags or {}), FROM_AUTOMATION_TAG: "true"}
    if evaluation_id is not None:
        tags[EVALUATION_ID_TAG] = str(evaluation_id)
    ordered = sorted(groups.items(), key=lambda item: (item[0][1] is not None, item[0][1] or ""))
    requests = []
    for (_partitions_def, partition), keys in ordered:
        selection = sorted(keys)
        run_key = None
        if evaluation_id is not None:
            run_key = _run_key(evaluation_id, partition, selection)
        requests.append(
            RunRequest(
                run_key=run_key,
                asset_selection=selection,
                partition_key=partition,
                tags=tags,
            )
        )
    return requests


def _run_key(evaluation_id: int, partition: str | None, keys: list[AssetKey]) -> str:
    text = "|".join([str(evaluation_id), partition or "", *(k.to_user_string() for k in keys)])
    return f"automation:{evaluation_id}:{hashlib.sha1(text.encode()).hexdigest()[:12]}"
