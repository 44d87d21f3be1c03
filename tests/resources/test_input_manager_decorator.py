"""``@input_manager`` as Dagster's docs use it: a function of the ``InputContext`` that
loads an unconnected input (or an input downstream of an op, instead of the IO manager),
with its own config, or returning an ``InputManager`` that loads in turn."""

from __future__ import annotations

import pytest

from trellis import (
    AssetIn,
    AssetSpec,
    In,
    InputManager,
    InputManagerDefinition,
    InvalidConfigError,
    asset,
    input_manager,
    job,
    materialize,
    op,
)


@input_manager
def constant_loader(context):
    return {"loaded_for": context.name}


@input_manager(config_schema={"table": str})
def table_loader(context):
    return f"rows of {context.resource_config['table']}"


@op(ins={"rows": In(input_manager_key="tables")})
def count_rows(rows: str) -> int:
    return len(rows)


@job(resource_defs={"tables": table_loader})
def counting():
    count_rows()


def test_an_unconnected_input_is_loaded_by_the_decorated_function():
    assert isinstance(constant_loader, InputManagerDefinition)

    @op(ins={"data": In(input_manager_key="loader")})
    def reads(data: dict) -> str:
        return data["loaded_for"]

    @job(resource_defs={"loader": constant_loader})
    def reading():
        reads()

    assert reading.execute_in_process().output_for_node("reads") == "data"


def test_its_config_comes_from_run_config_and_is_checked():
    result = counting.execute_in_process(
        run_config={"resources": {"tables": {"config": {"table": "orders"}}}}
    )
    assert result.output_for_node("count_rows") == len("rows of orders")
    with pytest.raises(InvalidConfigError, match="table"):
        counting.execute_in_process()


def test_a_function_may_return_an_input_manager_and_read_the_upstream_output():
    class Describing(InputManager):
        def load_input(self, context):
            return f"instead of the output of {context.upstream_output.step_key}"

    @input_manager
    def doubling(_context):
        return Describing()

    @op
    def make_three() -> int:
        return 3

    @op(ins={"x": In(input_manager_key="doubling")})
    def passthrough(x: str) -> str:
        return x

    @job(resource_defs={"doubling": doubling})
    def pipeline():
        passthrough(make_three())

    result = pipeline.execute_in_process()
    assert result.output_for_node("passthrough") == "instead of the output of make_three"


def test_an_asset_reads_a_source_through_an_input_manager():
    raw = AssetSpec("raw_orders")

    @input_manager
    def warehouse(context):
        return [context.asset_key.to_user_string()] * 2

    @asset(ins={"orders": AssetIn("raw_orders", input_manager_key="warehouse")})
    def order_count(orders: list) -> int:
        return len(orders)

    result = materialize([raw, order_count], resources={"warehouse": warehouse})
    assert result.success
    assert result.output_for_node("order_count") == 2
