"""What the instance-backed state view reads from real runs: materializations, runs in
progress (by asset selection, by asset job, by partition tag), failed runs."""

from __future__ import annotations

import pytest

from trellis import (
    AutomationCondition,
    Definitions,
    StaticPartitionsDefinition,
    asset,
    define_asset_job,
    evaluate_automation_conditions,
    instance_for_test,
    materialize,
)
from trellis.core.events import Event, EventType
from trellis.core.run import PARTITION_TAG, Run, RunStatus

AC = AutomationCondition
LETTERS = StaticPartitionsDefinition(["a", "b"])


@pytest.fixture
def instance():
    with instance_for_test() as made:
        yield made


def _running(instance, job_name="__ASSET_JOB", asset_selection=None, tags=None, status=None):
    run = instance.add_run(
        Run(new_id(), job_name, asset_selection=asset_selection, tags=tags or {})
    )
    instance.handle_new_events([Event(EventType.RUN_START, run.run_id, job_name)], run)
    if status is not None:
        run.status = status
        instance.update_run(run)
    return run


_ids = iter(range(10**6))


def new_id() -> str:
    return f"00000000-0000-4000-8000-{next(_ids):012d}"


@asset(automation_condition=AC.in_progress())
def watched(): ...


@asset(partitions_def=LETTERS, automation_condition=AC.in_progress())
def lettered(): ...


def test_a_run_selecting_the_asset_is_in_progress_until_it_ends(instance):
    defs = Definitions(assets=[watched])
    assert evaluate_automation_conditions(defs, instance).total_requested == 0
    run = _running(instance, asset_selection=["watched"])
    assert evaluate_automation_conditions(defs, instance).get_num_requested("watched") == 1
    instance.handle_new_events([Event(EventType.RUN_SUCCESS, run.run_id, run.job_name)], run)
    assert evaluate_automation_conditions(defs, instance).total_requested == 0


def test_queued_runs_count_as_in_progress(instance):
    defs = Definitions(assets=[watched])
    instance.add_run(
        Run(new_id(), "__ASSET_JOB", asset_selection=["watched"], status=RunStatus.QUEUED)
    )
    assert evaluate_automation_conditions(defs, instance).total_requested == 1


def test_a_run_of_an_asset_job_targets_its_assets(instance):
    job = define_asset_job("watch_job", selection=[watched])
    defs = Definitions(assets=[watched], jobs=[job])
    _running(instance, job_name="watch_job")
    assert evaluate_automation_conditions(defs, instance).total_requested == 1


def test_a_partition_tag_narrows_the_run_to_its_partition(instance):
    defs = Definitions(assets=[lettered])
    _running(instance, asset_selection=["lettered"], tags={PARTITION_TAG: "b"})
    result = evaluate_automation_conditions(defs, instance)
    assert result.get_requested_partitions("lettered") == {"b"}


@asset(automation_condition=AC.execution_failed())
def flaky(context):
    if context.run.tags.get("fail") == "yes":
        raise RuntimeError("down")


def test_execution_failed_follows_the_latest_run(instance):
    defs = Definitions(assets=[flaky])
    assert evaluate_automation_conditions(defs, instance).total_requested == 0
    result = materialize([flaky], instance=instance, tags={"fail": "yes"}, raise_on_error=False)
    assert not result.success
    assert evaluate_automation_conditions(defs, instance).get_num_requested("flaky") == 1
    materialize([flaky], instance=instance)
    assert evaluate_automation_conditions(defs, instance).total_requested == 0


def test_materializations_of_a_real_run_update_and_fill(instance):
    @asset(partitions_def=LETTERS, automation_condition=AC.missing())
    def filled(): ...

    defs = Definitions(assets=[filled])
    result = evaluate_automation_conditions(defs, instance)
    assert result.get_requested_partitions("filled") == {"a", "b"}
    materialize([filled], instance=instance, partition_key="a")
    result = evaluate_automation_conditions(defs, instance, cursor=result.cursor)
    assert result.get_requested_partitions("filled") == {"b"}
