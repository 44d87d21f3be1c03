"""The health the pages show beside an asset's run status: staleness (never
materialized, fresh, or stale with its causes, from ``StalenessResolver``) and, for a
partitioned asset, the counts of its partitions by status (from the partition status
index) that the pages draw as a health bar."""

from __future__ import annotations

from typing import Any

from trellis.core.asset_key import AssetKey

STALENESS_WORDS = {"MISSING": "never", "FRESH": "fresh", "STALE": "stale"}
PARTITION_STATES = ("materialized", "failed", "in_progress", "missing")


def staleness_by_asset(instance: Any, graph: Any, keys: list[AssetKey]) -> dict[AssetKey, Any]:
    """``{key: {"status": never|fresh|stale|observed|never_observed, "causes": [...]}}``;
    the causes of a stale asset are its root causes, each as text and its parts. An
    asset never materialized nor observed is answered without a look at its events."""
    from trellis.core.data_version import DEFAULT_DATA_VERSION
    from trellis.instance.staleness import StalenessResolver

    resolver = StalenessResolver(instance, graph)
    recorded = set(instance.get_asset_keys())  # the others: nothing to look up
    out: dict[AssetKey, Any] = {}
    for key in keys:
        if key not in recorded:
            external = graph.is_external(key)
            out[key] = {"status": "never_observed" if external else "never", "causes": []}
            continue
        staleness = resolver.staleness(key)
        if graph.is_external(key):
            seen = (
                resolver.get_provenance(key) is not None
                or staleness.data_version != DEFAULT_DATA_VERSION
            )
            out[key] = {"status": "observed" if seen else "never_observed", "causes": []}
            continue
        out[key] = {
            "status": STALENESS_WORDS[staleness.status.value],
            "causes": [
                {
                    "text": str(cause),
                    "category": cause.category.value,
                    "reason": cause.reason,
                    "dependency": cause.dependency.to_user_string() if cause.dependency else None,
                    "partition": cause.partition_key,
                }
                for cause in staleness.root_causes
            ],
        }
    return out


def partition_health(instance: Any, defs: Any, keys: list[AssetKey]) -> dict[AssetKey, Any]:
    """``{key: {"total", "materialized", "failed", "in_progress", "missing"}}`` for the
    partitioned assets among ``keys`` (counts from the partition status index, static,
    time-window, dynamic and multi-dimensional partitions alike; an asset whose
    partitions the index cannot number is left out)."""
    from trellis.core.errors import InvariantViolationError
    from trellis.views.partition_status import partition_status

    graph = defs.asset_graph
    out: dict[AssetKey, Any] = {}
    for key in keys:
        if graph.is_external(key) or graph.partitions_def_for(key) is None:
            continue
        try:
            ranges = partition_status(instance, graph, [key], defs=defs)[key]
        except InvariantViolationError:  # partitions the index does not keep as ranges
            continue
        counts = dict.fromkeys(PARTITION_STATES, 0)
        for item in ranges:
            counts[item.status.lower()] = counts.get(item.status.lower(), 0) + item.num_partitions
        counts["total"] = sum(counts[s] for s in PARTITION_STATES)
        out[key] = counts
    return out
