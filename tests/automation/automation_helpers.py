"""A fake ``AssetStateView`` and a scenario that evaluates conditions against it, tick by
tick, with a clock the test moves: the engine tested without an instance."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from trellis import AssetKey, Definitions
from trellis.automation.cursor import AutomationCursor
from trellis.automation.evaluator import AutomationEvaluation, AutomationEvaluator
from trellis.automation.sensors import conditions_of
from trellis.automation.state import Update

T0 = datetime(2024, 6, 3, 12, 30, tzinfo=UTC)


def key(value) -> AssetKey:
    return value if isinstance(value, AssetKey) else AssetKey.from_user_string(value)


class FakeState:
    """Materializations, runs in progress and failures, set by the test."""

    def __init__(self) -> None:
        self.updates: dict[AssetKey, dict[str | None, Update]] = {}
        self.observed_keys: set[AssetKey] = set()
        self.progress: dict[AssetKey, set[str | None]] = {}
        self.failures: dict[AssetKey, set[str | None]] = {}
        self.runs: dict[str, frozenset[AssetKey]] = {}
        self.tags: dict[str, dict[str, str]] = {}
        self.storage_id = 0
        self.reads = 0

    def materialize(
        self, asset, partition=None, *, at: datetime | float, run_id=None, targets=(), tags=None
    ):
        """Record a materialization (by the run ``run_id``, a new one by default, which
        targets ``targets`` and ``asset`` and has ``tags``)."""
        self.storage_id += 1
        run_id = run_id or f"run-{self.storage_id}"
        ts = at.timestamp() if isinstance(at, datetime) else at
        self.updates.setdefault(key(asset), {})[partition] = Update(self.storage_id, ts, run_id)
        self.runs[run_id] = (
            self.runs.get(run_id, frozenset()) | {key(asset)} | {key(t) for t in targets}
        )
        if tags:
            self.tags[run_id] = dict(tags)

    # -- the protocol ---------------------------------------------------------------------
    def latest_updates(self, asset):
        self.reads += 1
        return dict(self.updates.get(asset, {}))

    def observed(self, asset):
        return asset in self.observed_keys or asset in self.updates

    def in_progress(self, asset):
        return frozenset(self.progress.get(asset, ()))

    def failed(self, asset):
        return frozenset(self.failures.get(asset, ()))

    def run_targets(self, run_id):
        return self.runs.get(run_id)

    def run_tags(self, run_id):
        return self.tags.get(run_id, {}) if run_id in self.runs else None


class Scenario:
    """Definitions, a fake state, a clock and the cursor carried from tick to tick."""

    def __init__(self, *assets, start: datetime = T0) -> None:
        self.defs = Definitions(assets=list(assets))
        self.state = FakeState()
        self.now = start
        self.cursor = AutomationCursor()
        self.last: AutomationEvaluation | None = None

    def advance(self, **delta) -> Scenario:
        self.now = self.now + timedelta(**delta)
        return self

    def materialize(self, asset, partition=None, **kwargs) -> Scenario:
        kwargs.setdefault("at", self.now)
        self.state.materialize(asset, partition, **kwargs)
        return self

    def evaluate(self, *only) -> AutomationEvaluation:
        graph = self.defs.asset_graph
        conditions = conditions_of(graph)
        keys = {key(k) for k in only} if only else set(conditions)
        evaluation = AutomationEvaluator(
            asset_graph=graph,
            conditions_by_key=conditions,
            keys=keys,
            state=self.state,
            cursor=self.cursor,
            evaluation_time=self.now,
        ).evaluate()
        self.cursor = evaluation.cursor
        self.last = evaluation
        return evaluation

    def requested(self, asset=None):
        """What the last evaluation requested: of ``asset`` (True/False, or partition
        keys), or of every asset as {user string: value}."""
        assert self.last is not None
        if asset is None:
            return {
                k.to_user_string(): (v.partition_keys if v.is_partitioned else True)
                for k, v in self.last.requested.items()
            }
        subset = self.last.requested.get(key(asset))
        if subset is None:
            return set() if self.defs.asset_graph.partitions_def_for(key(asset)) else False
        return set(subset.partition_keys) if subset.is_partitioned else True

    def true_of(self, asset):
        """The root result's true value for ``asset`` (bool or set of keys)."""
        assert self.last is not None
        subset = self.last.results[key(asset)].true_subset
        return set(subset.partition_keys) if subset.is_partitioned else not subset.is_empty
