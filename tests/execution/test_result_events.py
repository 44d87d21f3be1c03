"""``ExecuteInProcessResult``'s event queries (Dagster's ``ExecutionResult`` API)."""

import pytest

from trellis import (
    AssetObservation,
    DagsterError,
    DagsterStepOutputNotFoundError,
    InvariantViolationError,
    OpExecutionContext,
    RetryPolicy,
    graph,
    job,
    op,
)

attempts: list[int] = []


@op(retry_policy=RetryPolicy(max_retries=2))
def flaky() -> int:
    attempts.append(1)
    if len(attempts) < 3:
        raise ValueError("not yet")
    return 1


@op
def observe(context: OpExecutionContext, x: int) -> int:
    context.log_event(AssetObservation("watched", metadata={"x": x}))
    return x + 1


@graph
def inner(x):
    return observe(x)


@job
def pipeline():
    inner(flaky())


def test_queries_by_node_graph_and_type():
    attempts.clear()
    result = pipeline.execute_in_process()
    assert result.retry_attempts_for_node("flaky") == 2
    assert result.retry_attempts_for_node("inner") == 0
    # a graph's name covers the ops inside it
    assert {e.step_key for e in result.events_for_node("inner")} == {"inner.observe"}
    assert result.events_for_node("observe") == result.events_for_node("inner.observe")
    assert result.compute_events_for_handle("inner") == result.events_for_node("inner")
    [observation] = result.asset_observations_for_node("inner")
    assert observation.metadata["x"].value == 1
    assert result.get_job_success_event().event_type_value == "RUN_SUCCESS"
    assert result.get_run_success_event() is result.get_job_success_event()  # older name
    with pytest.raises(DagsterError, match="no RUN_FAILURE event"):
        result.get_job_failure_event()
    assert len(result.get_step_success_events()) == 2
    assert result.get_failed_step_keys() == set()
    assert result.failure_data_for_node("flaky") is None
    assert all(e.step_key for e in result.all_node_events)
    assert result.get_asset_check_evaluations() == []
    assert result.expectation_results_for_node("flaky") == []
    with pytest.raises(InvariantViolationError, match="ASSET_MATERIALIZATION_PLANNED"):
        result.get_asset_materialization_planned_events()
    with pytest.raises(InvariantViolationError, match="No single node named 'nope'"):
        result.events_for_node("nope")


def test_untouched_nodes_and_step_keys_of_failures():
    @op
    def boom() -> int:
        raise RuntimeError("boom")

    @op
    def never(x: int) -> int:
        return x

    @op
    def alone() -> int:
        return 1

    @job
    def broken():
        never(boom())
        alone()

    result = broken.execute_in_process(raise_on_error=False, op_selection=["boom", "never"])
    assert result.get_failed_step_keys() == {"boom"}
    assert result.is_node_untouched("alone")
    assert not result.is_node_untouched("never")  # skipped, with an event saying so
    assert result.failure_data_for_node("boom").error.cause.cls_name == "RuntimeError"
    assert result.failure_data_for_node("boom").user_failure_data is None
    with pytest.raises(DagsterStepOutputNotFoundError):
        result.output_for_node("never")
