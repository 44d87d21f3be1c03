"""The status of an asset's partitions as ranges: MATERIALIZED and FAILED from the
instance's partition status index (a read of a few rows per asset), IN_PROGRESS from the
runs in progress that target the asset, MISSING for the rest of the definition's
partitions. ``trellis asset partitions KEY`` prints it."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any, NamedTuple

from trellis.contexts.partitions import RunPartitions
from trellis.core.asset_key import AssetKey
from trellis.core.errors import InvariantViolationError
from trellis.core.run import RunStatus
from trellis.instance.partition_status import (
    AssetPartitionStatus,
    StatusRange,
    StatusUpdate,
    apply_update,
)

IN_PROGRESS, MISSING = AssetPartitionStatus.IN_PROGRESS, AssetPartitionStatus.MISSING
_LIVE = [RunStatus.QUEUED, RunStatus.NOT_STARTED, RunStatus.STARTING, RunStatus.STARTED]


class PartitionStatusRange(NamedTuple):
    """Consecutive partitions ``first_key`` .. ``last_key`` (``num_partitions`` of them) that are
    all ``status``: MATERIALIZED, FAILED, IN_PROGRESS or MISSING."""

    first_key: str
    last_key: str
    num_partitions: int
    status: str

    def describe(self) -> str:
        """``2024-01-01…2024-06-30 materialized`` (one key alone for one partition)."""
        keys = self.first_key if self.num_partitions == 1 else f"{self.first_key}…{self.last_key}"
        return f"{keys} {self.status.lower().replace('_', ' ')}"


def _indexed_def(graph: Any, key: AssetKey) -> Any:
    if key not in graph.upstream:
        raise InvariantViolationError(f"No asset '{key.to_user_string()}' is defined here.")
    pdef = graph.partitions_def_for(key)
    if pdef is None:
        raise InvariantViolationError(f"Asset '{key.to_user_string()}' is not partitioned.")
    if getattr(pdef, "ordinal_bounds", None) is None or pdef.ordinal_bounds(None) is None:
        raise InvariantViolationError(
            f"Asset '{key.to_user_string()}' is partitioned by {pdef!r}, whose status is not "
            "kept as ranges (time-window and static partitions are)."
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
    stored = instance.get_partition_status_ranges(keys)
    live = _in_progress(instance, defs, set(keys))
    result: dict[AssetKey, list[PartitionStatusRange]] = {}
    for key in keys:
        pdef = pdefs[key]
        bounds = pdef.ordinal_bounds(current_time)
        ranges = list(stored.get(key, ()))
        for partitions in live.get(key, ()):
            first = pdef.partition_ordinal(partitions.start)
            last = pdef.partition_ordinal(partitions.end or partitions.start)
            if first is not None and last is not None:
                ranges = _overlay(ranges, StatusUpdate("", first, last, IN_PROGRESS))
        result[key] = _with_missing(pdef, ranges, bounds)
    return result


def _overlay(ranges: list[StatusRange], update: StatusUpdate) -> list[StatusRange]:
    deleted, inserted = apply_update(ranges, update)
    gone = set(deleted)
    return sorted([r for r in ranges if r not in gone] + inserted)


def _with_missing(
    pdef: Any, ranges: Sequence[StatusRange], bounds: tuple[int, int]
) -> list[PartitionStatusRange]:
    lo, hi = bounds
    out: list[PartitionStatusRange] = []
    key_at = pdef.partition_key_at
    at = lo
    for r in ranges:
        first, last = max(r.first, lo), min(r.last, hi)
        if first > last:
            continue
        if first > at:
            out.append(PartitionStatusRange(key_at(at), key_at(first - 1), first - at, MISSING))
        out.append(
            PartitionStatusRange(
                key_at(first), key_at(last), last - first + 1, AssetPartitionStatus(r.status)
            )
        )
        at = last + 1
    if at <= hi:
        out.append(PartitionStatusRange(key_at(at), key_at(hi), hi - at + 1, MISSING))
    return out
