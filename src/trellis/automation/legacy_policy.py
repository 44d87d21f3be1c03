"""``AutoMaterializePolicy``: Dagster's older way of saying when an asset is requested,
a set of ``AutoMaterializeRule``s. As in Dagster 1.13 it is converted to an
``AutomationCondition`` (``to_automation_condition()``): the materialize rules OR'ed, AND
NOT each skip rule. ``@asset(auto_materialize_policy=...)`` stores that condition as the
asset's ``automation_condition``, which the automation daemon evaluates.

``max_materializations_per_minute`` is kept on the policy but not enforced: the converted
condition requests the latest time window's partition only (as the legacy policies did).
"""

from __future__ import annotations

from collections.abc import Iterable
from enum import Enum
from typing import Any

from trellis.automation.condition import BuiltinAutomationCondition
from trellis.automation.legacy_rules import (
    AutoMaterializeDecisionType,
    AutoMaterializeRule,
    NeverCondition,
)
from trellis.core.errors import InvalidDefinitionError

AMR = AutoMaterializeRule


class AutoMaterializePolicyType(Enum):
    """Which constructor made a policy."""

    EAGER = "EAGER"
    LAZY = "LAZY"


def _default_rules() -> frozenset[AutoMaterializeRule]:
    """Dagster's default rules (``eager()``)."""
    return frozenset(
        {
            AMR.materialize_on_missing(),
            AMR.materialize_on_parent_updated(),
            AMR.materialize_on_required_for_freshness(),
            AMR.skip_on_parent_outdated(),
            AMR.skip_on_parent_missing(),
            AMR.skip_on_required_but_nonexistent_parents(),
            AMR.skip_on_backfill_in_progress(),
        }
    )


def _check_rules(rules: Iterable[Any], owner: str) -> frozenset[AutoMaterializeRule]:
    found = frozenset(rules)
    for rule in found:
        if not isinstance(rule, AutoMaterializeRule):
            raise InvalidDefinitionError(
                f"{owner}: expected AutoMaterializeRules (such as "
                f"AutoMaterializeRule.materialize_on_missing()), got {rule!r}."
            )
    return found


class AutoMaterializePolicy:
    """A set of rules saying when an asset is requested: ``AutoMaterializePolicy.eager()``
    (when missing or when a parent updates), ``.lazy()`` (only for freshness: never, as
    in Dagster 1.13), changed with ``with_rules`` / ``without_rules``.
    ``to_automation_condition()`` is the condition it runs as."""

    def __init__(
        self,
        rules: Iterable[AutoMaterializeRule],
        max_materializations_per_minute: int | None = 1,
    ) -> None:
        self._rules = _check_rules(rules, "AutoMaterializePolicy")
        limit = max_materializations_per_minute
        if limit is not None and (
            isinstance(limit, bool) or not isinstance(limit, int) or limit < 1
        ):
            raise InvalidDefinitionError(
                "AutoMaterializePolicy: max_materializations_per_minute must be a positive "
                f"integer or None, got {limit!r}."
            )
        self._max = limit

    @staticmethod
    def eager(max_materializations_per_minute: int | None = 1) -> AutoMaterializePolicy:
        """Request the asset when it is missing or a parent updates, unless a parent is
        missing or being updated (Dagster's default rules)."""
        return AutoMaterializePolicy(_default_rules(), max_materializations_per_minute)

    @staticmethod
    def lazy(max_materializations_per_minute: int | None = 1) -> AutoMaterializePolicy:
        """The default rules less ``materialize_on_missing`` and
        ``materialize_on_parent_updated``: requested only when required for freshness,
        which Dagster 1.13 (and Trellis) no longer evaluate, so never."""
        rules = _default_rules() - {
            AMR.materialize_on_missing(),
            AMR.materialize_on_parent_updated(),
        }
        return AutoMaterializePolicy(rules, max_materializations_per_minute)

    @property
    def rules(self) -> frozenset[AutoMaterializeRule]:
        """The policy's rules."""
        return self._rules

    @property
    def materialize_rules(self) -> frozenset[AutoMaterializeRule]:
        """The rules that request the asset."""
        return frozenset(
            r for r in self._rules if r.decision_type is AutoMaterializeDecisionType.MATERIALIZE
        )

    @property
    def skip_rules(self) -> frozenset[AutoMaterializeRule]:
        """The rules that skip it."""
        return self._rules - self.materialize_rules

    @property
    def max_materializations_per_minute(self) -> int | None:
        """The limit given (kept, not enforced: see the module docstring)."""
        return self._max

    @property
    def policy_type(self) -> AutoMaterializePolicyType:
        """EAGER when a rule requests on missing or on parent updates, else LAZY."""
        eager_kinds = {AMR.materialize_on_missing().name, AMR.materialize_on_parent_updated().name}
        if any(rule.name in eager_kinds for rule in self._rules):
            return AutoMaterializePolicyType.EAGER
        return AutoMaterializePolicyType.LAZY

    def with_rules(self, *rules_to_add: AutoMaterializeRule) -> AutoMaterializePolicy:
        """A copy with these rules added (replacing the rules of the same kind)."""
        added = _check_rules(rules_to_add, "AutoMaterializePolicy.with_rules")
        kinds = {type(rule) for rule in added}
        kept = {rule for rule in self._rules if type(rule) not in kinds}
        return AutoMaterializePolicy(kept | added, self._max)

    def without_rules(self, *rules_to_remove: AutoMaterializeRule) -> AutoMaterializePolicy:
        """A copy without these rules (each must be in the policy)."""
        removed = _check_rules(rules_to_remove, "AutoMaterializePolicy.without_rules")
        absent = [rule for rule in rules_to_remove if rule not in self._rules]
        if absent:
            raise InvalidDefinitionError(
                f"AutoMaterializePolicy.without_rules: {', '.join(map(repr, absent))} "
                f"{'is' if len(absent) == 1 else 'are'} not in the policy."
            )
        return AutoMaterializePolicy(self._rules - removed, self._max)

    def to_automation_condition(self) -> BuiltinAutomationCondition:
        """The condition the policy runs as: any materialize rule's condition, and none
        of the skip rules'. Raises ``InvalidDefinitionError`` for a rule Trellis cannot
        map."""

        def ordered(rules: frozenset[AutoMaterializeRule]) -> list[AutoMaterializeRule]:
            return sorted(rules, key=lambda r: (r.order, repr(r)))

        materialize = [r.to_automation_condition() for r in ordered(self.materialize_rules)]
        skips = [r.to_automation_condition() for r in ordered(self.skip_rules)]
        if not materialize:
            condition: BuiltinAutomationCondition = NeverCondition(
                reason="The policy has no materialize rule"
            )
        elif len(materialize) == 1:
            condition = materialize[0]
        else:
            condition = materialize[0]
            for other in materialize[1:]:
                condition = condition | other
        for skip in skips:
            condition = condition & ~skip
        label = f"auto_materialize_policy({self.policy_type.value.lower()})"
        return condition.with_label(label)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, AutoMaterializePolicy):
            return NotImplemented
        return self._rules == other._rules and self._max == other._max

    def __hash__(self) -> int:
        return hash(("AutoMaterializePolicy", self._rules, self._max))

    def __repr__(self) -> str:
        rules = ", ".join(sorted(map(repr, self._rules)))
        return (
            f"AutoMaterializePolicy(rules={{{rules}}}, "
            f"max_materializations_per_minute={self._max!r})"
        )
