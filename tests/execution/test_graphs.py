"""Graphs: nesting and dotted step keys, config for nested ops, graph inputs and outputs,
``to_job`` and ``execute_in_process`` on a graph, repeated and aliased ops, fan-in, and
the errors made while composing a graph."""

import pytest

from trellis import (
    EventType,
    GraphDefinition,
    GraphOut,
    InvalidConfigError,
    InvalidDefinitionError,
    InvariantViolationError,
    JobDefinition,
    Out,
    Output,
    graph,
    job,
    op,
)


@op
def start() -> int:
    return 2


@op(config_schema={"factor": int})
def scale(context, x: int) -> int:
    return x * context.op_config["factor"]


@op
def add_one(x: int) -> int:
    return x + 1


@graph
def inner(x):
    return scale(x)


@graph
def outer(x):
    return add_one(inner(x))


@job
def nested():
    outer(start())


NESTED_CONFIG = {
    "ops": {"outer": {"ops": {"inner": {"ops": {"scale": {"config": {"factor": 5}}}}}}}
}


def _success_keys(result):
    return [e.step_key for e in result.get_step_success_events()]


# -- nesting ----------------------------------------------------------------------------------


def test_ops_in_nested_graphs_get_dotted_step_keys():
    result = nested.execute_in_process(run_config=NESTED_CONFIG)
    assert result.success
    assert _success_keys(result) == ["start", "outer.inner.scale", "outer.add_one"]
    assert isinstance(outer, GraphDefinition)
    assert list(outer.nodes) == ["inner", "add_one"]


def test_config_for_nested_ops_nests_under_ops():
    result = nested.execute_in_process(run_config=NESTED_CONFIG)
    assert result.output_for_node("outer.inner.scale") == 10
    assert result.output_for_node("outer.add_one") == 11


def test_missing_nested_config_shows_the_nested_path():
    with pytest.raises(InvalidConfigError) as info:
        nested.execute_in_process()
    message = str(info.value)
    assert 'job "nested"' in message
    assert "{'ops': {'outer': {'ops': {'inner': {'ops': {'scale': {'config':" in message


def test_misspelled_graph_name_in_config_suggests_the_right_one():
    bad = {"ops": {"outre": NESTED_CONFIG["ops"]["outer"]}}
    with pytest.raises(InvalidConfigError) as info:
        nested.execute_in_process(run_config=bad)
    message = str(info.value)
    assert "'outre'" in message
    assert "root:ops" in message
    assert "Did you mean 'outer'?" in message


def test_nested_op_context_knows_its_name_and_handle():
    seen = {}

    @op
    def leaf(context):
        seen["name"] = context.op.name
        seen["handle"] = context.op_handle
        seen["step_key"] = context.step_key

    @graph
    def level_two():
        leaf()

    @graph
    def level_one():
        level_two()

    @job
    def deep():
        level_one()

    deep.execute_in_process()
    assert seen == {
        "name": "leaf",
        "handle": "level_one.level_two.leaf",
        "step_key": "level_one.level_two.leaf",
    }


def test_result_reads_nested_outputs_by_dotted_handle_and_by_graph():
    result = nested.execute_in_process(run_config=NESTED_CONFIG)
    # the op at its dotted handle, or by its name when that is unique
    assert result.output_for_node("outer.inner.scale") == 10
    assert result.output_for_node("scale") == 10
    # a graph node's output follows its output mapping
    assert result.output_for_node("outer") == 11
    assert result.output_for_node("outer.inner") == 10
    events = result.events_for_node("outer.inner.scale")
    assert events[0].event_type is EventType.STEP_START
    assert {e.step_key for e in events} == {"outer.inner.scale"}
    with pytest.raises(InvariantViolationError, match="Graph 'outer' has no output 'nope'"):
        result.output_for_node("outer", "nope")


def test_op_selection_reaches_ops_inside_graphs():
    result = nested.execute_in_process(op_selection=["*scale"], run_config=NESTED_CONFIG)
    assert _success_keys(result) == ["start", "outer.inner.scale"]
    scale_config = {"config": {"factor": 5}, "inputs": {"x": 3}}
    dotted = nested.execute_in_process(
        op_selection=["outer.inner.scale+"],
        run_config={"ops": {"outer": {"ops": {"inner": {"ops": {"scale": scale_config}}}}}},
    )
    assert _success_keys(dotted) == ["outer.inner.scale", "outer.add_one"]
    assert dotted.output_for_node("outer") == 16


def test_op_selection_typo_of_a_nested_op_suggests_its_name():
    with pytest.raises(InvalidDefinitionError, match="Did you mean 'scale'"):
        nested.execute_in_process(op_selection=["scael"], run_config=NESTED_CONFIG)


def test_unconnected_input_inside_a_graph_names_the_nested_config_path():
    @op
    def needs(value: int) -> int:
        return value

    @graph
    def holder():
        needs()

    @job
    def holding():
        holder()

    with pytest.raises(InvalidDefinitionError) as info:
        holding.execute_in_process()
    message = str(info.value)
    assert "Input 'value' of op 'holder.needs'" in message
    assert "ops.holder.ops.needs.inputs.value" in message
    run_config = {"ops": {"holder": {"ops": {"needs": {"inputs": {"value": 3}}}}}}
    assert holding.execute_in_process(run_config=run_config).output_for_node("needs") == 3


# -- graph inputs and outputs -----------------------------------------------------------------


def test_graph_inputs_map_to_inner_op_inputs_and_outputs_map_back():
    @op
    def split(x: int):
        return x, -x

    @op(out={"pos": Out(), "neg": Out()})
    def signs(x: int):
        return x, -x

    @graph(out={"positive": GraphOut(), "negative": GraphOut()})
    def both(value):
        pos, neg = signs(value)
        return {"positive": add_one(pos), "negative": neg}

    @job
    def using_both():
        result = both(start())
        add_one.alias("after_positive")(result.positive)
        add_one.alias("after_negative")(result.negative)

    result = using_both.execute_in_process()
    assert result.output_for_node("both.signs", "pos") == 2
    assert result.output_for_node("both", "positive") == 3
    assert result.output_for_node("both", "negative") == -2
    assert result.output_for_node("after_positive") == 4
    assert result.output_for_node("after_negative") == -1


def test_graph_returning_a_tuple_needs_declared_outputs():
    @graph(out={"first": GraphOut(), "second": GraphOut()})
    def pair():
        return start(), add_one(start())

    result = pair.execute_in_process()
    assert result.output_value("first") == 2
    assert result.output_value("second") == 3

    with pytest.raises(InvalidDefinitionError, match="Graph 'undeclared' returned a tuple"):

        @graph
        def undeclared():
            return start(), start()


def test_graph_inputs_take_input_values_at_execution():
    @graph
    def from_input(x):
        return add_one(x)

    result = from_input.execute_in_process(input_values={"x": 41})
    assert result.output_for_node("add_one") == 42
    assert result.output_value() == 42


def test_output_value_reads_the_job_output_through_nested_graphs():
    @graph
    def wrapped():
        return outer(start())

    result = wrapped.execute_in_process(
        run_config={
            "ops": {"outer": {"ops": {"inner": {"ops": {"scale": {"config": {"factor": 3}}}}}}}
        }
    )
    assert result.output_value() == 7
    assert result.output_for_node("outer") == 7


# -- to_job and execute_in_process ------------------------------------------------------------


def test_graph_to_job_binds_name_config_tags_and_resources():
    @op(required_resource_keys={"suffix"})
    def decorate(context, x: int) -> str:
        return f"{x}{context.resources.suffix}"

    @graph
    def decorated():
        decorate(outer(start()))

    built = decorated.to_job(
        name="decorated_job",
        config=NESTED_CONFIG,
        tags={"kind": "graph"},
        resource_defs={"suffix": "!"},
        description="built from a graph",
    )
    assert isinstance(built, JobDefinition)
    assert built.name == "decorated_job"
    assert built.description == "built from a graph"
    result = built.execute_in_process()
    assert result.success
    assert result.run.job_name == "decorated_job"
    assert result.run.tags["kind"] == "graph"
    assert result.output_for_node("decorate") == "11!"


def test_graph_execute_in_process_takes_config_and_resources():
    @op(required_resource_keys={"base"})
    def from_resource(context) -> int:
        return context.resources.base

    @graph
    def small():
        add_one(from_resource())

    result = small.execute_in_process(resources={"base": 10}, tags={"adhoc": "yes"})
    assert result.success
    assert result.output_for_node("add_one") == 11
    assert result.run.job_name == "small"
    assert result.run.tags["adhoc"] == "yes"

    configured = inner.execute_in_process(
        run_config={"ops": {"scale": {"config": {"factor": 4}}}}, input_values={"x": 3}
    )
    assert configured.output_for_node("scale") == 12


# -- repeated, aliased and fan-in -------------------------------------------------------------


def test_the_same_op_used_twice_gets_a_numbered_second_name():
    @job
    def twice():
        add_one(add_one(start()))

    result = twice.execute_in_process()
    assert _success_keys(result) == ["start", "add_one", "add_one_2"]
    assert result.output_for_node("add_one") == 3
    assert result.output_for_node("add_one_2") == 4


def test_the_same_graph_used_twice_gets_distinct_dotted_keys():
    @graph
    def plus_one(x):
        return add_one(x)

    @job
    def chained():
        plus_one(plus_one(start()))

    result = chained.execute_in_process()
    assert _success_keys(result) == ["start", "plus_one.add_one", "plus_one_2.add_one"]
    assert result.output_for_node("plus_one_2.add_one") == 4
    assert result.output_for_node("plus_one_2") == 4


def test_alias_names_the_node():
    @job
    def aliased():
        first = add_one.alias("first_increment")(start())
        add_one.alias("second_increment")(first)

    result = aliased.execute_in_process()
    assert _success_keys(result) == ["start", "first_increment", "second_increment"]
    assert result.output_for_node("second_increment") == 4


def test_alias_used_twice_is_rejected():
    with pytest.raises(InvalidDefinitionError, match="uses the node name 'dup' twice"):

        @job
        def duplicated():
            add_one.alias("dup")(start())
            add_one.alias("dup")(start())


def test_fan_in_gathers_upstream_outputs_in_order():
    @op
    def one() -> int:
        return 1

    @op
    def two() -> int:
        return 2

    @op
    def merge(values: list[int]) -> list[int]:
        return values

    @job
    def fanning():
        merge([two(), one(), start()])

    result = fanning.execute_in_process()
    assert result.output_for_node("merge") == [2, 1, 2]
    (loaded,) = [
        e for e in result.events_for_node("merge") if e.event_type is EventType.LOADED_INPUT
    ]
    assert loaded.data.input_name == "values"


def test_fan_in_leaves_out_an_optional_output_that_was_not_yielded():
    @op(out=Out(is_required=False))
    def maybe():
        if False:
            yield Output(0)

    @op
    def merge(values: list) -> list:
        return values

    @job
    def partial_fan_in():
        merge([start(), maybe()])

    result = partial_fan_in.execute_in_process()
    assert result.success
    assert result.output_for_node("merge") == [2]


def test_fan_in_with_no_produced_source_is_skipped():
    @op(out=Out(is_required=False))
    def never():
        if False:
            yield Output(0)

    @op
    def merge(values: list) -> list:
        return values

    @job
    def empty_fan_in():
        merge([never(), never()])

    result = empty_fan_in.execute_in_process()
    assert result.success
    assert result.is_node_skipped("merge")


# -- composition errors -----------------------------------------------------------------------


def test_calling_an_op_with_a_constant_inside_a_graph_body_is_rejected():
    with pytest.raises(InvalidDefinitionError) as info:

        @graph
        def constant():
            add_one(5)

    message = str(info.value)
    assert "Node 'add_one' in graph 'constant'" in message
    assert "input 'x'" in message
    assert "received 5" in message
    assert "config" in message


def test_calling_a_graph_outside_a_graph_body_is_rejected():
    with pytest.raises(InvalidDefinitionError) as info:
        outer(1)
    message = str(info.value)
    assert "Graph 'outer'" in message
    assert "execute_in_process" in message


def test_calling_an_aliased_op_outside_a_graph_body_is_rejected():
    with pytest.raises(InvalidDefinitionError, match="'add_one' with an alias"):
        add_one.alias("elsewhere")(1)


def test_unknown_input_name_and_too_many_inputs_are_rejected():
    with pytest.raises(InvalidDefinitionError, match=r"has no input named 'y'.*\['x'\]"):

        @graph
        def unknown():
            add_one(y=start())

    with pytest.raises(InvalidDefinitionError, match="2 positional inputs"):

        @graph
        def too_many():
            add_one(start(), start())


def test_passing_every_output_of_a_multi_output_op_is_rejected():
    @op(out={"a": Out(), "b": Out()})
    def two_outs():
        return 1, 2

    with pytest.raises(InvalidDefinitionError, match="all outputs of a multi-output node"):

        @graph
        def whole():
            add_one(two_outs())
