"""What a run's events change in the partition status index (``instance/partition_status``):
a materialization of an asset partition makes it MATERIALIZED, a step's final failure
makes the run's partitions of the step's assets FAILED. Worked out where the run's plan
is known (the event stream), handed to storage with the events, stored in their
transaction.

Every kind of partitions is indexed, under the ordinals of ``defs/partition_ordinals``
(dynamic keys by the id of their stored row, which the instance is asked once per key).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from trellis.core.asset_key import AssetKey
from trellis.core.events import Event, EventType
from trellis.defs.partition_ordinals import partition_ordinal, range_ordinal_spans
from trellis.instance.partition_status import FAILED, MATERIALIZED, StatusUpdate
from trellis.instance.sqlite.schema import asset_key_to_db

_MATERIALIZATION = EventType.ASSET_MATERIALIZATION
_FAILURE = EventType.STEP_FAILURE
_UNKNOWN: Any = object()


class PartitionStatusTracker:
    """The status updates of one run's events (``updates``); ``store`` (the instance)
    numbers dynamic partition keys."""

    __slots__ = ("_defs", "_ordinals", "_partitions", "_plan", "_range", "_store")

    def __init__(self, plan: Any, partitions: Any, store: Any = None) -> None:
        self._plan = plan
        self._defs: dict[AssetKey, Any] = {}
        self._range: dict[Any, list[tuple[int, int]]] = {}
        self._ordinals: dict[tuple[Any, str], int | None] = {}
        self._partitions = partitions
        self._store = store

    @classmethod
    def for_run(
        cls, plan: Any, partitions: Any, store: Any = None
    ) -> PartitionStatusTracker | None:
        """A tracker when the run's job has partitioned assets, else None (nothing to do
        per event)."""
        graph = plan.job.asset_graph
        if graph is None or not any(a.partitions_def for a in graph.assets_defs):
            return None
        return cls(plan, partitions, store)

    def _ordinal(self, pdef: Any, key: str) -> int | None:
        """The ordinal of ``key`` (asked of the definition, and of the store for dynamic
        keys, once per key)."""
        if pdef is None:
            return None
        found = self._ordinals.get((pdef, key), _UNKNOWN)
        if found is _UNKNOWN:
            found = self._ordinals[(pdef, key)] = partition_ordinal(pdef, key, self._store)
        return found  # type: ignore[no-any-return]

    def _def_of(self, key: AssetKey) -> Any:
        if key not in self._defs:
            graph = self._plan.job.asset_graph
            self._defs[key] = graph.partitions_def_for(key) if key in graph.upstream else None
        return self._defs[key]

    def _run_spans(self, pdef: Any) -> list[tuple[int, int]]:
        """The run's partitions of ``pdef`` as runs of consecutive ordinals."""
        if pdef not in self._range:
            self._range[pdef] = self._spans_of(pdef)
        return self._range[pdef]

    def _spans_of(self, pdef: Any) -> list[tuple[int, int]]:
        partitions = self._partitions
        if not partitions.has_partitions or partitions.start is None:
            return []
        start, end = partitions.start, partitions.end or partitions.start
        return range_ordinal_spans(pdef, start, end, self._store, self._cached_ordinal)

    def _cached_ordinal(self, pdef: Any, key: str, store: Any) -> int | None:
        return self._ordinal(pdef, key)

    def updates(self, events: Sequence[Event]) -> list[StatusUpdate]:
        """The status updates ``events`` make, in order."""
        found: list[StatusUpdate] = []
        for event in events:
            kind = event.event_type
            if kind is _MATERIALIZATION:
                key, partition = event.asset_key, event.partition
                if key is None or partition is None:
                    continue
                ordinal = self._ordinal(self._def_of(key), partition)
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
            if key is None or pdef is None:
                continue
            for first, last in self._run_spans(pdef):
                updates.append(StatusUpdate(asset_key_to_db(key), first, last, FAILED))
        return updates
