"""The execution plan: steps keyed as Dagster forms them, inputs with their sources,
outputs keyed by StepOutputHandle, config validated once, built once per run."""

import pytest

from trellis import AssetIn, AssetKey, Out, asset, graph, job, materialize_to_memory, op
from trellis.defs.asset_graph import AssetGraph
from trellis.defs.asset_job import build_asset_job
from trellis.plan import plan as plan_module, run_config as run_config_module
from trellis.plan.plan import build_execution_plan
from trellis.plan.steps import (
    FromLoadableAsset,
    FromMultipleStepOutputs,
    FromStepOutput,
    FromValue,
    StepOutputHandle,
)


@op
def emit_one():
    return 1


@op
def add(x, y=10):
    return x + y


@op(out={"a": Out(), "b": Out()})
def split():
    return 1, 2


@op
def total(values):
    return sum(values)


@graph
def inner(v):
    return add(v)


@graph
def outer():
    return inner(emit_one())


def test_nested_graph_steps_have_dotted_keys_and_step_output_sources():
    plan = build_execution_plan(outer.to_job())
    assert plan.step_keys == ["emit_one", "inner.add"]
    step = plan.get_step("inner.add")
    sources = {i.name: i.source for i in step.inputs}
    assert sources["x"] == FromStepOutput(StepOutputHandle("emit_one", "result"))
    assert sources["y"] == FromValue(10, "default")
    assert step.upstream_step_keys == {"emit_one"}
    assert [o.handle for o in step.outputs] == [StepOutputHandle("inner.add", "result")]


def test_fan_in_input_reads_several_outputs():
    @job
    def fan_in():
        a, b = split()
        total([a, b])

    step = build_execution_plan(fan_in).get_step("total")
    (values,) = step.inputs
    assert values.source == FromMultipleStepOutputs(
        (StepOutputHandle("split", "a"), StepOutputHandle("split", "b"))
    )
    assert fan_in.execute_in_process().output_for_node("total") == 3


def test_asset_step_keys_join_key_parts_with_double_underscore():
    @asset(key_prefix=["raw", "sales"])
    def orders():
        return [1]

    @asset(ins={"orders": AssetIn(key=AssetKey(["raw", "sales", "orders"]))})
    def summary(orders):
        return len(orders)

    graph_ = AssetGraph([orders, summary])
    plan = build_execution_plan(build_asset_job("j", graph_, graph_.materializable_keys))
    assert plan.step_keys == ["raw__sales__orders", "summary"]
    only_summary = build_execution_plan(build_asset_job("j", graph_, {AssetKey("summary")}))
    (step_input,) = only_summary.get_step("summary").inputs
    raw = AssetKey(["raw", "sales", "orders"])
    assert step_input.source == FromLoadableAsset(raw, "io_manager")


def test_unconnected_input_without_value_is_a_definition_error_naming_op_and_input():
    @op
    def needs(x):
        return x

    @job
    def lonely():
        needs()

    with pytest.raises(Exception, match=r"Input 'x' of op 'needs'.*ops.needs.inputs.x"):
        build_execution_plan(lonely)
    plan = build_execution_plan(lonely, {"ops": {"needs": {"inputs": {"x": {"value": 3}}}}})
    assert plan.get_step("needs").inputs[0].source == FromValue(3, "config")


def test_run_config_is_validated_once_and_plan_built_once_per_run(monkeypatch):
    calls = {"validate": 0, "plan": 0}
    real_validate = run_config_module.validate_config
    real_build = plan_module.build_execution_plan

    def counting_validate(*args, **kwargs):
        calls["validate"] += 1
        return real_validate(*args, **kwargs)

    def counting_build(*args, **kwargs):
        calls["plan"] += 1
        return real_build(*args, **kwargs)

    monkeypatch.setattr(run_config_module, "validate_config", counting_validate)
    monkeypatch.setattr("trellis.api.execute.build_execution_plan", counting_build)

    @op(config_schema={"n": int})
    def configured(context):
        return context.op_config["n"]

    @op
    def double(v):
        return v * 2

    @job
    def pipeline():
        double(double(configured()))

    result = pipeline.execute_in_process(run_config={"ops": {"configured": {"config": {"n": 2}}}})
    assert result.output_for_node("double_2") == 8
    assert calls == {"validate": 1, "plan": 1}


def test_materialize_runs_steps_in_dependency_order_not_definition_order():
    order = []

    @asset
    def late(early):
        order.append("late")
        return early + 1

    @asset
    def early():
        order.append("early")
        return 1

    assert materialize_to_memory([late, early]).asset_value("late") == 2
    assert order == ["early", "late"]


def test_op_selection_keeps_selected_steps_and_feeds_cut_inputs_from_config():
    @job
    def chain():
        add(add(emit_one()))

    plan = build_execution_plan(
        chain, {"ops": {"add_2": {"inputs": {"x": 5}}}}, op_selection=["add_2"]
    )
    assert plan.step_keys == ["add_2"]
    upstream = build_execution_plan(chain, op_selection=["*add_2"])
    assert upstream.step_keys == ["emit_one", "add", "add_2"]
