"""Definitions for the daemon test of Dagster's legacy auto-materialize policies
(``test_legacy_automation_daemon.py``): assets whose ``auto_materialize_policy`` the daemon
evaluates as the ``AutomationCondition`` it converts to."""

from __future__ import annotations

from trellis import (
    AutoMaterializeAssetPartitionsFilter,
    AutoMaterializePolicy,
    AutoMaterializeRule,
    Definitions,
    asset,
)

EAGER = AutoMaterializePolicy.eager()


@asset
def source(): ...


@asset
def other(): ...


@asset(auto_materialize_policy=EAGER)
def root(): ...


@asset(deps=[source], auto_materialize_policy=EAGER)
def child(): ...


@asset(
    deps=[source, other],
    auto_materialize_policy=EAGER.with_rules(AutoMaterializeRule.skip_on_not_all_parents_updated()),
)
def gated(): ...


@asset(
    deps=[source],
    auto_materialize_policy=EAGER.with_rules(AutoMaterializeRule.skip_on_run_in_progress()),
)
def busy(): ...


@asset
def feed(): ...


@asset(
    deps=[feed],
    auto_materialize_policy=AutoMaterializePolicy(
        rules={
            AutoMaterializeRule.materialize_on_parent_updated(
                AutoMaterializeAssetPartitionsFilter(latest_run_required_tags={"release": "yes"})
            )
        }
    ),
)
def released(): ...


defs = Definitions(assets=[source, other, root, child, gated, busy, feed, released])
