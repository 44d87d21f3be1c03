"""Dagster's names for Trellis' errors and values behave as Dagster code expects: the
right class is raised where Dagster raises it, typed metadata values, warning classes."""

import pickle
import warnings

import pytest

from trellis import (
    AssetDep,
    AssetKey,
    AssetOut,
    BetaWarning,
    BoolMetadataValue,
    DagsterInvalidConfigDefinitionError,
    DagsterInvalidDefinitionError,
    DagsterInvalidSubsetError,
    DagsterInvariantViolationError,
    DagsterRunNotFoundError,
    DagsterUnknownPartitionError,
    DailyPartitionsDefinition,
    IntMetadataValue,
    MetadataValue,
    NullMetadataValue,
    PathMetadataValue,
    SourceAsset,
    TextMetadataValue,
    asset,
    materialize_to_memory,
    multi_asset,
    op,
)
from trellis.api.reexecution import reexecute_run
from trellis.core.metadata import as_metadata_value
from trellis.core.serialization import from_jsonable, to_jsonable
from trellis.instance.instance import Instance


def test_typed_metadata_values_keep_their_class_through_storage():
    value = MetadataValue.int(3)
    assert isinstance(value, IntMetadataValue) and value == IntMetadataValue(3)
    assert isinstance(as_metadata_value("x"), TextMetadataValue)
    assert isinstance(as_metadata_value(True), BoolMetadataValue)
    assert isinstance(as_metadata_value(None), NullMetadataValue)
    assert isinstance(MetadataValue.path("/tmp/x"), PathMetadataValue)
    assert type(pickle.loads(pickle.dumps(value))) is IntMetadataValue
    assert type(from_jsonable(to_jsonable(value))) is IntMetadataValue
    assert MetadataValue(1, "custom") == MetadataValue(1, "custom")  # other types stay plain


def test_the_specific_errors_are_raised_where_dagster_raises_them():
    partitions = DailyPartitionsDefinition(start_date="2024-01-01")

    @asset(partitions_def=partitions)
    def daily() -> int:
        return 1

    with pytest.raises(DagsterUnknownPartitionError, match="1999-01-01"):
        materialize_to_memory([daily], partition_key="1999-01-01")
    assert issubclass(DagsterUnknownPartitionError, DagsterInvariantViolationError)

    @multi_asset(outs={"a": AssetOut(), "b": AssetOut()})
    def both():
        return 1, 2

    with pytest.raises(DagsterInvalidSubsetError, match="cannot be subset"):
        materialize_to_memory([both], selection=["a"])

    with pytest.raises(DagsterInvalidConfigDefinitionError):
        op(config_schema={"x": 3})(lambda: 1)
    assert issubclass(DagsterInvalidConfigDefinitionError, DagsterInvalidDefinitionError)


def test_reexecuting_an_unknown_run(tmp_path):
    @op
    def one() -> int:
        return 1

    from trellis import job

    @job
    def single():
        one()

    with pytest.raises(DagsterRunNotFoundError, match="no-such-run"):
        reexecute_run(
            single, "no-such-run", instance=Instance.ephemeral(tmp_path), from_failure=True
        )


def test_asset_dep_and_source_asset():
    @asset(deps=[AssetDep("upstream"), AssetDep(AssetKey(["raw", "events"]))])
    def downstream() -> int:
        return 1

    assert downstream.specs[0].deps == [AssetKey("upstream"), AssetKey(["raw", "events"])]
    with pytest.raises(DagsterInvalidDefinitionError, match="needs a PartitionMapping"):
        AssetDep("upstream", partition_mapping=object())
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        with pytest.raises(DagsterInvalidDefinitionError, match=r"observe_fn.*@observable_source"):
            SourceAsset("x", observe_fn=lambda context: None)


def test_warning_classes_can_be_filtered():
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        warnings.filterwarnings("ignore", category=BetaWarning)
        warnings.warn("beta", BetaWarning, stacklevel=1)
    assert caught == []


def test_op_version_is_code_version_with_a_warning():
    with pytest.warns(DeprecationWarning, match="code_version"):
        versioned = op(version="2")(lambda: 1)
    assert versioned.code_version == "2"
