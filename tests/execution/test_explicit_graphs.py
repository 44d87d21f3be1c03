"""Graphs from explicit dependencies (Dagster's ``GraphDefinition(node_defs=...,
dependencies=...)``): aliases with ``NodeInvocation``, fan-in with
``MultiDependencyDefinition``, graph inputs and outputs by mapping, nesting in a job, and
the mistakes that are refused with the names involved."""

from __future__ import annotations

import pytest

from trellis import (
    DependencyDefinition,
    GraphDefinition,
    GraphIn,
    In,
    InputMapping,
    InvalidDefinitionError,
    MultiDependencyDefinition,
    NodeInvocation,
    OutputMapping,
    graph,
    job,
    op,
)


@op
def return_one() -> int:
    return 1


@op
def add(a: int, b: int) -> int:
    return a + b


@op(ins={"numbers": In(list)})
def total(numbers: list) -> int:
    return sum(numbers)


def test_dependencies_aliases_and_fan_in():
    calc = GraphDefinition(
        name="calc",
        node_defs=[return_one, add, total],
        dependencies={
            "add": {
                "a": DependencyDefinition("return_one"),
                "b": DependencyDefinition("return_one"),
            },
            NodeInvocation("add", alias="add_again", tags={"stage": "2"}): {
                "a": DependencyDefinition("add"),
                "b": DependencyDefinition("return_one"),
            },
            "total": {
                "numbers": MultiDependencyDefinition(
                    [DependencyDefinition("add"), DependencyDefinition("add_again")]
                )
            },
        },
    )
    result = calc.to_job().execute_in_process()
    assert result.success
    assert result.output_for_node("add") == 2
    assert result.output_for_node("add_again") == 3
    assert result.output_for_node("total") == 5
    assert calc.nodes["add_again"].tags == {"stage": "2"}
    assert list(calc.nodes) == ["return_one", "add", "add_again", "total"]  # topological


def test_graph_inputs_and_outputs_by_mapping_nested_in_a_job():
    plus = GraphDefinition(
        name="plus",
        node_defs=[add],
        input_mappings=[InputMapping("x", "add", "a"), InputMapping("y", "add", "b")],
        output_mappings=[OutputMapping("sum", "add", "result")],
    )

    @job
    def uses_plus():
        plus(return_one(), return_one())

    assert plus.input_names == ("x", "y") and plus.output_names == ("sum",)
    result = uses_plus.execute_in_process()
    assert result.output_for_node("plus", "sum") == 2


def test_graph_ins_describe_parameters_and_must_name_them():
    @graph(ins={"x": GraphIn(description="the left operand")})
    def with_in(x):
        return add(x, return_one())

    assert with_in.input_descriptions == {"x": "the left operand"}
    with pytest.raises(InvalidDefinitionError, match=r"ins names \['y'\]"):

        @graph(ins={"y": GraphIn()})
        def wrong(x):
            return add(x, return_one())


def test_mistakes_are_named():
    cases = [
        ({"add": {"a": DependencyDefinition("nope")}}, "node 'nope', which is not in the graph"),
        ({"add": {"c": DependencyDefinition("return_one")}}, "has no input 'c'"),
        ({"add": {"a": DependencyDefinition("return_one", "out")}}, "output 'out'"),
        ({"missing": {}}, "'missing', which is not in node_defs"),
        (
            {
                "add": {"a": DependencyDefinition("add_again")},
                NodeInvocation("add", alias="add_again"): {"a": DependencyDefinition("add")},
            },
            "cycle: add -> add_again -> add",
        ),
    ]
    for dependencies, message in cases:
        with pytest.raises(InvalidDefinitionError, match=message):
            GraphDefinition(name="bad", node_defs=[return_one, add], dependencies=dependencies)
