"""Dynamic outputs: ``DynamicOut`` / ``DynamicOutput``, ``.map()`` (chained, over a graph,
nested), ``.collect()``, mapping keys in step keys, contexts and IO, the plan resolved as
outputs arrive, and Dagster's semantics for failed and skipped mapped steps."""

from __future__ import annotations

import os
import pickle

import pytest

from trellis import (
    DynamicOut,
    DynamicOutput,
    EventType,
    FilesystemIOManager,
    In,
    InvalidDefinitionError,
    IOManager,
    Nothing,
    OpExecutionContext,
    Out,
    Output,
    build_op_context,
    graph,
    io_manager,
    job,
    op,
)
from trellis.views.diagram import build_diagram, render_diagram

QUIET = {"loggers": {"console": {"config": {"log_level": "CRITICAL"}}}}


def _run(job_def, **kwargs):
    return job_def.execute_in_process(run_config=QUIET, raise_on_error=False, **kwargs)


def _keys(result, event_type):
    return [e.step_key for e in result.all_events if e.event_type is event_type]


@op(out=DynamicOut())
def emit():
    for value in [3, 1, 2]:
        yield DynamicOutput(value, mapping_key=f"k{value}")


@op
def double(x: int) -> int:
    return 2 * x


@op
def plus_one(x: int) -> int:
    return x + 1


@op
def gather(values: list) -> list:
    return values


# -- fan out and in ----------------------------------------------------------------------------
def test_map_then_collect_runs_a_step_per_item_and_gathers_in_yield_order():
    @job
    def fan():
        gather(emit().map(double).collect())

    result = _run(fan)
    assert result.success
    assert result.output_for_node("gather") == [6, 2, 4]  # the order the keys were yielded
    assert _keys(result, EventType.STEP_START) == [
        "emit",
        "double[k3]",
        "double[k1]",
        "double[k2]",
        "gather",
    ]
    assert result.output_for_node("double") == {"k3": 6, "k1": 2, "k2": 4}
    assert result.output_for_node("emit") == {"k3": 3, "k1": 1, "k2": 2}
    assert result.output_for_node("double[k1]") == 2
    assert len(result.events_for_node("double")) == 3 * 5
    assert result.is_node_success("double[k2]")


def test_chained_maps_keep_the_mapping_key_and_run_template_by_template():
    @job
    def chained():
        gather(emit().map(double).map(plus_one).collect())

    result = _run(chained)
    assert result.output_for_node("gather") == [7, 3, 5]
    starts = _keys(result, EventType.STEP_START)
    assert starts[1:4] == ["double[k3]", "double[k1]", "double[k2]"]
    assert starts[4:7] == ["plus_one[k3]", "plus_one[k1]", "plus_one[k2]"]


def test_the_mapping_key_reaches_the_context_and_the_io_contexts():
    seen: list[tuple] = []

    class Recording(IOManager):
        def __init__(self):
            self.values = {}

        def handle_output(self, context, obj):
            seen.append(("out", context.step_key, context.mapping_key, context.get_identifier()))
            self.values[tuple(context.get_identifier())] = obj

        def load_input(self, context):
            upstream = context.upstream_output
            seen.append(("in", context.name, upstream.step_key, upstream.mapping_key))
            return self.values[tuple(upstream.get_identifier())]

    @io_manager
    def recording(_):
        return Recording()

    @op
    def keyed(context: OpExecutionContext, x: int) -> str:
        return f"{context.get_mapping_key()}={x}"

    @job(resource_defs={"io_manager": recording})
    def fan():
        gather(emit().map(keyed).collect())

    result = _run(fan)
    assert result.output_for_node("gather") == ["k3=3", "k1=1", "k2=2"]
    run_id = result.run_id
    assert ("out", "emit", "k1", [run_id, "emit", "result", "k1"]) in seen
    assert ("in", "x", "emit", "k1") in seen  # the mapped step reads its own item
    assert ("out", "keyed[k1]", None, [run_id, "keyed[k1]", "result"]) in seen
    assert ("in", "values", "keyed[k2]", None) in seen


def test_the_filesystem_io_manager_stores_each_item_and_mapped_output_apart(tmp_path):
    @job(resource_defs={"io_manager": FilesystemIOManager(base_dir=str(tmp_path))})
    def fan():
        gather(emit().map(double).collect())

    result = _run(fan)
    assert result.success
    run_dir = tmp_path / result.run_id
    for key, value in [("k3", 3), ("k1", 1), ("k2", 2)]:
        assert pickle.loads((run_dir / "emit" / "result" / key).read_bytes()) == value
        assert pickle.loads((run_dir / f"double[{key}]" / "result").read_bytes()) == 2 * value


def test_map_takes_a_function_that_wires_other_outputs_too():
    @op(out={"items": DynamicOut(), "offset": Out()})
    def split():
        yield Output(100, "offset")
        for i in range(3):
            yield DynamicOutput(i, mapping_key=str(i), output_name="items")

    @op
    def add(x: int, offset: int) -> int:
        return x + offset

    @job
    def fan():
        items, offset = split()
        gather(items.map(lambda x: add(x, offset)).collect())

    assert _run(fan).output_for_node("gather") == [100, 101, 102]


def test_mapping_a_graph_runs_each_of_its_ops_per_item():
    @graph
    def twice_plus_one(x):
        return plus_one(double(x))

    @job
    def fan():
        gather(emit().map(twice_plus_one).collect())

    result = _run(fan)
    assert result.output_for_node("gather") == [7, 3, 5]
    assert "twice_plus_one.double[k1]" in _keys(result, EventType.STEP_SUCCESS)
    assert "twice_plus_one.plus_one[k2]" in _keys(result, EventType.STEP_SUCCESS)


def test_a_dynamic_output_collected_directly_is_the_list_of_its_items():
    @job
    def direct():
        gather(emit().collect())

    assert _run(direct).output_for_node("gather") == [3, 1, 2]


def test_a_mapped_op_with_a_dynamic_output_of_its_own_fans_out_again():
    """Nested fan-out, which Dagster refuses ("cannot be downstream of more than one
    dynamic output"): Trellis keys the inner steps by both mapping keys."""

    @op(out=DynamicOut())
    def parts(x: int):
        for j in range(x):
            yield DynamicOutput(x * 10 + j, mapping_key=f"p{j}")

    @op
    def tag(context: OpExecutionContext, x: int) -> str:
        return f"{context.get_mapping_key()}:{x}"

    @job
    def nested():
        gather(emit().map(lambda x: gather.alias("inner")(parts(x).map(tag).collect())).collect())

    result = _run(nested)
    assert result.success
    assert result.output_for_node("gather") == [
        ["k3,p0:30", "k3,p1:31", "k3,p2:32"],
        ["k1,p0:10"],
        ["k2,p0:20", "k2,p1:21"],
    ]
    assert "tag[k3,p2]" in _keys(result, EventType.STEP_SUCCESS)
    assert "inner[k1]" in _keys(result, EventType.STEP_SUCCESS)


def test_a_function_may_return_its_items_as_a_list():
    @op(out=DynamicOut())
    def listed():
        return [DynamicOutput("a", "x"), DynamicOutput("b", "y")]

    @job
    def fan():
        gather(listed().collect())

    assert _run(fan).output_for_node("gather") == ["a", "b"]


# -- no items, failures, skips ---------------------------------------------------------------
def test_no_items_gives_the_collect_an_empty_list_unless_the_output_is_optional():
    @op(out=DynamicOut())
    def nothing():
        yield from ()

    @op(out=DynamicOut(is_required=False))
    def maybe_nothing():
        yield from ()

    @job
    def required():
        gather(nothing().map(double).collect())

    @job
    def optional():
        gather(maybe_nothing().map(double).collect())

    assert _run(required).output_for_node("gather") == []
    skipped = _run(optional)
    assert skipped.success and skipped.is_node_skipped("gather")


def test_a_failed_mapped_step_skips_its_downstream_and_the_collect():
    @op
    def fragile(x: int) -> int:
        if x == 1:
            raise ValueError("no ones")
        return x

    @job
    def fan():
        gather(emit().map(fragile).map(plus_one).collect())

    result = _run(fan)
    assert not result.success
    assert result.get_failed_step_keys() == {"fragile[k1]"}
    assert set(_keys(result, EventType.STEP_SKIPPED)) == {"plus_one[k1]", "gather"}
    assert set(_keys(result, EventType.STEP_SUCCESS)) >= {"plus_one[k3]", "plus_one[k2]"}
    reasons = {e.step_key: e.message for e in result.get_step_skipped_events()}
    assert "fragile[k1]" in reasons["plus_one[k1]"]


def test_an_item_not_produced_is_left_out_of_the_collect():
    @op(out=Out(is_required=False))
    def odd_only(x: int):
        if x % 2:
            yield Output(x)

    @job
    def fan():
        gather(emit().map(odd_only).map(plus_one).collect())

    result = _run(fan)
    assert result.success
    assert _keys(result, EventType.STEP_SKIPPED) == ["plus_one[k2]"]
    assert result.output_for_node("gather") == [4, 2]


def test_a_failed_dynamic_step_records_its_mapped_steps_as_never_made():
    @op(out=DynamicOut())
    def broken():
        yield DynamicOutput(1, "a")
        raise RuntimeError("mid-stream")

    @job
    def fan():
        gather(broken().map(double).map(plus_one).collect())

    result = _run(fan)
    assert not result.success
    skipped = {e.step_key: e.message for e in result.get_step_skipped_events()}
    assert set(skipped) == {"double[?]", "plus_one[?]", "gather"}
    assert "broken" in skipped["double[?]"]


# -- wrong use -----------------------------------------------------------------------------------
def test_wrong_items_fail_the_step_with_the_reason():
    @op(out=DynamicOut())
    def twice():
        yield DynamicOutput(1, "a")
        yield DynamicOutput(2, "a")

    @op(out=DynamicOut())
    def plain():
        yield Output(1)

    @op
    def not_dynamic():
        yield DynamicOutput(1, "a")

    @job
    def duplicate_keys():
        gather(twice().collect())

    @job
    def output_for_dynamic():
        gather(plain().collect())

    @job
    def item_for_plain():
        gather(not_dynamic())

    cases = [
        (duplicate_keys, "twice", "more than once"),
        (output_for_dynamic, "plain", "yield DynamicOutput"),
        (item_for_plain, "not_dynamic", "not dynamic"),
    ]
    for job_def, node, expected in cases:
        result = _run(job_def)
        assert not result.success
        message = result.failure_data_for_node(node).error.to_string()
        assert expected in message, (node, message)


def test_bad_mapping_keys_and_unmapped_dynamic_outputs_are_definition_errors():
    for bad in ["a-b", "a.b", "", "a b", "a,b"]:
        with pytest.raises(InvalidDefinitionError, match="letters, digits and underscores"):
            DynamicOutput(1, mapping_key=bad)

    with pytest.raises(InvalidDefinitionError, match=r"\.map\(fn\).*\.collect\(\)"):

        @job
        def direct():
            double(emit())

    @op(out=DynamicOut())
    def other():
        yield DynamicOutput(1, "a")

    @op
    def both(a: int, b: int) -> int:
        return a + b

    with pytest.raises(InvalidDefinitionError, match="downstream of two dynamic outputs"):

        @job
        def crossed():
            left = emit()
            right = other()
            left.map(lambda a: right.map(lambda b: both(a, b)))

        crossed.flat_nodes  # noqa: B018 - flattening finds it


# -- contexts, metadata, selection, views ------------------------------------------------------
def test_item_metadata_and_output_metadata_by_mapping_key():
    @op(out=DynamicOut())
    def described(context: OpExecutionContext):
        context.add_output_metadata({"where": "second"}, mapping_key="b")
        yield DynamicOutput(1, "a", metadata={"n": 1})
        yield DynamicOutput(2, "b")

    @job
    def fan():
        gather(described().collect())

    result = _run(fan)
    outputs = [e for e in result.all_events if e.event_type is EventType.STEP_OUTPUT]
    by_key = {e.data.mapping_key: e.data.metadata for e in outputs if e.step_key == "described"}
    assert by_key["a"]["n"].value == 1
    assert by_key["b"]["where"].value == "second"


def test_build_op_context_takes_a_mapping_key():
    @op
    def keyed(context: OpExecutionContext) -> str | None:
        return context.get_mapping_key()

    assert keyed(build_op_context(mapping_key="k9")) == "k9"
    assert keyed(build_op_context()) is None


def test_op_selection_reaches_through_the_mapped_steps():
    @job
    def fan():
        gather(emit().map(double).collect())

    result = fan.execute_in_process(run_config=QUIET, op_selection=["*gather"])
    assert result.output_for_node("gather") == [6, 2, 4]


def test_the_diagram_shows_each_mapped_node_once_as_a_template():
    @job
    def fan():
        gather(emit().map(double).collect())

    diagram = build_diagram(fan)
    assert [s.key for s in diagram.steps] == ["emit", "double[?]", "gather"]
    text = render_diagram(diagram)
    assert "result[k] → x" in text and "result[*] → values" in text


def test_the_trace_shows_each_mapped_step_with_its_item():
    @job
    def fan():
        gather(emit().map(double).collect())

    text = _run(fan).trace(step="double")
    assert text.count("StepExecutionContext double[") == 3
    assert "from emit.result[k1]" in text
    assert "compute double() for mapping key k1" in text


def test_ordering_inputs_and_nothing_outputs_map_too():
    @op(out=DynamicOut(Nothing))
    def signals():
        for key in ("a", "b"):
            yield DynamicOutput(None, key)

    @op(ins={"start": In(Nothing)})
    def side_effect(context: OpExecutionContext) -> str:
        return context.get_mapping_key()

    @job
    def fan():
        gather(signals().map(lambda s: side_effect(start=s)).collect())

    assert _run(fan).output_for_node("gather") == ["a", "b"]


def test_a_persistent_run_stores_the_mapping_keys_of_its_events(tmp_path):
    from trellis import instance_for_test

    @job(resource_defs={"io_manager": FilesystemIOManager(base_dir=str(tmp_path))})
    def fan():
        gather(emit().map(double).collect())

    with instance_for_test(temp_dir=str(tmp_path / "home")) as instance:
        result = fan.execute_in_process(run_config=QUIET, instance=instance)
        stored = instance.all_logs(result.run_id)
    keys = [e.data.mapping_key for e in stored if e.event_type is EventType.STEP_OUTPUT]
    assert keys[:3] == ["k3", "k1", "k2"]
    loaded = [
        e for e in stored if e.event_type is EventType.LOADED_INPUT and e.step_key == "double[k1]"
    ]
    assert loaded[0].data.upstream_mapping_key == "k1"
    assert os.path.isdir(tmp_path / result.run_id / "double[k1]")


def test_selecting_a_mapped_op_without_its_dynamic_op_is_refused():
    @job
    def fan():
        gather(emit().map(double).collect())

    with pytest.raises(InvalidDefinitionError, match="select it too"):
        fan.execute_in_process(run_config=QUIET, op_selection=["double"])


def test_reexecution_after_the_dynamic_step_failed_maps_what_it_yields_now(tmp_path):
    """The dynamic step itself failed: re-execution runs it again, and its mapped steps are
    made from what it yields this time (Dagster issue #30248 skips them)."""
    from trellis import instance_for_test
    from trellis.api.reexecution import reexecute_run

    flag = tmp_path / "fail"
    flag.touch()

    @op(out=DynamicOut())
    def flaky_emit():
        if flag.exists():
            raise RuntimeError("not yet")
        for key in ("x", "y"):
            yield DynamicOutput(key, mapping_key=key)

    @op
    def twice(text: str) -> str:
        return text * 2

    @job(resource_defs={"io_manager": FilesystemIOManager(base_dir=str(tmp_path / "data"))})
    def fan():
        gather(flaky_emit().map(twice).collect())

    with instance_for_test(temp_dir=str(tmp_path / "home")) as instance:
        first = fan.execute_in_process(run_config=QUIET, instance=instance, raise_on_error=False)
        assert not first.success
        assert {e.step_key for e in first.get_step_skipped_events()} == {"twice[?]", "gather"}
        flag.unlink()
        second = reexecute_run(fan, first.run_id, instance=instance, from_failure=True)
        assert second.success
        assert _keys(second, EventType.STEP_START) == [
            "flaky_emit",
            "twice[x]",
            "twice[y]",
            "gather",
        ]
        assert second.output_for_node("gather") == ["xx", "yy"]
