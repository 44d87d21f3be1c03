"""Ops run in process: ``@op`` and its arguments, outputs (``Output``, several outputs,
optional outputs, ``Nothing``), type checks, async ops, how arguments reach their
parameters, and the errors made while defining an op."""

import asyncio

import pytest

from trellis import (
    AssetExecutionContext,
    Config,
    EventType,
    Field,
    In,
    InvalidDefinitionError,
    IOManager,
    Nothing,
    OpDefinition,
    OpExecutionContext,
    Out,
    Output,
    RetryPolicy,
    TypeCheckError,
    job,
    op,
    resource,
)


class RecordingIOManager(IOManager):
    """Keeps outputs in a dict and records every call, so tests can see what was stored."""

    def __init__(self):
        self.values = {}
        self.handled = []
        self.loaded = []

    def handle_output(self, context, obj):
        self.handled.append((context.step_key, context.name))
        self.values[(context.step_key, context.name)] = obj

    def load_input(self, context):
        upstream = context.upstream_output
        self.loaded.append((upstream.step_key, upstream.name))
        return self.values[(upstream.step_key, upstream.name)]


def _types(events):
    return [e.event_type for e in events]


# -- @op and its arguments ------------------------------------------------------------------


def test_bare_op_runs_and_its_return_value_is_the_result_output():
    @op
    def hello():
        return "hi"

    @job
    def greet():
        hello()

    assert isinstance(hello, OpDefinition)
    assert hello.name == "hello"
    assert list(hello.outs) == ["result"]
    result = greet.execute_in_process()
    assert result.success
    assert result.output_for_node("hello") == "hi"


def test_op_arguments_name_description_tags_config_resources_and_retry_policy():
    policy = RetryPolicy(max_retries=3)
    seen = {}

    @resource
    def warehouse():
        return "wh-conn"

    @op(
        name="load_table",
        description="Loads one table.",
        tags={"team": "data"},
        config_schema={"table": str, "limit": Field(int, default_value=10)},
        required_resource_keys={"warehouse"},
        retry_policy=policy,
    )
    def loader(context):
        seen["name"] = context.op.name
        seen["def_name"] = context.op_def.name
        seen["tags"] = dict(context.op.tags)
        seen["config"] = context.op_config
        seen["warehouse"] = context.resources.warehouse
        return 1

    @job(resource_defs={"warehouse": warehouse})
    def load():
        loader()

    assert loader.name == "load_table"
    assert loader.description == "Loads one table."
    assert loader.tags == {"team": "data"}
    assert loader.required_resource_keys == {"warehouse"}
    assert loader.retry_policy is policy

    result = load.execute_in_process(run_config={"ops": {"load_table": {"config": {"table": "t"}}}})
    assert result.success
    assert seen == {
        "name": "load_table",
        "def_name": "load_table",
        "tags": {"team": "data"},
        "config": {"table": "t", "limit": 10},
        "warehouse": "wh-conn",
    }
    assert result.run.job_name == "load"


def test_docstring_is_the_default_description():
    @op
    def documented():
        """Does one thing well."""

    assert documented.description == "Does one thing well."


def test_ins_give_types_defaults_and_metadata_to_parameters():
    @op(ins={"x": In(int, description="the x", metadata={"unit": "m"}), "y": In(default_value=5)})
    def add(x, y):
        return x + y

    @op
    def two() -> int:
        return 2

    @job
    def adding():
        add(two())

    assert add.ins["x"].dagster_type is int
    assert add.ins["x"].metadata == {"unit": "m"}
    assert add.ins["y"].default_value == 5
    assert adding.execute_in_process().output_for_node("add") == 7


def test_out_as_a_single_out_sets_the_result_type():
    @op(out=Out(int, description="a number"))
    def number():
        return "not a number"

    @job
    def numbers():
        number()

    assert number.outs["result"].dagster_type is int
    with pytest.raises(TypeCheckError, match=r"output 'result' of step 'number'.*expected int"):
        numbers.execute_in_process()


def test_output_with_name_and_metadata_reaches_the_step_output_event():
    @op
    def produce():
        return Output(41, output_name="result", metadata={"rows": 3, "source": "api"})

    @job
    def producing():
        produce()

    result = producing.execute_in_process()
    assert result.output_for_node("produce") == 41
    (step_output,) = [
        e for e in result.events_for_node("produce") if e.event_type is EventType.STEP_OUTPUT
    ]
    assert step_output.data.output_name == "result"
    assert step_output.metadata["rows"].value == 3
    assert step_output.metadata["source"].value == "api"


def test_several_outputs_by_yielding_outputs():
    @op(out={"evens": Out(), "odds": Out()})
    def split(context):
        context.log.info("splitting")
        yield Output([0, 2], "evens")
        yield Output([1, 3], output_name="odds", metadata={"count": 2})

    @op
    def total(values: list) -> int:
        return sum(values)

    @job
    def splitting():
        evens, odds = split()
        total(evens)
        total(odds)

    result = splitting.execute_in_process()
    assert result.output_for_node("split", "evens") == [0, 2]
    assert result.output_for_node("split", "odds") == [1, 3]
    assert result.output_for_node("total") == 2
    assert result.output_for_node("total_2") == 4
    outputs = [
        e.data.output_name
        for e in result.events_for_node("split")
        if e.event_type is EventType.STEP_OUTPUT
    ]
    assert outputs == ["evens", "odds"]


def test_several_outputs_by_returning_a_tuple_in_declaration_order():
    @op(out={"name": Out(str), "size": Out(int)})
    def describe():
        return "orders", 12

    @op
    def label(name: str, size: int) -> str:
        return f"{name}:{size}"

    @job
    def describing():
        name, size = describe()
        label(name, size)

    result = describing.execute_in_process()
    assert result.output_for_node("describe", "name") == "orders"
    assert result.output_for_node("describe", "size") == 12
    assert result.output_for_node("label") == "orders:12"


def test_multi_output_op_returning_the_wrong_shape_fails_with_a_clear_message():
    @op(out={"a": Out(), "b": Out()})
    def wrong():
        return 1

    @job
    def wronged():
        wrong()

    result = wronged.execute_in_process(raise_on_error=False)
    assert not result.success
    (failure,) = result.get_step_failure_events()
    assert "outputs ['a', 'b']" in failure.message
    assert "tuple of 2 values" in failure.message


def test_optional_output_not_yielded_skips_the_downstream_step_naming_the_output():
    @op(out={"maybe": Out(is_required=False), "always": Out()})
    def branch():
        yield Output(1, "always")

    @op
    def on_maybe(x):
        return x

    @op
    def on_always(x):
        return x + 1

    @job
    def branching():
        maybe, always = branch()
        on_maybe(maybe)
        on_always(always)

    result = branching.execute_in_process()
    assert result.success
    (skipped,) = result.get_step_skipped_events()
    assert skipped.event_type is EventType.STEP_SKIPPED
    assert skipped.step_key == "on_maybe"
    assert "'maybe'" in skipped.message
    assert "'branch'" in skipped.message
    assert result.is_node_skipped("on_maybe")
    assert result.output_for_node("on_always") == 2
    assert [e.step_key for e in result.get_step_success_events()] == ["branch", "on_always"]


def test_required_output_not_yielded_fails_the_step():
    @op(out={"a": Out(), "b": Out()})
    def half():
        yield Output(1, "a")

    @job
    def halves():
        half()

    result = halves.execute_in_process(raise_on_error=False)
    (failure,) = result.get_step_failure_events()
    assert "did not yield required output(s) ['b']" in failure.message


def test_nothing_input_orders_ops_without_passing_data():
    order = []

    @op
    def create_table() -> None:
        order.append("create")

    @op(ins={"after": In(Nothing)})
    def fill_table() -> int:
        order.append("fill")
        return 3

    @job
    def tables():
        fill_table(after=create_table())

    io = RecordingIOManager()
    result = tables.execute_in_process(resources={"io_manager": io})
    assert result.success
    assert order == ["create", "fill"]
    assert list(fill_table.ins) == ["after"]
    # no value is loaded for an ordering input
    assert io.loaded == []
    assert EventType.LOADED_INPUT not in _types(result.events_for_node("fill_table"))
    assert result.output_for_node("fill_table") == 3


def test_nothing_input_waits_for_upstream_failure_and_is_skipped():
    @op
    def first():
        raise RuntimeError("no table")

    @op(ins={"start": In(Nothing)})
    def second():
        return 1

    @job
    def ordered():
        second(start=first())

    result = ordered.execute_in_process(raise_on_error=False)
    assert result.is_node_failed("first")
    assert result.is_node_skipped("second")


def test_unwired_nothing_input_is_allowed():
    @op(ins={"start": In(Nothing)})
    def standalone():
        return "ran"

    @job
    def alone():
        standalone()

    assert alone.execute_in_process().output_for_node("standalone") == "ran"


def test_op_annotated_none_does_not_call_the_io_manager():
    @op
    def side_effect() -> None:
        pass

    @op
    def value() -> int:
        return 1

    @job
    def effects():
        side_effect()
        value()

    io = RecordingIOManager()
    result = effects.execute_in_process(resources={"io_manager": io})
    assert result.success
    assert io.handled == [("value", "result")]
    side_types = _types(result.events_for_node("side_effect"))
    assert EventType.HANDLED_OUTPUT not in side_types
    assert EventType.STEP_SUCCESS in side_types
    assert result.output_for_node("side_effect") is None


def test_op_annotated_none_returning_a_value_fails():
    @op
    def liar() -> None:
        return 5

    @job
    def lying():
        liar()

    result = lying.execute_in_process(raise_on_error=False)
    (failure,) = result.get_step_failure_events()
    assert "liar" in failure.message
    assert "annotated to return None" in failure.message


# -- type checks ----------------------------------------------------------------------------


def test_input_type_check_fails_the_step_naming_the_input_and_step():
    @op
    def emit_str() -> str:
        return "three"

    @op
    def double(x: int) -> int:
        return x * 2

    @job
    def typed():
        double(emit_str())

    result = typed.execute_in_process(raise_on_error=False)
    assert not result.success
    (failure,) = result.get_step_failure_events()
    assert failure.step_key == "double"
    assert "input 'x'" in failure.message
    assert "step 'double'" in failure.message
    assert "expected int" in failure.message and "got str" in failure.message

    with pytest.raises(TypeCheckError, match="input 'x' of step 'double'"):
        typed.execute_in_process()


def test_untyped_and_generic_annotations_accept_any_matching_value():
    @op
    def emit() -> list[int]:
        return [1, 2]

    @op
    def size(values: list[int], anything) -> int:
        return len(values) + len(anything)

    @job
    def sized():
        size(emit(), emit())

    assert sized.execute_in_process().output_for_node("size") == 4


# -- async ops ------------------------------------------------------------------------------


def test_async_ops_run_and_their_outputs_flow_downstream():
    @op
    async def fetch(context) -> int:
        await asyncio.sleep(0)
        context.log.info("fetched")
        return 20

    @op
    async def enrich(value: int) -> int:
        await asyncio.sleep(0)
        return value + 1

    @op
    def finish(value: int) -> int:
        return value * 2

    @job
    def pipeline():
        finish(enrich(fetch()))

    result = pipeline.execute_in_process()
    assert result.success
    assert result.output_for_node("fetch") == 20
    assert result.output_for_node("enrich") == 21
    assert result.output_for_node("finish") == 42
    # a second run gets a working event loop again
    assert pipeline.execute_in_process().output_for_node("finish") == 42


def test_async_generator_op_yields_outputs():
    @op(out={"a": Out(), "b": Out()})
    async def pair():
        yield Output(1, "a")
        await asyncio.sleep(0)
        yield Output(2, "b")

    @job
    def pairs():
        pair()

    result = pairs.execute_in_process()
    assert (result.output_for_node("pair", "a"), result.output_for_node("pair", "b")) == (1, 2)


def test_async_op_error_fails_the_step_with_the_user_exception():
    @op
    async def broken():
        await asyncio.sleep(0)
        raise KeyError("missing")

    @job
    def breaking():
        broken()

    with pytest.raises(KeyError, match="missing"):
        breaking.execute_in_process()


# -- definition-time errors ---------------------------------------------------------------


def test_ins_naming_a_non_parameter_is_rejected():
    with pytest.raises(InvalidDefinitionError) as info:

        @op(ins={"y": In(int)})
        def typo(x):
            return x

    message = str(info.value)
    assert "op 'typo'" in message
    assert "['y']" in message
    assert "typo(x)" in message


def test_op_annotating_asset_execution_context_is_rejected_outside_a_graph_asset():
    """As in Dagster: the annotation is valid on an op inside a graph-backed asset, so the
    op itself is accepted; a job that runs it as a plain op is refused before it runs."""

    @op
    def wrong_context(context: AssetExecutionContext):
        return 1

    @job
    def plain():
        wrong_context()

    with pytest.raises(InvalidDefinitionError) as info:
        plain.execute_in_process()
    message = str(info.value)
    assert "Op 'wrong_context'" in message
    assert "AssetExecutionContext" in message
    assert "graph-backed asset" in message
    assert "OpExecutionContext" in message


def test_arguments_reach_their_parameters_whatever_their_order_and_kind():
    """Inputs, config and resources are matched to parameters by name: positionally when
    every parameter can take a position (the fast path), by keyword when one is
    keyword-only, and with defaults left to the function when an input is not wired."""

    class Scale(Config):
        factor: int = 10

    @op
    def two() -> int:
        return 2

    @op
    def three() -> int:
        return 3

    @op
    def ordered(context: OpExecutionContext, config: Scale, b: int, a: int) -> tuple:
        return (context.op.name, config.factor, a, b)

    @op
    def keyword_only(a: int, *, b: int) -> tuple:
        return (a, b)

    @op(ins={"a": In(int), "b": In(int)})
    def with_default(a, b=7) -> tuple:
        return (a, b)

    @job
    def wired():
        ordered(a=two(), b=three())
        keyword_only(two(), b=three())
        with_default(a=two(), b=three())

    result = wired.execute_in_process()
    assert result.output_for_node("ordered") == ("ordered", 10, 2, 3)
    assert result.output_for_node("keyword_only") == (2, 3)
    assert result.output_for_node("with_default") == (2, 3)
