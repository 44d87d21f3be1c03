"""Conditions evaluated for other assets: ``any_deps_match`` / ``all_deps_match`` (for
each upstream asset, narrowed by ``.allow`` / ``.ignore``), ``asset_matches`` (for one
named asset) and ``any_downstream_conditions`` (the conditions of the assets downstream).

The subset asked about is mapped onto the other asset, the operand evaluated for it, and
its result mapped back (``AutomationGraphView.map_subset``), with when it became true, so
that ``since`` can tell a dependency's update that came after the reset in one evaluation.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any, ClassVar

from trellis.automation.condition import AutomationCondition, BuiltinAutomationCondition
from trellis.automation.context import AutomationContext, AutomationResult
from trellis.automation.operators import merge_timing
from trellis.core.asset_key import AssetKey
from trellis.core.errors import InvalidDefinitionError


@dataclasses.dataclass(frozen=True)
class EntityMatchesCondition(BuiltinAutomationCondition):
    """True where ``operand``, evaluated for the asset ``key``, is true."""

    key: AssetKey | None = None
    operand: AutomationCondition | None = None

    @property
    def name(self) -> str:
        """The other asset's key."""
        return self.key.to_user_string() if self.key is not None else "?"

    @property
    def children(self) -> Sequence[AutomationCondition]:
        """The operand."""
        return (self.operand,) if self.operand is not None else ()

    def with_children(self, children: Sequence[AutomationCondition]) -> EntityMatchesCondition:
        """A copy with another operand."""
        return dataclasses.replace(self, operand=children[0])

    def evaluate(self, context: AutomationContext) -> AutomationResult:
        """The operand for ``key``, over the candidates mapped onto it, mapped back."""
        assert self.key is not None and self.operand is not None
        view = context.asset_graph_view
        if self.key not in view.asset_graph.all_keys:
            raise InvalidDefinitionError(
                f"AutomationCondition.asset_matches({self.key.to_user_string()!r}, ...) on "
                f"{context.root_key.to_user_string()}: no asset "
                f"'{self.key.to_user_string()}' is defined."
            )
        candidates = view.map_subset(context.candidate_subset, self.key)
        result = context.for_child_condition(self.operand, 0, candidates).evaluate()
        true_subset = view.map_subset(result.true_subset, context.key) & context.candidate_subset
        timing = None
        if result.timing:
            mapped = {ts: view.map_subset(part, context.key) for ts, part in result.timing.items()}
            timing = {ts: part & true_subset for ts, part in mapped.items()}
        return AutomationResult(context, true_subset, child_results=[result], timing=timing)


def _text(selection: Any) -> str:
    return repr(selection)


@dataclasses.dataclass(frozen=True)
class DepsAutomationCondition(BuiltinAutomationCondition):
    """The base of ``any_deps_match`` and ``all_deps_match``: an operand evaluated for each
    upstream asset in ``allow_selection`` (all by default) and not in
    ``ignore_selection``."""

    operand: AutomationCondition | None = None
    allow_selection: Any = None
    ignore_selection: Any = None

    base_name: ClassVar[str] = "DEPS_MATCH"

    @property
    def name(self) -> str:
        """``ANY_DEPS_MATCH`` / ``ALL_DEPS_MATCH``, with the selections."""
        props = []
        if self.allow_selection is not None:
            props.append(f"allow_selection={_text(self.allow_selection)}")
        if self.ignore_selection is not None:
            props.append(f"ignore_selection={_text(self.ignore_selection)}")
        return self.base_name + (f"({','.join(props)})" if props else "")

    @property
    def children(self) -> Sequence[AutomationCondition]:
        """The operand."""
        return (self.operand,) if self.operand is not None else ()

    def with_children(self, children: Sequence[AutomationCondition]) -> DepsAutomationCondition:
        """A copy with another operand."""
        return dataclasses.replace(self, operand=children[0])

    def allow(self, selection: Any) -> DepsAutomationCondition:
        """Only the dependencies in ``selection`` (an ``AssetSelection``) count."""
        combined = selection if self.allow_selection is None else selection | self.allow_selection
        return dataclasses.replace(self, allow_selection=combined)

    def ignore(self, selection: Any) -> DepsAutomationCondition:
        """The dependencies in ``selection`` (an ``AssetSelection``) do not count."""
        combined = selection if self.ignore_selection is None else selection | self.ignore_selection
        return dataclasses.replace(self, ignore_selection=combined)

    def dep_keys(self, context: AutomationContext) -> list[AssetKey]:
        """The upstream assets of ``context.key`` that count, sorted."""
        graph = context.asset_graph
        keys = set(graph.upstream.get(context.key, ()))
        if self.allow_selection is not None:
            keys &= self._resolve(self.allow_selection, context, "allow")
        if self.ignore_selection is not None:
            keys -= self._resolve(self.ignore_selection, context, "ignore")
        return sorted(keys)

    def _resolve(self, selection: Any, context: AutomationContext, how: str) -> set[AssetKey]:
        try:
            return set(selection.resolve(context.asset_graph))
        except InvalidDefinitionError as exc:
            raise InvalidDefinitionError(
                f"{self.base_name.lower()}(...).{how}({_text(selection)}) on "
                f"{context.root_key.to_user_string()}: {exc}"
            ) from None

    def _each_dep(self, context: AutomationContext) -> list[AutomationResult]:
        assert self.operand is not None
        results = []
        for i, dep in enumerate(self.dep_keys(context)):
            matches = EntityMatchesCondition(key=dep, operand=self.operand)
            child = context.for_child_condition(matches, i, context.candidate_subset)
            results.append(child.evaluate())
        return results

    def evaluate(self, context: AutomationContext) -> AutomationResult:
        """Implemented by ``AnyDepsCondition`` and ``AllDepsCondition``."""
        raise NotImplementedError


@dataclasses.dataclass(frozen=True)
class AnyDepsCondition(DepsAutomationCondition):
    """True where the operand is true for at least one dependency."""

    base_name: ClassVar[str] = "ANY_DEPS_MATCH"

    @property
    def description(self) -> str:
        """In words."""
        return "Any dependency matches"

    def evaluate(self, context: AutomationContext) -> AutomationResult:
        """The union over the dependencies, within the candidates."""
        results = self._each_dep(context)
        true_subset = context.get_empty_subset()
        for result in results:
            true_subset = true_subset | result.true_subset
        true_subset = true_subset & context.candidate_subset
        timing = merge_timing(results, true_subset)
        return AutomationResult(context, true_subset, child_results=results, timing=timing)


@dataclasses.dataclass(frozen=True)
class AllDepsCondition(DepsAutomationCondition):
    """True where the operand is true for every dependency (true when it has none)."""

    base_name: ClassVar[str] = "ALL_DEPS_MATCH"

    @property
    def description(self) -> str:
        """In words."""
        return "Every dependency matches"

    def evaluate(self, context: AutomationContext) -> AutomationResult:
        """The intersection over the dependencies, within the candidates."""
        results = self._each_dep(context)
        true_subset = context.candidate_subset
        for result in results:
            true_subset = true_subset & result.true_subset
        timing = merge_timing(results, true_subset)
        return AutomationResult(context, true_subset, child_results=results, timing=timing)


@dataclasses.dataclass(frozen=True)
class AnyDownstreamConditionsCondition(BuiltinAutomationCondition):
    """True where any distinct condition of an asset downstream (at any distance) is true,
    evaluated for this asset."""

    @property
    def name(self) -> str:
        """``any_downstream_conditions``."""
        return "any_downstream_conditions"

    @property
    def description(self) -> str:
        """In words."""
        return "Any downstream condition"

    def evaluate(self, context: AutomationContext) -> AutomationResult:
        """Each distinct downstream condition over the candidates; their union."""
        graph = context.asset_graph
        conditions = context._evaluator.conditions_by_key
        distinct: list[AutomationCondition] = []
        for key in sorted(graph.downstream_closure([context.key]) - {context.key}):
            condition = conditions.get(key)
            if condition is None or _refers_downstream(condition) or condition in distinct:
                continue
            distinct.append(condition)
        results = []
        true_subset = context.get_empty_subset()
        for i, condition in enumerate(distinct):
            child = context.for_child_condition(condition, i, context.candidate_subset)
            result = child.evaluate()
            results.append(result)
            true_subset = true_subset | result.true_subset
        return AutomationResult(context, true_subset, child_results=results)


def _refers_downstream(condition: AutomationCondition) -> bool:
    """Whether ``any_downstream_conditions`` is part of ``condition`` (it would recurse)."""
    if isinstance(condition, AnyDownstreamConditionsCondition):
        return True
    return any(_refers_downstream(child) for child in condition.children)
