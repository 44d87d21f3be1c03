"""Re-execution: from failure (only failed and skipped steps; earlier outputs loaded
through the IO manager from the run that produced them), or of a step selection."""

import pytest

from trellis import FilesystemIOManager, Instance, job, op
from trellis.api.reexecution import reexecute_run
from trellis.core.errors import InvalidInvocationError
from trellis.core.run import PARENT_RUN_ID_TAG, ROOT_RUN_ID_TAG


@pytest.fixture
def pipeline(tmp_path):
    calls: list[str] = []
    state = {"fail": True}

    @op
    def extract():
        calls.append("extract")
        return 1

    @op
    def transform(x):
        calls.append("transform")
        if state["fail"]:
            raise RuntimeError("flaky upstream")
        return x + 1

    @op
    def load(y):
        calls.append("load")
        return y * 10

    @job(resource_defs={"io_manager": FilesystemIOManager(base_dir=str(tmp_path))})
    def etl():
        load(transform(extract()))

    return etl, calls, state


def test_from_failure_runs_only_failed_and_skipped_steps(pipeline):
    etl, calls, state = pipeline
    instance = Instance.ephemeral()
    first = etl.execute_in_process(instance=instance, raise_on_error=False)
    assert not first.success and calls == ["extract", "transform"]
    assert first.is_node_skipped("load")

    state["fail"] = False
    calls.clear()
    second = reexecute_run(etl, first.run_id, instance=instance, from_failure=True)
    assert second.success
    assert calls == ["transform", "load"]  # extract's output came from the first run
    assert second.output_for_node("load") == 20
    assert second.run.parent_run_id == first.run_id
    assert second.run.root_run_id == first.run_id
    assert second.run.tags[PARENT_RUN_ID_TAG] == first.run_id
    assert second.run.tags[ROOT_RUN_ID_TAG] == first.run_id
    started = [e.step_key for e in second.all_events if e.event_type.value == "STEP_START"]
    assert started == ["transform", "load"]


def test_step_selection_reads_upstream_outputs_from_the_nearest_ancestor(pipeline):
    etl, calls, state = pipeline
    state["fail"] = False
    instance = Instance.ephemeral()
    first = etl.execute_in_process(instance=instance)
    second = reexecute_run(etl, first.run_id, instance=instance, step_selection=["load"])
    third = reexecute_run(etl, second.run_id, instance=instance, step_selection=["load"])
    assert third.success and third.output_for_node("load") == 20
    assert calls == ["extract", "transform", "load", "load", "load"]
    assert third.run.parent_run_id == second.run_id
    assert third.run.root_run_id == first.run_id


def test_from_failure_of_a_successful_run_and_unknown_runs_are_clear_errors(pipeline):
    etl, _, state = pipeline
    state["fail"] = False
    instance = Instance.ephemeral()
    ok = etl.execute_in_process(instance=instance)
    with pytest.raises(InvalidInvocationError, match="succeeded"):
        reexecute_run(etl, ok.run_id, instance=instance, from_failure=True)
    with pytest.raises(InvalidInvocationError, match="No run with id 'nope'"):
        reexecute_run(etl, "nope", instance=instance)
    with pytest.raises(InvalidInvocationError, match="No step 'lod'"):
        reexecute_run(etl, ok.run_id, instance=instance, step_selection=["lod"])


def test_reexecution_of_an_asset_selection_keeps_the_selection(tmp_path):
    from trellis import Definitions, asset

    ran: list[str] = []
    state = {"fail": True}

    @asset
    def a():
        ran.append("a")
        return 1

    @asset
    def b(a):
        ran.append("b")
        return a + 1

    @asset
    def c(b):
        ran.append("c")
        if state["fail"]:
            raise RuntimeError("c broke")
        return b + 1

    defs = Definitions(
        assets=[a, b, c],
        resources={"io_manager": FilesystemIOManager(base_dir=str(tmp_path))},
    )
    instance = Instance.ephemeral()
    job_def = defs.get_implicit_global_asset_job_def()
    job_def.execute_in_process(instance=instance, raise_on_error=False)  # a and b stored
    ran.clear()
    first = job_def.execute_in_process(
        instance=instance, asset_selection=["b", "c"], raise_on_error=False
    )
    assert first.run.asset_selection == ["b", "c"] and ran == ["b", "c"]
    state["fail"] = False
    ran.clear()
    second = reexecute_run(job_def, first.run_id, instance=instance, from_failure=True)
    assert second.success and ran == ["c"] and second.asset_value("c") == 3
    assert second.run.asset_selection == ["b", "c"]


def test_reexecution_of_a_check_only_run_runs_the_same_checks(tmp_path):
    from trellis import AssetCheckResult, AssetSelection, Definitions, asset, asset_check

    state = {"fail": True}

    @asset
    def stock():
        return 5

    @asset_check(asset=stock)
    def in_stock(stock):
        return AssetCheckResult(passed=stock > 0)

    @asset_check(asset=stock)
    def flaky_check(stock):
        if state["fail"]:
            raise RuntimeError("cannot reach the warehouse")
        return AssetCheckResult(passed=True)

    defs = Definitions(
        assets=[stock],
        asset_checks=[in_stock, flaky_check],
        resources={"io_manager": FilesystemIOManager(base_dir=str(tmp_path))},
    )
    instance = Instance.ephemeral()
    job_def = defs.get_implicit_global_asset_job_def()
    job_def.execute_in_process(instance=instance, asset_selection=["stock"], raise_on_error=False)
    first = job_def.execute_in_process(
        instance=instance,
        asset_selection=AssetSelection.checks_for_assets(stock),
        raise_on_error=False,
    )
    assert not first.success and first.run.asset_selection == []
    state["fail"] = False
    second = reexecute_run(job_def, first.run_id, instance=instance, from_failure=True)
    assert second.success
    assert second.run.asset_check_selection == ["stock:flaky_check", "stock:in_stock"]
    assert [e.check_name for e in second.get_asset_check_evaluations()] == ["flaky_check"]
    assert not second.get_asset_materialization_events()
