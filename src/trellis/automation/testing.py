"""``evaluate_automation_conditions``: evaluate the automation conditions of some
definitions against an instance, as Dagster users test their conditions::

    result = evaluate_automation_conditions(defs, instance)
    assert result.total_requested == 1
    result = evaluate_automation_conditions(defs, instance, cursor=result.cursor)
    assert result.total_requested == 0

Nothing is recorded in the instance and nothing is launched.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from trellis.automation.context import AutomationResult
from trellis.automation.cursor import AutomationCursor
from trellis.automation.evaluator import AutomationEvaluation, AutomationEvaluator
from trellis.automation.run_requests import build_run_requests
from trellis.automation.sensors import conditions_of
from trellis.automation.state import InstanceStateView
from trellis.core.asset_key import AssetKey, CoercibleToAssetKey
from trellis.core.collector import collector_paused
from trellis.core.errors import InvalidInvocationError
from trellis.defs.asset_selection import coerce_selection
from trellis.defs.definitions import Definitions
from trellis.defs.run_request import RunRequest
from trellis.instance.automation_records import AutomationEvaluationRecord


class EvaluateAutomationConditionsResult:
    """What ``evaluate_automation_conditions`` found: ``total_requested`` asset partitions,
    ``get_num_requested(key)`` / ``get_requested_partitions(key)`` per asset, the root
    ``results`` (one per evaluated asset), and the ``cursor`` to pass to the next call."""

    def __init__(self, evaluation: AutomationEvaluation, asset_graph: Any) -> None:
        self.evaluation = evaluation
        self._asset_graph = asset_graph

    @property
    def cursor(self) -> AutomationCursor:
        """The cursor for the next evaluation."""
        return self.evaluation.cursor

    @property
    def results(self) -> list[AutomationResult]:
        """The result of each evaluated asset's condition, upstream first."""
        return list(self.evaluation.results.values())

    @property
    def total_requested(self) -> int:
        """How many asset partitions were requested (an unpartitioned asset counts 1)."""
        return self.evaluation.total_requested

    def get_requested_partitions(self, asset_key: CoercibleToAssetKey) -> set[str | None]:
        """The partition keys requested of ``asset_key`` (``{None}`` for a requested
        unpartitioned asset, empty when nothing was requested)."""
        subset = self.evaluation.requested.get(AssetKey.from_coercible(asset_key))
        if subset is None or subset.is_empty:
            return set()
        return set(subset.partition_keys) if subset.is_partitioned else {None}

    def get_num_requested(self, asset_key: CoercibleToAssetKey) -> int:
        """How many partitions of ``asset_key`` were requested."""
        return len(self.get_requested_partitions(asset_key))

    def get_result(self, asset_key: CoercibleToAssetKey) -> AutomationResult:
        """The root result of ``asset_key``'s condition."""
        return self.evaluation.results[AssetKey.from_coercible(asset_key)]

    @property
    def run_requests(self) -> list[RunRequest]:
        """The runs the daemon would request for this evaluation."""
        return build_run_requests(self.evaluation.requested, self._asset_graph)

    @property
    def records(self) -> list[AutomationEvaluationRecord]:
        """The evaluation records the daemon would store."""
        return list(self.evaluation.records)


@collector_paused()
def evaluate_automation_conditions(
    defs: Definitions | Sequence[Any],
    instance: Any,
    asset_selection: Any = None,
    evaluation_time: datetime | None = None,
    cursor: AutomationCursor | str | None = None,
    request_backfills: bool = False,
) -> EvaluateAutomationConditionsResult:
    """Evaluate the automation conditions of ``defs`` (a ``Definitions``, or a list of
    assets and specs) against ``instance`` at ``evaluation_time`` (default: now; a naive
    datetime is UTC), continuing from ``cursor`` (a previous result's ``cursor``).

    ``asset_selection`` narrows which assets' conditions are evaluated (default: every
    asset that has one). ``request_backfills`` is accepted for Dagster code: Trellis has
    no backfills."""
    if not isinstance(defs, Definitions):
        if isinstance(defs, (str, bytes)) or not isinstance(defs, Sequence):
            raise InvalidInvocationError(
                "evaluate_automation_conditions takes a Definitions or a list of assets, "
                f"got {defs!r}."
            )
        defs = Definitions(assets=list(defs))
    graph = defs.asset_graph
    conditions = conditions_of(graph)
    keys = set(conditions)
    if asset_selection is not None:
        keys &= coerce_selection(asset_selection).resolve(graph)
    previous = (
        cursor if isinstance(cursor, AutomationCursor) else AutomationCursor.from_json(cursor)
    )
    evaluator = AutomationEvaluator(
        asset_graph=graph,
        conditions_by_key=conditions,
        keys=keys,
        state=InstanceStateView(instance, graph, defs),
        cursor=previous,
        evaluation_time=evaluation_time,
    )
    return EvaluateAutomationConditionsResult(evaluator.evaluate(), graph)
