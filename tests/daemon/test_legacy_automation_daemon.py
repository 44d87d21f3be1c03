"""Assets with Dagster's legacy ``auto_materialize_policy`` requested by the daemon (with a
clock the test moves): on missing, when a parent updates, and not while a skip rule
holds (a parent missing, not every parent updated, a run of the asset in progress)."""

from __future__ import annotations

import pytest
from daemon_helpers import HERE, Harness

from trellis.core.run import RunStatus
from trellis.instance.daemon_records import InstigatorStatus, InstigatorType, TickStatus

SENSOR_NAME = "default_automation_condition_sensor"


@pytest.fixture
def legacy(harness):
    """A daemon over ``legacy_automation_defs.py`` on the instance of the daemon tests'
    ``harness`` (in memory, SQLite, PostgreSQL), its automation sensor running."""
    made = Harness(harness.instance, defs_file=str(HERE / "legacy_automation_defs.py"))
    made.instance.set_instigator_status(
        SENSOR_NAME, InstigatorType.SENSOR, InstigatorStatus.RUNNING
    )
    return made


def _materialize(harness, *names, run=None, tags=None):
    """Materialize ``names`` in this process (as a launched run would, with ``tags``); with
    ``run``, that launched run is marked finished."""
    job = harness.location.definitions.get_implicit_global_asset_job_def()
    result = job.execute_in_process(
        asset_selection=list(names), instance=harness.instance, tags=tags
    )
    assert result.success
    if run is not None:
        run.status = RunStatus.SUCCESS
        harness.instance.update_run(run)


def _tick(harness, seconds):
    """Evaluate at ``T0 + seconds``: the asset selections of the runs the tick launched."""
    before = len(harness.launcher.launched)
    harness.at(seconds)
    tick = harness.instance.get_ticks(SENSOR_NAME)[0]
    assert tick.status in (TickStatus.SUCCESS, TickStatus.SKIPPED), tick.error
    runs = [harness.instance.get_run(r) for r in harness.launcher.launched[before:]]
    return sorted(sorted(run.asset_selection) for run in runs), runs


def test_policies_request_missing_assets_and_children_of_updated_parents(legacy):
    harness = legacy
    launched, runs = _tick(harness, 0)
    # root: missing, no parent: requested. The children of source: source is missing.
    assert launched == [["root"]]
    _materialize(harness, "root", run=runs[0])
    assert _tick(harness, 30)[0] == []  # root was handled: not requested again

    _materialize(harness, "source")
    launched, runs = _tick(harness, 60)
    # child and busy: missing and their parent updated; gated: its other parent is missing.
    assert launched == [["busy", "child"]]
    _materialize(harness, "child", "busy", run=runs[0])
    assert _tick(harness, 90)[0] == []

    _materialize(harness, "other")
    launched, runs = _tick(harness, 120)
    assert launched == [["gated"]]  # every parent now updated since gated's (none) run
    _materialize(harness, "gated", run=runs[0])


def test_skip_rules_hold_requests_back_until_they_no_longer_apply(legacy):
    harness = legacy
    _materialize(harness, "source", "other")
    launched, runs = _tick(harness, 0)
    assert launched == [["busy", "child", "gated", "root"]]
    _materialize(harness, "busy", "child", "gated", "root", run=runs[0])
    assert _tick(harness, 30)[0] == []

    # busy's next run stays in progress (the recording launcher starts nothing).
    _materialize(harness, "source")
    launched, _ = _tick(harness, 60)
    # gated: other was not updated since gated's latest materialization.
    assert launched == [["busy", "child"]]

    _materialize(harness, "source")
    launched, _ = _tick(harness, 90)
    # child (no in-progress rule) is requested again; busy's run is still in progress.
    assert launched == [["child"]]

    _materialize(harness, "other")
    launched, _ = _tick(harness, 120)
    assert launched == [["gated"]]  # both parents updated since gated last materialized
    evaluations = harness.instance.get_automation_evaluations("gated", limit=3)
    assert evaluations[0].num_requested == 1


def test_a_parent_filter_reads_the_tags_of_the_run_that_updated_the_parent(legacy):
    harness = legacy
    _materialize(harness, "source", "other", "root", "child", "gated", "busy")
    assert _tick(harness, 0)[0] == []
    _materialize(harness, "feed", tags={"release": "no"})
    assert _tick(harness, 30)[0] == []
    _materialize(harness, "feed", tags={"release": "yes"})
    assert _tick(harness, 60)[0] == [["released"]]
