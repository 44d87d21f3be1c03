"""``AutomationEvaluator``: one evaluation of the automation conditions of some assets.

Input: the asset graph, each asset's condition, the assets to evaluate, a state view
(``state.py``), the previous cursor and the evaluation time. Output
(``AutomationEvaluation``): the requested subset of each asset, each asset's result tree,
the records worth storing, and the next cursor. Assets are evaluated upstream first, so
``will_be_requested`` sees what this evaluation requests of the upstream assets; when one
asset of a multi-asset that cannot be subset is requested, the whole multi-asset is.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from trellis.automation.condition import AutomationCondition
from trellis.automation.context import ROOT_NODE_ID, AutomationContext, AutomationResult
from trellis.automation.cursor import AssetCursor, AutomationCursor
from trellis.automation.graph_view import AutomationGraphView
from trellis.automation.records import evaluation_record, result_tree, tree_digest
from trellis.automation.state import AssetStateView
from trellis.automation.subset import AssetSubset
from trellis.core.asset_key import AssetKey
from trellis.core.collector import collector_paused
from trellis.core.errors import UserCodeExecutionError
from trellis.defs.asset_graph import AssetGraph
from trellis.instance.automation_records import AutomationEvaluationRecord

log = logging.getLogger("trellis.automation")


class AutomationEvaluationError(UserCodeExecutionError):
    """An asset's automation condition raised while it was evaluated; the message names
    the asset, ``__cause__`` is the original exception."""


@dataclass
class AutomationEvaluation:
    """What one evaluation produced: the requested subset of each asset (non-empty ones
    only), the root result of each evaluated asset, the records to store (assets whose
    tree changed, or that requested something), and the next cursor."""

    evaluation_id: int
    evaluation_time: datetime
    requested: dict[AssetKey, AssetSubset]
    results: dict[AssetKey, AutomationResult]
    records: list[AutomationEvaluationRecord]
    cursor: AutomationCursor
    trees: dict[AssetKey, dict[str, Any]] = field(default_factory=dict)

    @property
    def total_requested(self) -> int:
        """How many asset partitions were requested."""
        return sum(subset.size for subset in self.requested.values())


def as_utc(value: datetime | float | None) -> datetime:
    """An aware datetime: now for None, a timestamp, or a datetime (naive ones are UTC)."""
    if value is None:
        return datetime.now(UTC)
    if isinstance(value, (int, float)):
        return datetime.fromtimestamp(value, UTC)
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value


class AutomationEvaluator:
    """Evaluates ``conditions_by_key[key]`` for each of ``keys`` (see the module
    docstring); make one per evaluation and call ``evaluate`` once."""

    def __init__(
        self,
        *,
        asset_graph: AssetGraph,
        conditions_by_key: Mapping[AssetKey, AutomationCondition],
        keys: Iterable[AssetKey],
        state: AssetStateView,
        cursor: AutomationCursor | None = None,
        evaluation_time: datetime | float | None = None,
        logger: logging.Logger | None = None,
    ) -> None:
        self.view = AutomationGraphView(asset_graph, state, as_utc(evaluation_time))
        self.conditions_by_key = dict(conditions_by_key)
        wanted = set(keys)
        self.keys = [key for key in asset_graph.toposorted_keys if key in wanted]
        self.cursor = cursor or AutomationCursor()
        self.evaluation_id = self.cursor.evaluation_id + 1
        self.logger = logger or log
        self.requested: dict[AssetKey, AssetSubset] = {}
        self._nodes: dict[AssetKey, dict[str, dict[str, Any]]] = {}

    # -- what the previous evaluation left -------------------------------------------------
    def previous_evaluation_time(self, root: AssetKey) -> datetime | None:
        """When ``root`` was last evaluated (None: never)."""
        when = self.cursor.evaluation_time
        if when is None or root not in self.cursor.assets:
            return None
        return datetime.fromtimestamp(when, UTC)

    def previous_node_state(self, root: AssetKey, node_id: str) -> dict[str, Any] | None:
        """The state node ``node_id`` of ``root``'s condition kept last time."""
        asset = self.cursor.assets.get(root)
        return asset.nodes.get(node_id) if asset is not None else None

    def previous_requested(self, key: AssetKey) -> AssetSubset | None:
        """What the previous evaluation requested of ``key`` (None: not evaluated)."""
        asset = self.cursor.assets.get(key)
        return self.view.decode(key, asset.requested) if asset is not None else None

    def previous_storage_id(self, root: AssetKey, key: AssetKey) -> int | None:
        """The newest materialization of ``key`` the previous evaluation of ``root`` saw
        (None: ``root`` was not evaluated, or ``key`` not read)."""
        if root not in self.cursor.assets:
            return None
        return self.cursor.storage_ids.get(key)

    def is_initial_evaluation(self, root: AssetKey) -> bool:
        """Whether ``root`` is evaluated for the first time (or since it became, or
        stopped being, partitioned)."""
        asset = self.cursor.assets.get(root)
        partitioned = self.view.space(root) is not None
        return asset is None or asset.partitioned != partitioned

    # -- this evaluation ---------------------------------------------------------------------
    def record_node(self, context: AutomationContext, result: AutomationResult) -> None:
        """Keep the state a node leaves for the next evaluation."""
        keeps = context.condition.keeps_true_subset
        if not keeps and result.cursor is None:
            return
        state: dict[str, Any] = {}
        if keeps:
            state["true"] = self.view.encode(result.true_subset)
        if result.cursor is not None:
            state["cursor"] = result.cursor
        self._nodes.setdefault(context.root_key, {})[context.node_id] = state

    def _request(self, subset: AssetSubset) -> None:
        if subset.is_empty:
            return
        before = self.requested.get(subset.key)
        self.requested[subset.key] = subset if before is None else before | subset

    def _evaluate_one(self, key: AssetKey) -> AutomationResult:
        condition = self.conditions_by_key[key]
        context = AutomationContext(self, condition, self.view.full(key), ROOT_NODE_ID, None, key)
        try:
            return context.evaluate()
        except Exception as exc:
            raise AutomationEvaluationError(
                f"The automation condition of asset '{key.to_user_string()}' raised "
                f"{type(exc).__name__}: {exc}",
                exc,
            ) from exc

    def _request_execution_set(self, result: AutomationResult) -> None:
        """A requested asset of a multi-asset that cannot be subset takes its siblings."""
        graph = self.view.asset_graph
        producer = graph.producer.get(result.key)
        if producer is None or producer.can_subset or len(producer.keys) < 2:
            return
        if result.true_subset.is_empty:
            return
        for sibling in producer.keys:
            self._request(self.view.map_subset(result.true_subset, sibling))

    @collector_paused()
    def evaluate(self) -> AutomationEvaluation:
        """Evaluate every asset, upstream first; the next cursor keeps the node states,
        what was requested, and the newest materialization seen of each asset read.
        The cyclic garbage collector is paused meanwhile, as during a run."""
        graph = self.view.asset_graph
        read = set(self.keys)
        for key in self.keys:
            read.update(graph.upstream.get(key, ()))
        for key in read:
            self.view.newest_storage_id(key)  # read them together, before evaluating
        results: dict[AssetKey, AutomationResult] = {}
        for key in self.keys:
            result = self._evaluate_one(key)
            results[key] = result
            self._request(result.true_subset)
            self._request_execution_set(result)
        return self._finish(results, read)

    def _finish(
        self, results: dict[AssetKey, AutomationResult], read: set[AssetKey]
    ) -> AutomationEvaluation:
        view = self.view
        timestamp = view.evaluation_time.timestamp()
        cursor = AutomationCursor(
            evaluation_id=self.evaluation_id,
            evaluation_time=timestamp,
            storage_ids={key: view.newest_storage_id(key) for key in read | view.keys_read},
        )
        records: list[AutomationEvaluationRecord] = []
        trees: dict[AssetKey, dict[str, Any]] = {}
        for key, result in results.items():
            requested = self.requested.get(key) or view.empty(key)
            tree = result_tree(result, view)
            trees[key] = tree
            digest = tree_digest(tree)
            previous = self.cursor.assets.get(key)
            if previous is None or previous.record != digest or not requested.is_empty:
                records.append(
                    evaluation_record(key, self.evaluation_id, timestamp, requested, tree, view)
                )
            cursor.assets[key] = AssetCursor(
                requested=view.encode(requested),
                partitioned=view.space(key) is not None,
                record=digest,
                nodes=self._nodes.get(key, {}),
            )
        return AutomationEvaluation(
            evaluation_id=self.evaluation_id,
            evaluation_time=view.evaluation_time,
            requested={k: v for k, v in self.requested.items() if not v.is_empty},
            results=results,
            records=records,
            cursor=cursor,
            trees=trees,
        )
