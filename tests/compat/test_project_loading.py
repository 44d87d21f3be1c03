"""How Dagster projects put their definitions together, ported by changing imports only.

Each test is written the way Dagster's documentation (and the projects built on it) do:
``load_assets_from_modules`` and its siblings with ``group_name`` / ``key_prefix``,
``Definitions.merge``, ``with_resources``, a ``@definitions`` function, and the 1.11+
``defs/`` folder collected by ``load_from_defs_folder``. The three projects under
``projects/`` have the shapes of Dagster University's essentials course, the
``quickstart_etl`` example and a ``create-dagster`` scaffold.
"""

from __future__ import annotations

import csv
import importlib
import sys

import pytest

import trellis as dg
from trellis import (
    AssetKey,
    AssetSpec,
    Definitions,
    InvalidDefinitionError,
    asset,
    definitions,
    load_assets_from_modules,
    load_assets_from_package_module,
    load_from_defs_folder,
    materialize,
    with_resources,
)

SHOP_ASSETS = """
    from trellis import asset

    @asset
    def orders() -> list[int]:
        return [3, 4]

    @asset
    def revenue(orders: list[int]) -> int:
        return sum(orders)
"""


# -- the three projects ---------------------------------------------------------------


def test_university_project_loads_its_groups_and_runs_a_job(project, monkeypatch):
    root = project("university")
    monkeypatch.setenv("DUCKDB_DATABASE", str(root / "data" / "staging" / "data.duckdb"))
    from dagster_university import defs

    groups = {k.to_user_string(): defs.asset_graph.group_of(k) for k in defs.asset_graph.all_keys}
    assert groups == {
        "taxi_trips_file": "default",
        "taxi_trips": "default",
        "trips_by_borough": "metrics",
        "trips_by_week": "metrics",
    }
    assert [s.name for s in defs.schedules] == ["trip_update_job_schedule"]

    result = defs.get_job_def("trip_update_job").execute_in_process()

    assert result.success
    with open(root / "data" / "outputs" / "trips_by_borough.csv") as f:
        rows = list(csv.DictReader(f))
    assert {r["borough"]: int(r["num_trips"]) for r in rows} == {
        "Brooklyn": 2,
        "Manhattan": 3,
        "Queens": 1,
    }


def test_quickstart_etl_loads_a_package_of_assets_and_runs_its_scheduled_job(project):
    project("quickstart_etl")
    from quickstart_etl.definitions import defs

    job = defs.get_job_def("all_assets_job")
    result = job.execute_in_process()

    assert result.success
    assert result.output_for_node("hackernews_topstory_ids") == [101, 102, 103, 104]
    word_cloud = result.asset_materializations_for_node("hackernews_topstories_word_cloud")
    assert word_cloud[0].metadata["top_words"].value["pipelines"] == 3


def test_scaffold_project_collects_its_defs_folder(project):
    project("scaffold")
    from scaffold_proj.definitions import defs

    loaded = defs()  # the @definitions function, called as the tools call it

    assert isinstance(loaded, Definitions)
    assert sorted(k.to_user_string() for k in loaded.asset_graph.all_keys) == [
        "daily_visits",
        "order_totals",
        "raw_orders",
    ]
    assert sorted(j.name for j in loaded.jobs) == ["crunch_job", "orders_job"]
    assert [s.name for s in loaded.schedules] == ["orders_job_schedule"]
    result = loaded.get_job_def("orders_job").execute_in_process()
    assert result.output_for_node("order_totals") == {"north": 5.0, "south": 2.0}


# -- load_assets_from_modules and its siblings ------------------------------------------


def test_load_assets_from_modules_puts_them_in_a_group(write_package):
    write_package("shop", {"assets.py": SHOP_ASSETS})
    from shop import assets

    loaded = load_assets_from_modules([assets], group_name="sales")

    defs = Definitions(assets=loaded)
    assert {defs.asset_graph.group_of(k) for k in defs.asset_graph.all_keys} == {"sales"}
    assert assets.orders.specs_by_key[AssetKey("orders")].group_name is None  # a copy


def test_load_assets_from_modules_with_a_key_prefix_rewires_upstream_keys(write_package):
    write_package("shop", {"assets.py": SHOP_ASSETS})
    from shop import assets

    loaded = load_assets_from_modules([assets], key_prefix=["warehouse", "shop"])

    keys = sorted(key.to_user_string() for a in loaded for key in a.keys)
    assert keys == ["warehouse/shop/orders", "warehouse/shop/revenue"]
    result = materialize(loaded)
    assert result.asset_value(AssetKey(["warehouse", "shop", "revenue"])) == 7


def test_one_module_loaded_twice_under_two_prefixes(write_package):
    write_package("shop", {"assets.py": SHOP_ASSETS})
    from shop import assets

    defs = Definitions(
        assets=[
            *load_assets_from_modules([assets], key_prefix="eu"),
            *load_assets_from_modules([assets], key_prefix="us"),
        ]
    )

    result = defs.get_implicit_global_asset_job_def().execute_in_process()
    assert result.asset_value(["eu", "revenue"]) == result.asset_value(["us", "revenue"]) == 7


def test_load_assets_from_package_module_walks_every_submodule(write_package):
    write_package(
        "shop",
        {
            "assets/__init__.py": "",
            "assets/raw.py": """
                from trellis import asset

                @asset
                def orders() -> list[int]:
                    return [3, 4]
            """,
            "assets/marts/__init__.py": "",
            "assets/marts/revenue.py": """
                from trellis import asset

                from ..raw import orders  # imported, still counted once

                @asset
                def revenue(orders: list[int]) -> int:
                    return sum(orders)
            """,
        },
    )
    import shop.assets

    loaded = load_assets_from_package_module(shop.assets, group_name="shop")

    assert sorted(a.key.to_user_string() for a in loaded) == ["orders", "revenue"]
    assert materialize(loaded).asset_value("revenue") == 7


def test_load_assets_from_package_name(write_package):
    write_package("shop", {"assets.py": SHOP_ASSETS})

    loaded = dg.load_assets_from_package_name("shop")

    assert sorted(a.key.to_user_string() for a in loaded) == ["orders", "revenue"]


def test_load_assets_from_current_module(write_package):
    write_package(
        "shop",
        {
            "everything.py": SHOP_ASSETS
            + """
    from trellis import Definitions, load_assets_from_current_module

    defs = Definitions(assets=load_assets_from_current_module(group_name="here"))
"""
        },
    )
    from shop.everything import defs

    assert sorted(k.to_user_string() for k in defs.asset_graph.all_keys) == ["orders", "revenue"]
    assert defs.asset_graph.group_of(AssetKey("orders")) == "here"


def test_source_key_prefix_applies_to_asset_specs_and_their_readers(write_package):
    write_package(
        "shop",
        {
            "assets.py": """
                from trellis import AssetSpec, asset

                raw_orders = AssetSpec("raw_orders")

                @asset(deps=[raw_orders])
                def cleaned() -> int:
                    return 1
            """
        },
    )
    from shop import assets

    loaded = load_assets_from_modules([assets], source_key_prefix="lake", include_specs=True)

    specs = [o for o in loaded if isinstance(o, AssetSpec)]
    [cleaned] = [o for o in loaded if not isinstance(o, AssetSpec)]
    assert [s.key for s in specs] == [AssetKey(["lake", "raw_orders"])]
    assert cleaned.dependency_keys == {AssetKey(["lake", "raw_orders"])}


def test_a_group_set_on_the_asset_conflicts_with_the_loaders_group(write_package):
    write_package(
        "shop",
        {
            "assets.py": """
                from trellis import asset

                @asset(group_name="finance")
                def ledger() -> int:
                    return 1
            """
        },
    )
    from shop import assets

    with pytest.raises(InvalidDefinitionError, match="'ledger' has group name 'finance'"):
        load_assets_from_modules([assets], group_name="sales")


def test_two_modules_defining_one_asset_key_is_an_error_naming_both(write_package):
    one_asset = """
        from trellis import asset

        @asset
        def orders() -> int:
            return 1
    """
    write_package("shop", {"a.py": one_asset, "b.py": one_asset})
    from shop import a, b

    with pytest.raises(InvalidDefinitionError, match=r"'orders'.*shop\.a, shop\.b"):
        load_assets_from_modules([a, b])


def test_load_definitions_from_module_gathers_assets_jobs_and_schedules(write_package):
    write_package(
        "shop",
        {
            "assets.py": SHOP_ASSETS,
            "jobs.py": """
                from trellis import ScheduleDefinition, define_asset_job

                from .assets import orders, revenue  # noqa: F401

                revenue_job = define_asset_job("revenue_job")
                nightly = ScheduleDefinition(job=revenue_job, cron_schedule="0 2 * * *")
            """,
        },
    )
    from shop import jobs

    defs = dg.load_definitions_from_module(jobs)

    assert [j.name for j in defs.jobs] == ["revenue_job"]
    assert [s.name for s in defs.schedules] == ["revenue_job_schedule"]
    assert defs.get_job_def("revenue_job").execute_in_process().output_for_node("revenue") == 7


# -- Definitions.merge, with_resources -----------------------------------------------------


@asset
def greeting(name: dg.ResourceParam[str]) -> str:
    return f"hello {name}"


@asset
def shout(greeting: str) -> str:
    return greeting.upper()


@asset
def farewell() -> str:
    return "bye"


def test_definitions_merge_takes_the_union():
    left = Definitions(assets=[greeting, shout], resources={"name": "ada"})
    right = Definitions(assets=[farewell], jobs=[dg.define_asset_job("everything")])

    merged = Definitions.merge(left, right)

    result = merged.get_job_def("everything").execute_in_process()
    assert result.output_for_node("shout") == "HELLO ADA"
    assert result.output_for_node("farewell") == "bye"


def test_definitions_merge_keeps_one_copy_of_a_shared_asset_and_resource():
    name = "grace"
    merged = Definitions.merge(
        Definitions(assets=[greeting], resources={"name": name}),
        Definitions(assets=[greeting, shout], resources={"name": name}),
    )
    assert len(merged.assets) == 2


def test_definitions_merge_refuses_two_resources_under_one_key():
    with pytest.raises(
        InvalidDefinitionError, match="Definitions object 0 and Definitions object 1"
    ):
        Definitions.merge(
            Definitions(assets=[greeting], resources={"name": "ada"}),
            Definitions(resources={"name": "grace"}),
        )


def test_definitions_merge_refuses_two_executors():
    with pytest.raises(InvalidDefinitionError, match="both have an executor"):
        Definitions.merge(
            Definitions(executor=dg.in_process_executor),
            Definitions(executor=dg.multiprocess_executor),
        )


def test_with_resources_binds_resources_to_the_assets():
    bound = with_resources([greeting, shout], {"name": "ada"})

    assert materialize(bound).asset_value("shout") == "HELLO ADA"
    defs = Definitions(assets=bound)  # no resources= needed any more
    assert defs.get_implicit_global_asset_job_def().execute_in_process().success


def test_with_resources_configures_a_resource_by_key():
    @dg.resource(config_schema={"who": str})
    def name_resource(context):
        return context.resource_config["who"]

    [bound] = with_resources(
        [greeting],
        {"name": name_resource},
        resource_config_by_key={"name": {"config": {"who": "x"}}},
    )
    assert materialize([bound]).asset_value("greeting") == "hello x"


def test_with_resources_without_a_needed_resource_is_an_error():
    with pytest.raises(InvalidDefinitionError, match="requires resource 'name'"):
        with_resources([greeting], {"other": 1})


def test_a_bound_resource_and_a_different_one_in_definitions_conflict():
    bound = with_resources([greeting], {"name": "ada"})
    defs = Definitions(assets=bound, resources={"name": "grace"})  # raises on first use
    with pytest.raises(InvalidDefinitionError, match="Resource 'name' is bound to assets"):
        Definitions.validate_loadable(defs)


# -- @definitions -----------------------------------------------------------------------


def test_definitions_decorator_is_the_public_name():
    @definitions
    def defs():
        return Definitions(assets=[greeting], resources={"name": "ada"})

    loaded = defs()
    assert isinstance(loaded, Definitions)
    assert dg.definitions is definitions
    assert callable(importlib.import_module("trellis").definitions)


def test_a_definitions_function_must_return_definitions():
    @dg.definitions
    def defs():
        return [greeting]

    with pytest.raises(InvalidDefinitionError, match="returned list, not a Definitions"):
        defs()


# -- the defs folder --------------------------------------------------------------------


def test_load_from_defs_folder_reads_the_project_table(project):
    root = project("scaffold")

    defs = load_from_defs_folder(project_root=root)  # the older name of the argument

    assert sorted(j.name for j in defs.jobs) == ["crunch_job", "orders_job"]


def test_components_load_defs_takes_the_defs_package(project):
    project("scaffold")
    import scaffold_proj.defs

    with pytest.warns(DeprecationWarning, match="load_from_defs_folder"):
        defs = dg.components.load_defs(scaffold_proj.defs)

    assert sorted(k.to_user_string() for k in defs.asset_graph.all_keys) == [
        "daily_visits",
        "order_totals",
        "raw_orders",
    ]


def test_a_yaml_component_is_refused_naming_the_file(project):
    root = project("scaffold")
    yaml_file = root / "src" / "scaffold_proj" / "defs" / "assets" / "defs.yaml"
    yaml_file.write_text("type: dagster.DefsFolderComponent\n")

    with pytest.raises(InvalidDefinitionError, match=r"defs/assets/defs\.yaml: YAML component"):
        load_from_defs_folder(path_within_project=root)


def test_a_defs_module_with_two_definitions_objects_is_refused(project):
    root = project("scaffold")
    extra = root / "src" / "scaffold_proj" / "defs" / "extra.py"
    extra.write_text(
        "import trellis as dg\n\nfirst = dg.Definitions()\nsecond = dg.Definitions()\n"
    )

    with pytest.raises(InvalidDefinitionError, match=r"extra\.py has 2 Definitions objects"):
        load_from_defs_folder(path_within_project=root)


def test_a_project_without_a_dg_table_is_an_error(tmp_path):
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "x"\n')

    with pytest.raises(InvalidDefinitionError, match=r"no pyproject\.toml with a \[tool\.dg\]"):
        load_from_defs_folder(path_within_project=tmp_path)


def test_load_defs_stops_at_a_definitions_py(project):
    root = project("scaffold")
    folder = root / "src" / "scaffold_proj" / "defs" / "assets"
    (folder / "definitions.py").write_text(
        "import trellis as dg\n\n\n@dg.asset\ndef only_this() -> int:\n    return 1\n"
    )
    import scaffold_proj.defs

    with pytest.warns(DeprecationWarning):
        defs = dg.load_defs(scaffold_proj.defs)

    keys = sorted(k.to_user_string() for k in defs.asset_graph.all_keys)
    assert keys == ["only_this"]  # orders.py and daily.py sit next to definitions.py
    assert "scaffold_proj.defs.assets.orders" not in sys.modules
