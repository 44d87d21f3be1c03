"""Freshness policies: ``FreshnessPolicy.time_window`` / ``.cron`` and
``LegacyFreshnessPolicy`` evaluated to PASS / WARN / FAIL / UNKNOWN across time with a
fixed clock; attached with ``freshness_policy=`` and ``apply_freshness_policy``; the state
read from the latest update stored in a SQLite or PostgreSQL instance."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from trellis import (
    AssetMaterialization,
    AssetObservation,
    AssetOut,
    AssetSpec,
    Definitions,
    FreshnessPolicy,
    LegacyFreshnessPolicy,
    apply_freshness_policy,
    asset,
    graph_multi_asset,
    materialize,
    multi_asset,
    op,
)
from trellis.core.errors import InvalidDefinitionError
from trellis.defs.freshness_policy import FreshnessState
from trellis.instance.freshness import freshness_by_key, get_freshness

PASS, WARN, FAIL, UNKNOWN = (
    FreshnessState.PASS,
    FreshnessState.WARN,
    FreshnessState.FAIL,
    FreshnessState.UNKNOWN,
)
NOON = datetime(2024, 6, 3, 12, 0, tzinfo=UTC).timestamp()
HOUR = 3600.0


def _states(policy, updated, offsets_in_hours):
    return [policy.evaluate(updated, updated + h * HOUR)[0] for h in offsets_in_hours]


def test_a_time_window_passes_then_warns_then_fails_as_the_update_ages():
    policy = FreshnessPolicy.time_window(
        fail_window=timedelta(hours=2), warn_window=timedelta(hours=1)
    )
    assert _states(policy, NOON, [0, 1, 1.01, 2, 2.01, 30]) == [PASS, PASS, WARN, WARN, FAIL, FAIL]
    _, why = policy.evaluate(NOON, NOON + 2.5 * HOUR)
    assert why == (
        "last updated 2024-06-03 12:00:00 UTC, 2:30:00 ago: older than the fail window (2:00:00)"
    )
    assert policy.evaluate(None, NOON) == (UNKNOWN, "never updated")
    no_warn = FreshnessPolicy.time_window(fail_window=timedelta(minutes=30))
    assert _states(no_warn, NOON, [0.4, 0.6]) == [PASS, FAIL]


def test_a_cron_policy_needs_an_update_in_the_window_before_each_deadline():
    # Due by 09:00 each day, counting updates from 08:00.
    policy = FreshnessPolicy.cron(deadline_cron="0 9 * * *", lower_bound_delta=timedelta(hours=1))
    day = datetime(2024, 6, 3, tzinfo=UTC).timestamp()
    at = lambda hours: day + hours * HOUR  # noqa: E731
    updated = at(8.5)  # within the window of the 09:00 deadline
    assert [policy.evaluate(updated, at(h))[0] for h in (8.75, 9.5, 24 + 8.9, 24 + 9.1)] == [
        PASS,  # the latest deadline (yesterday's) is long met
        PASS,
        PASS,  # today's window is open, the deadline not passed
        FAIL,  # today's deadline passed without an update since 08:00
    ]
    early = at(7.5)  # before the window opened
    assert policy.evaluate(early, at(9.5))[0] is FAIL
    assert (
        "before the window of the deadline 2024-06-03 09:00:00 UTC opened"
        in (policy.evaluate(early, at(9.5))[1])
    )
    late = at(10)  # after the deadline: it counts until the next deadline
    assert policy.evaluate(late, at(24 + 8))[0] is PASS
    paris = FreshnessPolicy.cron("0 9 * * *", timedelta(hours=1), timezone="Europe/Paris")
    # 09:00 in Paris is 07:00 UTC in June: an update at 06:30 UTC meets it.
    assert paris.evaluate(at(6.5), at(7.5))[0] is PASS
    assert paris.evaluate(at(5.5), at(7.5))[0] is FAIL


def test_a_legacy_policy_fails_past_its_maximum_lag():
    plain = LegacyFreshnessPolicy(maximum_lag_minutes=60)
    assert _states(plain, NOON, [0.5, 1, 1.5]) == [PASS, PASS, FAIL]
    assert plain.evaluate(None, NOON)[0] is UNKNOWN
    # As of each 06:00 tick, data at most 2 hours old.
    cron = LegacyFreshnessPolicy(maximum_lag_minutes=120, cron_schedule="0 6 * * *")
    day = datetime(2024, 6, 3, tzinfo=UTC).timestamp()
    assert cron.evaluate(day + 4.5 * HOUR, day + 20 * HOUR)[0] is PASS  # 1.5 h before 06:00
    assert cron.evaluate(day + 3.5 * HOUR, day + 6.5 * HOUR)[0] is FAIL
    assert cron.evaluate(day + 3.5 * HOUR, day + 5.5 * HOUR)[0] is PASS  # yesterday's tick


def test_policies_are_data_equal_when_built_alike():
    a = FreshnessPolicy.time_window(fail_window=timedelta(hours=1))
    assert a == FreshnessPolicy.time_window(timedelta(hours=1)) and hash(a) == hash(
        FreshnessPolicy.time_window(timedelta(hours=1))
    )
    assert a.fail_window == timedelta(hours=1) and a.warn_window is None
    cron = FreshnessPolicy.cron("0 9 * * *", timedelta(hours=1), "Europe/Paris")
    assert (cron.deadline_cron, cron.lower_bound_delta, cron.timezone) == (
        "0 9 * * *",
        timedelta(hours=1),
        "Europe/Paris",
    )
    legacy = LegacyFreshnessPolicy(30, cron_schedule="0 * * * *", cron_schedule_timezone="UTC")
    assert legacy.maximum_lag_minutes == 30 and legacy.maximum_lag_delta == timedelta(minutes=30)


def test_bad_policies_are_refused_saying_what_is_wrong():
    with pytest.raises(
        InvalidDefinitionError, match=r"warn_window .* must be shorter than fail_window"
    ):
        FreshnessPolicy.time_window(fail_window=timedelta(hours=1), warn_window=timedelta(hours=2))
    with pytest.raises(InvalidDefinitionError, match="fail_window must be a timedelta of at least"):
        FreshnessPolicy.time_window(fail_window=timedelta(seconds=10))
    with pytest.raises(InvalidDefinitionError, match=r"fail_window must be a timedelta.*got 60"):
        FreshnessPolicy.time_window(fail_window=60)
    with pytest.raises(
        InvalidDefinitionError, match=r"lower_bound_delta .* is longer than the time"
    ):
        FreshnessPolicy.cron("0 * * * *", lower_bound_delta=timedelta(hours=2))
    with pytest.raises(InvalidDefinitionError, match="Invalid cron schedule 'daily'"):
        FreshnessPolicy.cron("daily", lower_bound_delta=timedelta(hours=2))
    with pytest.raises(InvalidDefinitionError, match="unknown timezone 'Nowhere'"):
        FreshnessPolicy.cron("0 0 * * *", timedelta(hours=1), timezone="Nowhere")
    with pytest.raises(
        InvalidDefinitionError, match=r"cannot be built directly: use FreshnessPolicy.time_window"
    ):
        FreshnessPolicy()
    with pytest.raises(InvalidDefinitionError, match="maximum_lag_minutes must be a non-negative"):
        LegacyFreshnessPolicy(maximum_lag_minutes=-1)
    with pytest.raises(InvalidDefinitionError, match="cron_schedule_timezone is given without"):
        LegacyFreshnessPolicy(10, cron_schedule_timezone="UTC")
    with pytest.raises(InvalidDefinitionError, match=r"AssetSpec\('x'\): freshness_policy must be"):
        AssetSpec("x", freshness_policy=timedelta(hours=1))
    with pytest.raises(
        InvalidDefinitionError, match="legacy_freshness_policy must be a LegacyFreshness"
    ):
        AssetSpec("x", legacy_freshness_policy=FreshnessPolicy.time_window(timedelta(hours=1)))


def test_the_old_constructor_call_makes_a_legacy_policy_with_a_warning():
    with pytest.warns(DeprecationWarning, match="use LegacyFreshnessPolicy"):
        policy = FreshnessPolicy(maximum_lag_minutes=15)
    assert policy == LegacyFreshnessPolicy(maximum_lag_minutes=15)
    spec = AssetSpec("x", freshness_policy=policy)  # moved to the legacy attribute
    assert spec.freshness_policy is None and spec.legacy_freshness_policy == policy


HOURLY = FreshnessPolicy.time_window(fail_window=timedelta(hours=2), warn_window=timedelta(hours=1))
DAILY = FreshnessPolicy.cron("0 9 * * *", timedelta(hours=1))


def test_policies_attach_to_assets_specs_outs_and_many_at_once():
    @asset(freshness_policy=HOURLY)
    def fresh(): ...

    @asset(legacy_freshness_policy=LegacyFreshnessPolicy(30))
    def old_style(): ...

    @multi_asset(outs={"a": AssetOut(freshness_policy=DAILY), "b": AssetOut()})
    def pair(): ...

    specs = {
        k.to_user_string(): s for d in (fresh, old_style, pair) for k, s in d.specs_by_key.items()
    }
    assert specs["fresh"].freshness_policy == HOURLY
    assert specs["old_style"].legacy_freshness_policy == LegacyFreshnessPolicy(30)
    assert specs["a"].freshness_policy == DAILY and specs["b"].freshness_policy is None

    @op
    def make():
        return 1

    @graph_multi_asset(outs={"g": AssetOut(freshness_policy=HOURLY)})
    def graphed():
        return {"g": make()}

    assert graphed.specs_by_key[graphed.key].freshness_policy == HOURLY

    applied = apply_freshness_policy(
        [fresh, pair, AssetSpec("ext")], DAILY, overwrite_existing=False
    )
    got = {
        k.to_user_string(): s.freshness_policy
        for d in applied[:2]
        for k, s in d.specs_by_key.items()
    }
    assert got == {"fresh": HOURLY, "a": DAILY, "b": DAILY}  # fresh kept its own
    assert applied[2].freshness_policy == DAILY
    overwritten = apply_freshness_policy([fresh], DAILY)
    assert overwritten[0].specs_by_key[fresh.key].freshness_policy == DAILY
    assert fresh.specs_by_key[fresh.key].freshness_policy == HOURLY  # copies, not changed
    with pytest.raises(
        InvalidDefinitionError, match="apply_freshness_policy: freshness_policy must"
    ):
        apply_freshness_policy([fresh], LegacyFreshnessPolicy(5))


@asset(freshness_policy=HOURLY)
def tracked(): ...


@asset(freshness_policy=LegacyFreshnessPolicy(maximum_lag_minutes=30))
def legacy_tracked(): ...


@asset
def untracked(): ...


EXTERNAL = AssetSpec("external", freshness_policy=HOURLY)


def test_the_state_is_read_from_the_latest_update_in_the_instance(instance):
    defs = Definitions(assets=[tracked, legacy_tracked, untracked, EXTERNAL])
    graph = defs.asset_graph
    assert get_freshness(instance, graph, untracked.key) is None
    never = get_freshness(instance, graph, tracked.key, now=NOON)
    assert (never.state, never.last_updated_timestamp) == (UNKNOWN, None)

    materialize([tracked, legacy_tracked], instance=instance)
    updated = instance.get_latest_materialization_record(tracked.key).timestamp
    states = [
        get_freshness(instance, graph, tracked.key, now=updated + h * HOUR).state
        for h in (0.5, 1.5, 2.5)
    ]
    assert states == [PASS, WARN, FAIL]
    result = get_freshness(instance, graph, tracked.key, now=updated + 1.5 * HOUR)
    assert result.last_updated_timestamp == updated and result.policy == HOURLY
    assert result.to_dict()["state"] == "WARN"
    assert result.to_dict()["policy"] == "updated within 2:00:00, warn after 1:00:00"

    all_states = freshness_by_key(instance, graph, now=updated + 0.75 * HOUR)
    assert {k.to_user_string(): r.state for k, r in all_states.items()} == {
        "external": UNKNOWN,
        "legacy_tracked": FAIL,  # more than 30 minutes old
        "tracked": PASS,
    }
    # An external asset is updated by its observations too.
    instance.report_runless_asset_event(AssetObservation(asset_key="external"))
    observed = get_freshness(instance, graph, EXTERNAL.key)
    assert observed.state is PASS and observed.last_updated_timestamp is not None
    instance.report_runless_asset_event(AssetMaterialization(asset_key="external"))
    assert get_freshness(instance, graph, EXTERNAL.key).state is PASS
