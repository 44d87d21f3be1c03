"""The freshness state of assets with a freshness policy (``trellis.defs.freshness_policy``),
from the events stored in the instance: PASS, WARN, FAIL, or UNKNOWN when the asset was
never updated.

An asset's update time is its newest materialization (of any partition); for an external
asset (an ``AssetSpec`` or an observable source asset), its newest materialization or
observation. The ``FreshnessPolicy`` is evaluated when an asset has one, else its
``LegacyFreshnessPolicy``. ``trellis asset freshness`` and ``trellis asset list`` show
these states.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from trellis.core.asset_key import AssetKey
from trellis.defs.freshness_policy import FreshnessState
from trellis.defs.selection_filters import spec_of

if TYPE_CHECKING:
    from trellis.defs.asset_graph import AssetGraph
    from trellis.instance.instance import Instance


@dataclass(frozen=True)
class FreshnessResult:
    """An asset's freshness: its state, the policy evaluated, when it was last updated
    (None: never) and why, in words."""

    key: AssetKey
    state: FreshnessState
    policy: Any
    last_updated_timestamp: float | None
    reason: str

    def to_dict(self) -> dict[str, Any]:
        """The result as JSON-ready values."""
        return {
            "asset_key": self.key.to_user_string(),
            "state": self.state.value,
            "policy": self.policy.describe(),
            "last_updated_timestamp": self.last_updated_timestamp,
            "reason": self.reason,
        }


def freshness_policy_of(spec: Any) -> Any:
    """The policy evaluated for an asset spec: its ``freshness_policy``, else its
    ``legacy_freshness_policy`` (None: neither)."""
    if spec is None:
        return None
    found = getattr(spec, "freshness_policy", None)
    return found if found is not None else getattr(spec, "legacy_freshness_policy", None)


def last_updated_timestamp(instance: Instance, key: AssetKey, external: bool) -> float | None:
    """When ``key`` was last updated: its newest materialization, or for an external
    asset the newer of that and its newest observation."""
    record = instance.get_latest_materialization_record(key)
    found = record.timestamp if record is not None else None
    if external:
        observed = instance.get_latest_observation_record(key)
        if observed is not None and (found is None or observed.timestamp > found):
            found = observed.timestamp
    return found


def get_freshness(
    instance: Instance, graph: AssetGraph, key: AssetKey, now: float | None = None
) -> FreshnessResult | None:
    """The freshness of ``key`` at ``now`` (a timestamp; default: the current time), or
    None when it has no freshness policy."""
    policy = freshness_policy_of(spec_of(graph, key))
    if policy is None:
        return None
    when = time.time() if now is None else now
    updated = last_updated_timestamp(instance, key, graph.is_external(key))
    state, reason = policy.evaluate(updated, when)
    return FreshnessResult(key, state, policy, updated, reason)


def freshness_by_key(
    instance: Instance, graph: AssetGraph, now: float | None = None
) -> dict[AssetKey, FreshnessResult]:
    """The freshness of every asset of ``graph`` that has a freshness policy."""
    when = time.time() if now is None else now
    found = {key: get_freshness(instance, graph, key, when) for key in sorted(graph.all_keys)}
    return {key: result for key, result in found.items() if result is not None}
