"""Which checks run: Dagster's selection rules (an asset selects its checks;
``checks_for_assets``, ``checks``, ``all_asset_checks`` and ``without_checks``), asset
jobs, ``materialize``, ``Definitions(asset_checks=...)`` and the errors of definitions
that cannot work; and loading checks from modules and defs folders."""

from __future__ import annotations

import sys
import textwrap

import pytest

from trellis import (
    AssetCheckKey,
    AssetCheckResult,
    AssetCheckSpec,
    AssetKey,
    AssetSelection,
    AssetSpec,
    ConfigurableResource,
    Definitions,
    EventType,
    FilesystemIOManager,
    Output,
    asset,
    asset_check,
    define_asset_job,
    load_asset_checks_from_modules,
    load_assets_from_modules,
    load_definitions_from_modules,
    materialize,
    with_resources,
)
from trellis.core.errors import InvalidDefinitionError, InvalidSubsetError
from trellis.defs.asset_graph import AssetGraph

ORDERS, REVENUE, EXTERNAL = AssetKey("orders"), AssetKey("revenue"), AssetKey("external")


@asset
def orders() -> list[int]:
    return [1, 2]


@asset
def revenue(orders: list[int]) -> int:
    return sum(orders)


@asset_check(asset=orders)
def has_rows(orders: list[int]) -> AssetCheckResult:
    return AssetCheckResult(passed=bool(orders))


@asset_check(asset=revenue)
def positive(revenue: int) -> AssetCheckResult:
    return AssetCheckResult(passed=revenue > 0)


@asset_check(asset="external")
def external_fresh() -> AssetCheckResult:
    return AssetCheckResult(passed=True)


@asset(check_specs=[AssetCheckSpec("sane", asset="inline")])
def inline():
    yield Output(1)
    yield AssetCheckResult(passed=True)


GRAPH = AssetGraph(
    [orders, revenue, inline], [AssetSpec("external")], [has_rows, positive, external_fresh]
)
HAS_ROWS = AssetCheckKey(ORDERS, "has_rows")
POSITIVE = AssetCheckKey(REVENUE, "positive")
EXTERNAL_FRESH = AssetCheckKey(EXTERNAL, "external_fresh")
SANE = AssetCheckKey(AssetKey("inline"), "sane")


def _resolve(selection):
    return selection.resolve(GRAPH), selection.resolve_checks(GRAPH)


def _names(keys):
    return sorted(k.to_user_string() for k in keys)


# -- selections -------------------------------------------------------------------------------
def test_selecting_an_asset_selects_its_checks():
    assets, checks = _resolve(AssetSelection.assets(orders))
    assert assets == {ORDERS} and checks == {HAS_ROWS}
    assets, checks = _resolve(AssetSelection.all())
    assert checks == {HAS_ROWS, POSITIVE, SANE}  # the check of an external asset: not "all"
    assert _resolve(AssetSelection.assets(orders).downstream())[1] == {HAS_ROWS, POSITIVE}
    assert _resolve(AssetSelection.from_string("key:revenue"))[1] == {POSITIVE}
    assert _resolve(AssetSelection.from_string("not key:revenue"))[1] == {HAS_ROWS, SANE}


def test_selections_of_checks_alone_and_without_checks():
    assert _resolve(AssetSelection.checks_for_assets(orders, "external")) == (
        set(),
        {HAS_ROWS, EXTERNAL_FRESH},
    )
    assert _resolve(AssetSelection.checks(has_rows, POSITIVE)) == (set(), {HAS_ROWS, POSITIVE})
    assert _resolve(AssetSelection.checks(inline)) == (set(), {SANE})
    assert _resolve(AssetSelection.all_asset_checks())[1] == {
        HAS_ROWS,
        POSITIVE,
        EXTERNAL_FRESH,
        SANE,
    }
    assert _resolve(AssetSelection.all().without_checks()) == (
        {ORDERS, REVENUE, AssetKey("inline")},
        set(),
    )
    mixed = AssetSelection.assets(revenue).without_checks() | AssetSelection.checks(has_rows)
    assert _resolve(mixed) == ({REVENUE}, {HAS_ROWS})
    narrowed = AssetSelection.all() & AssetSelection.checks_for_assets(revenue)
    assert _resolve(narrowed) == (set(), {POSITIVE})
    assert _resolve(AssetSelection.all() - AssetSelection.checks(positive))[1] == {HAS_ROWS, SANE}
    with pytest.raises(InvalidDefinitionError, match="'orders:nope', which no definition"):
        AssetSelection.checks(AssetCheckKey(ORDERS, "nope")).resolve_checks(GRAPH)


# -- jobs and materialize -------------------------------------------------------------------
def _started(result):
    return [e.step_key for e in result.all_events if e.event_type is EventType.STEP_START]


def test_asset_jobs_run_the_checks_their_selection_selects(tmp_path):
    jobs = [
        define_asset_job("with_checks", selection=[orders, revenue]),
        define_asset_job("no_checks", selection=AssetSelection.assets(orders).without_checks()),
        define_asset_job("only_checks", selection=AssetSelection.checks_for_assets(orders)),
        define_asset_job("by_check", selection=positive),
    ]
    defs = Definitions(
        assets=[orders, revenue],
        asset_checks=[has_rows, positive],
        jobs=jobs,
        resources={"io_manager": FilesystemIOManager(base_dir=str(tmp_path))},
    )
    runs = {job.name: job.execute_in_process() for job in defs.jobs}
    assert _started(runs["with_checks"]) == [
        "orders",
        "orders_has_rows",
        "revenue",
        "revenue_positive",
    ]
    assert _started(runs["no_checks"]) == ["orders"]
    assert _started(runs["by_check"]) == ["revenue_positive"]
    only = runs["only_checks"]
    assert _started(only) == ["orders_has_rows"]
    assert not only.get_asset_materialization_events()


def test_a_check_only_run_evaluates_the_latest_stored_materialization(tmp_path):
    from trellis.instance.instance import Instance

    instance = Instance.from_config(tmp_path / "home", {})
    try:
        first = materialize([orders, has_rows], instance=instance)
        again = materialize(
            [orders, has_rows], instance=instance, selection=AssetSelection.checks(has_rows)
        )
        assert _started(again) == ["orders_has_rows"]
        loaded = [e for e in again.all_events if e.event_type is EventType.LOADED_INPUT]
        assert loaded[0].asset_key == ORDERS and loaded[0].data.upstream_step_key is None
        (evaluation,) = again.get_asset_check_evaluations()
        target = evaluation.target_materialization_data
        stored = instance.get_latest_materialization_record(ORDERS)
        assert (target.run_id, target.storage_id) == (first.run_id, stored.storage_id)
    finally:
        instance.dispose()


def test_the_implicit_asset_job_runs_every_check_and_materialize_follows_the_selection():
    defs = Definitions(
        assets=[orders, AssetSpec("external"), external_fresh],  # checks in assets= as well
        asset_checks=[has_rows],
    )
    result = defs.get_implicit_global_asset_job_def().execute_in_process()
    assert set(_started(result)) == {"orders", "orders_has_rows", "external_external_fresh"}
    only_assets = materialize([orders, has_rows, AssetSpec("external"), external_fresh])
    assert _started(only_assets) == ["orders", "orders_has_rows"]
    assert materialize([orders, has_rows], selection="orders").get_asset_check_evaluations()


def test_an_asset_whose_checks_run_in_its_step_cannot_be_split_from_them():
    job = define_asset_job("split", selection=AssetSelection.checks(inline))
    defs = Definitions(assets=[inline], jobs=[job])
    with pytest.raises(
        InvalidSubsetError, match="Asset job 'split': Asset 'inline' cannot be subset"
    ):
        defs.get_job_def("split")
    with pytest.raises(InvalidSubsetError, match=r"leaves out \['inline:sane'\]"):
        materialize([inline], selection=AssetSelection.assets(inline).without_checks())


def test_a_blocking_check_cannot_depend_on_what_waits_for_it():
    @asset_check(asset=orders, blocking=True, additional_deps=[revenue])
    def circular() -> AssetCheckResult:
        return AssetCheckResult(passed=True)

    with pytest.raises(InvalidDefinitionError, match="wait for each other"):
        materialize([orders, revenue, circular])


# -- definitions ----------------------------------------------------------------------------
def test_definitions_report_checks_that_cannot_work():
    @asset_check(asset="missing")
    def of_nothing() -> AssetCheckResult:
        return AssetCheckResult(passed=True)

    @asset_check(asset=orders, name="has_rows")
    def twin(orders: list[int]) -> AssetCheckResult:
        return AssetCheckResult(passed=True)

    @asset_check(asset=orders, required_resource_keys={"db"})
    def needs_db(orders: list[int]) -> AssetCheckResult:
        return AssetCheckResult(passed=True)

    cases = [
        (of_nothing, "Asset check 'missing:of_nothing' is for (or depends on) asset 'missing'"),
        (twin, "Asset check 'orders:has_rows' is defined twice"),
        (needs_db, "Asset check 'orders:needs_db' (op 'orders_needs_db') requires resource 'db'"),
    ]
    for check, message in cases:
        defs = Definitions(assets=[orders], asset_checks=[has_rows, check])
        with pytest.raises(
            InvalidDefinitionError, match=message.replace("(", r"\(").replace(")", r"\)")
        ):
            Definitions.validate_loadable(defs)
    with pytest.raises(InvalidDefinitionError, match="expected @asset_check"):
        Definitions(asset_checks=[orders])


def test_declarations_that_cannot_work_are_refused_when_defined():
    with pytest.raises(InvalidDefinitionError, match="would all read asset 'orders'"):

        @asset_check(asset=orders)
        def two_params(orders, other) -> AssetCheckResult:
            return AssetCheckResult(passed=True)

    with pytest.raises(InvalidDefinitionError, match="check spec 'x' is for asset 'elsewhere'"):

        @asset(check_specs=[AssetCheckSpec("x", asset="elsewhere")])
        def mine():
            return 1

    with pytest.raises(InvalidDefinitionError, match="automation_condition= is not supported"):
        AssetCheckSpec("x", asset="a", automation_condition=object())


class Limit(ConfigurableResource):
    value: int


def test_with_resources_binds_a_checks_resources():
    @asset_check(asset=orders)
    def limited(orders: list[int], limit: Limit) -> AssetCheckResult:
        return AssetCheckResult(passed=len(orders) <= limit.value)

    (bound,) = with_resources([limited], {"limit": Limit(value=1)})
    result = materialize([orders, bound], raise_on_error=False)
    assert [e.passed for e in result.get_asset_check_evaluations()] == [False]


# -- loading --------------------------------------------------------------------------------
@pytest.fixture
def project_module(tmp_path, monkeypatch):
    package = tmp_path / "checked_project"
    (package / "defs").mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "defs" / "__init__.py").write_text("")
    (package / "assets.py").write_text(
        textwrap.dedent(
            """
            import trellis as dg

            @dg.asset
            def trips():
                return [1, 2, 3]

            @dg.asset_check(asset=trips)
            def trips_not_empty(trips):
                return dg.AssetCheckResult(passed=len(trips) > 0)
            """
        )
    )
    (package / "defs" / "checks.py").write_text(
        "from checked_project.assets import trips, trips_not_empty\n"
    )
    (tmp_path / "pyproject.toml").write_text(
        '[tool.dg]\ndirectory_type = "project"\n'
        '[tool.dg.project]\nroot_module = "checked_project"\n'
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    yield tmp_path
    for name in [m for m in sys.modules if m.startswith("checked_project")]:
        del sys.modules[name]


def test_checks_load_from_modules_with_the_prefix_of_their_assets(project_module):
    import checked_project.assets as module

    assets = load_assets_from_modules([module], key_prefix="nyc")
    assert [a.key for a in assets] == [AssetKey(["nyc", "trips"])]  # checks are not assets
    (check,) = load_asset_checks_from_modules([module], asset_key_prefix="nyc")
    assert check.check_key == AssetCheckKey(AssetKey(["nyc", "trips"]), "trips_not_empty")
    assert check.node_name == "nyc__trips_trips_not_empty"
    result = materialize([*assets, check])
    assert [e.passed for e in result.get_asset_check_evaluations()] == [True]
    defs = load_definitions_from_modules([module])
    assert set(defs.asset_graph.check_specs) == {
        AssetCheckKey(AssetKey("trips"), "trips_not_empty")
    }


def test_checks_load_from_packages_and_merged_definitions_keep_them(project_module):
    import checked_project

    from trellis import load_asset_checks_from_package_module, load_asset_checks_from_package_name

    (from_module,) = load_asset_checks_from_package_module(checked_project)
    (from_name,) = load_asset_checks_from_package_name("checked_project")
    assert from_module is from_name  # the same object, found in the package's modules
    merged = Definitions.merge(
        load_definitions_from_modules([checked_project.assets]),
        Definitions(assets=[orders], asset_checks=[has_rows]),
    )
    assert set(merged.asset_graph.check_specs) == {
        AssetCheckKey(AssetKey("trips"), "trips_not_empty"),
        HAS_ROWS,
    }


def test_a_defs_folder_picks_up_checks(project_module):
    from trellis import load_from_defs_folder

    defs = load_from_defs_folder(path_within_project=project_module)
    result = defs.get_implicit_global_asset_job_def().execute_in_process()
    assert [e.check_name for e in result.get_asset_check_evaluations()] == ["trips_not_empty"]
