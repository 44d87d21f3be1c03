"""Graph-backed assets: ``@graph_asset``, ``@graph_multi_asset``,
``AssetsDefinition.from_graph`` and ``from_op`` — step keys for the inner ops, upstream
assets loaded into the ops that take them, the asset stored by its op output's IO manager,
intermediates by theirs, run config nested under the asset's node, partitions, subsets,
and the contexts inner ops receive."""

from __future__ import annotations

import pytest

from trellis import (
    AssetExecutionContext,
    AssetIn,
    AssetKey,
    AssetOut,
    AssetsDefinition,
    Definitions,
    DynamicOut,
    DynamicOutput,
    EventType,
    GraphOut,
    InvalidDefinitionError,
    IOManager,
    OpExecutionContext,
    Out,
    Output,
    StaticPartitionsDefinition,
    asset,
    define_asset_job,
    graph,
    graph_asset,
    graph_multi_asset,
    io_manager,
    materialize,
    materialize_to_memory,
    op,
)
from trellis.views.diagram import build_diagram

QUIET = {"loggers": {"console": {"config": {"log_level": "CRITICAL"}}}}


def _steps(result, event_type=EventType.STEP_START):
    return [e.step_key for e in result.all_events if e.event_type is event_type]


def _materialized(result):
    return {
        e.asset_key.to_user_string(): e.step_key
        for e in result.all_events
        if e.event_type is EventType.ASSET_MATERIALIZATION
    }


@asset
def numbers() -> list[int]:
    return [1, 2, 3]


@op(config_schema={"factor": int})
def scale(context: OpExecutionContext, xs: list) -> list:
    return [x * context.op_config["factor"] for x in xs]


@op
def add_up(xs: list) -> int:
    return sum(xs)


@graph_asset
def scaled_sum(numbers):
    return add_up(scale(numbers))


SCALE_BY_10 = {"ops": {"scaled_sum": {"ops": {"scale": {"config": {"factor": 10}}}}}}


def test_a_graph_asset_runs_each_op_as_a_step_under_the_assets_name():
    result = materialize_to_memory([numbers, scaled_sum], run_config={**QUIET, **SCALE_BY_10})
    assert result.success
    assert result.asset_value("scaled_sum") == 60
    assert _steps(result) == ["numbers", "scaled_sum.scale", "scaled_sum.add_up"]
    assert _materialized(result) == {"numbers": "numbers", "scaled_sum": "scaled_sum.add_up"}
    assert scaled_sum.keys_by_input_name == {"numbers": AssetKey("numbers")}
    assert scaled_sum.node_def.name == "scaled_sum" and scaled_sum.is_graph_backed
    loaded = [e for e in result.all_events if e.event_type is EventType.LOADED_INPUT]
    assert loaded[0].step_key == "scaled_sum.scale" and loaded[0].asset_key == AssetKey("numbers")
    assert loaded[1].data.upstream_step_key == "scaled_sum.scale" and loaded[1].asset_key is None


def test_the_asset_uses_its_ops_io_manager_and_intermediates_theirs():
    calls: list[tuple] = []

    class Recording(IOManager):
        def __init__(self, name):
            self.name, self.values = name, {}

        def handle_output(self, context, obj):
            calls.append((self.name, context.step_key, context.asset_key))
            self.values[context.step_key] = obj

        def load_input(self, context):
            return self.values[context.upstream_output.step_key]

    @io_manager
    def default(_):
        return Recording("default")

    @io_manager
    def warehouse(_):
        return Recording("warehouse")

    @op(out=Out(io_manager_key="warehouse"))
    def store(xs: list) -> int:
        return len(xs)

    @graph_asset
    def counted(numbers):
        return store(scale(numbers))

    result = materialize(
        [numbers, counted],
        resources={"io_manager": default, "warehouse": warehouse},
        run_config={**QUIET, "ops": {"counted": {"ops": {"scale": {"config": {"factor": 1}}}}}},
    )
    assert result.success
    assert ("default", "counted.scale", None) in calls  # intermediate: no asset key
    assert ("warehouse", "counted.store", AssetKey("counted")) in calls


def test_config_given_with_the_asset_is_its_ops_default_config():
    @graph_asset(config={"scale": {"config": {"factor": 3}}}, key_prefix="reports", group_name="g")
    def tripled(numbers):
        return add_up(scale(numbers))

    assert tripled.key == AssetKey(["reports", "tripled"])
    assert tripled.specs_by_key[tripled.key].group_name == "g"
    result = materialize_to_memory([numbers, tripled], run_config=QUIET)
    assert result.asset_value(["reports", "tripled"]) == 18
    # The node is named after the key, prefix included, as in Dagster.
    assert tripled.node_def.name == "reports__tripled"
    scale_once = {"ops": {"scale": {"config": {"factor": 1}}}}
    override = {**QUIET, "ops": {"reports__tripled": scale_once}}
    assert (
        materialize_to_memory([numbers, tripled], run_config=override).asset_value(
            ["reports", "tripled"]
        )
        == 6
    )


def test_missing_inner_config_is_reported_at_its_nested_path():
    from trellis import InvalidConfigError

    with pytest.raises(InvalidConfigError) as info:
        materialize_to_memory([numbers, scaled_sum], run_config=QUIET)
    assert "scaled_sum" in str(info.value) and "scale" in str(info.value)


def test_inner_ops_get_the_op_context_unless_they_ask_for_the_asset_context():
    seen = {}

    @op
    def first(context, xs: list) -> list:
        seen["first"] = type(context).__name__
        return xs

    @op
    def last(context: AssetExecutionContext, xs: list) -> int:
        seen["last"] = (type(context).__name__, context.asset_key, context.selected_asset_keys)
        context.add_output_metadata({"rows": len(xs)})
        return len(xs)

    @graph_asset
    def counted(numbers):
        return last(first(numbers))

    result = materialize_to_memory([numbers, counted], run_config=QUIET)
    assert seen["first"] == "OpExecutionContext"
    assert seen["last"] == ("AssetExecutionContext", AssetKey("counted"), {AssetKey("counted")})
    materialization = result.asset_materializations_for_node("counted.last")[0]
    assert materialization.metadata["rows"].value == 3


def test_a_partitioned_graph_asset_runs_its_ops_for_the_partition():
    letters = StaticPartitionsDefinition(["a", "b"])

    @asset(partitions_def=letters)
    def raw(context: AssetExecutionContext) -> str:
        return context.partition_key

    @op
    def upper(context: OpExecutionContext, s: str) -> str:
        assert context.partition_key == "b"
        return s.upper()

    @graph_asset(partitions_def=letters)
    def shouted(raw):
        return upper(raw)

    result = materialize_to_memory([raw, shouted], partition_key="b", run_config=QUIET)
    assert result.asset_value("shouted") == "B"
    events = result.get_asset_materialization_events()
    assert {(e.asset_key.to_user_string(), e.partition) for e in events} == {
        ("raw", "b"),
        ("shouted", "b"),
    }


@op(out={"low": Out(is_required=False), "high": Out(is_required=False)})
def split(context: OpExecutionContext, xs: list):
    for name in sorted(context.selected_output_names):
        yield Output([x for x in xs if (x < 2) == (name == "low")], name)


@op
def total(xs: list) -> int:
    return sum(xs)


@graph_multi_asset(
    outs={"low_total": AssetOut(), "high_total": AssetOut(key_prefix="hi")}, can_subset=True
)
def totals(numbers):
    low, high = split(numbers)
    return {"low_total": total(low), "high_total": total.alias("total_high")(high)}


def test_a_graph_multi_asset_makes_each_asset_from_its_op():
    result = materialize_to_memory([numbers, totals], run_config=QUIET)
    assert result.asset_value("low_total") == 1
    assert result.asset_value(["hi", "high_total"]) == 5
    assert _materialized(result) == {
        "numbers": "numbers",
        "low_total": "totals.total",
        "hi/high_total": "totals.total_high",
    }


def test_a_subset_runs_only_the_ops_the_selected_assets_need():
    result = materialize_to_memory(
        [numbers, totals], selection=["hi/high_total", "numbers"], run_config=QUIET
    )
    assert result.success
    assert _steps(result) == ["numbers", "totals.split", "totals.total_high"]
    splits = [e for e in result.all_events if e.event_type is EventType.STEP_OUTPUT]
    assert [e.data.output_name for e in splits if e.step_key == "totals.split"] == ["high"]


def test_a_graph_multi_asset_that_cannot_subset_refuses_a_partial_selection():
    @graph_multi_asset(outs={"a": AssetOut(), "b": AssetOut()})
    def pair(numbers):
        low, high = split(numbers)
        return {"a": total(low), "b": total.alias("t2")(high)}

    with pytest.raises(Exception, match="cannot be subset"):
        materialize_to_memory([numbers, pair], selection=["a", "numbers"], run_config=QUIET)


def test_from_graph_and_from_op_key_the_assets_as_dagster_does():
    @graph(out={"lows": GraphOut(), "highs": GraphOut()})
    def partition_numbers(source):
        low, high = split(source)
        return {"lows": low, "highs": high}

    from_graph = AssetsDefinition.from_graph(
        partition_numbers,
        keys_by_input_name={"source": AssetKey("numbers")},
        keys_by_output_name={"highs": AssetKey(["p", "highs"])},
        group_name="parts",
    )
    assert set(from_graph.keys) == {AssetKey("lows"), AssetKey(["p", "highs"])}

    @op
    def count(context, numbers: list) -> int:
        assert isinstance(context, AssetExecutionContext)  # as @asset's function is
        return len(numbers)

    from_op = AssetsDefinition.from_op(count, key_prefix="stats")
    assert from_op.keys == [AssetKey(["stats", "count"])]
    assert from_op.keys_by_input_name == {"numbers": AssetKey("numbers")}
    result = materialize_to_memory([numbers, from_graph, from_op], run_config=QUIET)
    assert result.asset_value(["p", "highs"]) == [2, 3]
    assert result.asset_value(["stats", "count"]) == 3
    assert _materialized(result)["lows"] == "partition_numbers.split"
    assert _materialized(result)["stats/count"] == "count"


def test_graph_assets_in_definitions_jobs_and_load_asset_value(tmp_path):
    @graph_asset(ins={"source": AssetIn(key="numbers")})
    def doubled(source):
        return scale(source)

    defs = Definitions(
        assets=[numbers, doubled],
        jobs=[define_asset_job("all_of_it")],
    )
    job = defs.get_job_def("all_of_it")
    config = {**QUIET, "ops": {"doubled": {"ops": {"scale": {"config": {"factor": 2}}}}}}
    from trellis import instance_for_test

    with instance_for_test(temp_dir=str(tmp_path)) as instance:
        result = job.execute_in_process(run_config=config, instance=instance)
        assert result.success
        assert defs.load_asset_value("doubled", instance=instance) == [2, 4, 6]
    assert [s.key for s in build_diagram(job, config).steps] == ["numbers", "doubled.scale"]


def test_a_graph_asset_may_fan_out_inside():
    @op(out=DynamicOut())
    def each(xs: list):
        for i, x in enumerate(xs):
            yield DynamicOutput(x, mapping_key=str(i))

    @op
    def square(x: int) -> int:
        return x * x

    @graph_asset
    def sum_of_squares(numbers):
        return add_up(each(numbers).map(square).collect())

    result = materialize_to_memory([numbers, sum_of_squares], run_config=QUIET)
    assert result.asset_value("sum_of_squares") == 14
    assert "sum_of_squares.square[2]" in _steps(result)
    assert _materialized(result)["sum_of_squares"] == "sum_of_squares.add_up"


def test_definition_errors_name_the_problem():
    @op(out=DynamicOut())
    def each(xs: list):
        yield DynamicOutput(xs, "a")

    with pytest.raises(InvalidDefinitionError, match="dynamic output"):

        @graph_asset
        def not_one_value(numbers):
            return each(numbers)

    with pytest.raises(InvalidDefinitionError, match="returned"):

        @graph_multi_asset(outs={"a": AssetOut(), "b": AssetOut()})
        def missing_one(numbers):
            return {"a": total(numbers)}

    with pytest.raises(InvalidDefinitionError, match="must be a BackfillPolicy"):

        @graph_asset(backfill_policy=object())
        def with_policy(numbers):
            return total(numbers)

    with pytest.raises(InvalidDefinitionError, match="cannot be called directly"):
        scaled_sum([1])


def test_an_op_asking_for_the_asset_context_outside_a_graph_asset_is_refused():
    from trellis import job

    @op
    def wants_asset(context: AssetExecutionContext) -> int:
        return 1

    @job
    def plain():
        wants_asset()

    with pytest.raises(InvalidDefinitionError, match="graph-backed asset"):
        plain.execute_in_process(run_config=QUIET)


def test_hooks_given_to_from_graph_and_from_op_run_after_each_of_their_ops():
    from trellis import HookContext, success_hook

    ran: list[str] = []

    @success_hook
    def note(context: HookContext) -> None:
        ran.append(context.step_key)

    @op
    def one() -> int:
        return 1

    @op
    def plus(x: int) -> int:
        return x + 1

    @graph
    def two():
        return plus(one())

    @op
    def three_op() -> int:
        return 3

    graph_backed = AssetsDefinition.from_graph(two, hook_defs={note})
    op_backed = AssetsDefinition.from_op(three_op, hook_defs={note})
    assert materialize_to_memory([graph_backed, op_backed], run_config=QUIET).success
    assert sorted(ran) == ["three_op", "two.one", "two.plus"]
