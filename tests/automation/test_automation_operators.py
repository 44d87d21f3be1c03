"""The operators (AND, OR, NOT, since, newly_true, the dependency operators) and how
conditions are built, labelled, compared and rewritten."""

from __future__ import annotations

from datetime import datetime

import pytest
from automation_helpers import Scenario

from trellis import (
    AssetSelection,
    AutomationCondition,
    AutomationContext,
    AutomationResult,
    StaticPartitionsDefinition,
    asset,
)
from trellis.automation.evaluator import AutomationEvaluationError
from trellis.core.errors import InvalidDefinitionError

AC = AutomationCondition
ABC = StaticPartitionsDefinition(["a", "b", "c"])


def single(condition, **asset_kwargs):
    @asset(automation_condition=condition, **asset_kwargs)
    def target(): ...

    return target


def test_and_or_not_per_partition():
    s = Scenario(
        single(AC.missing() & ~AC.in_progress() | AC.execution_failed(), partitions_def=ABC)
    )
    key = s.defs.get_assets_def("target").key
    s.materialize("target", "a")
    s.state.progress[key] = {"b"}
    s.state.failures[key] = {"a"}
    s.evaluate()
    assert s.true_of("target") == {"a", "c"}  # (missing: b, c) minus in progress b, or failed a


def test_and_narrows_the_candidates_of_later_operands():
    s = Scenario(single(AC.in_latest_time_window() & AC.missing(), partitions_def=ABC))
    s.materialize("target", "a").evaluate()
    tree = s.last.trees[s.defs.get_assets_def("target").key]
    assert [c["num_candidates"] for c in tree["children"]] == [3, 3]
    s = Scenario(single(AC.missing() & AC.missing().with_label("again"), partitions_def=ABC))
    s.materialize("target", "a").evaluate()
    tree = s.last.trees[s.defs.get_assets_def("target").key]
    assert [c["num_candidates"] for c in tree["children"]] == [3, 2]


def test_unlabelled_ands_and_ors_flatten_labelled_ones_do_not():
    a, b, c = AC.missing(), AC.newly_updated(), AC.in_progress()
    assert len((a & b & c).children) == 3
    assert len((a | b | c).children) == 3
    assert len(((a & b).with_label("x") & c).children) == 2


def test_built_in_conditions_are_values():
    assert AC.eager() == AC.eager()
    assert hash(AC.on_cron("@daily")) == hash(AC.on_cron("@daily"))
    assert AC.on_cron("@daily") != AC.on_cron("@hourly")
    assert AC.eager().fingerprint() == AC.eager().fingerprint()
    assert AC.missing().with_label("m") != AC.missing()


def test_since_holds_from_the_trigger_until_the_reset():
    s = Scenario(single(AC.newly_updated().since(AC.newly_requested())))
    s.evaluate()
    s.materialize("target").evaluate()  # updated: requested
    assert s.true_of("target") is True
    s.evaluate()  # still true: nothing reset it... but it was requested last tick
    assert s.true_of("target") is False


def test_since_with_a_status_reset():
    s = Scenario(single(AC.newly_updated().since(AC.in_progress()), partitions_def=ABC))
    key = s.defs.get_assets_def("target").key
    s.evaluate()
    s.materialize("target", "a").materialize("target", "b").evaluate()
    assert s.true_of("target") == {"a", "b"}
    s.evaluate()
    assert s.true_of("target") == {"a", "b"}  # remembered
    s.state.progress[key] = {"a"}
    s.evaluate()
    assert s.true_of("target") == {"b"}


def test_since_reset_wins_in_one_evaluation_unless_the_trigger_was_later():
    @asset(automation_condition=AC.newly_updated().since(AC.cron_tick_passed("0 * * * *")))
    def target(): ...

    s = Scenario(target, start=datetime(2024, 1, 1, 0, 55))
    s.evaluate()
    # updated at 00:58, then the 01:00 tick: the reset is later
    s.materialize("target", at=datetime(2024, 1, 1, 0, 58).timestamp())
    s.advance(minutes=10).evaluate()
    assert s.true_of("target") is False
    # updated at 02:03, after the 02:00 tick, both seen by one evaluation: the trigger wins
    s.advance(hours=1)
    s.materialize("target", at=datetime(2024, 1, 1, 2, 3).timestamp())
    s.advance(minutes=1).evaluate()
    assert s.true_of("target") is True


def test_since_without_timing_lets_the_reset_win():
    s = Scenario(single(AC.missing().since(AC.missing())))
    s.evaluate()
    assert s.true_of("target") is False


def test_since_keeps_its_state_when_the_tree_around_it_changes():
    since = AC.newly_updated().since(AC.newly_requested())
    s = Scenario(single(since))
    s.evaluate()
    s.materialize("target").evaluate()
    assert s.true_of("target") is True
    # the same since, now inside an AND with a label: its remembered state is kept
    s.defs = Scenario(single((AC.in_latest_time_window() & since).with_label("x"))).defs
    s.evaluate()
    assert s.true_of("target") is False  # it was requested last time: reset


def test_newly_true():
    s = Scenario(single(AC.missing().newly_true(), partitions_def=ABC))
    s.materialize("target", "a").evaluate()
    assert s.true_of("target") == {"b", "c"}  # nothing before: all newly true
    s.evaluate()
    assert s.true_of("target") == set()


def test_since_last_handled_is_reset_by_a_request_an_update_or_the_first_evaluation():
    condition = AC.newly_updated().since_last_handled()
    assert condition.reset_condition.get_label() == "handled"

    @asset
    def up(): ...

    @asset(
        deps=[up], automation_condition=AC.any_deps_match(AC.newly_updated()).since_last_handled()
    )
    def down(): ...

    s = Scenario(up, down)
    s.materialize("up").evaluate()  # the first evaluation resets
    assert s.true_of("down") is False
    s.materialize("up").evaluate()
    assert s.true_of("down") is True
    s.evaluate()  # requested last time: handled
    assert s.true_of("down") is False
    s.materialize("up").evaluate()
    assert s.true_of("down") is True
    s.materialize("down").evaluate()  # updated: handled
    assert s.true_of("down") is False


def _pipeline(condition):
    @asset
    def first(): ...

    @asset
    def second(): ...

    @asset(deps=[first, second], automation_condition=condition)
    def target(): ...

    return first, second, target


def test_any_and_all_deps_match():
    s = Scenario(*_pipeline(AC.any_deps_match(AC.missing())))
    s.materialize("first").evaluate()
    assert s.true_of("target") is True
    s = Scenario(*_pipeline(AC.all_deps_match(AC.missing())))
    s.materialize("first").evaluate()
    assert s.true_of("target") is False


def test_deps_match_with_allow_and_ignore():
    any_missing = AC.any_deps_match(AC.missing())
    s = Scenario(*_pipeline(any_missing.ignore(AssetSelection.assets("second"))))
    s.materialize("first").evaluate()
    assert s.true_of("target") is False
    s = Scenario(*_pipeline(any_missing.allow(AssetSelection.assets("second"))))
    s.materialize("first").evaluate()
    assert s.true_of("target") is True
    assert "allow_selection" in any_missing.allow(AssetSelection.assets("second")).name


def test_allow_and_ignore_reach_the_deps_conditions_inside_a_composite():
    s = Scenario(*_pipeline(AC.eager().ignore(AssetSelection.assets("second"))))
    s.materialize("first").evaluate()
    s.materialize("first").evaluate()
    assert s.requested("target") is True  # 'second' is missing, but ignored


def test_all_deps_match_without_deps_is_true():
    s = Scenario(single(AC.all_deps_match(AC.missing())))
    s.evaluate()
    assert s.true_of("target") is True


def test_deps_map_partitions_by_key_and_unpartitioned_to_all():
    @asset(partitions_def=ABC)
    def up(): ...

    @asset(deps=[up], partitions_def=ABC, automation_condition=AC.any_deps_match(AC.missing()))
    def same(): ...

    @asset(deps=[up], automation_condition=AC.any_deps_match(AC.missing()))
    def whole(): ...

    s = Scenario(up, same, whole)
    s.materialize("up", "a").evaluate()
    assert s.true_of("same") == {"b", "c"}
    assert s.true_of("whole") is True  # some partition of up is missing


def test_asset_matches():
    @asset
    def other(): ...

    @asset(automation_condition=AC.asset_matches("other", AC.missing()))
    def target(): ...

    s = Scenario(other, target)
    s.evaluate()
    assert s.true_of("target") is True
    s.materialize("other").evaluate()
    assert s.true_of("target") is False


def test_any_downstream_conditions():
    """Each downstream asset's condition is evaluated for this asset."""

    @asset(automation_condition=AC.any_downstream_conditions())
    def up(): ...

    @asset(deps=[up], automation_condition=AC.missing())
    def down(): ...

    s = Scenario(up, down)
    s.materialize("down").evaluate()
    assert s.true_of("up") is True  # 'missing', down's condition, is true of up
    s.materialize("up").evaluate()
    assert s.true_of("up") is False
    tree = s.last.trees[s.defs.get_assets_def("up").key]
    assert [c["name"] for c in tree["children"]] == ["missing"]


def test_with_label_replace_and_without():
    eager = AC.eager()
    assert eager.get_label() == "eager"
    assert AC.missing().with_label("m").get_label() == "m"
    five_days = AC.in_latest_time_window().with_label("five")
    replaced = AC.on_cron("@daily").replace("in_latest_time_window", five_days)
    assert replaced.children[0] == five_days
    assert AC.eager().replace("eager", AC.missing()) == AC.missing()  # by label
    assert (
        AC.eager().replace(AC.in_progress(), AC.missing()).children[-1].children[0] == AC.missing()
    )
    without = AC.eager().without(AC.in_latest_time_window())
    assert len(without.children) == 4
    with pytest.raises(InvalidDefinitionError, match="is not an operand of this AND"):
        AC.eager().without(AC.code_version_changed())


def test_a_custom_condition_with_a_cursor_and_its_previous_true_subset():
    class EveryOtherTime(AutomationCondition):
        def evaluate(self, context: AutomationContext) -> AutomationResult:
            flip = context.cursor != "on"
            subset = context.candidate_subset if flip else context.get_empty_subset()
            return AutomationResult(context, subset, cursor="on" if flip else "off")

    s = Scenario(single(EveryOtherTime()))
    assert [bool(s.evaluate().requested) for _ in range(4)] == [True, False, True, False]

    class WasTrueBefore(AutomationCondition):
        def evaluate(self, context):
            before = context.previous_true_subset
            true = context.candidate_subset if before is None else context.get_empty_subset()
            return AutomationResult(true, context=context)  # Dagster's older argument order

    s = Scenario(single(WasTrueBefore() | AC.missing().with_label("m")))
    s.evaluate()
    assert s.true_of("target") is True


def test_a_condition_that_raises_names_the_asset():
    class Broken(AutomationCondition):
        def evaluate(self, context):
            raise RuntimeError("boom")

    s = Scenario(single(Broken()))
    with pytest.raises(AutomationEvaluationError, match="asset 'target' raised RuntimeError: boom"):
        s.evaluate()


def test_a_condition_that_returns_something_else_is_refused():
    class Wrong(AutomationCondition):
        def evaluate(self, context):
            return True

    s = Scenario(single(Wrong()))
    with pytest.raises(AutomationEvaluationError, match="must return an AutomationResult"):
        s.evaluate()
