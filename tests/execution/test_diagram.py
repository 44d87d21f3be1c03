"""The call diagram of a job: steps in plan order with their inputs, outputs, IO managers,
resources and context types; Mermaid flowchart and sequence output; the SVG drawn by
Trellis (parseable, one rectangle per step, text escaped)."""

import xml.etree.ElementTree as ET

import pytest

from trellis import (
    AssetExecutionContext,
    Definitions,
    InMemoryIOManager,
    OpExecutionContext,
    Out,
    asset,
    define_asset_job,
    graph,
    job,
    op,
)
from trellis.views.diagram import (
    DiagramEdge,
    DiagramInput,
    DiagramOutput,
    DiagramStep,
    JobDiagram,
    build_diagram,
    render_diagram,
)

SVG = "{http://www.w3.org/2000/svg}"


@op
def start() -> int:
    return 2


@op(config_schema={"factor": int})
def scale(context: OpExecutionContext, x: int) -> int:
    return x * context.op_config["factor"]


@op(out=Out(io_manager_key="mem"))
def add_one(x: int) -> int:
    return x + 1


@op
def finish(x: int, y: int = 3) -> int:
    return x + y


@graph
def inner(x):
    return add_one(scale(x))


@job(
    config={"ops": {"inner": {"ops": {"scale": {"config": {"factor": 3}}}}}},
    resource_defs={"mem": InMemoryIOManager()},
)
def nested_job():
    finish(inner(start()))


@asset
def a() -> int:
    return 1


@asset(io_manager_key="mem")
def b(context: AssetExecutionContext, a: int) -> int:
    return a + 1


@asset
def c(context: OpExecutionContext, a: int, b: int) -> int:
    return a + b


defs = Definitions(
    assets=[a, b, c],
    jobs=[define_asset_job("abc", selection="*")],
    resources={"mem": InMemoryIOManager()},
)


def test_op_job_with_nested_graph():
    diagram = build_diagram(nested_job)
    keys = [s.key for s in diagram.steps]
    assert keys == ["start", "inner.scale", "inner.add_one", "finish"]
    assert [s.layer for s in diagram.steps] == [0, 1, 2, 3]
    assert {s.context_type for s in diagram.steps} == {"OpExecutionContext"}
    assert diagram.step("inner.add_one").outputs[0].io_manager_key == "mem"
    assert "mem" in diagram.step("inner.add_one").resources
    finish_in = {i.name: i for i in diagram.step("finish").inputs}
    assert finish_in["x"].source == "step_output"
    assert finish_in["x"].upstream == [("inner.add_one", "result")]
    assert finish_in["x"].manager_key == "mem"
    assert (finish_in["y"].source, finish_in["y"].origin) == ("value", "default")
    edges = {(e.source, e.target, e.manager_key) for e in diagram.edges}
    assert edges == {
        ("start", "inner.scale", "io_manager"),
        ("inner.scale", "inner.add_one", "io_manager"),
        ("inner.add_one", "finish", "mem"),
    }


def test_flowchart_has_every_step_and_edge_with_io_manager():
    diagram = build_diagram(nested_job)
    text = render_diagram(diagram, "flowchart")
    assert text.startswith("flowchart LR\n")
    for step in diagram.steps:
        assert f"{step.key}<br/>OpExecutionContext" in text
    assert 's0 -- "result → x (io_manager)" --> s1' in text
    assert 's2 -- "result → x (mem)" --> s3' in text
    assert text.count("-->") == len(diagram.edges) == 3


def test_sequence_lists_calls_in_plan_order():
    diagram = build_diagram(nested_job)
    text = render_diagram(diagram, "sequence")
    assert text.startswith("sequenceDiagram\n")
    lines = text.splitlines()
    steps = [line for line in lines if "StepExecutionContext" in line]
    assert [line.rsplit(" ", 1)[-1] for line in steps] == [s.key for s in diagram.steps]
    calls = [
        line.split(": ", 1)[1] for line in lines if "load_input" in line or "handle_output" in line
    ]
    assert calls == [
        "handle_output(OutputContext result)",  # start
        "load_input(InputContext x)",  # inner.scale
        "handle_output(OutputContext result)",
        "load_input(InputContext x)",  # inner.add_one
        "handle_output(OutputContext result)",
        "load_input(InputContext x)",  # finish (y has a default: nothing to load)
        "handle_output(OutputContext result)",
    ]
    assert "compute(OpExecutionContext)" in text
    assert text.rstrip().endswith("RUN_SUCCESS")


def test_asset_job_and_subset():
    job = defs.get_job_def("abc")
    diagram = build_diagram(job)
    assert [s.key for s in diagram.steps] == ["a", "b", "c"]
    assert [s.layer for s in diagram.steps] == [0, 1, 2]
    assert diagram.step("a").context_type == "AssetExecutionContext"
    assert diagram.step("b").context_type == "AssetExecutionContext"
    assert diagram.step("c").context_type == "OpExecutionContext"  # annotated so
    assert diagram.step("b").outputs[0].asset_key == "b"
    c_in = {i.name: i.manager_key for i in diagram.step("c").inputs}
    assert c_in == {"a": "io_manager", "b": "mem"}
    text = render_diagram(diagram, "sequence")
    assert "handle_output(OutputContext result) asset b" in text

    from trellis.core.asset_key import AssetKey
    from trellis.defs.asset_job import build_asset_job

    full = defs.get_implicit_global_asset_job_def()
    subset = build_asset_job(
        full.name, full.asset_graph, {AssetKey(["c"])}, resource_defs=full.resource_defs
    )
    sub = build_diagram(subset)
    assert [s.key for s in sub.steps] == ["c"]
    sources = {i.name: (i.source, i.asset_key, i.manager_key) for i in sub.steps[0].inputs}
    assert sources == {"a": ("asset", "a", "io_manager"), "b": ("asset", "b", "mem")}
    flow = render_diagram(sub, "flowchart")
    assert 'x1[("asset b")]' in flow and '"b (mem)"' in flow


def test_svg_parses_one_rect_per_step():
    diagram = build_diagram(nested_job)
    svg = render_diagram(diagram, "svg")
    root = ET.fromstring(svg.encode())
    assert root.tag == f"{SVG}svg"
    assert len(root.findall(f".//{SVG}rect")) == len(diagram.steps)
    text = " ".join(t.text or "" for t in root.iter(f"{SVG}text"))
    for step in diagram.steps:
        assert step.key in text
    assert "result → x (mem)" in text
    # columns follow the layers: each step is right of its upstream
    xs = [float(r.get("x")) for r in root.findall(f".//{SVG}rect")]
    assert xs == sorted(xs) and len(set(xs)) == 4


def test_svg_escapes_labels():
    steps = [
        DiagramStep(
            "s<1>",
            "op",
            "s",
            "OpExecutionContext",
            [],
            [DiagramOutput("result", "io&mgr", "a<b")],
            ["r&d"],
            [],
        ),
        DiagramStep(
            "t",
            "op",
            "t",
            "OpExecutionContext",
            [DiagramInput("x", "step_output", "io&mgr", [("s<1>", "result")])],
            [DiagramOutput("result", "io_manager")],
            [],
            ["s<1>"],
            layer=1,
        ),
    ]
    diagram = JobDiagram(
        "j&<k>", steps, [DiagramEdge("s<1>", "result", "t", "x", "io&mgr")], ["r&d"]
    )
    svg = render_diagram(diagram, "svg")
    assert "s&lt;1&gt;" in svg and "io&amp;mgr" in svg and "<1>" not in svg
    root = ET.fromstring(svg.encode())
    text = " ".join(t.text or "" for t in root.iter(f"{SVG}text"))
    assert "s<1>" in text and "result → x (io&mgr)" in text and "j&<k>" in text
    flow = render_diagram(diagram, "flowchart")
    assert "s#lt;1#gt;" in flow and "io#amp;mgr" in flow


def test_unknown_format():
    with pytest.raises(ValueError, match="flowchart"):
        render_diagram(build_diagram(nested_job), "png")


def test_an_asset_check_step_gets_the_check_context_and_reads_its_asset():
    from trellis import AssetCheckResult, asset_check

    @asset
    def stock() -> int:
        return 3

    @asset_check(asset=stock)
    def stocked(stock: int) -> AssetCheckResult:
        return AssetCheckResult(passed=stock > 0)

    job = Definitions(assets=[stock], asset_checks=[stocked]).get_implicit_global_asset_job_def()
    diagram = build_diagram(job)
    assert [s.key for s in diagram.steps] == ["stock", "stock_stocked"]
    check = diagram.step("stock_stocked")
    assert check.context_type == "AssetCheckExecutionContext" and check.kind == "asset_check"
    assert check.outputs == [] and check.upstream == ["stock"]
    assert [(e.source, e.target) for e in diagram.edges] == [("stock", "stock_stocked")]
