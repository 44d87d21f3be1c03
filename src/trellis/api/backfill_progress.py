"""Where a backfill stands, read from its runs: the state of each run of its plan, its
asset partitions counted per state, and those partitions as ranges of consecutive keys
per state (what ``trellis dev``'s backfill page draws). The daemon's ``backfill`` loop
stores counts once a round; this reads the runs afresh, so a page is never a round
behind."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from trellis.core.asset_key import AssetKey
from trellis.instance.backfills import (
    BACKFILL_TAG,
    PARTITION_STATES,
    BackfillRecord,
    chunk_states,
    partition_state,
)


@dataclass
class PartitionRange:
    """Consecutive partition keys (``start`` to ``end``, ``count`` keys) of ``assets``
    in one state."""

    assets: list[str]
    start: str
    end: str
    count: int

    def to_dict(self) -> dict[str, Any]:
        """The JSON form."""
        return {"assets": self.assets, "start": self.start, "end": self.end, "count": self.count}


@dataclass
class BackfillProgress:
    """A backfill's runs (in the order of its plan, with the state of each run of the
    plan), its asset partitions counted per state, and their ranges per state."""

    record: BackfillRecord
    runs: list[Any]
    chunk_states: list[str]
    counts: dict[str, int] = field(default_factory=dict)
    ranges: dict[str, list[PartitionRange]] = field(default_factory=dict)

    @property
    def total(self) -> int:
        """How many asset partitions the backfill materializes."""
        return sum(self.counts.values())


def _key_order(record: BackfillRecord, definitions: Any, asset: str) -> dict[str, int]:
    """The position of each partition key of ``asset`` in its partitions definition
    (when the definitions still have the asset), else in the backfill's own list."""
    graph = getattr(definitions, "asset_graph", None)
    producer = graph.producer.get(AssetKey.from_user_string(asset)) if graph else None
    pdef = getattr(producer, "partitions_def", None)
    if pdef is not None:
        try:
            return {k: i for i, k in enumerate(pdef.get_partition_keys())}
        except Exception:  # dynamic partitions without an instance: the record's order
            pass
    return {k: i for i, k in enumerate(record.partition_keys)}


def _ranges(keys: list[str], order: dict[str, int]) -> list[tuple[str, str, int]]:
    """``keys`` as runs of keys consecutive in ``order``."""
    found: list[list[str]] = []
    last = -2
    for key in sorted(set(keys), key=lambda k: order.get(k, -1)):
        position = order.get(key, -1)
        if found and position == last + 1 and position >= 0:
            found[-1].append(key)
        else:
            found.append([key])
        last = position
    return [(run[0], run[-1], len(run)) for run in found]


def backfill_progress(
    record: BackfillRecord, instance: Any, definitions: Any = None
) -> BackfillProgress:
    """The progress of ``record`` read from its runs in ``instance`` (key ranges ordered
    by ``definitions``' partitions when given)."""
    tagged = instance.get_runs(tags={BACKFILL_TAG: record.backfill_id})
    by_id = {run.run_id: run for run in tagged}
    states = chunk_states(record, by_id)
    counts = dict.fromkeys(PARTITION_STATES, 0)
    keys: dict[tuple[str, str], list[str]] = {}
    for chunk, state in zip(record.chunks, states, strict=True):
        name = partition_state(state)
        counts[name] += len(chunk.partition_keys) * len(chunk.asset_keys)
        for asset in chunk.asset_keys:
            keys.setdefault((name, asset), []).extend(chunk.partition_keys)
    merged: dict[tuple[str, str, str, int], list[str]] = {}
    orders: dict[str, dict[str, int]] = {}
    for (state, asset), asset_keys in keys.items():
        if asset not in orders:
            orders[asset] = _key_order(record, definitions, asset)
        for start, end, count in _ranges(asset_keys, orders[asset]):
            merged.setdefault((state, start, end, count), []).append(asset)
    ranges: dict[str, list[PartitionRange]] = {s: [] for s in PARTITION_STATES}
    for (state, start, end, count), assets in merged.items():
        ranges[state].append(PartitionRange(sorted(assets), start, end, count))
    for state in ranges:
        ranges[state].sort(key=lambda r: (r.assets, orders[r.assets[0]].get(r.start, -1)))
    runs = [by_id[run_id] for run_id in record.run_ids if run_id in by_id]
    return BackfillProgress(record, runs, states, counts, ranges)
