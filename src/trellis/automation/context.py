"""``AutomationContext`` (what a condition sees while it is evaluated) and
``AutomationResult`` (what it returns): the contract custom conditions implement.

A context is made per condition node: the root one per asset, a child one per operand
(``for_child_condition``). Node ids address the node's state in the cursor: the path of
child indices from the root (``0.2.1``), except for ``since`` and ``newly_true`` nodes,
which are always evaluated over the whole asset and keep their state under an id made
from the asset and the condition itself, so that moving them in the tree keeps it.
"""

from __future__ import annotations

import functools
import hashlib
import logging
import time
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from trellis.automation.subset import AssetSubset
from trellis.core.asset_key import AssetKey
from trellis.core.errors import InvalidInvocationError

if TYPE_CHECKING:
    from trellis.automation.condition import AutomationCondition
    from trellis.automation.evaluator import AutomationEvaluator
    from trellis.automation.graph_view import AutomationGraphView
    from trellis.defs.asset_graph import AssetGraph
    from trellis.defs.partitions import PartitionsDefinition

ROOT_NODE_ID = "0"


@functools.lru_cache(maxsize=65536)
def _stable_id(key: AssetKey, fingerprint: str) -> str:
    text = f"{key.to_user_string()}|{fingerprint}"
    return "s:" + hashlib.sha1(text.encode()).hexdigest()[:16]


def stable_node_id(key: AssetKey, condition: AutomationCondition) -> str:
    """The id of a node whose state does not depend on where it sits in the tree."""
    return _stable_id(key, condition.fingerprint())


class AutomationContext:
    """What a condition sees while it is evaluated for one asset: the candidate subset
    (the partitions it is asked about), the evaluation time, its own state from the
    previous evaluation (``cursor``, ``previous_true_subset``), and helpers to build
    subsets. Made by the evaluator; a condition makes its operands' contexts with
    ``for_child_condition``."""

    def __init__(
        self,
        evaluator: AutomationEvaluator,
        condition: AutomationCondition,
        candidate_subset: AssetSubset,
        node_id: str,
        parent_context: AutomationContext | None,
        root_key: AssetKey,
    ) -> None:
        self._evaluator = evaluator
        self.condition = condition
        self.candidate_subset = candidate_subset
        self.node_id = node_id
        self.parent_context = parent_context
        self.root_key = root_key
        self.create_time = time.time()

    # -- where and when -----------------------------------------------------------------
    @property
    def key(self) -> AssetKey:
        """The asset this node is evaluated for (a dependency's key inside
        ``any_deps_match``)."""
        return self.candidate_subset.key

    @property
    def root_context(self) -> AutomationContext:
        """The context of the root condition of the asset being evaluated."""
        return self if self.parent_context is None else self.parent_context.root_context

    @property
    def asset_graph(self) -> AssetGraph:
        """The asset graph of the definitions being evaluated."""
        return self._evaluator.view.asset_graph

    @property
    def asset_graph_view(self) -> AutomationGraphView:
        """The graph and its state at the evaluation time (subsets of any asset)."""
        return self._evaluator.view

    @property
    def partitions_def(self) -> PartitionsDefinition | None:
        """The partitions definition of ``key`` (None: unpartitioned)."""
        return self._evaluator.view.partitions_def(self.key)

    @property
    def evaluation_time(self) -> datetime:
        """The time of this evaluation, the same for every condition (timezone-aware)."""
        return self._evaluator.view.evaluation_time

    @property
    def evaluation_id(self) -> int:
        """The number of this evaluation; it increases by one per evaluation."""
        return self._evaluator.evaluation_id

    @property
    def previous_evaluation_time(self) -> datetime | None:
        """When the previous evaluation of the asset being evaluated happened (None:
        this is its first)."""
        return self._evaluator.previous_evaluation_time(self.root_key)

    @property
    def log(self) -> logging.Logger:
        """A logger for the condition's own messages."""
        return self._evaluator.logger.getChild(type(self.condition).__name__)

    @property
    def request_subsets_by_key(self) -> Mapping[AssetKey, AssetSubset]:
        """What this evaluation requests so far (assets are evaluated upstream first)."""
        return self._evaluator.requested

    # -- the previous evaluation ----------------------------------------------------------
    @property
    def cursor(self) -> Any:
        """The cursor this node returned on the previous evaluation (None: none)."""
        state = self._evaluator.previous_node_state(self.root_key, self.node_id)
        return state.get("cursor") if state is not None else None

    @property
    def previous_true_subset(self) -> AssetSubset | None:
        """The partitions this node was true for on the previous evaluation (None: it
        was not evaluated then, or keeps no state)."""
        state = self._evaluator.previous_node_state(self.root_key, self.node_id)
        if state is None or "true" not in state:
            return None
        return self._evaluator.view.decode(self.key, state["true"])

    @property
    def previous_requested_subset(self) -> AssetSubset | None:
        """What the previous evaluation requested of ``key`` (None: not evaluated)."""
        return self.get_previous_requested_subset(self.key)

    def get_previous_requested_subset(self, key: AssetKey) -> AssetSubset | None:
        """What the previous evaluation requested of ``key`` (None: not evaluated)."""
        return self._evaluator.previous_requested(key)

    # -- subsets ----------------------------------------------------------------------------
    def get_empty_subset(self) -> AssetSubset:
        """The empty subset of ``key``."""
        return self._evaluator.view.empty(self.key)

    def get_full_subset(self) -> AssetSubset:
        """Every partition of ``key``."""
        return self._evaluator.view.full(self.key)

    # -- children -------------------------------------------------------------------------
    def for_child_condition(
        self,
        child_condition: AutomationCondition,
        child_index: int | None = None,
        candidate_subset: AssetSubset | None = None,
        *,
        child_indices: Sequence[int | None] | None = None,
    ) -> AutomationContext:
        """The context of operand ``child_index`` of this node, asked about
        ``candidate_subset`` (this node's candidates by default; a subset of another
        asset evaluates the operand for that asset)."""
        if child_index is None and child_indices:
            child_index = next((i for i in child_indices if i is not None), None)
        candidates = self.candidate_subset if candidate_subset is None else candidate_subset
        if getattr(child_condition, "stable_state", False):
            node_id = stable_node_id(candidates.key, child_condition)
        else:
            node_id = f"{self.node_id}.{child_index if child_index is not None else 0}"
        return AutomationContext(
            self._evaluator, child_condition, candidates, node_id, self, self.root_key
        )

    def evaluate(self) -> AutomationResult:
        """Evaluate this context's condition (what operators call for their operands)."""
        result = self.condition.evaluate(self)
        if not isinstance(result, AutomationResult):
            raise InvalidInvocationError(
                f"{type(self.condition).__name__}.evaluate returned {result!r}; it must "
                "return an AutomationResult(context, true_subset)."
            )
        return result

    async def evaluate_async(self) -> AutomationResult:
        """``evaluate`` for code written against Dagster's async evaluation."""
        return self.evaluate()

    def __repr__(self) -> str:
        return f"<AutomationContext {self.key.to_user_string()} node {self.node_id}>"


Timing = dict[float, AssetSubset]
"""When a condition's partitions became true: timestamp -> the partitions then."""


class AutomationResult:
    """The outcome of evaluating a condition for one asset: the subset it is true for
    (``true_subset``), its operands' results (``child_results``), and a ``cursor`` (any
    JSON value) that the next evaluation reads back as ``context.cursor``.

    ``AutomationResult(context, true_subset)`` and Dagster's older
    ``AutomationResult(true_subset, context=context)`` both work."""

    def __init__(
        self,
        *args: Any,
        context: AutomationContext | None = None,
        true_subset: AssetSubset | None = None,
        cursor: Any = None,
        child_results: Sequence[AutomationResult] | None = None,
        timing: Timing | None = None,
    ) -> None:
        for arg in args:
            if isinstance(arg, AutomationContext) and context is None:
                context = arg
            elif isinstance(arg, AssetSubset) and true_subset is None:
                true_subset = arg
            else:
                raise InvalidInvocationError(
                    f"AutomationResult got {arg!r}; pass the context and the true subset."
                )
        if context is None or true_subset is None:
            raise InvalidInvocationError(
                "AutomationResult needs the context and the true subset: "
                "AutomationResult(context, true_subset)."
            )
        if true_subset.key != context.key:
            raise InvalidInvocationError(
                f"{type(context.condition).__name__} returned a subset of "
                f"{true_subset.key.to_user_string()} while evaluated for "
                f"{context.key.to_user_string()}."
            )
        self.context = context
        self.condition = context.condition
        self.true_subset = true_subset
        self.candidate_subset = context.candidate_subset
        self.cursor = cursor
        self.child_results = list(child_results or ())
        self.timing = timing
        self.start_timestamp = context.create_time
        self.end_timestamp = time.time()
        context._evaluator.record_node(context, self)

    @property
    def key(self) -> AssetKey:
        """The asset the result is for."""
        return self.true_subset.key

    @property
    def node_id(self) -> str:
        """The node's id in the asset's condition tree."""
        return self.context.node_id

    def __repr__(self) -> str:
        return f"AutomationResult({self.condition.name}, {self.true_subset!r})"
