"""Dagster's legacy ``AutoMaterializePolicy`` and ``AutoMaterializeRule``: each rule
mapped onto an ``AutomationCondition`` (materialize rules OR'ed, skip rules AND NOT'ed),
evaluated tick by tick against a fake state; the policy API; the errors for what does
not map. The daemon runs them in ``tests/daemon/test_legacy_automation_daemon.py``."""

from __future__ import annotations

import pytest
from automation_helpers import Scenario

from trellis import (
    AssetOut,
    AssetSpec,
    AutoMaterializeAssetPartitionsFilter,
    AutoMaterializePolicy,
    AutoMaterializeRule,
    AutomationCondition,
    DailyPartitionsDefinition,
    StaticPartitionsDefinition,
    asset,
    multi_asset,
)
from trellis.core.errors import InvalidDefinitionError

AMR = AutoMaterializeRule
EAGER = AutoMaterializePolicy.eager()
LETTERS = StaticPartitionsDefinition(["a", "b"])


def _names(rules):
    return sorted(rule.name for rule in rules)


# -- the policy -----------------------------------------------------------------------------
def test_eager_has_dagsters_default_rules_and_lazy_drops_the_two_that_request():
    assert _names(EAGER.rules) == [
        "materialize_on_missing",
        "materialize_on_parent_updated",
        "materialize_on_required_for_freshness",
        "skip_on_backfill_in_progress",
        "skip_on_parent_missing",
        "skip_on_parent_outdated",
        "skip_on_required_but_nonexistent_parents",
    ]
    lazy = AutoMaterializePolicy.lazy()
    assert EAGER.rules - lazy.rules == {
        AMR.materialize_on_missing(),
        AMR.materialize_on_parent_updated(),
    }
    assert EAGER.policy_type.value == "EAGER" and lazy.policy_type.value == "LAZY"
    assert (
        AutoMaterializePolicy.eager(
            max_materializations_per_minute=5
        ).max_materializations_per_minute
        == 5
    )
    assert AutoMaterializePolicy.eager() == EAGER and hash(AutoMaterializePolicy.eager()) == hash(
        EAGER
    )
    assert AutoMaterializePolicy.eager(None) != EAGER


def test_with_rules_adds_and_replaces_a_rule_of_the_same_kind_and_without_rules_removes():
    cron = EAGER.with_rules(AMR.materialize_on_cron("0 * * * *"), AMR.skip_on_run_in_progress())
    assert AMR.skip_on_run_in_progress() in cron.rules
    assert AMR.materialize_on_cron("0 * * * *", "UTC") in cron.rules
    other = cron.with_rules(AMR.materialize_on_cron("0 0 * * *", "Europe/Paris"))
    crons = [r for r in other.rules if r.name == "materialize_on_cron"]
    assert crons == [AMR.materialize_on_cron("0 0 * * *", "Europe/Paris")]
    fewer = EAGER.without_rules(AMR.materialize_on_missing(), AMR.skip_on_parent_missing())
    assert len(fewer.rules) == len(EAGER.rules) - 2
    assert AMR.materialize_on_missing() not in fewer.rules
    with pytest.raises(InvalidDefinitionError, match=r"skip_on_run_in_progress\(\) is not in"):
        EAGER.without_rules(AMR.skip_on_run_in_progress())
    with pytest.raises(InvalidDefinitionError, match=r"expected AutoMaterializeRules .* got 'x'"):
        EAGER.with_rules("x")


def test_the_condition_is_the_materialize_rules_ored_and_not_each_skip_rule():
    policy = AutoMaterializePolicy(
        rules={
            AMR.materialize_on_missing(),
            AMR.skip_on_parent_missing(),
            AMR.skip_on_run_in_progress(),
        }
    )
    condition = policy.to_automation_condition()
    assert condition.get_label() == "auto_materialize_policy(eager)"
    parts = condition.children
    assert [p.get_label() for p in parts] == ["materialize_on_missing", None, None]
    assert parts[1].children[0] == AutomationCondition.any_deps_missing().with_label(
        "skip_on_parent_missing"
    )
    assert parts[2].children[0] == AutomationCondition.run_in_progress().with_label(
        "skip_on_run_in_progress"
    )
    two = EAGER.to_automation_condition().children[0]
    assert two.name == "OR" and [c.get_label() for c in two.children] == [
        "materialize_on_missing",
        "materialize_on_parent_updated",
        "materialize_on_required_for_freshness",
    ]
    # Built alike in any order: equal conditions (fingerprints name cursor state).
    again = AutoMaterializePolicy(rules=list(reversed(sorted(EAGER.rules, key=repr))))
    assert (
        again.to_automation_condition().fingerprint()
        == EAGER.to_automation_condition().fingerprint()
    )


def test_the_asset_keeps_the_policy_and_its_condition():
    @asset(auto_materialize_policy=EAGER)
    def thing(): ...

    spec = thing.specs_by_key[thing.key]
    assert thing.automation_condition == EAGER.to_automation_condition()
    assert spec.auto_materialize_policy is EAGER
    same = AssetSpec(
        "s", auto_materialize_policy=EAGER, automation_condition=EAGER.to_automation_condition()
    )
    assert same.automation_condition == EAGER.to_automation_condition()
    replaced = spec.replace_attributes(automation_condition=AutomationCondition.on_missing())
    assert replaced.auto_materialize_policy is None
    assert replaced.automation_condition == AutomationCondition.on_missing()
    lazy = spec.replace_attributes(auto_materialize_policy=AutoMaterializePolicy.lazy())
    assert lazy.automation_condition.get_label() == "auto_materialize_policy(lazy)"

    @multi_asset(outs={"one": AssetOut(auto_materialize_policy=EAGER), "two": AssetOut()})
    def pair(): ...

    conditions = {k.to_user_string(): c for k, c in pair.automation_conditions_by_key.items()}
    assert conditions == {"one": EAGER.to_automation_condition(), "two": None}


# -- the rules, evaluated -------------------------------------------------------------------
@asset
def up(): ...


@asset
def side(): ...


def test_eager_requests_when_missing_and_when_a_parent_updates_never_while_it_is_missing():
    @asset(deps=[up], auto_materialize_policy=EAGER)
    def down(): ...

    @asset(auto_materialize_policy=EAGER)
    def alone(): ...

    s = Scenario(up, down, alone)
    s.evaluate()
    assert s.requested() == {"alone": True}  # down: its parent is missing
    s.advance(minutes=1).evaluate()
    assert s.requested() == {}  # alone was requested: handled
    s.materialize("up").advance(minutes=1).evaluate()
    assert s.requested() == {"down": True}
    s.materialize("down").advance(minutes=1).evaluate()
    assert s.requested() == {}
    s.materialize("up").advance(minutes=1).evaluate()
    assert s.requested() == {"down": True}  # the parent updated again


def test_lazy_and_required_for_freshness_never_request():
    @asset(deps=[up], auto_materialize_policy=AutoMaterializePolicy.lazy())
    def lazy_down(): ...

    s = Scenario(up, lazy_down)
    s.evaluate()
    s.materialize("up").advance(minutes=1).evaluate()
    assert s.requested() == {}
    assert "freshness" in s.last.results[lazy_down.key].child_results[0].condition.description


def test_materialize_on_cron_requests_once_per_tick():
    policy = AutoMaterializePolicy(rules={AMR.materialize_on_cron("0 * * * *")})

    @asset(auto_materialize_policy=policy)
    def hourly(): ...

    s = Scenario(hourly)  # 12:30
    s.evaluate()
    assert s.requested() == {}
    s.advance(minutes=40).evaluate()  # 13:10: the 13:00 tick passed
    assert s.requested() == {"hourly": True}
    s.advance(minutes=10).evaluate()
    assert s.requested() == {}


def test_skip_on_not_all_parents_updated_waits_for_every_parent():
    policy = AutoMaterializePolicy(
        rules={AMR.materialize_on_parent_updated(), AMR.skip_on_not_all_parents_updated()}
    )

    @asset(deps=[up, side], auto_materialize_policy=policy)
    def joined(): ...

    s = Scenario(up, side, joined)
    s.evaluate()
    s.materialize("up").advance(minutes=1).evaluate()
    assert s.requested() == {}  # side was never updated
    s.materialize("side").advance(minutes=1).evaluate()
    assert s.requested() == {"joined": True}
    s.materialize("joined").advance(minutes=1).materialize("up").advance(minutes=1).evaluate()
    assert s.requested() == {}  # up updated since joined's materialization, side not
    s.materialize("side").advance(minutes=1).evaluate()
    assert s.requested() == {"joined": True}


@pytest.mark.parametrize(("all_partitions", "after_a"), [(False, True), (True, False)])
def test_require_update_for_all_parent_partitions(all_partitions, after_a):
    @asset(partitions_def=LETTERS)
    def parts(): ...

    rule = AMR.skip_on_not_all_parents_updated(
        require_update_for_all_parent_partitions=all_partitions
    )
    policy = AutoMaterializePolicy(rules={AMR.materialize_on_parent_updated(), rule})

    @asset(deps=[parts], auto_materialize_policy=policy)
    def summary(): ...

    s = Scenario(parts, summary)
    s.evaluate()
    s.materialize("parts", "a").advance(minutes=1).evaluate()
    assert s.requested("summary") is after_a
    if not after_a:
        s.materialize("parts", "b").advance(minutes=1).evaluate()
        assert s.requested("summary") is True


def test_skip_on_required_but_nonexistent_parents():
    @asset(partitions_def=DailyPartitionsDefinition(start_date="2024-06-02"))
    def late(): ...

    condition = AMR.skip_on_required_but_nonexistent_parents().to_automation_condition()

    @asset(
        deps=[late],
        partitions_def=DailyPartitionsDefinition(start_date="2024-06-01"),
        automation_condition=condition,
    )
    def early(): ...

    s = Scenario(late, early)  # 2024-06-03 12:30: partitions 06-01 and 06-02
    s.evaluate()
    assert s.true_of("early") == {"2024-06-01"}  # late has no 2024-05-31... nor 06-01


def test_materialize_on_missing_requests_every_missing_static_partition_once():
    @asset(partitions_def=LETTERS, auto_materialize_policy=EAGER)
    def letters(): ...

    s = Scenario(letters)
    s.evaluate()
    assert s.requested("letters") == {"a", "b"}
    s.advance(minutes=1).evaluate()
    assert s.requested("letters") == set()


def test_a_filter_without_tags_counts_every_update():
    rule = AMR.materialize_on_parent_updated(AutoMaterializeAssetPartitionsFilter())
    assert (
        rule.to_automation_condition()
        == AMR.materialize_on_parent_updated().to_automation_condition()
    )
    assert AutoMaterializeAssetPartitionsFilter({"a": "b"}) == AutoMaterializeAssetPartitionsFilter(
        {"a": "b"}
    )


# -- errors ---------------------------------------------------------------------------------
def test_a_rule_trellis_cannot_map_fails_at_definition_naming_the_asset_and_the_rule():
    whole = AMR.skip_on_backfill_in_progress(all_partitions=True)
    with pytest.raises(
        InvalidDefinitionError,
        match=r"asset 'gated': AutoMaterializeRule.skip_on_backfill_in_progress\(all_partitions="
        r"True\) cannot be converted.*Use AutoMaterializeRule.skip_on_backfill_in_progress\(\)",
    ):

        @asset(auto_materialize_policy=EAGER.with_rules(whole))
        def gated(): ...


def test_a_parent_filter_counts_only_updates_by_runs_with_the_required_tags():
    tagged = AMR.materialize_on_parent_updated(
        AutoMaterializeAssetPartitionsFilter(latest_run_required_tags={"team": "a"})
    )

    @asset(deps=[up], auto_materialize_policy=AutoMaterializePolicy(rules={tagged}))
    def picky(): ...

    s = Scenario(up, picky)
    s.evaluate()
    s.materialize("up", tags={"team": "b"}).advance(minutes=1).evaluate()
    assert s.requested() == {}
    s.materialize("up", tags={"team": "a", "other": "x"}).advance(minutes=1).evaluate()
    assert s.requested() == {"picky": True}
    s.advance(minutes=1).evaluate()
    assert s.requested() == {}  # handled
    s.materialize("up").advance(minutes=1).evaluate()  # no tags
    assert s.requested() == {}


def test_bad_arguments_are_refused_with_what_was_wrong():
    with pytest.raises(
        InvalidDefinitionError, match="auto_materialize_policy must be an AutoMaterializePolicy"
    ):

        @asset(auto_materialize_policy="eager")
        def wrong(): ...

    with pytest.raises(
        InvalidDefinitionError, match="pass automation_condition= or auto_materialize_policy="
    ):
        AssetSpec(
            "x", auto_materialize_policy=EAGER, automation_condition=AutomationCondition.eager()
        )
    with pytest.raises(
        InvalidDefinitionError, match="max_materializations_per_minute must be a positive"
    ):
        AutoMaterializePolicy.eager(max_materializations_per_minute=0)
    with pytest.raises(InvalidDefinitionError, match="Invalid cron schedule 'often'"):
        AMR.materialize_on_cron("often")
    with pytest.raises(InvalidDefinitionError, match="Unknown timezone 'Mars/Base'"):
        AMR.skip_on_not_all_parents_updated_since_cron("0 0 * * *", "Mars/Base")
    with pytest.raises(
        InvalidDefinitionError,
        match="updated_parent_filter must be an AutoMaterializeAssetPartitionsFilter",
    ):
        AMR.materialize_on_parent_updated({"team": "a"})
    with pytest.raises(
        InvalidDefinitionError, match="latest_run_required_tags must map strings to strings"
    ):
        AutoMaterializeAssetPartitionsFilter(latest_run_required_tags={"n": 1})


def test_skip_on_parent_outdated_holds_while_a_parent_is_being_updated():
    @asset(deps=[up], auto_materialize_policy=EAGER)
    def follows(): ...

    s = Scenario(up, follows)
    s.evaluate()
    s.materialize("up").advance(minutes=1)
    s.state.progress[up.key] = {None}  # a run is updating up again
    s.evaluate()
    assert s.requested() == {}
    s.state.progress.clear()
    s.advance(minutes=1).evaluate()
    assert s.requested() == {"follows": True}


def test_skip_on_not_all_parents_updated_since_cron_is_the_negated_composite():
    rule = AMR.skip_on_not_all_parents_updated_since_cron("0 9 * * *", "Europe/Paris")
    condition = rule.to_automation_condition()
    assert condition.name == "NOT"
    assert condition.children[0] == AutomationCondition.all_deps_updated_since_cron(
        "0 9 * * *", "Europe/Paris"
    )
