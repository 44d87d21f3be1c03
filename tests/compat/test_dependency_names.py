"""Upstream names resolved as Dagster resolves them when keys carry a prefix: a parameter
names the one asset of the same group whose key ends with it (Dagster's key_prefix guides
write assets this way), or the one asset with that ``dagster/table_name``."""

import pytest

from trellis import AssetKey, Definitions, InvalidDefinitionError, asset, materialize


@asset(key_prefix=["iris"])
def iris_dataset() -> list[int]:
    return [1, 2, 3]


@asset(key_prefix=["iris"])
def iris_setosa(iris_dataset: list[int]) -> int:
    return sum(iris_dataset)


def test_a_parameter_names_the_prefixed_asset_of_its_group():
    defs = Definitions(assets=[iris_dataset, iris_setosa])
    graph = defs.resolve_asset_graph()
    assert graph.upstream[AssetKey(["iris", "iris_setosa"])] == {AssetKey(["iris", "iris_dataset"])}
    result = materialize([iris_dataset, iris_setosa])
    assert result.success and result.asset_value(["iris", "iris_setosa"]) == 6


def test_the_name_must_be_unique_in_the_group():
    @asset(key_prefix=["a"], name="orders")
    def orders_a() -> int:
        return 1

    @asset(key_prefix=["b"], name="orders")
    def orders_b() -> int:
        return 2

    @asset
    def report(orders: int) -> int:
        return orders

    defs = Definitions(assets=[orders_a, orders_b, report])
    with pytest.raises(InvalidDefinitionError, match="which no definition provides"):
        Definitions.validate_loadable(defs)


def test_a_parameter_names_the_asset_with_that_table_name():
    @asset(key=["warehouse", "public", "orders_v2"], metadata={"dagster/table_name": "orders"})
    def orders_table() -> int:
        return 5

    @asset(group_name="reports")
    def summary(orders: int) -> int:
        return orders * 2

    result = materialize([orders_table, summary])
    assert result.success and result.asset_value("summary") == 10
