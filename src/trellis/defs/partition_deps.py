"""The partition mappings of an asset graph's dependencies: which mapping each dependency
uses (given, or the default), checked once when the graph is built, and applied when a run
loads an input (``upstream_keys_for``)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from trellis.core.asset_key import AssetKey
from trellis.core.errors import InvalidDefinitionError, InvariantViolationError
from trellis.defs.partition_mapping import (
    IdentityPartitionMapping,
    PartitionMapping,
    TimeWindowPartitionMapping,
    UpstreamPartitions,
    default_partition_mapping,
)

if TYPE_CHECKING:
    from trellis.defs.asset import AssetsDefinition
    from trellis.defs.asset_graph import AssetGraph


def _kind(pdef: Any) -> str:
    if hasattr(pdef, "ordinals_overlapping"):
        return "time-window"
    if hasattr(pdef, "partition_dimension_names"):
        return "multi-dimensional"
    return type(pdef).__name__


def mapping_for(
    assets_def: AssetsDefinition, upstream_key: AssetKey, upstream_def: Any
) -> PartitionMapping:
    """The mapping the assets of ``assets_def`` read ``upstream_key`` through."""
    given = assets_def.partition_mapping_for(upstream_key)
    if given is not None:
        return given  # type: ignore[no-any-return]
    return default_partition_mapping(upstream_def, assets_def.partitions_def)


def _reason(mapping: PartitionMapping, given: bool, up: Any, down: Any) -> str | None:
    reason = mapping.cannot_map(up, down)
    if reason or given or up is None or down is None:
        return reason
    if isinstance(mapping, IdentityPartitionMapping) and _kind(up) != _kind(
        down
    ):  # the default identity between different kinds of keys
        return (
            f"a {_kind(down)} asset cannot read a {_kind(up)} asset key by key; give the "
            "dependency a partition mapping (AssetIn(partition_mapping=...) or "
            "AssetDep(..., partition_mapping=...))"
        )
    return None


def check_partition_mappings(graph: AssetGraph) -> None:
    """Refuse, naming both assets, a dependency whose mapping cannot relate the two
    partitions definitions, and a partitioned asset that reads itself without a time
    mapping onto earlier partitions."""
    for assets_def in graph.assets_defs:
        own = assets_def.partitions_def
        ups = set(assets_def.keys_by_input_name.values())
        for key in assets_def.keys:
            ups.update(assets_def.specs_by_key[key].deps)
        names = ", ".join(k.to_user_string() for k in assets_def.keys)
        for up in ups:
            given = assets_def.partition_mapping_for(up)
            up_def = graph.partitions_def_for(up) if up in graph.upstream else None
            if up in assets_def.keys:
                _check_self_dependency(names, own, given)
                continue
            if given is None and (up_def is None or own is None or up_def == own):
                continue
            mapping = given or default_partition_mapping(up_def, own)
            if up_def is None:
                continue  # an unpartitioned upstream is read whole
            reason = _reason(mapping, given is not None, up_def, own)
            if reason:
                raise InvalidDefinitionError(
                    f"Asset '{names}' ({own!r}) cannot depend on asset "
                    f"'{up.to_user_string()}' ({up_def!r}) through {mapping!r}: {reason}."
                )


def _check_self_dependency(names: str, own: Any, given: Any) -> None:
    if own is None:
        return
    if isinstance(given, TimeWindowPartitionMapping) and given.end_offset < 0:
        return
    raise InvalidDefinitionError(
        f"Asset '{names}' ({own!r}) depends on itself "
        f"{'through ' + repr(given) if given else 'without a partition mapping'}: a "
        "partition can only read earlier partitions of its own asset. Use "
        "TimeWindowPartitionMapping(start_offset=-1, end_offset=-1)."
    )


def upstream_keys_for(
    assets_def: AssetsDefinition,
    upstream_key: AssetKey,
    upstream_def: Any,
    downstream_keys: Sequence[str] | None,
    current_time: datetime | None = None,
) -> list[str]:
    """The upstream partition keys that ``downstream_keys`` of ``assets_def`` read from
    ``upstream_key``. Raises ``InvariantViolationError`` naming both assets when some of
    them do not exist, unless the mapping allows it or the asset reads itself (its first
    partitions have no earlier ones)."""
    mapping = mapping_for(assets_def, upstream_key, upstream_def)
    down_keys = downstream_keys if assets_def.partitions_def is not None else None
    result: UpstreamPartitions = mapping.upstream_partition_keys(
        down_keys, assets_def.partitions_def, upstream_def, current_time
    )
    if result.nonexistent and upstream_key not in assets_def.keys:
        names = ", ".join(k.to_user_string() for k in assets_def.keys)
        shown = ", ".join(result.nonexistent[:3]) + (
            f" and {len(result.nonexistent) - 3} more" if len(result.nonexistent) > 3 else ""
        )
        raise InvariantViolationError(
            f"Asset '{names}' partition(s) {', '.join(downstream_keys or [])[:200]} read "
            f"partition(s) {shown} of asset '{upstream_key.to_user_string()}', which do not "
            f"exist in {upstream_def!r}. Pass allow_nonexistent_upstream_partitions=True to "
            "the TimeWindowPartitionMapping to read only those that exist."
        )
    return result.keys
