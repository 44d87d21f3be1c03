"""``@multi_observable_source_asset``: one function observing several source assets, each
observation stored with its data version, downstream assets made stale by a new version,
subsets with ``can_subset``, checks, and the errors that name what was wrong."""

from __future__ import annotations

import pytest

from trellis import (
    AssetCheckResult,
    AssetCheckSpec,
    AssetExecutionContext,
    AssetKey,
    AssetSelection,
    AssetSpec,
    ConfigurableResource,
    DataVersion,
    Definitions,
    InvalidDefinitionError,
    ObserveResult,
    asset,
    define_asset_job,
    instance_for_test,
    materialize,
    multi_observable_source_asset,
)
from trellis.instance.staleness import StalenessResolver

VERSIONS = {"orders_file": "o1", "users_file": "u1"}


@multi_observable_source_asset(
    specs=[
        AssetSpec("orders_file", metadata={"path": "/data/orders.csv"}),
        AssetSpec("users_file"),
    ],
    group_name="sources",
    description="Checksums of the landing files.",
)
def landing_files(context: AssetExecutionContext):
    context.log.info("observing the landing files")
    yield ObserveResult(
        asset_key="orders_file",
        data_version=DataVersion(VERSIONS["orders_file"]),
        metadata={"rows": 10},
    )
    yield ObserveResult(
        asset_key="users_file", data_version=DataVersion(VERSIONS["users_file"]), tags={"k": "v"}
    )


@asset(deps=["orders_file"], code_version="v1")
def orders() -> int:
    return 1


@asset(deps=["users_file"], code_version="v1")
def users() -> int:
    return 2


def _defs() -> Definitions:
    return Definitions(
        assets=[landing_files, orders, users],
        jobs=[define_asset_job("observe", AssetSelection.assets("orders_file", "users_file"))],
    )


def test_each_asset_gets_an_observation_with_its_version_and_downstream_goes_stale(monkeypatch):
    defs = _defs()
    graph = defs.asset_graph
    assert graph.observable_keys == {AssetKey("orders_file"), AssetKey("users_file")}
    assert AssetSelection.all().resolve(graph) == {AssetKey("orders"), AssetKey("users")}
    spec = landing_files.specs_by_key[AssetKey("orders_file")]
    assert spec.group_name == "sources" and spec.metadata["path"] == "/data/orders.csv"
    with instance_for_test() as instance:
        observed = defs.get_job_def("observe").execute_in_process(instance=instance)
        assert observed.success
        events = {
            e.asset_observation.asset_key.to_user_string(): e.asset_observation
            for e in observed.get_asset_observation_events()
        }
        assert {k: o.data_version for k, o in events.items()} == VERSIONS
        assert events["orders_file"].metadata["rows"].value == 10
        assert events["users_file"].tags["k"] == "v"
        assert not observed.get_asset_materialization_events()
        assert "observing the landing files" in [e.message for e in observed.event_log]
        record = instance.get_latest_data_version_record("users_file")
        assert record.event.tags["dagster/data_version"] == "u1"

        assert materialize([orders, users], instance=instance).success
        resolver = StalenessResolver(instance, defs.asset_graph)
        assert resolver.get_status(AssetKey("orders")).value == "FRESH"

        monkeypatch.setitem(VERSIONS, "orders_file", "o2")  # only the orders file changed
        assert defs.get_job_def("observe").execute_in_process(instance=instance).success
        resolver = StalenessResolver(instance, defs.asset_graph)
        assert resolver.get_status(AssetKey("orders")).value == "STALE"
        assert resolver.get_status(AssetKey("users")).value == "FRESH"


def test_can_subset_observes_only_the_selected_assets():
    calls: list[set[str]] = []

    @multi_observable_source_asset(specs=[AssetSpec("a"), AssetSpec("b")], can_subset=True)
    def sources(context: AssetExecutionContext):
        chosen = {k.to_user_string() for k in context.selected_asset_keys}
        calls.append(chosen)
        for key in sorted(chosen):
            yield ObserveResult(asset_key=key, data_version=DataVersion(f"{key}-1"))

    defs = Definitions(assets=[sources], jobs=[define_asset_job("observe_b", ["b"])])
    result = defs.get_job_def("observe_b").execute_in_process()
    assert result.success
    assert calls == [{"b"}]
    (event,) = result.get_asset_observation_events()
    assert event.asset_observation.asset_key == AssetKey("b")
    assert event.asset_observation.data_version == "b-1"


def test_one_spec_may_leave_out_the_key_and_checks_come_with_the_observation():
    @multi_observable_source_asset(
        specs=[AssetSpec("only")], check_specs=[AssetCheckSpec("not_empty", asset="only")]
    )
    def single():
        return ObserveResult(
            data_version=DataVersion("7"),
            check_results=[AssetCheckResult(passed=True, check_name="not_empty")],
        )

    defs = Definitions(assets=[single], jobs=[define_asset_job("observe", ["only"])])
    result = defs.get_job_def("observe").execute_in_process()
    assert result.success
    (event,) = result.get_asset_observation_events()
    assert event.asset_observation.data_version == "7"
    (check,) = result.get_asset_check_evaluations()
    assert check.passed and check.check_name == "not_empty"


def _failure(assets_def) -> str:
    keys = list(assets_def.keys)
    defs = Definitions(assets=[assets_def], jobs=[define_asset_job("observe", keys)])
    result = defs.get_job_def("observe").execute_in_process(raise_on_error=False)
    assert not result.success
    (failure,) = result.get_step_failure_events()
    return failure.message


def test_what_the_function_gives_is_checked_with_its_name():
    @multi_observable_source_asset(specs=[AssetSpec("a"), AssetSpec("b")])
    def keyless():
        yield ObserveResult(data_version=DataVersion("1"))

    assert "multi_observable_source_asset 'keyless' gave an ObserveResult without asset_key" in (
        _failure(keyless)
    )

    @multi_observable_source_asset(specs=[AssetSpec("a"), AssetSpec("b")])
    def stranger():
        yield ObserveResult(asset_key="c", data_version=DataVersion("1"))

    assert "for asset 'c', which is not one of its specs (a, b)" in _failure(stranger)

    @multi_observable_source_asset(specs=[AssetSpec("a")])
    def twice():
        yield ObserveResult(asset_key="a")
        yield ObserveResult(asset_key="a")

    assert "observed asset 'a' twice in one run" in _failure(twice)

    @multi_observable_source_asset(specs=[AssetSpec("a")])
    def a_version():
        yield DataVersion("1")

    assert "its function yields an ObserveResult per asset" in _failure(a_version)

    @multi_observable_source_asset(specs=[AssetSpec("a"), AssetSpec("b")])
    def forgets_b():
        yield ObserveResult(asset_key="a", data_version=DataVersion("1"))

    assert "'forgets_b' did not observe b: it must give an ObserveResult for every asset" in (
        _failure(forgets_b)
    )


def test_bad_definitions_are_refused_with_the_reason():
    with pytest.raises(InvalidDefinitionError, match=r"needs specs=\[AssetSpec"):
        multi_observable_source_asset(specs=[])
    with pytest.raises(InvalidDefinitionError, match="holds 'a', not an AssetSpec"):
        multi_observable_source_asset(specs=["a"])  # type: ignore[list-item]
    with pytest.raises(InvalidDefinitionError, match="declares asset 'a' twice"):

        @multi_observable_source_asset(specs=[AssetSpec("a"), AssetSpec("a")])
        def dup():
            yield ObserveResult(asset_key="a")

    with pytest.raises(InvalidDefinitionError, match="'a' has deps; an observable source"):

        @multi_observable_source_asset(specs=[AssetSpec("a", deps=["z"])])
        def with_deps():
            yield ObserveResult(asset_key="a")

    with pytest.raises(InvalidDefinitionError, match="an observe function reads no assets"):

        @multi_observable_source_asset(specs=[AssetSpec("a")])
        def reads(orders):
            yield ObserveResult(asset_key="a")


class Store(ConfigurableResource):
    """Where the observed files live."""

    checksum: str


def test_resources_bound_with_resource_defs_reach_the_function():
    @multi_observable_source_asset(
        specs=[AssetSpec("a")], resource_defs={"store": Store(checksum="x9")}
    )
    def bound(store: Store):
        yield ObserveResult(asset_key="a", data_version=DataVersion(store.checksum))

    defs = Definitions(assets=[bound], jobs=[define_asset_job("observe", ["a"])])
    result = defs.get_job_def("observe").execute_in_process()
    assert result.get_asset_observation_events()[0].asset_observation.data_version == "x9"
