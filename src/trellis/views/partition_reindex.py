"""Rebuilding an asset's partition status index from its stored events.

The index is written with the events since revision 0009; events stored before it are
not in it. Their ordinals need the definitions (a window's tick number, a key's position
or stored id), which a migration does not have, so revision 0011 only lists the assets
with partitioned materializations, and the first read of one of them here rebuilds it
(``rebuild_pending``, keeping the rows written since, which are newer than any event
before them). ``reindex_assets`` (``trellis instance reindex-partitions``) rebuilds every
partitioned asset of a project from scratch: history no migration can see (failures
only, ordinals moved by an edited list of static keys).

The history of a partition is its latest materialization and the latest failed run that
targeted it (a ``STEP_FAILURE`` of the asset's step in a run with partition tags), the
newer of the two winning, as when the events were stored.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from trellis.contexts.partitions import RunPartitions
from trellis.core.asset_key import AssetKey
from trellis.core.events import EventType
from trellis.core.run import RunStatus
from trellis.defs.partition_ordinals import is_indexable, partition_ordinal, range_ordinal_spans
from trellis.instance.partition_status import (
    FAILED,
    MATERIALIZED,
    StatusRange,
    StatusUpdate,
    apply_update,
)
from trellis.instance.sqlite.schema import asset_key_to_db

_LIVE = [RunStatus.QUEUED, RunStatus.NOT_STARTED, RunStatus.STARTING, RunStatus.STARTED]


class _FailedRuns:
    """The failed runs with partition tags and their step failures, read once."""

    def __init__(self, instance: Any) -> None:
        self._instance = instance
        self._runs: list[tuple[Any, list[Any]]] | None = None

    def get(self) -> list[tuple[Any, list[Any]]]:
        if self._runs is None:
            found = []
            for run in self._instance.get_runs(statuses=[RunStatus.FAILURE]):
                if RunPartitions(run.tags).start is None:
                    continue
                records = self._instance.storage.get_records(
                    run.run_id, event_types={EventType.STEP_FAILURE}
                )
                if records:
                    found.append((run, records))
            self._runs = found
        return self._runs


def history_ranges(
    instance: Any, graph: Any, key: AssetKey, failed: _FailedRuns | None = None
) -> list[StatusRange]:
    """The status ranges of ``key``'s partitions as its stored events say."""
    pdef = graph.partitions_def_for(key)
    node = graph.producer[key].node_def.name
    changes: list[tuple[int, list[tuple[int, int]], str]] = []
    for partition, record in instance.get_latest_materializations_by_partition(key).items():
        ordinal = None if partition is None else partition_ordinal(pdef, partition, instance)
        if ordinal is not None:
            changes.append((record.storage_id, [(ordinal, ordinal)], MATERIALIZED))
    name = key.to_user_string()
    for run, records in (failed or _FailedRuns(instance)).get():
        if run.asset_selection and name not in {str(k) for k in run.asset_selection}:
            continue
        mine = [r for r in records if _of_node(r.event.step_key, node)]
        if mine:
            parts = RunPartitions(run.tags)
            assert parts.start is not None  # _FailedRuns keeps partitioned runs only
            spans = range_ordinal_spans(pdef, parts.start, parts.end or parts.start, instance)
            changes.append((mine[-1].storage_id, spans, FAILED))
    ranges: list[StatusRange] = []
    for _, spans, status in sorted(changes, key=lambda change: change[0]):
        for first, last in spans:
            deleted, inserted = apply_update(ranges, StatusUpdate("", first, last, status))
            gone = set(deleted)
            ranges = sorted([r for r in ranges if r not in gone] + inserted)
    return ranges


def _of_node(step_key: str | None, node: str) -> bool:
    return step_key is not None and (step_key == node or step_key.startswith(node + "."))


def rebuild_pending(instance: Any, graph: Any, keys: Iterable[AssetKey]) -> list[AssetKey]:
    """Rebuild the assets among ``keys`` that revision 0011 listed (history from before
    the index), keeping the rows written since; the assets rebuilt."""
    stored = {asset_key_to_db(k): k for k in keys}
    pending = instance.storage.get_partition_reindex_pending(list(stored)) if stored else set()
    failed = _FailedRuns(instance)
    done = []
    for db_key in sorted(pending):
        key = stored[db_key]
        ranges = history_ranges(instance, graph, key, failed)
        instance.storage.replace_partition_status(db_key, ranges, keep_newer=True)
        done.append(key)
    return done


def reindexable_assets(graph: Any) -> list[AssetKey]:
    """The assets of ``graph`` whose partition status the index keeps."""
    return sorted(
        key
        for key in graph.producer
        if not graph.is_external(key)
        and (pdef := graph.partitions_def_for(key)) is not None
        and is_indexable(pdef)
    )


def live_runs(instance: Any) -> list[str]:
    """The ids of the runs in progress (a rebuild from scratch would lose what they
    write in between)."""
    return [run.run_id for run in instance.get_runs(statuses=_LIVE)]


def reindex_assets(instance: Any, graph: Any, keys: Iterable[AssetKey]) -> dict[AssetKey, int]:
    """Rebuild the partition status of ``keys`` from their events, replacing what the
    index holds; the number of ranges stored for each."""
    failed = _FailedRuns(instance)
    counts = {}
    for key in keys:
        ranges = history_ranges(instance, graph, key, failed)
        instance.storage.replace_partition_status(asset_key_to_db(key), ranges, keep_newer=False)
        counts[key] = len(ranges)
    return counts
