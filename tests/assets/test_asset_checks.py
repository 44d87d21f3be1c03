"""Asset checks in runs: ``@asset_check`` steps after their assets, checks in an asset's
own step (``check_specs``), blocking checks that skip the assets downstream, the results
and evaluations a run records, the check context, and calling a check directly."""

from __future__ import annotations

import pytest

from trellis import (
    AssetCheckExecutionContext,
    AssetCheckKey,
    AssetCheckResult,
    AssetCheckSeverity,
    AssetCheckSpec,
    AssetExecutionContext,
    AssetIn,
    AssetKey,
    AssetSelection,
    AssetSpec,
    Config,
    ConfigurableResource,
    EventType,
    MaterializeResult,
    OpExecutionContext,
    Output,
    asset,
    asset_check,
    build_asset_check_context,
    materialize,
    multi_asset,
    multi_asset_check,
)
from trellis.core.asset_checks import AssetCheckFailedError
from trellis.core.errors import InvalidInvocationError, InvariantViolationError


@asset
def orders() -> list[int]:
    return [3, 4, 5]


@asset
def revenue(orders: list[int]) -> int:
    return sum(orders)


@asset
def report(revenue: int) -> str:
    return f"revenue {revenue}"


def _steps(result, event_type=EventType.STEP_START):
    return [e.step_key for e in result.all_events if e.event_type is event_type]


def _skips(result):
    return {e.step_key: e.data.reason for e in result.get_step_skipped_events()}


# -- @asset_check steps --------------------------------------------------------------------
def test_a_check_reads_its_asset_through_the_io_manager_in_a_step_after_it():
    @asset_check(asset=orders, description="orders are positive")
    def positive(orders: list[int]) -> AssetCheckResult:
        return AssetCheckResult(passed=min(orders) > 0, metadata={"smallest": min(orders)})

    result = materialize([orders, positive, revenue])
    assert result.success
    assert _steps(result) == ["orders", "orders_positive", "revenue"]
    loaded = [e for e in result.all_events if e.event_type is EventType.LOADED_INPUT]
    assert [(e.step_key, e.data.upstream_step_key) for e in loaded] == [
        ("orders_positive", "orders"),
        ("revenue", "orders"),
    ]
    (evaluation,) = result.get_asset_check_evaluations()
    assert evaluation.asset_check_key == AssetCheckKey(AssetKey("orders"), "positive")
    assert evaluation.passed and evaluation.severity is AssetCheckSeverity.ERROR
    assert evaluation.metadata["smallest"].value == 3 and evaluation.blocking is False
    target = evaluation.target_materialization_data
    assert target.run_id == result.run_id  # the materialization this run made


def test_a_check_without_the_asset_as_input_still_runs_after_it():
    @asset_check(asset="orders")
    def ran_after(context: AssetCheckExecutionContext) -> AssetCheckResult:
        latest = context.instance.get_latest_materialization_event(AssetKey("orders"))
        return AssetCheckResult(passed=latest is not None and latest.run_id == context.run_id)

    result = materialize([ran_after, orders])
    assert _steps(result) == ["orders", "orders_ran_after"]
    assert not [e for e in result.all_events if e.event_type is EventType.LOADED_INPUT]
    assert [e.passed for e in result.get_asset_check_evaluations()] == [True]


def test_a_failed_blocking_check_fails_its_step_and_skips_what_is_downstream_naming_it():
    @asset_check(asset=orders, blocking=True)
    def enough(orders: list[int]) -> AssetCheckResult:
        return AssetCheckResult(passed=len(orders) > 10, description="too few orders")

    result = materialize([orders, enough, revenue, report], raise_on_error=False)
    assert not result.success
    (failure,) = result.get_step_failure_events()
    assert failure.step_key == "orders_enough"
    assert "blocking asset check failed with ERROR severity: orders:enough" in failure.message
    assert _skips(result) == {
        "revenue": "blocking asset check 'orders:enough' failed (in step 'orders_enough')",
        "report": "upstream step(s) ['revenue'] were skipped",
    }
    (evaluation,) = result.get_asset_check_evaluations()
    assert not evaluation.passed and evaluation.blocking and evaluation.status == "failed"
    assert evaluation.description == "too few orders"
    with pytest.raises(AssetCheckFailedError, match="orders:enough"):
        materialize([orders, enough, revenue])


def test_a_blocking_check_that_passes_or_only_warns_lets_downstream_run():
    @asset_check(asset=orders, blocking=True)
    def warns(orders: list[int]) -> AssetCheckResult:
        return AssetCheckResult(passed=False, severity=AssetCheckSeverity.WARN)

    @asset_check(asset=orders, blocking=True)
    def passes(orders: list[int]) -> AssetCheckResult:
        return AssetCheckResult(passed=True)

    result = materialize([orders, warns, passes, revenue])
    assert result.success and result.asset_value("revenue") == 12
    started = _steps(result)
    assert started.index("revenue") > max(
        started.index("orders_warns"), started.index("orders_passes")
    )
    assert {e.check_name: e.status for e in result.get_asset_check_evaluations()} == {
        "warns": "warned",
        "passes": "passed",
    }


def test_a_failed_check_that_does_not_block_leaves_the_run_successful():
    @asset_check(asset=orders)
    def strict(orders: list[int]) -> AssetCheckResult:
        return AssetCheckResult(passed=False)

    result = materialize([orders, strict, revenue])
    assert result.success
    assert [e.status for e in result.get_asset_check_evaluations()] == ["failed"]
    event = next(e for e in result.all_events if e.event_type is EventType.ASSET_CHECK_EVALUATION)
    assert event.message == "Asset check 'strict' on 'orders' failed (ERROR)."


def test_a_check_that_raises_fails_its_step_and_records_no_evaluation():
    @asset_check(asset=orders, blocking=True)
    def broken(orders: list[int]) -> AssetCheckResult:
        raise ValueError("cannot tell")

    result = materialize([orders, broken, revenue], raise_on_error=False)
    assert [e.step_key for e in result.get_step_failure_events()] == ["orders_broken"]
    assert _skips(result) == {"revenue": "upstream step(s) ['orders_broken'] failed"}
    assert result.get_asset_check_evaluations() == []


def test_checks_declare_their_other_inputs_and_dependencies():
    @asset_check(
        asset=revenue,
        additional_ins={"raw": AssetIn("orders")},
        additional_deps=["report"],
    )
    def matches(revenue: int, raw: list[int]) -> AssetCheckResult:
        return AssetCheckResult(passed=revenue == sum(raw))

    result = materialize([orders, revenue, report, matches])
    assert _steps(result)[-1] == "revenue_matches"  # after report, its additional dep
    loaded = {
        e.data.input_name: e.data.upstream_step_key
        for e in result.events_for_node("revenue_matches")
        if e.event_type is EventType.LOADED_INPUT
    }
    assert loaded == {"revenue": "revenue", "raw": "orders"}
    assert [e.passed for e in result.get_asset_check_evaluations()] == [True]


class Threshold(ConfigurableResource):
    minimum: int


class CheckConfig(Config):
    at_least: int = 1


def test_checks_take_resources_config_and_the_check_context():
    @asset_check(asset=orders, required_resource_keys={"limits"}, config_schema={"factor": int})
    def scaled(context: AssetCheckExecutionContext, orders: list[int]) -> AssetCheckResult:
        limit = context.resources.limits.minimum * context.op_config["factor"]
        return AssetCheckResult(passed=sum(orders) >= limit)

    @asset_check(asset=orders, name="typed")
    def typed_check(
        context: AssetCheckExecutionContext,
        orders: list[int],
        limits: Threshold,
        config: CheckConfig,
    ) -> AssetCheckResult:
        assert context.check_specs == [AssetCheckSpec("typed", asset="orders")]
        assert context.selected_asset_check_keys == {AssetCheckKey(AssetKey("orders"), "typed")}
        assert isinstance(context.op_execution_context, OpExecutionContext)
        assert context.op_execution_context.op.name == "orders_typed"
        assert AssetCheckExecutionContext.get() is context
        assert OpExecutionContext.get().op_def is context.op_def
        context.log.info(f"checking {context.run_id}")
        return AssetCheckResult(passed=len(orders) >= config.at_least + limits.minimum)

    result = materialize(
        [orders, scaled, typed_check],
        resources={"limits": Threshold(minimum=2)},
        run_config={
            "ops": {"orders_scaled": {"config": {"factor": 3}}, "orders_typed": {"config": {}}}
        },
    )
    assert {e.check_name: e.passed for e in result.get_asset_check_evaluations()} == {
        "scaled": True,
        "typed": True,
    }
    started = [e for e in result.all_events if e.event_type is EventType.STEP_START]
    assert {e.step_key: e.data.context_type for e in started}["orders_typed"] == (
        "AssetCheckExecutionContext"
    )
    logged = [e.message for e in result.event_log if e.event_type is EventType.LOG_MESSAGE]
    assert logged == [f"checking {result.run_id}"]


def test_a_multi_asset_check_evaluates_several_checks_in_one_step():
    @multi_asset_check(
        specs=[
            AssetCheckSpec("not_empty", asset="orders"),
            AssetCheckSpec("consistent", asset="revenue", additional_deps=["orders"]),
        ]
    )
    def both(orders: list[int], revenue: int):
        yield AssetCheckResult(check_name="not_empty", passed=bool(orders))
        yield AssetCheckResult(asset_key="revenue", passed=revenue == sum(orders))

    result = materialize([orders, revenue, both])
    assert _steps(result) == ["orders", "revenue", "both"]
    assert {
        e.asset_check_key.to_user_string(): e.passed for e in result.get_asset_check_evaluations()
    } == {
        "orders:not_empty": True,
        "revenue:consistent": True,
    }


# -- checks in the asset's own step -------------------------------------------------------
def test_check_specs_run_in_the_assets_step_yielded_or_returned_with_the_materialization():
    @asset(check_specs=[AssetCheckSpec("non_negative", asset="total")])
    def total(orders: list[int]):
        value = sum(orders)
        yield Output(value)
        yield AssetCheckResult(passed=value >= 0, metadata={"value": value})

    @asset(
        check_specs=[
            AssetCheckSpec("small", asset="count"),
            AssetCheckSpec("even", asset="count"),
        ]
    )
    def count(orders: list[int]) -> MaterializeResult:
        return MaterializeResult(
            metadata={"n": len(orders)},
            check_results=[
                AssetCheckResult(check_name="small", passed=len(orders) < 10),
                AssetCheckResult(check_name="even", passed=len(orders) % 2 == 0),
            ],
        )

    result = materialize([orders, total, count])
    assert result.success
    assert sorted(_steps(result)) == ["count", "orders", "total"]  # no step of their own
    events = [e.event_type for e in result.events_for_node("count")]
    evaluation_at = events.index(EventType.ASSET_CHECK_EVALUATION)
    assert events.index(EventType.ASSET_MATERIALIZATION) < evaluation_at
    by_name = {e.check_name: e for e in result.get_asset_check_evaluations()}
    assert {k: v.passed for k, v in by_name.items()} == {
        "non_negative": True,
        "small": True,
        "even": False,
    }
    target = by_name["small"].target_materialization_data
    assert (target.storage_id, target.run_id, target.timestamp) == (None, result.run_id, None)


def test_a_declared_check_without_a_result_fails_the_step():
    @asset(check_specs=[AssetCheckSpec("a", asset="x"), AssetCheckSpec("b", asset="x")])
    def x() -> MaterializeResult:
        return MaterializeResult(check_results=[AssetCheckResult(check_name="a", passed=True)])

    result = materialize([x], raise_on_error=False)
    (failure,) = result.get_step_failure_events()
    assert "did not yield a result for asset check(s) ['x:b']" in failure.message


def test_results_must_say_which_check_they_answer():
    @asset(check_specs=[AssetCheckSpec("a", asset="y"), AssetCheckSpec("b", asset="y")])
    def y():
        yield Output(1)
        yield AssetCheckResult(passed=True)

    @asset
    def undeclared():
        yield Output(1)
        yield AssetCheckResult(passed=True)

    @asset(check_specs=[AssetCheckSpec("a", asset="z")])
    def z():
        yield Output(1)
        yield AssetCheckResult(passed=True)
        yield AssetCheckResult(passed=False, check_name="a")

    for assets_def, expected in [
        (y, "which fits 2 of its checks ['y:a', 'y:b']"),
        (undeclared, "declares no asset checks"),
        (z, "yielded a result for asset check 'z:a' twice"),
    ]:
        result = materialize([assets_def], raise_on_error=False)
        (failure,) = result.get_step_failure_events()
        assert expected in failure.message, failure.message


def test_a_failed_blocking_check_in_the_assets_step_keeps_the_materialization_and_blocks():
    @asset(check_specs=[AssetCheckSpec("sane", asset="total", blocking=True)])
    def total(orders: list[int]):
        yield Output(-1)
        yield AssetCheckResult(passed=False)

    @asset
    def uses_total(total: int) -> int:
        return total

    result = materialize([orders, total, uses_total], raise_on_error=False)
    assert [e.asset_key for e in result.get_asset_materialization_events()][-1] == AssetKey("total")
    assert _skips(result) == {
        "uses_total": "blocking asset check 'total:sane' failed (in step 'total')"
    }


def test_a_subsettable_multi_asset_evaluates_only_the_selected_checks():
    seen = []

    @multi_asset(
        specs=[AssetSpec("a"), AssetSpec("b")],
        check_specs=[AssetCheckSpec("ca", asset="a"), AssetCheckSpec("cb", asset="b")],
        can_subset=True,
    )
    def ab(context: AssetExecutionContext):
        seen.append((context.selected_asset_keys, context.selected_asset_check_keys))
        for key in sorted(context.selected_asset_keys):
            yield MaterializeResult(asset_key=key)
        for check in sorted(context.selected_asset_check_keys):
            yield AssetCheckResult(asset_key=check.asset_key, check_name=check.name, passed=True)

    result = materialize([ab], selection=AssetSelection.checks_for_assets("a"))
    assert seen[-1] == (set(), {AssetCheckKey(AssetKey("a"), "ca")})
    assert not result.get_asset_materialization_events()
    assert [e.check_name for e in result.get_asset_check_evaluations()] == ["ca"]
    materialize([ab], selection=AssetSelection.assets("b"))
    assert seen[-1] == ({AssetKey("b")}, {AssetCheckKey(AssetKey("b"), "cb")})


# -- events ---------------------------------------------------------------------------------
def test_a_run_announces_its_planned_checks_after_it_starts():
    @asset_check(asset=orders)
    def planned(orders: list[int]) -> AssetCheckResult:
        return AssetCheckResult(passed=True)

    result = materialize([orders, planned, revenue])
    types = [e.event_type for e in result.all_events]
    assert types[:2] == [EventType.RUN_START, EventType.ASSET_CHECK_EVALUATION_PLANNED]
    planned_event = result.all_events[1]
    assert planned_event.data.asset_check_key == AssetCheckKey(AssetKey("orders"), "planned")
    assert planned_event.data.step_key == "orders_planned" and planned_event.step_key is None


# -- calling checks directly ----------------------------------------------------------------
def test_a_check_can_be_called_directly_with_or_without_a_context():
    @asset_check(asset=orders)
    def plain(orders: list[int]) -> AssetCheckResult:
        return AssetCheckResult(passed=len(orders) > 1)

    @asset_check(asset=orders, required_resource_keys={"limits"})
    def with_context(context: AssetCheckExecutionContext, orders: list[int]) -> AssetCheckResult:
        assert [s.name for s in context.check_specs] == ["with_context"]
        return AssetCheckResult(passed=len(orders) >= context.resources.limits.minimum)

    assert plain([1, 2]) == AssetCheckResult(passed=True)
    assert plain(orders=[1]).passed is False
    context = build_asset_check_context(resources={"limits": Threshold(minimum=3)})
    assert isinstance(context, AssetCheckExecutionContext)
    assert with_context(context, [1, 2, 3]).passed is True
    with pytest.raises(InvalidInvocationError, match="requires resource 'limits'"):
        with_context(build_asset_check_context(), [1])

    @asset_check(asset=orders)
    def not_a_result(orders: list[int]):
        return True

    with pytest.raises(InvariantViolationError, match="a check returns or yields AssetCheckResult"):
        not_a_result([1])


def test_a_check_definition_describes_itself():
    @asset_check(asset=orders, blocking=True, description="d", metadata={"owner": "me"})
    def described(orders: list[int]) -> AssetCheckResult:
        return AssetCheckResult(passed=True)

    key = AssetCheckKey(AssetKey("orders"), "described")
    assert described.check_key == key and described.check_keys == {key}
    (spec,) = described.check_specs
    assert (spec.name, spec.asset_key, spec.blocking, spec.description) == (
        "described",
        AssetKey("orders"),
        True,
        "d",
    )
    assert spec.metadata == {"owner": "me"}
    assert described.node_name == "orders_described"
    assert described.keys_by_input_name == {"orders": AssetKey("orders")}
    assert AssetCheckKey.from_user_string("a/b:c") == AssetCheckKey(AssetKey(["a", "b"]), "c")
    assert key.to_user_string() == "orders:described"


def test_an_asset_annotated_to_return_a_materialize_result_may_carry_a_value():
    @asset(check_specs=[AssetCheckSpec("positive", asset="valued")])
    def valued() -> MaterializeResult:
        return MaterializeResult(
            value=7, check_results=[AssetCheckResult(passed=True)], metadata={"v": 7}
        )

    result = materialize([valued])
    assert result.asset_value("valued") == 7
    assert [e.passed for e in result.get_asset_check_evaluations()] == [True]


def test_a_check_in_a_partitioned_run_sees_the_runs_partition():
    from trellis import StaticPartitionsDefinition

    regions = StaticPartitionsDefinition(["north", "south"])

    @asset(partitions_def=regions)
    def sales(context: AssetExecutionContext) -> int:
        return len(context.partition_key)

    @asset_check(asset=sales)
    def sales_for_partition(context: AssetCheckExecutionContext, sales: int) -> AssetCheckResult:
        return AssetCheckResult(
            passed=sales == len(context.partition_key),
            metadata={"partition": context.partition_key},
        )

    result = materialize([sales, sales_for_partition], partition_key="south")
    (evaluation,) = result.get_asset_check_evaluations()
    assert evaluation.passed and evaluation.metadata["partition"].value == "south"
