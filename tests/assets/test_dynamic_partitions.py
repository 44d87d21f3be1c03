"""Dynamic partitions in runs and sensor ticks: keys come from the run's instance, a
sensor's requests change them when its tick is processed, unknown keys are refused with
the closest one, and a definition outside any instance says where its keys come from."""

import pytest

from trellis import (
    AddDynamicPartitionsRequest,
    AssetExecutionContext,
    DeleteDynamicPartitionsRequest,
    DynamicPartitionsDefinition,
    MultiPartitionKey,
    MultiPartitionsDefinition,
    RunRequest,
    SensorResult,
    StaticPartitionsDefinition,
    asset,
    build_sensor_context,
    instance_for_test,
    materialize,
    sensor,
)
from trellis.core.errors import (
    InvalidDefinitionError,
    InvalidInvocationError,
    InvariantViolationError,
    UnknownPartitionError,
)

customers = DynamicPartitionsDefinition(name="customers")


@asset(partitions_def=customers)
def invoices(context: AssetExecutionContext) -> str:
    return f"invoices of {context.partition_key}"


def test_a_run_reads_its_instances_keys():
    with instance_for_test() as instance:
        instance.add_dynamic_partitions("customers", ["acme", "globex"])
        result = materialize([invoices], partition_key="globex", instance=instance)
        assert result.output_for_node("invoices") == "invoices of globex"
        with pytest.raises(UnknownPartitionError, match="Did you mean 'acme'"):
            materialize([invoices], partition_key="acmee", instance=instance)
        assert customers.get_partition_keys(dynamic_partitions_store=instance) == [
            "acme",
            "globex",
        ]


def test_outside_an_instance_the_definition_says_where_its_keys_are():
    with pytest.raises(InvariantViolationError, match="reads its keys from an instance"):
        customers.get_partition_keys()
    with pytest.raises(InvalidDefinitionError, match="needs a name"):
        DynamicPartitionsDefinition()
    with pytest.raises(InvalidDefinitionError, match="list of keys"):
        AddDynamicPartitionsRequest("customers", "acme")


@sensor(asset_selection=[invoices])
def new_customers(context):
    return SensorResult(
        run_requests=[RunRequest(partition_key="initech")],
        dynamic_partitions_requests=[
            customers.build_add_request(["initech", "hooli"]),
            DeleteDynamicPartitionsRequest("customers", ["acme"]),
        ],
    )


def test_a_sensor_tick_applies_its_requests_before_its_runs():
    with instance_for_test() as instance:
        instance.add_dynamic_partitions("customers", ["acme"])
        tick = new_customers.evaluate_tick(build_sensor_context(instance=instance))
        assert instance.get_dynamic_partitions("customers") == ["initech", "hooli"]
        assert tick.dynamic_partitions_requests[0] == AddDynamicPartitionsRequest(
            "customers", ["initech", "hooli"]
        )
        (request,) = tick.run_requests
        result = materialize([invoices], partition_key=request.partition_key, instance=instance)
        assert result.success
    with pytest.raises(InvalidInvocationError, match="dynamic_partitions_requests must hold"):
        SensorResult(dynamic_partitions_requests=["acme"])


def test_a_sensor_called_without_an_instance_only_returns_its_requests():
    tick = new_customers.evaluate_tick(build_sensor_context())
    assert len(tick.dynamic_partitions_requests) == 2


def test_a_dynamic_dimension_of_multi_partitions():
    regions = StaticPartitionsDefinition(["eu", "us"])
    by_customer_region = MultiPartitionsDefinition({"customer": customers, "region": regions})

    @asset(partitions_def=by_customer_region)
    def usage(context: AssetExecutionContext) -> dict:
        return context.partition_key.keys_by_dimension

    with instance_for_test() as instance:
        instance.add_dynamic_partitions("customers", ["acme"])
        key = MultiPartitionKey({"customer": "acme", "region": "us"})
        result = materialize([usage], partition_key=key, instance=instance)
        assert result.output_for_node("usage") == {"customer": "acme", "region": "us"}
        with pytest.raises(UnknownPartitionError, match="'globex' is not a key of dimension"):
            materialize([usage], partition_key="globex|us", instance=instance)
