"""A run pauses the automatic cyclic garbage collector and always gives it back."""

import gc

import pytest

from trellis import asset, job, materialize_to_memory, op


def test_collector_is_paused_during_a_run_and_restored_after_success_and_failure():
    seen = []

    @op
    def look():
        seen.append(gc.isenabled())

    @op
    def boom():
        raise ValueError("x")

    @job
    def ok():
        look()

    @job
    def bad():
        boom()

    assert gc.isenabled()
    ok.execute_in_process()
    assert seen == [False] and gc.isenabled()
    with pytest.raises(ValueError):
        bad.execute_in_process()
    assert gc.isenabled()


def test_a_collector_the_user_turned_off_stays_off():
    @asset
    def a():
        return 1

    gc.disable()
    try:
        materialize_to_memory([a])
        assert not gc.isenabled()
    finally:
        gc.enable()


def test_definitions_and_plans_are_built_with_the_collector_paused_and_it_comes_back():
    from trellis import Definitions
    from trellis.plan.plan import build_execution_plan

    seen = []
    real_disable = gc.disable

    def recording_disable():
        seen.append("disabled")
        real_disable()

    @asset
    def a():
        return 1

    gc.disable = recording_disable
    try:
        defs = Definitions(assets=[a])
        build_execution_plan(defs.get_implicit_global_asset_job_def())
    finally:
        gc.disable = real_disable
    assert len(seen) >= 2 and gc.isenabled()
