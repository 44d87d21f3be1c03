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
