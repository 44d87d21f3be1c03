"""Concurrency pools in the instance, on every back end: limits set, read, listed and
removed; slot claims that respect the limit (or the default limit of ``trellis.yaml``),
hold per run and step, and come back when a step frees them or its run ends; waiting
steps served first come, first served (while they keep asking); bad names and limits
refused with a message that names them."""

from __future__ import annotations

import pytest
from instance_helpers import event, make_run

from trellis.core.errors import InstanceError, InvalidConfigError
from trellis.core.events import EventType
from trellis.instance import pools
from trellis.instance.instance import Instance


def _started(instance: Instance, run_id: str):
    run = make_run(run_id)
    instance.add_run(run)
    instance.handle_new_events([event(run, EventType.RUN_START)], run)
    return run


def test_limits_are_set_read_listed_and_removed(any_instance):
    any_instance.set_concurrency_limit("warehouse", 2)
    any_instance.set_concurrency_limit("api", 0)
    found = any_instance.get_concurrency_limit("warehouse")
    assert (found.limit, found.from_default, found.in_use, found.free) == (2, False, 0, 2)
    any_instance.set_concurrency_limit("warehouse", 3)  # replaces
    assert any_instance.get_concurrency_limit("warehouse").limit == 3
    assert [(p.pool, p.limit) for p in any_instance.get_concurrency_limits()] == [
        ("api", 0),
        ("warehouse", 3),
    ]
    assert any_instance.delete_concurrency_limit("warehouse") is True
    assert any_instance.delete_concurrency_limit("warehouse") is False
    gone = any_instance.get_concurrency_limit("warehouse")
    assert (gone.limit, gone.from_default) == (None, True)  # unlimited: no default set
    assert [p.pool for p in any_instance.get_concurrency_limits()] == ["api"]


def test_a_claim_is_granted_until_the_pool_is_full(any_instance):
    _started(any_instance, "run-a")
    _started(any_instance, "run-b")
    any_instance.set_concurrency_limit("db", 2)
    assert any_instance.claim_concurrency_slot("db", "run-a", "one").granted
    assert any_instance.claim_concurrency_slot("db", "run-b", "one").granted
    refused = any_instance.claim_concurrency_slot("db", "run-b", "two")
    assert (refused.granted, refused.limit, refused.in_use) == (False, 2, 2)
    # a step that holds a slot keeps it: claiming again is granted and takes no other
    again = any_instance.claim_concurrency_slot("db", "run-a", "one")
    assert again.granted and again.in_use == 2
    # other pools are not affected
    assert any_instance.claim_concurrency_slot("api", "run-b", "three").granted
    pool = any_instance.get_concurrency_limit("db")
    assert sorted((s.run_id, s.step_key) for s in pool.slots) == [
        ("run-a", "one"),
        ("run-b", "one"),
    ]
    assert pool.free == 0
    assert any_instance.free_concurrency_slots("run-a", "one") == 1
    assert any_instance.claim_concurrency_slot("db", "run-b", "two").granted
    assert any_instance.free_concurrency_slots("run-b") == 3  # db one, db two, api three
    assert any_instance.get_concurrency_limit("db").in_use == 0


def test_a_pool_with_limit_zero_admits_nothing(any_instance):
    _started(any_instance, "run-a")
    any_instance.set_concurrency_limit("paused", 0)
    claim = any_instance.claim_concurrency_slot("paused", "run-a", "step")
    assert (claim.granted, claim.limit, claim.in_use) == (False, 0, 0)


def test_a_pool_without_a_limit_is_unlimited_and_still_counted(any_instance):
    _started(any_instance, "run-a")
    for i in range(5):
        assert any_instance.claim_concurrency_slot("free", "run-a", f"s{i}").granted
    found = any_instance.get_concurrency_limit("free")
    assert (found.limit, found.in_use, found.free) == (None, 5, None)
    assert [p.pool for p in any_instance.get_concurrency_limits()] == ["free"]


def test_slots_of_a_run_that_ended_go_back_to_the_pool(any_instance):
    finished = _started(any_instance, "run-a")
    _started(any_instance, "run-b")
    any_instance.set_concurrency_limit("db", 1)
    assert any_instance.claim_concurrency_slot("db", "run-a", "step").granted
    assert not any_instance.claim_concurrency_slot("db", "run-b", "step").granted
    any_instance.handle_new_events([event(finished, EventType.RUN_FAILURE)], finished)
    assert any_instance.get_concurrency_limit("db").in_use == 0  # free, though not dropped yet
    assert any_instance.claim_concurrency_slot("db", "run-b", "step").granted
    assert [s.run_id for s in any_instance.get_concurrency_limit("db").slots] == ["run-b"]


def test_the_default_limit_comes_from_trellis_yaml(tmp_path):
    config = {"concurrency": {"pools": {"default_limit": 1}}}
    with Instance.from_config(tmp_path / "home", config) as instance:
        assert instance.default_pool_limit == 1
        _started(instance, "run-a")
        _started(instance, "run-b")
        assert instance.claim_concurrency_slot("anything", "run-a", "s").granted
        refused = instance.claim_concurrency_slot("anything", "run-b", "s")
        assert (refused.granted, refused.limit) == (False, 1)
        found = instance.get_concurrency_limit("anything")
        assert (found.limit, found.from_default) == (1, True)
        instance.set_concurrency_limit("anything", 2)  # its own limit wins
        assert instance.claim_concurrency_slot("anything", "run-b", "s").granted


def test_bad_pool_names_and_limits_are_refused_with_what_was_wrong(any_instance):
    with pytest.raises(InstanceError, match=r"limit of pool 'db' must be a whole number.*-1"):
        any_instance.set_concurrency_limit("db", -1)
    with pytest.raises(InstanceError, match=r"limit of pool 'db'.*'2'"):
        any_instance.set_concurrency_limit("db", "2")
    with pytest.raises(InstanceError, match=r"limit of pool 'db'.*True"):
        any_instance.set_concurrency_limit("db", True)
    with pytest.raises(InstanceError, match="pool must be a non-empty string, got ''"):
        any_instance.set_concurrency_limit("", 1)
    with pytest.raises(InstanceError, match="at most 255"):
        any_instance.get_concurrency_limit("x" * 300)
    assert any_instance.get_concurrency_limits() == []


def test_bad_pool_settings_in_trellis_yaml_name_their_path(tmp_path):
    with pytest.raises(InvalidConfigError) as info:
        Instance.from_config(tmp_path / "home", {"concurrency": {"pools": {"default_limit": -2}}})
    assert "root:concurrency:pools:default_limit must be 0 or more, got -2" in str(info.value)
    with pytest.raises(InvalidConfigError) as info:
        Instance.from_config(tmp_path / "home", {"concurrency": {"pools": {"limit": 2}}})
    assert "limit" in str(info.value) and "root:concurrency:pools" in str(info.value)


def test_limits_and_slots_survive_reopening_the_instance(instance, tmp_path):
    _started(instance, "run-a")
    instance.set_concurrency_limit("db", 1)
    assert instance.claim_concurrency_slot("db", "run-a", "step").granted
    reopened = Instance.from_ref(instance.get_ref())
    try:
        found = reopened.get_concurrency_limit("db")
        assert (found.limit, [s.step_key for s in found.slots]) == (1, ["step"])
        assert not reopened.claim_concurrency_slot("db", "run-b", "step").granted
    finally:
        reopened.dispose()


def test_a_free_slot_goes_to_the_step_that_waited_longest(any_instance):
    for run_id in ("run-a", "run-b", "run-c"):
        _started(any_instance, run_id)
    any_instance.set_concurrency_limit("db", 1)
    assert any_instance.claim_concurrency_slot("db", "run-a", "first").granted
    refused = any_instance.claim_concurrency_slot("db", "run-b", "waits")
    assert (refused.granted, refused.ahead) == (False, 0)
    any_instance.free_concurrency_slots("run-a", "first")
    # run-a asks for its next step at once: run-b's step waited first, so it is refused
    behind = any_instance.claim_concurrency_slot("db", "run-a", "second")
    assert (behind.granted, behind.in_use, behind.ahead) == (False, 0, 1)
    third = any_instance.claim_concurrency_slot("db", "run-c", "late")
    assert (third.granted, third.ahead) == (False, 2)
    found = any_instance.get_concurrency_limit("db")
    assert [(w.run_id, w.step_key) for w in found.waiting] == [
        ("run-b", "waits"),
        ("run-a", "second"),
        ("run-c", "late"),
    ]
    assert any_instance.claim_concurrency_slot("db", "run-b", "waits").granted
    any_instance.free_concurrency_slots("run-b")
    assert not any_instance.claim_concurrency_slot("db", "run-c", "late").granted
    assert any_instance.claim_concurrency_slot("db", "run-a", "second").granted
    assert [w.step_key for w in any_instance.get_concurrency_limit("db").waiting] == ["late"]
    # a run that ends leaves the line
    any_instance.free_concurrency_slots("run-c")
    assert any_instance.get_concurrency_limit("db").waiting == ()


def test_a_waiting_step_that_stopped_asking_does_not_hold_the_line(any_instance, monkeypatch):
    for run_id in ("run-a", "run-b"):
        _started(any_instance, run_id)
    any_instance.set_concurrency_limit("db", 1)
    assert any_instance.claim_concurrency_slot("db", "run-a", "holder").granted
    assert not any_instance.claim_concurrency_slot("db", "run-a", "busy").granted
    any_instance.free_concurrency_slots("run-a", "holder")
    # run-a's waiting step asked just now: it is in line before run-b's
    assert not any_instance.claim_concurrency_slot("db", "run-b", "next").granted
    monkeypatch.setattr(pools, "WAITER_TTL", 0.0)  # both have been silent "too long"
    assert any_instance.claim_concurrency_slot("db", "run-b", "next").granted
    # when run-a asks again, it is first in line again
    monkeypatch.setattr(pools, "WAITER_TTL", 5.0)
    any_instance.free_concurrency_slots("run-b", "next")
    assert not any_instance.claim_concurrency_slot("db", "run-b", "after").granted
    assert any_instance.claim_concurrency_slot("db", "run-a", "busy").granted
