"""``execute_job`` with ``reconstructable`` jobs, as Dagster's tests use it: steps run in
worker processes that load the job again by reference (a module attribute, a function,
a function with arguments); outputs are read inside the ``with`` block; re-execution
from failure; and the jobs that cannot be found again are refused, saying why."""

from __future__ import annotations

import os

import pytest
from execute_job_defs import flaky, in_workers, make_default

from trellis import (
    Instance,
    InvalidDefinitionError,
    JobExecutionResult,
    ReexecutionOptions,
    RunStatus,
    build_reconstructable_job,
    execute_job,
    job,
    op,
    reconstructable,
)
from trellis.core.errors import InvalidInvocationError, InvariantViolationError


@pytest.fixture
def instance(tmp_path):
    inst = Instance.from_config(tmp_path / "home", {})
    yield inst
    inst.dispose()


def test_a_reconstructable_job_runs_its_steps_in_workers_and_outputs_are_read_in_the_block(
    instance,
):
    with execute_job(reconstructable(in_workers), instance=instance) as result:
        assert isinstance(result, JobExecutionResult)
        assert result.success
        produced = result.output_for_node("produce")
        doubled = result.output_for_node("double")
    assert produced != os.getpid() and doubled["from"] == produced  # a worker process
    assert instance.get_run(result.run_id).status is RunStatus.SUCCESS
    with pytest.raises(InvariantViolationError, match="inside its with block"):
        result.output_for_node("produce")


def test_jobs_built_by_functions_with_and_without_arguments(instance):
    with execute_job(reconstructable(make_default), instance=instance) as result:
        assert result.output_for_node("times_3") == 21
    recon = build_reconstructable_job("execute_job_defs", "make_job", reconstructable_args=(5,))
    assert recon.job_name == "times_5_job"
    with execute_job(recon, instance=instance) as result:
        assert result.success and result.output_for_node("times_5") == 35


def test_reexecution_from_failure_runs_the_steps_that_did_not_succeed(instance, tmp_path):
    config = {"ops": {"fails_once": {"config": {"flag_file": str(tmp_path / "flag")}}}}
    recon = reconstructable(flaky)
    with execute_job(recon, instance=instance, run_config=config) as first:
        assert not first.success
    options = ReexecutionOptions.from_failure(first.run_id, instance)
    with execute_job(recon, instance=instance, reexecution_options=options) as second:
        assert second.success
        assert second.output_for_node("after") == "second attempt!"
    assert second.run.tags["trellis/parent_run_id"] == first.run_id
    with pytest.raises(InvalidInvocationError, match="not FAILURE"):
        ReexecutionOptions.from_failure(second.run_id, instance)


def test_what_cannot_be_loaded_again_is_refused():
    @op
    def local() -> int:
        return 1

    @job
    def inner_job():
        local()

    with pytest.raises(InvalidDefinitionError, match="not held by a module attribute"):
        reconstructable(inner_job)
    with pytest.raises(InvalidDefinitionError, match="not a module-level function"):
        reconstructable(lambda: inner_job)
    with pytest.raises(InvalidInvocationError, match="reconstructable"):
        execute_job(inner_job, instance=Instance.ephemeral())
    with pytest.raises(InvalidInvocationError, match="no attribute 'nope'"):
        build_reconstructable_job("execute_job_defs", "nope")
