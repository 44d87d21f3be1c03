"""The status of an asset's partitions as ranges: MATERIALIZED and FAILED from the
instance's partition status index (a read of a few rows per asset), IN_PROGRESS from the
runs in progress that target the asset, MISSING for the rest of the definition's
partitions. ``trellis asset partitions KEY`` prints it.

Every kind of partitions is answered this way (``defs/partition_ordinals`` numbers
them): static keys and time windows as one run of ordinals; dynamic keys by the ids of
their stored rows, so a deleted key drops out and keys added later shift nothing; a
multi-dimensional definition as one list of ranges along its time dimension (else its
second dimension) per key of the other dimension.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any, NamedTuple

from trellis.contexts.partitions import RunPartitions
from trellis.core.asset_key import AssetKey
from trellis.core.errors import InvariantViolationError
from trellis.core.run import RunStatus
from trellis.defs.partition_ordinals import (
    Segment,
    is_indexable,
    multi_dimensions,
    partition_ordinal,
    range_ordinal_spans,
    segments,
)
from trellis.instance.partition_status import (
    AssetPartitionStatus,
    StatusRange,
    StatusUpdate,
    apply_update,
)
from trellis.views.partition_reindex import rebuild_pending

IN_PROGRESS, MISSING = AssetPartitionStatus.IN_PROGRESS, AssetPartitionStatus.MISSING
_STATUSES = {s.value: s for s in AssetPartitionStatus}
_LIVE = [RunStatus.QUEUED, RunStatus.NOT_STARTED, RunStatus.STARTING, RunStatus.STARTED]


class PartitionStatusRange(NamedTuple):
    """Consecutive partitions ``first_key`` .. ``last_key`` (``num_partitions`` of them) that are
    all ``status``: MATERIALIZED, FAILED, IN_PROGRESS or MISSING. For a multi-dimensional
    asset the keys are full keys (``MultiPartitionKey``) that share ``group``, their key
    in the dimension ``group_dimension``; the range runs along the other dimension."""

    first_key: str
    last_key: str
    num_partitions: int
    status: str
    group: str | None = None
    group_dimension: str | None = None

    def describe(self) -> str:
        """``2024-01-01…2024-06-30 materialized`` (one key alone for one partition; for a
        multi-dimensional asset, the keys along the range's dimension)."""
        first, last = self._along(self.first_key), self._along(self.last_key)
        keys = first if self.num_partitions == 1 else f"{first}…{last}"
        return f"{keys} {self.status.lower().replace('_', ' ')}"

    def _along(self, key: str) -> str:
        by_dim = getattr(key, "keys_by_dimension", None)
        if self.group_dimension is None or by_dim is None:
            return key
        return next(v for d, v in by_dim.items() if d != self.group_dimension)


def describe_by_group(ranges: Sequence[PartitionStatusRange]) -> list[str]:
    """One line of ranges per group (``region=eu: 2024-01-01…2024-01-31 materialized,
    ...``) for a multi-dimensional asset; one line for any other."""
    lines: dict[str | None, list[str]] = {}
    for r in ranges:
        label = None if r.group is None else f"{r.group_dimension}={r.group}"
        lines.setdefault(label, []).append(r.describe())
    return [
        ", ".join(parts) if label is None else f"{label}: {', '.join(parts)}"
        for label, parts in lines.items()
    ]


def _indexed_def(graph: Any, key: AssetKey) -> Any:
    if key not in graph.upstream:
        raise InvariantViolationError(f"No asset '{key.to_user_string()}' is defined here.")
    pdef = graph.partitions_def_for(key)
    if pdef is None:
        raise InvariantViolationError(f"Asset '{key.to_user_string()}' is not partitioned.")
    if not is_indexable(pdef):
        raise InvariantViolationError(
            f"Asset '{key.to_user_string()}' is partitioned by {pdef!r}, whose status is not "
            "kept as ranges (it gives its partitions no ordinals)."
        )
    return pdef


def _in_progress(instance: Any, defs: Any, keys: set[AssetKey]) -> dict[AssetKey, list[Any]]:
    """The runs in progress that materialize each of ``keys`` (their partitions)."""
    found: dict[AssetKey, list[Any]] = {}
    for run in instance.get_runs(statuses=_LIVE):
        partitions = RunPartitions(run.tags)
        if not partitions.has_partitions:
            continue
        if run.asset_selection:
            targets = {AssetKey.from_user_string(k) for k in run.asset_selection}
        else:
            graph = getattr(_job_named(defs, run.job_name), "asset_graph", None)
            targets = set(graph.producer) if graph is not None else set()
        for key in targets & keys:
            found.setdefault(key, []).append(partitions)
    return found


def _job_named(defs: Any, name: str) -> Any:
    if defs is None:
        return None
    try:
        return defs.get_job_def(name)
    except Exception:  # not a job of these definitions (an ephemeral one, a renamed one)
        return None


def partition_status(
    instance: Any,
    graph: Any,
    asset_keys: Iterable[AssetKey],
    current_time: datetime | None = None,
    defs: Any = None,
) -> dict[AssetKey, list[PartitionStatusRange]]:
    """The status of every partition of each of ``asset_keys`` (assets of ``graph``), as
    ranges in partition order. ``defs`` (the ``Definitions``) names the jobs of runs in
    progress that select no assets explicitly."""
    keys = list(asset_keys)
    pdefs = {key: _indexed_def(graph, key) for key in keys}
    rebuild_pending(instance, graph, keys)
    stored = instance.get_partition_status_ranges(keys)
    live = _in_progress(instance, defs, set(keys))
    result: dict[AssetKey, list[PartitionStatusRange]] = {}
    for key in keys:
        pdef = pdefs[key]
        ranges = _with_live(pdef, instance, list(stored.get(key, ())), live.get(key, ()))
        group_dim = (
            multi_dimensions(pdef)[0] if hasattr(pdef, "partition_dimension_names") else None
        )
        result[key] = [
            item
            for segment in segments(pdef, instance, current_time)
            for item in _over_segment(segment, ranges, group_dim)
        ]
    return result


def _with_live(
    pdef: Any, instance: Any, ranges: list[StatusRange], live: Iterable[RunPartitions]
) -> list[StatusRange]:
    """The stored ranges with the partitions of runs in progress over them."""
    for partitions in live:
        start = partitions.start
        if start is None:
            continue
        for first, last in range_ordinal_spans(pdef, start, partitions.end or start, instance):
            ranges = _overlay(ranges, StatusUpdate("", first, last, IN_PROGRESS))
    return ranges


def _overlay(ranges: list[StatusRange], update: StatusUpdate) -> list[StatusRange]:
    deleted, inserted = apply_update(ranges, update)
    gone = set(deleted)
    return sorted([r for r in ranges if r not in gone] + inserted)


def _over_segment(
    segment: Segment, ranges: Sequence[StatusRange], group_dim: str | None
) -> list[PartitionStatusRange]:
    """The status ranges of the partitions of ``segment``: each stored range cut to the
    ordinals that exist, the gaps between them missing, neighbours of one status merged."""
    ordinals, key_at = segment.ordinals, segment.key_at
    total = len(ordinals)
    spans: list[tuple[int, int, str]] = []  # index ranges [i, j) of one status

    def add(i: int, j: int, status: str) -> None:
        if spans and spans[-1][2] == status and spans[-1][1] == i:
            spans[-1] = (spans[-1][0], j, status)
        else:
            spans.append((i, j, status))

    at = 0
    if total:
        base = ordinals[0]
        consecutive = isinstance(ordinals, range)  # index arithmetic, no search
        lo_r = bisect.bisect_left(ranges, (base,)) - 1
        for r in ranges[max(lo_r, 0) :]:
            if r.first > ordinals[-1]:
                break
            if consecutive:
                i, j = max(r.first - base, at), min(r.last - base + 1, total)
            else:
                i = bisect.bisect_left(ordinals, r.first, at)
                j = bisect.bisect_right(ordinals, r.last, i)
            if i >= j:
                continue
            if i > at:
                add(at, i, MISSING)
            add(i, j, _STATUSES[r.status])
            at = j
    if at < total:
        add(at, total, MISSING)
    return [
        PartitionStatusRange(key_at(i), key_at(j - 1), j - i, status, segment.group, group_dim)
        for i, j, status in spans
    ]


def status_of_partition(
    ranges: Sequence[PartitionStatusRange], partition_key: str, instance: Any, pdef: Any
) -> PartitionStatusRange:
    """The status of ``partition_key`` (a valid key of ``pdef``) among its asset's
    ``ranges``, as a range of one partition."""
    ordinal = partition_ordinal(pdef, partition_key, instance)
    if ordinal is None:
        return PartitionStatusRange(partition_key, partition_key, 1, MISSING)
    for r in ranges:
        first = partition_ordinal(pdef, r.first_key, instance)
        last = partition_ordinal(pdef, r.last_key, instance)
        if first is not None and last is not None and first <= ordinal <= last:
            key = pdef._key_object(partition_key)
            return PartitionStatusRange(key, key, 1, r.status, r.group, r.group_dimension)
    return PartitionStatusRange(partition_key, partition_key, 1, MISSING)
