"""``AutomationGraphView``: the asset graph at one evaluation's time, over a state view.

It answers the questions the operands ask, per asset and as ``AssetSubset``s: which
partitions exist now, which are missing, updated since a storage id, in progress, failed,
in the latest time window; and how a subset of one asset maps onto another (Trellis has
no partition mappings: an asset reads the same partition key of its upstream, or all of
it when either side is unpartitioned). Partition keys are computed once per asset.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from trellis.automation.state import AssetStateView, PartitionSet, Update
from trellis.automation.subset import AssetSubset, PartitionSpace
from trellis.core.asset_key import AssetKey
from trellis.defs.asset_graph import AssetGraph
from trellis.defs.cron import make_ticks
from trellis.defs.partitions import PartitionsDefinition
from trellis.defs.time_partitions import TimeWindowPartitionsDefinition


class AutomationGraphView:
    """The asset graph, the state view and the evaluation time, with the subsets built
    from them (see the module docstring)."""

    def __init__(
        self, asset_graph: AssetGraph, state: AssetStateView, evaluation_time: datetime
    ) -> None:
        self.asset_graph = asset_graph
        self.state = state
        self.evaluation_time = evaluation_time
        self._spaces: dict[AssetKey, PartitionSpace | None] = {}
        self._ticks: dict[tuple[str, str], datetime] = {}
        self.keys_read: set[AssetKey] = set()

    # -- the partitions of an asset ----------------------------------------------------
    def partitions_def(self, key: AssetKey) -> PartitionsDefinition | None:
        """The partitions definition of ``key`` (None: unpartitioned)."""
        return self.asset_graph.partitions_def_for(key)

    def space(self, key: AssetKey) -> PartitionSpace | None:
        """The partition keys ``key`` has at the evaluation time (None: unpartitioned)."""
        if key not in self._spaces:
            partitions_def = self.partitions_def(key)
            self._spaces[key] = (
                None
                if partitions_def is None
                else PartitionSpace(partitions_def.get_partition_keys(self.evaluation_time))
            )
        return self._spaces[key]

    def empty(self, key: AssetKey) -> AssetSubset:
        """The empty subset of ``key``."""
        return AssetSubset(key, False if self.space(key) is None else frozenset())

    def full(self, key: AssetKey) -> AssetSubset:
        """Every partition of ``key`` (or the unpartitioned asset)."""
        space = self.space(key)
        return AssetSubset(key, True if space is None else space.all)

    def subset(self, key: AssetKey, partitions: Iterable[str | None]) -> AssetSubset:
        """The subset of ``key`` for ``partitions``; ``None`` in it means every partition
        (or the unpartitioned asset). Keys that are not partitions now are left out."""
        found = frozenset(partitions)
        space = self.space(key)
        if space is None:
            return AssetSubset(key, bool(found))
        if None in found:
            return AssetSubset(key, space.all)
        return AssetSubset(key, frozenset(k for k in found if k in space.index))

    def encode(self, subset: AssetSubset) -> Any:
        """A subset as JSON (a bool, or keys and runs of keys)."""
        space = self.space(subset.key)
        if space is None or not subset.is_partitioned:
            return not subset.is_empty
        return space.encode(subset.partition_keys)

    def decode(self, key: AssetKey, encoded: Any) -> AssetSubset | None:
        """The subset ``encode`` wrote, or None when it no longer fits the asset (it was
        partitioned and is not, or the other way round)."""
        space = self.space(key)
        if space is None:
            return AssetSubset(key, encoded) if isinstance(encoded, bool) else None
        if isinstance(encoded, bool):
            return None
        return AssetSubset(key, space.decode(encoded))

    # -- mapping between assets ---------------------------------------------------------
    def map_subset(self, subset: AssetSubset, to_key: AssetKey) -> AssetSubset:
        """``subset`` seen from ``to_key``: through the partition mapping of the
        dependency between them (the same partition keys when both share a definition and
        no mapping is given), every partition (or nothing) when either side is not
        partitioned."""
        if subset.key == to_key:
            return subset
        target = self.space(to_key)
        if target is None:
            return AssetSubset(to_key, not subset.is_empty)
        if not subset.is_partitioned:
            return AssetSubset(to_key, target.all if not subset.is_empty else frozenset())
        mapped = self._mapped(subset, to_key)
        keys = subset.partition_keys if mapped is None else frozenset(mapped)
        return AssetSubset(to_key, keys & target.all)

    def _mapped(self, subset: AssetSubset, to_key: AssetKey) -> list[str] | None:
        """The partition keys of ``to_key`` that ``subset`` maps to through a partition
        mapping, or None when the keys are the same."""
        graph = self.asset_graph
        if subset.key in graph.upstream.get(to_key, ()):
            up, down = subset.key, to_key
        elif to_key in graph.upstream.get(subset.key, ()):
            up, down = to_key, subset.key
        else:
            return None
        producer = graph.producer.get(down)
        up_def, down_def = self.partitions_def(up), self.partitions_def(down)
        if producer is None or up_def is None or down_def is None:
            return None
        given = producer.partition_mapping_for(up)
        if given is None and up_def == down_def:
            return None
        from trellis.defs.partition_deps import mapping_for

        mapping = mapping_for(producer, up, up_def)
        keys = sorted(subset.partition_keys)
        if up == subset.key:
            return mapping.downstream_partition_keys(keys, up_def, down_def, self.evaluation_time)
        found = mapping.upstream_partition_keys(keys, down_def, up_def, self.evaluation_time)
        return found.keys

    def has_nonexistent_upstream(self, subset: AssetSubset, parent: AssetKey) -> bool:
        """Whether partitions of ``subset`` (of a child of ``parent``) depend, through the
        partition mapping, on partitions of ``parent`` that do not exist now."""
        child = subset.key
        producer = self.asset_graph.producer.get(child)
        up_def, down_def = self.partitions_def(parent), self.partitions_def(child)
        if producer is None or up_def is None or down_def is None or subset.is_empty:
            return False
        from trellis.defs.partition_deps import mapping_for

        mapping = mapping_for(producer, parent, up_def)
        keys = sorted(subset.partition_keys)
        found = mapping.upstream_partition_keys(keys, down_def, up_def, self.evaluation_time)
        space = self.space(parent)
        return bool(found.nonexistent) or (
            space is not None and any(k not in space.index for k in found.keys)
        )

    # -- what the state says ------------------------------------------------------------
    def is_materializable(self, key: AssetKey) -> bool:
        """Whether a definition here materializes ``key`` (not an external asset)."""
        return key in self.asset_graph.producer

    def updates(self, key: AssetKey) -> Mapping[str | None, Update]:
        """The newest materialization of each partition of ``key`` (noted as read, so
        that the next cursor remembers the newest one seen)."""
        self.keys_read.add(key)
        return self.state.latest_updates(key)

    def materialized(self, key: AssetKey) -> AssetSubset:
        """The partitions of ``key`` that have a materialization (or, for an external
        unpartitioned asset, a materialization or an observation)."""
        updates = self.updates(key)
        space = self.space(key)
        if space is None:
            present = None in updates or bool(updates)
            if not present and not self.is_materializable(key):
                present = self.state.observed(key)
            return AssetSubset(key, present)
        return AssetSubset(key, frozenset(k for k in updates if k is not None) & space.all)

    def updated_since(
        self, key: AssetKey, storage_id: int
    ) -> tuple[AssetSubset, dict[float, AssetSubset]]:
        """The partitions of ``key`` materialized after ``storage_id``, and the same
        partitions grouped by when their newest materialization happened."""
        by_time: dict[float, set[str | None]] = {}
        for partition, update in self.updates(key).items():
            if update.storage_id > storage_id:
                by_time.setdefault(update.timestamp, set()).add(partition)
        if not by_time:
            return self.empty(key), {}
        timing = {ts: self._named(key, partitions) for ts, partitions in by_time.items()}
        subset = self.empty(key)
        for part in timing.values():
            subset = subset | part
        return subset, timing

    def _named(self, key: AssetKey, partitions: set[str | None]) -> AssetSubset:
        """Exactly these partitions (a partition None of a partitioned asset: none)."""
        space = self.space(key)
        if space is None:
            return AssetSubset(key, bool(partitions))
        return AssetSubset(key, frozenset(p for p in partitions if p is not None) & space.all)

    def newest_storage_id(self, key: AssetKey) -> int:
        """The storage id of the newest materialization of ``key`` (0: none)."""
        updates = self.updates(key).values()
        return max((update.storage_id for update in updates), default=0)

    def in_progress(self, key: AssetKey) -> AssetSubset:
        """The partitions of ``key`` targeted by queued or running runs."""
        return self._from_partition_set(key, self.state.in_progress(key))

    def failed(self, key: AssetKey) -> AssetSubset:
        """The partitions of ``key`` whose latest run failed without materializing them."""
        return self._from_partition_set(key, self.state.failed(key))

    def _from_partition_set(self, key: AssetKey, partitions: PartitionSet) -> AssetSubset:
        return self.subset(key, partitions) if partitions else self.empty(key)

    def latest_time_window(self, key: AssetKey, lookback: timedelta | None) -> AssetSubset:
        """For a time-partitioned asset, its last partition (with ``lookback``, every
        partition whose window ends within that long of the end of the last one); for
        any other asset, all of it."""
        partitions_def = self.partitions_def(key)
        space = self.space(key)
        if not isinstance(partitions_def, TimeWindowPartitionsDefinition) or space is None:
            return self.full(key)
        if not space.keys:
            return self.empty(key)
        last = space.keys[-1]
        if lookback is None:
            return AssetSubset(key, frozenset({last}))
        end = partitions_def.time_window_for_partition_key(last).end
        boundary = max(end - lookback, partitions_def.start)
        found: set[str] = set()
        for partition in reversed(space.keys):
            if partitions_def.time_window_for_partition_key(partition).end <= boundary:
                break
            found.add(partition)
        return AssetSubset(key, frozenset(found))

    def code_version(self, key: AssetKey) -> str | None:
        """The code version the definitions give ``key`` (None: none)."""
        producer = self.asset_graph.producer.get(key)
        if producer is not None:
            spec = producer.specs_by_key.get(key)
            version = spec.code_version if spec is not None else None
            return version if version is not None else producer.op.code_version
        spec = self.asset_graph.external_specs.get(key)
        return spec.code_version if spec is not None else None

    def previous_cron_tick(self, cron_schedule: str, cron_timezone: str) -> datetime:
        """The latest tick of ``cron_schedule`` in ``cron_timezone`` at or before the
        evaluation time (computed once per schedule and evaluation)."""
        found = self._ticks.get((cron_schedule, cron_timezone))
        if found is None:
            ticks = make_ticks(cron_schedule, ZoneInfo(cron_timezone), self.evaluation_time)
            found = ticks.at(ticks.floor(self.evaluation_time))
            self._ticks[(cron_schedule, cron_timezone)] = found
        return found

    def executable_in_same_run(self, child: AssetKey, parent: AssetKey) -> bool:
        """Whether ``parent`` can be materialized in the same run as ``child``: both are
        materializable here and share a partitions definition."""
        return (
            self.is_materializable(child)
            and self.is_materializable(parent)
            and self.partitions_def(child) == self.partitions_def(parent)
        )
