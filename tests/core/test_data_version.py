"""The derived data version: the engine's tags agree with ``compute_logical_data_version``
and with Dagster's rule (SHA-256 of the code version and the input versions ordered by
``AssetKey(...)`` text), and provenance reads back from the tags."""

from __future__ import annotations

from hashlib import sha256

from trellis import AssetIn, AssetKey, DataProvenance, DataVersion, Output, asset, materialize
from trellis.core.data_version import compute_logical_data_version


@asset(key=["zeta", "b"])
def zeta_b() -> int:
    return 1


@asset(key="alpha_b")
def alpha_b() -> Output:
    return Output(2, data_version=DataVersion("given-2"))


@asset(code_version="c7", ins={"zeta_b": AssetIn(key=["zeta", "b"])})
def combined(zeta_b: int, alpha_b: int) -> int:
    return zeta_b + alpha_b


def test_a_derived_version_hashes_the_code_version_and_the_inputs_in_key_order():
    result = materialize([zeta_b, alpha_b, combined])
    tags = {e.asset_key: e.tags for e in result.get_asset_materialization_events()}
    inputs = {
        AssetKey(["zeta", "b"]): DataVersion(tags[AssetKey(["zeta", "b"])]["dagster/data_version"]),
        AssetKey("alpha_b"): DataVersion("given-2"),
    }
    mine = tags[AssetKey("combined")]
    # "AssetKey(['alpha_b'])" sorts before "AssetKey(['zeta', 'b'])".
    by_hand = sha256(
        ("c7" + "given-2" + inputs[AssetKey(["zeta", "b"])].value).encode("utf8")
    ).hexdigest()
    assert mine["dagster/data_version"] == by_hand
    assert compute_logical_data_version("c7", inputs) == DataVersion(by_hand)
    provenance = DataProvenance.from_tags(mine)
    assert provenance.code_version == "c7" and not provenance.is_user_provided
    assert provenance.input_data_versions == inputs
    assert set(provenance.input_storage_ids) == set(inputs)
    assert all(isinstance(i, int) for i in provenance.input_storage_ids.values())


def test_set_data_version_gives_the_version_before_the_output():
    from trellis import AssetExecutionContext, AssetSpec, MaterializeResult, multi_asset

    @multi_asset(specs=[AssetSpec("left"), AssetSpec("right", deps=["left"])])
    def pair(context: AssetExecutionContext):
        context.set_data_version(AssetKey("left"), DataVersion("left-1"))
        yield MaterializeResult(asset_key="left")
        yield MaterializeResult(asset_key="right")

    result = materialize([pair])
    tags = {e.asset_key.to_user_string(): e.tags for e in result.get_asset_materialization_events()}
    assert tags["left"]["dagster/data_version"] == "left-1"
    assert tags["left"]["dagster/data_version_is_user_provided"] == "true"
    # right depends on left, made earlier in the same step: its version is the one set.
    assert tags["right"]["dagster/input_data_version/left"] == "left-1"
    assert tags["right"]["dagster/input_event_pointer/left"] == "NULL"  # not stored yet


def test_set_data_version_names_an_asset_the_step_does_not_make():
    from trellis import AssetExecutionContext

    @asset
    def lone(context: AssetExecutionContext) -> int:
        context.set_data_version(AssetKey("other"), DataVersion("x"))
        return 1

    result = materialize([lone], raise_on_error=False)
    (failure,) = result.get_step_failure_events()
    assert "set_data_version: step 'lone' does not materialize asset 'other'" in failure.message
