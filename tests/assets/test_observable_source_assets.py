"""``@observable_source_asset``: what its observe function may return and what each
becomes (observations with data versions, metadata and tags, one per partition), the
context and resources it receives, how jobs and selections treat it, and the errors that
name what was wrong."""

from __future__ import annotations

import pytest

from trellis import (
    AssetExecutionContext,
    AssetKey,
    AssetSelection,
    ConfigurableResource,
    DataVersion,
    DataVersionsByPartition,
    Definitions,
    EventType,
    InvalidDefinitionError,
    ObserveResult,
    StaticPartitionsDefinition,
    asset,
    define_asset_job,
    instance_for_test,
    materialize,
    observable_source_asset,
)


class FileStore(ConfigurableResource):
    """Where the observed "file" lives."""

    checksum: str


@observable_source_asset(group_name="sources", metadata={"owner": "ingest"})
def orders_file(context: AssetExecutionContext, store: FileStore) -> ObserveResult:
    context.log.info(f"observing {context.asset_key.to_user_string()}")
    return ObserveResult(
        data_version=DataVersion(store.checksum), metadata={"bytes": 120}, tags={"seen": "yes"}
    )


@asset(deps=[orders_file], code_version="v1")
def orders() -> int:
    return 3


def _defs(checksum: str = "abc") -> Definitions:
    return Definitions(
        assets=[orders_file, orders],
        jobs=[define_asset_job("observe", [orders_file])],
        resources={"store": FileStore(checksum=checksum)},
    )


def test_an_observation_records_version_metadata_and_tags():
    result = _defs().get_job_def("observe").execute_in_process()
    assert result.success
    (event,) = result.get_asset_observation_events()
    observation = event.asset_observation
    assert observation.asset_key == AssetKey("orders_file")
    assert observation.data_version == "abc"
    assert observation.tags == {
        "dagster/data_version": "abc",
        "dagster/data_version_is_user_provided": "true",
        "seen": "yes",
    }
    assert observation.metadata["bytes"].value == 120
    assert not result.get_asset_materialization_events()  # observed, not materialized
    assert "observing orders_file" in [e.message for e in result.event_log]


def test_selections_leave_observable_assets_to_observation_jobs():
    defs = _defs()
    graph = defs.asset_graph
    assert AssetSelection.all().resolve(graph) == {AssetKey("orders")}
    assert graph.observable_keys == {AssetKey("orders_file")}
    assert graph.is_external(AssetKey("orders_file"))
    spec = orders_file.specs_by_key[AssetKey("orders_file")]
    assert spec.group_name == "sources" and spec.metadata["owner"] == "ingest"
    with instance_for_test() as instance:
        result = materialize(
            [orders_file, orders], instance=instance, resources={"store": FileStore(checksum="abc")}
        )
        assert result.success
        assert [e.event_type for e in result.all_events].count(EventType.ASSET_OBSERVATION) == 0


def test_a_partitioned_source_reports_a_version_per_partition():
    days = StaticPartitionsDefinition(["mon", "tue"])

    @observable_source_asset(partitions_def=days)
    def daily_files():
        return DataVersionsByPartition({"mon": "m1", "tue": DataVersion("t1")})

    defs = Definitions(assets=[daily_files], jobs=[define_asset_job("observe", [daily_files])])
    with instance_for_test() as instance:
        result = defs.get_job_def("observe").execute_in_process(instance=instance)
        assert result.success
        by_partition = {
            e.partition: e.tags["dagster/data_version"]
            for e in result.get_asset_observation_events()
        }
        assert by_partition == {"mon": "m1", "tue": "t1"}
        latest = instance.get_latest_data_version_record("daily_files", partition_key="tue")
        assert latest.event.tags["dagster/data_version"] == "t1"


def test_what_an_observe_function_returns_is_checked_with_its_name():
    @observable_source_asset
    def nothing_back():
        return None

    result = materialize_observation(nothing_back)
    assert not result.success
    (failure,) = result.get_step_failure_events()
    assert "observable source asset 'nothing_back' returned None" in failure.message
    assert "returns a DataVersion, an ObserveResult" in failure.message

    @observable_source_asset
    def unpartitioned():
        return DataVersionsByPartition({"a": "1"})

    (failure,) = materialize_observation(unpartitioned).get_step_failure_events()
    assert "returned DataVersionsByPartition, but it has no partitions_def" in failure.message

    with pytest.raises(InvalidDefinitionError, match="an observe function reads no assets"):

        @observable_source_asset
        def reads_an_asset(orders):
            return DataVersion("x")

    with pytest.raises(TypeError, match="data version must be a DataVersion or a str"):
        DataVersionsByPartition({"a": 1})  # type: ignore[dict-item]


def materialize_observation(assets_def):
    defs = Definitions(assets=[assets_def], jobs=[define_asset_job("observe", [assets_def])])
    return defs.get_job_def("observe").execute_in_process(raise_on_error=False)
