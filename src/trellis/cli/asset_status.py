"""The STATUS, DATA VERSION and CAUSE columns of ``trellis asset list``: each asset's
status from the events stored in the instance (``trellis.instance.staleness``)."""

from __future__ import annotations

from typing import Any

from trellis.core.asset_key import AssetKey
from trellis.core.data_version import DEFAULT_DATA_VERSION, NULL_DATA_VERSION
from trellis.instance.staleness import StalenessResolver, StaleStatus

# How each status reads in the table.
_STATUS_TEXT = {
    StaleStatus.MISSING: "never materialized",
    StaleStatus.FRESH: "fresh",
    StaleStatus.STALE: "stale",
}
_SHORT_VERSION = 12  # hashes are 64 characters: the table shows their start


def status_columns(graph: Any, instance: Any) -> dict[AssetKey, tuple[str, str, str]]:
    """``(status, data version, cause)`` of every asset of ``graph``. External assets
    read "observed" or "never observed"; the cause of a stale asset lists its root
    causes (the changes at the bottom of the chain, "src has a new data version")."""
    resolver = StalenessResolver(instance, graph)
    columns: dict[AssetKey, tuple[str, str, str]] = {}
    for key in sorted(graph.all_keys):
        staleness = resolver.staleness(key)
        version = staleness.data_version
        if graph.is_external(key):
            seen = resolver.get_provenance(key) is not None or version != DEFAULT_DATA_VERSION
            status = "observed" if seen else "never observed"
        else:
            status = _STATUS_TEXT[staleness.status]
        shown = "-" if version in (NULL_DATA_VERSION, DEFAULT_DATA_VERSION) else version.value
        if len(shown) > _SHORT_VERSION:
            shown = shown[:_SHORT_VERSION] + "…"
        cause = "; ".join(str(c) for c in staleness.root_causes) or "-"
        columns[key] = (status, shown, cause)
    return columns
