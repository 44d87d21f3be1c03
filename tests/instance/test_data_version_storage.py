"""Data versions, observations and table metadata on every back end (in-memory, SQLite,
PostgreSQL): the tags of materializations and observations, the observation index, the
newest data-version event of an asset (of a partition), every table metadata kind read
back equal, and staleness computed from what was stored."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from trellis import (
    AssetKey,
    DataVersion,
    Definitions,
    MaterializeResult,
    MetadataValue,
    Output,
    StaticPartitionsDefinition,
    TableColumn,
    TableColumnConstraints,
    TableColumnDep,
    TableColumnLineage,
    TableConstraints,
    TableMetadataSet,
    TableRecord,
    TableSchema,
    asset,
    define_asset_job,
    materialize,
    observable_source_asset,
)
from trellis.instance.staleness import StaleCauseCategory, StalenessResolver, StaleStatus

SOURCE_VERSION = {"value": "s1"}


@observable_source_asset
def source():
    return DataVersion(SOURCE_VERSION["value"])


def _defs(code_version: str = "v1") -> Definitions:
    @asset(code_version=code_version, deps=[source])
    def cleaned() -> int:
        return 1

    @asset
    def report(cleaned: int) -> Output:
        return Output(cleaned + 1, data_version=DataVersion("r1"))

    return Definitions(
        assets=[source, cleaned, report], jobs=[define_asset_job("observe", [source])]
    )


def _observe(defs, instance, version):
    SOURCE_VERSION["value"] = version
    assert defs.get_job_def("observe").execute_in_process(instance=instance).success


def _materialize(defs, instance):
    job = defs.get_implicit_global_asset_job_def()
    assert job.execute_in_process(instance=instance).success


def test_tags_of_materializations_and_observations_are_stored(any_instance):
    defs = _defs()
    _observe(defs, any_instance, "s1")
    _materialize(defs, any_instance)
    observed = any_instance.get_latest_observation_record("source")
    assert observed.event.tags == {
        "dagster/data_version": "s1",
        "dagster/data_version_is_user_provided": "true",
    }
    assert any_instance.get_observation_records("source")[0].storage_id == observed.storage_id
    cleaned = any_instance.get_latest_materialization_event(AssetKey("cleaned")).tags
    assert cleaned["dagster/code_version"] == "v1"
    assert cleaned["dagster/input_data_version/source"] == "s1"
    assert cleaned["dagster/input_event_pointer/source"] == str(observed.storage_id)
    report = any_instance.get_latest_data_version_record("report").event.tags
    assert report["dagster/data_version"] == "r1"
    assert report["dagster/input_data_version/cleaned"] == cleaned["dagster/data_version"]
    # An external asset's newest version is its newest observation.
    _observe(defs, any_instance, "s2")
    newest = any_instance.get_latest_data_version_record("source", is_source=True)
    assert newest.event.tags["dagster/data_version"] == "s2"
    assert len(any_instance.get_observation_records("source")) == 2
    assert any_instance.get_observation_records("source", limit=1, before_cursor=newest.storage_id)
    assert any_instance.wipe_assets(["source"]) == [AssetKey("source")]
    assert any_instance.get_observation_records("source") == []


def test_staleness_from_stored_events(any_instance):
    defs = _defs()
    resolver = StalenessResolver(any_instance, defs.asset_graph)
    assert resolver.get_status(AssetKey("cleaned")) is StaleStatus.MISSING
    _observe(defs, any_instance, "s1")
    _materialize(defs, any_instance)
    resolver = StalenessResolver(any_instance, defs.asset_graph)
    assert resolver.get_status(AssetKey("cleaned")) is StaleStatus.FRESH
    assert resolver.get_status(AssetKey("report")) is StaleStatus.FRESH
    assert resolver.get_current_data_version(AssetKey("source")) == DataVersion("s1")

    _observe(defs, any_instance, "s2")  # the source changed
    resolver = StalenessResolver(any_instance, defs.asset_graph)
    (cause,) = resolver.get_stale_causes(AssetKey("cleaned"))
    assert cause.category is StaleCauseCategory.DATA
    assert cause.reason == "has a new dependency data version"
    assert cause.dependency == AssetKey("source")
    (downstream,) = resolver.get_stale_causes(AssetKey("report"))
    assert downstream.reason == "has a stale dependency"  # transitively
    assert [str(c) for c in resolver.get_stale_root_causes(AssetKey("report"))] == [
        "source has a new data version"
    ]
    _materialize(defs, any_instance)
    resolver = StalenessResolver(any_instance, defs.asset_graph)
    assert resolver.get_status(AssetKey("report")) is StaleStatus.FRESH

    changed = _defs(code_version="v2")  # new code for cleaned
    resolver = StalenessResolver(any_instance, changed.asset_graph)
    assert resolver.code_version_changed(AssetKey("cleaned"))
    (cause,) = resolver.get_stale_causes(AssetKey("cleaned"))
    assert (cause.category, cause.reason) == (StaleCauseCategory.CODE, "has a new code version")
    assert resolver.get_status(AssetKey("report")) is StaleStatus.STALE
    assert not resolver.code_version_changed(AssetKey("report"))  # it has no code version


def test_an_asset_without_code_version_is_stale_after_its_upstream_reruns(any_instance):
    @asset
    def first() -> int:
        return 1

    @asset
    def second(first: int) -> int:
        return first

    assert materialize([first, second], instance=any_instance).success
    graph = Definitions(assets=[first, second]).asset_graph
    assert StalenessResolver(any_instance, graph).get_status(AssetKey("second")) is (
        StaleStatus.FRESH
    )
    assert materialize([first], instance=any_instance).success  # a new run id: new code
    (cause,) = StalenessResolver(any_instance, graph).get_stale_causes(AssetKey("second"))
    assert cause.reason == "has a new dependency materialization"
    assert cause.children[0].reason == "has a new materialization"


def test_partitions_are_versioned_one_by_one(any_instance):
    colors = StaticPartitionsDefinition(["red", "blue"])

    @asset(partitions_def=colors, code_version="v1")
    def paint() -> int:
        return 1

    @asset(partitions_def=colors, code_version="v1")
    def dried(paint: int) -> int:
        return paint

    graph = Definitions(assets=[paint, dried]).asset_graph
    for color in ("red", "blue"):
        assert materialize([paint, dried], instance=any_instance, partition_key=color).success
    red = any_instance.get_latest_data_version_record("paint", partition_key="red")
    assert red.event.partition == "red"
    dried_red = any_instance.get_latest_data_version_record("dried", partition_key="red")
    assert dried_red.event.tags["dagster/input_event_pointer/paint"] == str(red.storage_id)
    resolver = StalenessResolver(any_instance, graph)
    assert resolver.get_status(AssetKey("dried"), "red") is StaleStatus.FRESH
    assert resolver.get_status(AssetKey("dried")) is StaleStatus.FRESH

    @asset(partitions_def=colors, code_version="v2", name="paint")
    def paint_v2() -> int:
        return 2

    assert materialize([paint_v2], instance=any_instance, partition_key="red").success
    resolver = StalenessResolver(any_instance, graph)  # dried's code did not change
    assert resolver.get_status(AssetKey("dried"), "blue") is StaleStatus.FRESH
    (cause,) = resolver.get_stale_causes(AssetKey("dried"), "red")
    assert cause.partition_key == "red" and cause.dependency_partition_key == "red"
    assert resolver.get_status(AssetKey("dried")) is StaleStatus.STALE  # some partition is


SCHEMA = TableSchema(
    columns=[
        TableColumn(
            "id",
            "int",
            description="the key",
            constraints=TableColumnConstraints(nullable=False, unique=True, other=["> 0"]),
            tags={"pii": "no"},
        ),
        TableColumn("name"),
    ],
    constraints=TableConstraints(other=["id is the primary key"]),
)
LINEAGE = TableColumnLineage(
    deps_by_column={
        "id": [TableColumnDep(asset_key=AssetKey(["raw", "users"]), column_name="user_id")],
        "name": [
            TableColumnDep("raw_names", "first"),
            TableColumnDep("raw_names", "last"),
        ],
    }
)


def test_every_table_metadata_kind_reads_back_equal(any_instance):
    when = datetime(2024, 6, 1, 12, 30, tzinfo=UTC)

    @asset
    def users() -> MaterializeResult:
        return MaterializeResult(
            metadata={
                **TableMetadataSet(
                    column_schema=SCHEMA,
                    row_count=2,
                    table_name="db.public.users",
                    storage_kind="duckdb",
                    column_lineage=LINEAGE,
                ),
                "dagster/partition_row_count": 2,
                "preview": MetadataValue.table(
                    records=[
                        TableRecord({"id": 1, "name": "Ada"}),
                        TableRecord({"id": 2, "name": None}),
                    ],
                    schema=SCHEMA,
                ),
                "inferred": MetadataValue.table([TableRecord({"n": 1.5, "ok": True})]),
                "upstream": MetadataValue.asset(AssetKey(["raw", "users"])),
                "job": MetadataValue.job("nightly", "warehouse"),
                "run": MetadataValue.dagster_run("0e2d9d5a"),
                "notebook": MetadataValue.notebook("notebooks/users.ipynb"),
                "loaded_at": MetadataValue.timestamp(when),
                "raw_key": AssetKey("plain"),
            }
        )

    result = materialize([users], instance=any_instance)
    (in_run,) = result.asset_materializations_for_node("users")
    stored = any_instance.get_latest_materialization_event(AssetKey("users")).metadata
    assert stored == in_run.metadata
    assert stored["dagster/column_schema"].schema == SCHEMA
    assert stored["dagster/column_lineage"].column_lineage == LINEAGE
    extracted = TableMetadataSet.extract(stored)
    assert (extracted.row_count, extracted.storage_kind) == (2, "duckdb")
    assert extracted.column_schema == SCHEMA
    assert TableMetadataSet.extract({"dagster/relation_identifier": "a.b"}).table_name == "a.b"
    assert stored["preview"].records[1].data == {"id": 2, "name": None}
    assert stored["inferred"].schema == TableSchema(
        [TableColumn("n", "float"), TableColumn("ok", "bool")]
    )
    assert stored["upstream"].asset_key == AssetKey(["raw", "users"])
    assert (stored["job"].job_name, stored["job"].location_name) == ("nightly", "warehouse")
    assert stored["run"].run_id == "0e2d9d5a"
    assert stored["notebook"].path == "notebooks/users.ipynb"
    assert stored["loaded_at"].value == when.timestamp()
    assert stored["raw_key"].type_name == "asset"  # an AssetKey given as metadata


def test_bad_table_metadata_is_refused_naming_what_is_wrong():
    with pytest.raises(TypeError, match="TableSchema columns must be TableColumn"):
        TableSchema(columns=["id"])  # type: ignore[list-item]
    with pytest.raises(TypeError, match="value of column 'when' must be"):
        TableRecord({"when": datetime.now()})
    with pytest.raises(TypeError, match="deps of column 'a' must be TableColumnDep"):
        TableColumnLineage({"a": ["b"]})  # type: ignore[list-item]
    with pytest.raises(TypeError, match="TableMetadataSet row_count must be int"):
        TableMetadataSet(row_count="3")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="timezone-aware"):
        MetadataValue.timestamp(datetime(2024, 1, 1))
    with pytest.raises(TypeError, match="DataVersion value must be a string"):
        DataVersion(3)  # type: ignore[arg-type]
