"""The op context: op name (aliases and repeats included), config, run id and run; one plan
context per run and one step context per step; ``OpExecutionContext.get``."""

import pytest

from trellis import (
    InvariantViolationError,
    OpExecutionContext,
    PlanOrchestrationContext,
    StepExecutionContext,
    job,
    op,
)

# -- the op context -----------------------------------------------------------------------


def test_context_gives_op_name_config_run_id_and_run():
    seen = {}

    @op(config_schema={"n": int})
    def inspect_me(context: OpExecutionContext):
        seen["name"] = context.op.name
        seen["config"] = context.op_config
        seen["run_id"] = context.run_id
        seen["run"] = context.run
        seen["job_name"] = context.job_name
        seen["retry"] = context.retry_number

    @job
    def inspecting():
        inspect_me()

    result = inspecting.execute_in_process(run_config={"ops": {"inspect_me": {"config": {"n": 2}}}})
    assert seen["name"] == "inspect_me"
    assert seen["config"] == {"n": 2}
    assert seen["run_id"] == result.run_id
    assert seen["run"] is result.run
    assert seen["job_name"] == "inspecting"
    assert seen["retry"] == 0


def test_context_op_name_is_the_node_name_for_aliases_and_repeats():
    names = []

    @op
    def who(context):
        names.append(context.op.name)

    @job
    def repeated():
        who()
        who()
        who.alias("custom")()

    repeated.execute_in_process()
    assert names == ["who", "who_2", "custom"]


def test_one_plan_context_per_run_and_one_step_context_per_step():
    seen = []

    @op
    def first(context):
        seen.append(context.get_step_execution_context())
        return 1

    @op
    def second(context, x):
        seen.append(context.get_step_execution_context())
        return x

    @job
    def two_steps():
        second(first())

    result = two_steps.execute_in_process()
    first_ctx, second_ctx = seen
    assert isinstance(first_ctx, StepExecutionContext)
    assert first_ctx is not second_ctx
    assert first_ctx.step_key == "first" and second_ctx.step_key == "second"
    assert isinstance(first_ctx.plan_context, PlanOrchestrationContext)
    assert first_ctx.plan_context is second_ctx.plan_context
    assert first_ctx.plan_context.run_id == result.run_id

    seen.clear()
    two_steps.execute_in_process()
    assert seen[0].plan_context is not first_ctx.plan_context


def test_op_execution_context_get_returns_the_running_context():
    seen = {}

    def helper():
        return OpExecutionContext.get()

    @op
    def body(context):
        seen["same"] = helper() is context
        seen["key"] = helper().op.name

    @job
    def getting():
        body()

    getting.execute_in_process()
    assert seen == {"same": True, "key": "body"}
    with pytest.raises(InvariantViolationError, match="outside a running op"):
        OpExecutionContext.get()
