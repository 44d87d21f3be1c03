"""What an evaluation reads about assets: the ``AssetStateView`` protocol, and
``InstanceStateView``, which answers it from an ``Instance`` and the definitions.

The evaluation engine depends only on the protocol, so tests drive it with a fake view
and the daemon with the instance. Partition sets use ``None`` for "the unpartitioned
asset, or every partition" (a run without a partition tag covers the whole asset).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any, NamedTuple, Protocol

from trellis.core.asset_key import AssetKey
from trellis.core.events import EventType
from trellis.core.run import (
    PARTITION_RANGE_END_TAG,
    PARTITION_RANGE_START_TAG,
    PARTITION_TAG,
    Run,
    RunStatus,
)
from trellis.defs.partitions import PartitionKeyRange

if TYPE_CHECKING:
    from trellis.defs.asset_graph import AssetGraph
    from trellis.instance.instance import Instance

# Runs whose assets count as in progress (Dagster counts queued runs too).
IN_PROGRESS_RUN_STATUSES = (
    RunStatus.QUEUED,
    RunStatus.NOT_STARTED,
    RunStatus.STARTING,
    RunStatus.STARTED,
    RunStatus.CANCELING,
)
FINISHED_RUN_STATUSES = (RunStatus.SUCCESS, RunStatus.FAILURE, RunStatus.CANCELED)
# How many of the newest finished runs ``execution_failed`` looks at: an asset partition
# whose latest run is older than that is not reported as failed.
FINISHED_RUNS_SCANNED = 1000

PartitionSet = frozenset[str | None]
"""Partition keys; ``None`` stands for the unpartitioned asset or every partition."""


class Update(NamedTuple):
    """The newest materialization of one asset partition: its storage id (increasing in
    the order events were stored), when it happened, and the run that made it."""

    storage_id: int
    timestamp: float
    run_id: str


class AssetStateView(Protocol):
    """What condition evaluation reads about the assets (one consistent view per tick)."""

    def latest_updates(self, key: AssetKey) -> Mapping[str | None, Update]:
        """The newest materialization of each partition of ``key`` (key None: the
        unpartitioned asset)."""
        ...

    def observed(self, key: AssetKey) -> bool:
        """Whether ``key`` has ever been materialized or observed (what makes an external
        asset not missing)."""
        ...

    def in_progress(self, key: AssetKey) -> PartitionSet:
        """The partitions of ``key`` that a queued or running run targets."""
        ...

    def failed(self, key: AssetKey) -> PartitionSet:
        """The partitions of ``key`` whose latest run failed without materializing them."""
        ...

    def run_targets(self, run_id: str) -> frozenset[AssetKey] | None:
        """The assets a run targets (None: not known)."""
        ...

    def run_tags(self, run_id: str) -> Mapping[str, str] | None:
        """The tags of a run (None: no such run, as for a runless event)."""
        ...


def run_partitions(run: Run, partitions_def: Any) -> PartitionSet:
    """The partitions of an asset of ``partitions_def`` that ``run`` targets, from its
    partition tags (``{None}``: no tag, so the whole asset)."""
    key = run.tags.get(PARTITION_TAG)
    if key is not None:
        return frozenset({key})
    start, end = run.tags.get(PARTITION_RANGE_START_TAG), run.tags.get(PARTITION_RANGE_END_TAG)
    if start is not None and end is not None and partitions_def is not None:
        try:
            keys = partitions_def.get_partition_keys_in_range(PartitionKeyRange(start, end))
            return frozenset(keys)
        except Exception:  # a range of keys that no longer exist: the whole asset
            return frozenset({None})
    return frozenset({None})


class InstanceStateView:
    """``AssetStateView`` over an ``Instance``: each answer is read once and kept, so one
    evaluation sees one state. ``definitions`` (a ``Definitions``) tells which assets a
    run of an asset job targets when the run has no asset selection of its own; for a
    run of any other job, the assets of the steps it has started count (its later steps
    are not known yet).
    """

    def __init__(
        self, instance: Instance, asset_graph: AssetGraph, definitions: Any = None
    ) -> None:
        self.instance = instance
        self.asset_graph = asset_graph
        self.definitions = definitions
        self._updates: dict[AssetKey, dict[str | None, Update]] = {}
        self._observed: set[AssetKey] | None = None
        self._in_progress: dict[AssetKey, set[str | None]] | None = None
        self._failed: dict[AssetKey, set[str | None]] | None = None
        self._targets: dict[str, frozenset[AssetKey] | None] = {}
        self._job_keys: dict[str, frozenset[AssetKey] | None] = {}
        self._tags: dict[str, dict[str, str] | None] = {}

    def prefetch(self, keys: Iterable[AssetKey]) -> None:
        """Read the latest materializations of ``keys`` now, together."""
        for key in keys:
            self.latest_updates(key)

    def latest_updates(self, key: AssetKey) -> Mapping[str | None, Update]:
        """The newest materialization of each partition of ``key``."""
        found = self._updates.get(key)
        if found is None:
            records = self.instance.get_latest_materializations_by_partition(key)
            found = {
                partition: Update(record.storage_id, record.timestamp, record.run_id)
                for partition, record in records.items()
            }
            self._updates[key] = found
        return found

    def observed(self, key: AssetKey) -> bool:
        """Whether ``key`` was ever materialized or observed."""
        if self._observed is None:
            self._observed = set(self.instance.get_asset_keys())
        return key in self._observed

    def in_progress(self, key: AssetKey) -> PartitionSet:
        """The partitions of ``key`` targeted by queued or running runs."""
        if self._in_progress is None:
            self._in_progress = {}
            for run in self.instance.get_runs(statuses=IN_PROGRESS_RUN_STATUSES):
                for target in self._targets_of(run):
                    partitions = run_partitions(run, self.asset_graph.partitions_def_for(target))
                    self._in_progress.setdefault(target, set()).update(partitions)
        return frozenset(self._in_progress.get(key, ()))

    def failed(self, key: AssetKey) -> PartitionSet:
        """The partitions of ``key`` whose latest finished run (among the newest
        ``FINISHED_RUNS_SCANNED``) failed and did not materialize them."""
        if self._failed is None:
            self._failed = self._scan_failures()
        return frozenset(self._failed.get(key, ()))

    def _scan_failures(self) -> dict[AssetKey, set[str | None]]:
        runs = self.instance.get_runs(statuses=FINISHED_RUN_STATUSES, limit=FINISHED_RUNS_SCANNED)
        decided: set[tuple[AssetKey, str | None]] = set()
        failed: dict[AssetKey, set[str | None]] = {}
        for run in runs:  # newest first: the first run seen for a partition is its latest
            for target in self._targets_of(run):
                partitions = run_partitions(run, self.asset_graph.partitions_def_for(target))
                for partition in partitions:
                    if (target, partition) in decided:
                        continue
                    decided.add((target, partition))
                    if run.status is not RunStatus.FAILURE:
                        continue
                    if self._materialized_by(target, partition, run.run_id):
                        continue
                    failed.setdefault(target, set()).add(partition)
        return failed

    def _materialized_by(self, key: AssetKey, partition: str | None, run_id: str) -> bool:
        updates = self.latest_updates(key)
        if partition is not None:
            update = updates.get(partition)
            return update is not None and update.run_id == run_id
        return any(update.run_id == run_id for update in updates.values())

    def run_targets(self, run_id: str) -> frozenset[AssetKey] | None:
        """The assets the run ``run_id`` targets."""
        if run_id not in self._targets:
            run = self.instance.get_run(run_id)
            self._targets[run_id] = self._targets_of(run) if run is not None else None
        return self._targets[run_id]

    def run_tags(self, run_id: str) -> Mapping[str, str] | None:
        """The tags of the run ``run_id`` (None: no such run)."""
        if run_id not in self._tags:
            run = self.instance.get_run(run_id) if run_id else None
            self._tags[run_id] = dict(run.tags) if run is not None else None
        return self._tags[run_id]

    def _targets_of(self, run: Run) -> frozenset[AssetKey]:
        """A run's assets: its asset selection, else its asset job's assets, else (a job
        these definitions do not have, such as ``materialize``'s) the assets of the steps
        it started."""
        if run.asset_selection:
            return frozenset(_as_key(item) for item in run.asset_selection)
        found = self._job_assets(run.job_name)
        if found is None:
            found = self._started_assets(run.run_id)
        return found

    def _started_assets(self, run_id: str) -> frozenset[AssetKey]:
        nodes = {
            record.event.step_key
            for record in self.instance.get_records(run_id)
            if record.event.event_type is EventType.STEP_START
        }
        keys: set[AssetKey] = set()
        for assets_def in self.asset_graph.assets_defs:
            if assets_def.node_name in nodes:
                keys.update(assets_def.keys)
        return frozenset(keys)

    def _job_assets(self, job_name: str) -> frozenset[AssetKey] | None:
        if job_name not in self._job_keys:
            self._job_keys[job_name] = _assets_of_job(self.definitions, job_name)
        return self._job_keys[job_name]


def _as_key(item: Any) -> AssetKey:
    if isinstance(item, AssetKey):
        return item
    if isinstance(item, str):
        return AssetKey.from_user_string(item)
    return AssetKey.from_coercible(item)


def _assets_of_job(definitions: Any, job_name: str) -> frozenset[AssetKey] | None:
    """The assets the job ``job_name`` of ``definitions`` materializes (None: unknown)."""
    if definitions is None:
        return None
    try:
        job = definitions.get_job_def(job_name)
    except Exception:  # not a job of these definitions
        return None
    keys: set[AssetKey] = set()
    for node in getattr(job, "flat_nodes", ()) or ():
        assets_def = getattr(node, "assets_def", None)
        if assets_def is not None:
            keys.update(assets_def.selected_keys)
    return frozenset(keys) if keys else None
