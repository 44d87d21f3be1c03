"""What a run's events change in the partition status index (``instance/partition_status``):
a materialization of an asset partition makes it MATERIALIZED, a step's final failure
makes the run's partitions of the step's assets FAILED. Worked out where the run's plan
is known (the event stream), handed to storage with the events, stored in their
transaction.

Only assets whose partitions give each key an ordinal that does not move (time windows,
static keys) are indexed; the others (dynamic, multi-dimensional) are not.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from trellis.core.asset_key import AssetKey
from trellis.core.events import Event, EventType
from trellis.instance.partition_status import FAILED, MATERIALIZED, StatusUpdate
from trellis.instance.sqlite.schema import asset_key_to_db

_MATERIALIZATION = EventType.ASSET_MATERIALIZATION
_FAILURE = EventType.STEP_FAILURE


def indexed_ordinal(partitions_def: Any, partition_key: str) -> int | None:
    """The ordinal the status index files ``partition_key`` under, or None when the
    definition's keys are not indexed (or the key is not one of them)."""
    ordinal_of = getattr(partitions_def, "partition_ordinal", None)
    return None if ordinal_of is None else ordinal_of(partition_key)  # type: ignore[no-any-return]


class PartitionStatusTracker:
    """The status updates of one run's events (``updates``)."""

    __slots__ = ("_defs", "_partitions", "_plan", "_range")

    def __init__(self, plan: Any, partitions: Any) -> None:
        self._plan = plan
        self._defs: dict[AssetKey, Any] = {}
        self._range: dict[Any, tuple[int, int] | None] = {}
        self._partitions = partitions

    @classmethod
    def for_run(cls, plan: Any, partitions: Any) -> PartitionStatusTracker | None:
        """A tracker when the run's job has partitioned assets, else None (nothing to do
        per event)."""
        graph = plan.job.asset_graph
        if graph is None or not any(a.partitions_def for a in graph.assets_defs):
            return None
        return cls(plan, partitions)

    def _def_of(self, key: AssetKey) -> Any:
        if key not in self._defs:
            graph = self._plan.job.asset_graph
            self._defs[key] = graph.partitions_def_for(key) if key in graph.upstream else None
        return self._defs[key]

    def _run_range(self, pdef: Any) -> tuple[int, int] | None:
        if pdef not in self._range:
            partitions = self._partitions
            found = None
            if partitions.has_partitions and partitions.start is not None:
                first = indexed_ordinal(pdef, partitions.start)
                last = indexed_ordinal(pdef, partitions.end or partitions.start)
                if first is not None and last is not None:
                    found = (first, last)
            self._range[pdef] = found
        return self._range[pdef]

    def updates(self, events: Sequence[Event]) -> list[StatusUpdate]:
        """The status updates ``events`` make, in order."""
        found: list[StatusUpdate] = []
        for event in events:
            kind = event.event_type
            if kind is _MATERIALIZATION:
                key, partition = event.asset_key, event.partition
                if key is None or partition is None:
                    continue
                ordinal = indexed_ordinal(self._def_of(key), partition)
                if ordinal is not None:
                    found.append(StatusUpdate(asset_key_to_db(key), ordinal, ordinal, MATERIALIZED))
            elif kind is _FAILURE and event.step_key is not None:
                found.extend(self._failed(event.step_key))
        return found

    def _failed(self, step_key: str) -> list[StatusUpdate]:
        step = self._plan.steps.get(step_key)
        if step is None:
            return []
        updates = []
        for output in step.outputs:
            key = output.asset_key
            pdef = self._def_of(key) if key is not None else None
            span = self._run_range(pdef) if pdef is not None else None
            if key is not None and span is not None:
                updates.append(StatusUpdate(asset_key_to_db(key), span[0], span[1], FAILED))
        return updates
