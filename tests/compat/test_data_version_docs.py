"""Data versions the way Dagster's documentation writes them (asset versioning and
caching): code versions, data versions derived from them or given with
``Output(data_version=...)``, an observable source asset whose observed version flows into
the provenance of the assets downstream. Only the import changed (``dagster`` →
``trellis``); each example also runs on Dagster 1.13 with the import switched back."""

from hashlib import sha256

import trellis as dg

# -- code versions: the data version is derived from them ------------------------------


@dg.asset(code_version="v1")
def versioned_number():
    return 11


@dg.asset(code_version="v1")
def multiplied_number(versioned_number):
    return versioned_number * 2


def _tags(instance, key):
    return instance.get_latest_materialization_event(dg.AssetKey(key)).asset_materialization.tags


def test_materializations_record_code_and_derived_data_versions():
    with dg.instance_for_test() as instance:
        assert dg.materialize([versioned_number, multiplied_number], instance=instance).success
        first = _tags(instance, "multiplied_number")
        upstream = _tags(instance, "versioned_number")
        assert upstream["dagster/code_version"] == "v1"
        assert first["dagster/code_version"] == "v1"
        assert (
            first["dagster/input_data_version/versioned_number"]
            == (upstream["dagster/data_version"])
        )
        assert "dagster/data_version_is_user_provided" not in first
        # Same code, same inputs: the same data version on the next materialization.
        assert dg.materialize([versioned_number, multiplied_number], instance=instance).success
        again = _tags(instance, "multiplied_number")
        assert again["dagster/data_version"] == first["dagster/data_version"]
        assert (
            again["dagster/input_event_pointer/versioned_number"]
            != (first["dagster/input_event_pointer/versioned_number"])
        )


# -- a data version given by the asset ---------------------------------------------------


@dg.asset(code_version="v4", name="versioned_number")
def versioned_number_v4():
    value = 20
    return dg.Output(value, data_version=dg.DataVersion(str(value)))


def test_a_data_version_given_with_output_is_recorded_and_read_downstream():
    with dg.instance_for_test() as instance:
        assert dg.materialize([versioned_number_v4, multiplied_number], instance=instance).success
        tags = _tags(instance, "versioned_number")
        assert tags["dagster/data_version"] == "20"
        assert tags["dagster/data_version_is_user_provided"] == "true"
        downstream = _tags(instance, "multiplied_number")
        assert downstream["dagster/input_data_version/versioned_number"] == "20"


@dg.asset(code_version="v1")
def report() -> dg.MaterializeResult:
    return dg.MaterializeResult(data_version=dg.DataVersion("2024-06-01"), metadata={"rows": 3})


def test_a_materialize_result_gives_its_data_version():
    with dg.instance_for_test() as instance:
        assert dg.materialize([report], instance=instance).success
        assert _tags(instance, "report")["dagster/data_version"] == "2024-06-01"


# -- an observable source asset ----------------------------------------------------------


def sha256_digest_from_str(string: str) -> str:
    hash_sig = sha256()
    hash_sig.update(bytearray(string, "utf8"))
    return hash_sig.hexdigest()


CONTENT = {"input_number.txt": "7"}  # what the "file" holds; the test changes it


@dg.observable_source_asset
def input_number():
    return dg.DataVersion(sha256_digest_from_str(CONTENT["input_number.txt"]))


@dg.asset(code_version="v6", deps=[input_number])
def number_from_file():
    value = int(CONTENT["input_number.txt"])
    return dg.Output(value, data_version=dg.DataVersion(str(value)))


observation_job = dg.define_asset_job("observation_job", [input_number])
defs = dg.Definitions(assets=[input_number, number_from_file], jobs=[observation_job])


def test_an_observation_records_the_version_that_materializations_then_use():
    with dg.instance_for_test() as instance:
        observed = defs.resolve_job_def("observation_job").execute_in_process(instance=instance)
        assert observed.success
        (event,) = observed.get_asset_observation_events()
        observation = event.event_specific_data.asset_observation
        assert observation.tags["dagster/data_version"] == sha256_digest_from_str("7")
        assert dg.materialize([input_number, number_from_file], instance=instance).success
        tags = _tags(instance, "number_from_file")
        assert tags["dagster/input_data_version/input_number"] == sha256_digest_from_str("7")
        assert tags["dagster/data_version"] == "7"


# -- the provenance of an asset, read from its context ----------------------------------


@dg.asset(code_version="v1")
def source_rows():
    return [1, 2, 3]


@dg.asset(code_version="v2")
def row_total(context: dg.AssetExecutionContext, source_rows):
    provenance = context.get_asset_provenance(dg.AssetKey("row_total"))
    return dg.Output(
        sum(source_rows),
        metadata={
            "previous_code_version": provenance.code_version if provenance else "none",
        },
    )


def test_an_asset_reads_the_provenance_of_its_previous_materialization():
    with dg.instance_for_test() as instance:
        first = dg.materialize([source_rows, row_total], instance=instance)
        (mat,) = first.asset_materializations_for_node("row_total")
        assert mat.metadata["previous_code_version"].value == "none"
        second = dg.materialize([source_rows, row_total], instance=instance)
        (mat,) = second.asset_materializations_for_node("row_total")
        assert mat.metadata["previous_code_version"].value == "v2"
