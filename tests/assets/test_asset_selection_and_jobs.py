"""``AssetSelection`` resolved on a ``Definitions`` asset graph, ``define_asset_job``
resolved and run, the ``Definitions`` lookups, ``load_asset_value``, and ``materialize``
with selections, tags and the default filesystem storage."""

import pickle

import pytest

from trellis import (
    AssetIn,
    AssetKey,
    AssetOut,
    AssetSelection,
    AssetSpec,
    Definitions,
    FilesystemIOManager,
    InvalidDefinitionError,
    InvalidInvocationError,
    InvariantViolationError,
    IOManager,
    JobDefinition,
    ScheduleDefinition,
    StaticPartitionsDefinition,
    asset,
    define_asset_job,
    job,
    materialize,
    materialize_to_memory,
    multi_asset,
    op,
)
from trellis.instance.instance import Instance

# A small graph used by the selection tests:
#
#   raw/orders ──► clean_orders ──► order_stats ──► dashboard
#   raw/customers ─────────────────────────────────┘
#   lonely (group "misc")


@asset(key_prefix="raw", group_name="ingest")
def orders():
    return [3, 1, 2]


@asset(key_prefix="raw", group_name="ingest")
def customers():
    return ["ann", "bob"]


@asset(group_name="transform", ins={"orders": AssetIn(key_prefix="raw")})
def clean_orders(orders):
    return sorted(orders)


@asset(group_name="transform")
def order_stats(clean_orders):
    return {"n": len(clean_orders), "max": clean_orders[-1]}


@asset(
    group_name="report",
    ins={"customers": AssetIn(key_prefix="raw")},
)
def dashboard(order_stats, customers):
    return f"{order_stats['n']} orders from {len(customers)} customers"


@asset(group_name="misc")
def lonely():
    return "alone"


ALL = [orders, customers, clean_orders, order_stats, dashboard, lonely]
K = {
    "orders": AssetKey(["raw", "orders"]),
    "customers": AssetKey(["raw", "customers"]),
    "clean_orders": AssetKey("clean_orders"),
    "order_stats": AssetKey("order_stats"),
    "dashboard": AssetKey("dashboard"),
    "lonely": AssetKey("lonely"),
}


@pytest.fixture(scope="module")
def graph():
    return Definitions(assets=ALL).asset_graph


def _names(keys):
    by_key = {v: k for k, v in K.items()}
    return {by_key.get(k, k.to_user_string()) for k in keys}


def _materialized(result):
    return [e.asset_key for e in result.get_asset_materialization_events()]


# -- AssetSelection ----------------------------------------------------------------------


def test_selection_all_keys_and_assets(graph):
    assert _names(AssetSelection.all().resolve(graph)) == set(K)
    assert _names(AssetSelection.keys("raw/orders", AssetKey("lonely")).resolve(graph)) == {
        "orders",
        "lonely",
    }
    assert _names(AssetSelection.keys(["raw", "customers"]).resolve(graph)) == {"customers"}
    assert _names(AssetSelection.assets(dashboard, orders).resolve(graph)) == {
        "dashboard",
        "orders",
    }


def test_selection_all_leaves_out_external_specs():
    defs = Definitions(assets=[AssetSpec("outside"), lonely])
    assert AssetSelection.all().resolve(defs.asset_graph) == {AssetKey("lonely")}
    # ...but a spec can still be named explicitly
    assert AssetSelection.assets(AssetSpec("outside")).resolve(defs.asset_graph) == {
        AssetKey("outside")
    }


def test_selection_groups_and_key_prefixes(graph):
    assert _names(AssetSelection.groups("transform").resolve(graph)) == {
        "clean_orders",
        "order_stats",
    }
    assert _names(AssetSelection.groups("ingest", "misc").resolve(graph)) == {
        "orders",
        "customers",
        "lonely",
    }
    assert AssetSelection.groups("nope").resolve(graph) == set()
    assert _names(AssetSelection.key_prefixes("raw").resolve(graph)) == {"orders", "customers"}
    assert _names(AssetSelection.key_prefixes(["raw", "orders"]).resolve(graph)) == {"orders"}
    assert AssetSelection.key_prefixes("ra").resolve(graph) == set()  # whole parts only


def test_selection_upstream(graph):
    dash = AssetSelection.keys("dashboard")
    assert _names(dash.upstream().resolve(graph)) == {
        "dashboard",
        "order_stats",
        "clean_orders",
        "orders",
        "customers",
    }
    assert _names(dash.upstream(depth=1).resolve(graph)) == {
        "dashboard",
        "order_stats",
        "customers",
    }
    assert _names(dash.upstream(depth=1, include_self=False).resolve(graph)) == {
        "order_stats",
        "customers",
    }


def test_selection_downstream(graph):
    raw_orders = AssetSelection.keys("raw/orders")
    assert _names(raw_orders.downstream().resolve(graph)) == {
        "orders",
        "clean_orders",
        "order_stats",
        "dashboard",
    }
    assert _names(raw_orders.downstream(depth=2).resolve(graph)) == {
        "orders",
        "clean_orders",
        "order_stats",
    }
    assert _names(raw_orders.downstream(depth=2, include_self=False).resolve(graph)) == {
        "clean_orders",
        "order_stats",
    }
    assert _names(AssetSelection.keys("lonely").downstream().resolve(graph)) == {"lonely"}


def test_selection_set_operations(graph):
    ingest = AssetSelection.groups("ingest")
    transform = AssetSelection.groups("transform")
    assert _names((ingest | transform).resolve(graph)) == {
        "orders",
        "customers",
        "clean_orders",
        "order_stats",
    }
    assert _names((AssetSelection.all() & ingest).resolve(graph)) == {"orders", "customers"}
    assert _names((AssetSelection.all() - ingest - transform).resolve(graph)) == {
        "dashboard",
        "lonely",
    }
    assert _names(
        (AssetSelection.keys("raw/orders").downstream() - AssetSelection.keys("dashboard")).resolve(
            graph
        )
    ) == {"orders", "clean_orders", "order_stats"}
    assert (ingest & transform).resolve(graph) == set()


def test_selection_naming_an_unknown_key_suggests_the_closest(graph):
    with pytest.raises(InvalidDefinitionError) as info:
        AssetSelection.keys("dashbord").resolve(graph)
    assert "dashbord" in str(info.value)
    assert "Did you mean 'dashboard'" in str(info.value)


# -- define_asset_job --------------------------------------------------------------------


def test_define_asset_job_resolved_by_definitions_and_executed(tmp_path):
    stats_job = define_asset_job(
        "stats_job",
        selection=AssetSelection.keys("order_stats").upstream(),
        tags={"team": "analytics"},
    )
    defs = Definitions(
        assets=ALL,
        jobs=[stats_job],
        resources={"io_manager": FilesystemIOManager(base_dir=str(tmp_path))},
    )
    job_def = defs.get_job_def("stats_job")
    assert isinstance(job_def, JobDefinition)
    result = job_def.execute_in_process()
    assert result.success
    assert set(_materialized(result)) == {K["orders"], K["clean_orders"], K["order_stats"]}
    assert result.asset_value("order_stats") == {"n": 3, "max": 3}
    assert result.run.tags["team"] == "analytics"
    assert result.run.job_name == "stats_job"
    assert (tmp_path / "order_stats").is_file()
    assert not (tmp_path / "dashboard").exists()


def test_asset_job_loads_unselected_upstream_from_an_earlier_materialize(tmp_path):
    storage = {"io_manager": FilesystemIOManager(base_dir=str(tmp_path))}
    first = materialize([orders, customers, clean_orders, order_stats], resources=storage)
    assert first.success

    calls = []

    @asset(
        name="dashboard",
        group_name="report",
        ins={"customers": AssetIn(key_prefix="raw")},
    )
    def dashboard_spy(order_stats, customers):
        calls.append((order_stats, customers))
        return "ok"

    defs = Definitions(
        assets=[orders, customers, clean_orders, order_stats, dashboard_spy],
        jobs=[define_asset_job("dash_only", AssetSelection.keys("dashboard"))],
        resources=storage,
    )
    result = defs.get_job_def("dash_only").execute_in_process()
    assert result.success
    assert _materialized(result) == [K["dashboard"]]
    assert calls == [({"n": 3, "max": 3}, ["ann", "bob"])]
    assert result.get_step_success_events()[0].step_key == "dashboard"


def test_asset_job_with_unmaterialized_upstream_fails_naming_the_asset(tmp_path):
    defs = Definitions(
        assets=ALL,
        jobs=[define_asset_job("only_stats", "order_stats")],
        resources={"io_manager": FilesystemIOManager(base_dir=str(tmp_path))},
    )
    with pytest.raises(InvariantViolationError, match="clean_orders"):
        defs.get_job_def("only_stats").execute_in_process()
    result = defs.get_job_def("only_stats").execute_in_process(raise_on_error=False)
    assert not result.success
    [failure] = result.get_step_failure_events()
    assert failure.step_key == "order_stats"
    assert "clean_orders" in failure.message


def test_define_asset_job_with_config():
    @asset(config_schema={"greeting": str})
    def greeting(context):
        return context.op_execution_context.op_config["greeting"]

    defs = Definitions(
        assets=[greeting],
        jobs=[
            define_asset_job(
                "greet", "greeting", config={"ops": {"greeting": {"config": {"greeting": "hi"}}}}
            )
        ],
    )
    result = defs.get_job_def("greet").execute_in_process()
    assert result.asset_value("greeting") == "hi"
    # run config given at launch overrides the job's default
    result = defs.get_job_def("greet").execute_in_process(
        run_config={"ops": {"greeting": {"config": {"greeting": "hello"}}}}
    )
    assert result.asset_value("greeting") == "hello"


def test_define_asset_job_with_partitions_def():
    colors = StaticPartitionsDefinition(["red", "blue"])

    @asset(partitions_def=colors)
    def painted(context):
        return context.partition_key

    defs = Definitions(
        assets=[painted], jobs=[define_asset_job("paint", "painted", partitions_def=colors)]
    )
    job_def = defs.get_job_def("paint")
    assert job_def.partitions_def is colors
    result = job_def.execute_in_process(partition_key="blue")
    assert result.asset_value("painted") == "blue"
    assert result.run.tags["trellis/partition"] == "blue"


def test_define_asset_job_defaults_to_all_assets():
    defs = Definitions(assets=[lonely, orders], jobs=[define_asset_job("everything")])
    result = defs.get_job_def("everything").execute_in_process()
    assert set(_materialized(result)) == {K["lonely"], K["orders"]}


def test_same_asset_job_in_jobs_and_schedule_is_one_job():
    nightly = define_asset_job("nightly", AssetSelection.groups("misc"))
    schedule = ScheduleDefinition(job=nightly, cron_schedule="0 0 * * *")
    defs = Definitions(assets=[lonely], jobs=[nightly], schedules=[schedule])
    assert [j.name for j in defs.jobs] == ["nightly"]
    assert defs.get_schedule_def(schedule.name) is schedule


def test_same_op_job_in_jobs_and_schedule_is_one_job():
    @op
    def ping():
        return 1

    @job
    def pinger():
        ping()

    schedule = ScheduleDefinition(job=pinger, cron_schedule="0 * * * *")
    defs = Definitions(jobs=[pinger], schedules=[schedule])
    assert [j.name for j in defs.jobs] == ["pinger"]


# -- Definitions lookups -----------------------------------------------------------------


def test_get_job_def_unknown_lists_jobs():
    defs = Definitions(assets=[lonely], jobs=[define_asset_job("a_job")])
    with pytest.raises(InvalidDefinitionError) as info:
        defs.get_job_def("b_job")
    assert "b_job" in str(info.value) and "a_job" in str(info.value)


def test_implicit_global_asset_job_covers_every_asset():
    defs = Definitions(assets=[*ALL, AssetSpec("outside")])
    job_def = defs.get_implicit_global_asset_job_def()
    assert defs.get_job_def("__ASSET_JOB") is job_def
    result = job_def.execute_in_process()
    assert result.success
    assert set(_materialized(result)) == set(K.values())
    assert result.asset_value("dashboard") == "3 orders from 2 customers"

    subset = job_def.execute_in_process(asset_selection=AssetSelection.groups("ingest"))
    assert set(_materialized(subset)) == {K["orders"], K["customers"]}


def test_get_assets_def():
    @multi_asset(outs={"m1": AssetOut(), "m2": AssetOut()})
    def pair():
        return 1, 2

    defs = Definitions(assets=[*ALL, pair, AssetSpec("outside")])
    assert defs.get_assets_def("raw/orders") is orders
    assert defs.get_assets_def(AssetKey(["raw", "orders"])) is orders
    assert defs.get_assets_def("m2") is pair
    with pytest.raises(InvalidDefinitionError, match="outside"):
        defs.get_assets_def("outside")
    with pytest.raises(InvalidDefinitionError, match="nope"):
        defs.get_assets_def("nope")


def test_load_asset_value_through_the_bound_io_manager(tmp_path):
    storage = {"io_manager": FilesystemIOManager(base_dir=str(tmp_path))}
    assert materialize(ALL, resources=storage).success
    defs = Definitions(assets=ALL, resources=storage)
    assert defs.load_asset_value("order_stats") == {"n": 3, "max": 3}
    assert defs.load_asset_value(AssetKey(["raw", "customers"])) == ["ann", "bob"]


def test_load_asset_value_uses_the_assets_io_manager_key():
    class Warehouse(IOManager):
        def __init__(self):
            self.contexts = []

        def handle_output(self, context, obj):
            raise AssertionError("not called by load_asset_value")

        def load_input(self, context):
            self.contexts.append(context)
            return f"loaded {context.upstream_output.asset_key.to_user_string()}"

    warehouse = Warehouse()

    @asset(io_manager_key="warehouse", metadata={"schema": "analytics"})
    def facts():
        return 1

    defs = Definitions(
        assets=[facts, AssetSpec("ext").with_io_manager_key("warehouse")],
        resources={"warehouse": warehouse},
    )
    assert defs.load_asset_value("facts") == "loaded facts"
    assert defs.load_asset_value("ext") == "loaded ext"
    context = warehouse.contexts[0]
    assert context.asset_key == AssetKey("facts")
    assert context.upstream_output.asset_key == AssetKey("facts")
    assert context.upstream_output.definition_metadata == {"schema": "analytics"}


def test_load_asset_value_defaults_to_the_instance_storage():
    instance = Instance.ephemeral()
    assert materialize([lonely], instance=instance).success
    defs = Definitions(assets=[lonely])
    assert defs.load_asset_value("lonely", instance=instance) == "alone"


def test_load_asset_value_of_a_partition(tmp_path):
    colors = StaticPartitionsDefinition(["red", "blue"])

    @asset(partitions_def=colors)
    def painted(context):
        return f"{context.partition_key} paint"

    storage = {"io_manager": FilesystemIOManager(base_dir=str(tmp_path))}
    for color in ("red", "blue"):
        materialize([painted], partition_key=color, resources=storage)
    defs = Definitions(assets=[painted], resources=storage)
    assert defs.load_asset_value("painted", partition_key="red") == "red paint"
    assert defs.load_asset_value("painted", partition_key="blue") == "blue paint"
    with pytest.raises(InvariantViolationError, match="green"):
        defs.load_asset_value("painted", partition_key="green")


def test_load_asset_value_errors_name_the_asset(tmp_path):
    defs = Definitions(
        assets=[lonely], resources={"io_manager": FilesystemIOManager(base_dir=str(tmp_path))}
    )
    with pytest.raises(InvariantViolationError, match="lonely"):
        defs.load_asset_value("lonely")  # never materialized
    with pytest.raises(InvalidDefinitionError, match="lonly"):
        defs.load_asset_value("lonly")


# -- materialize -------------------------------------------------------------------------


def test_materialize_stores_pickles_under_the_instance_storage_directory():
    instance = Instance.ephemeral()
    result = materialize([orders, clean_orders], instance=instance)
    assert result.success
    stored = instance.storage_directory() / "clean_orders"
    assert pickle.loads(stored.read_bytes()) == [1, 2, 3]
    assert pickle.loads((instance.storage_directory() / "raw" / "orders").read_bytes()) == [
        3,
        1,
        2,
    ]
    assert instance.get_run(result.run_id) is result.run


def test_materialize_with_selection_loads_the_rest_from_storage():
    instance = Instance.ephemeral()
    assert materialize([orders, clean_orders], instance=instance).success
    calls = []

    @asset(name="clean_orders", ins={"orders": AssetIn(key_prefix="raw")})
    def clean_again(orders):
        calls.append(orders)
        return sorted(orders, reverse=True)

    result = materialize([orders, clean_again], instance=instance, selection="clean_orders")
    assert _materialized(result) == [K["clean_orders"]]
    assert calls == [[3, 1, 2]]
    assert result.asset_value("clean_orders") == [3, 2, 1]


def test_materialize_selection_forms():
    for selection in (
        [order_stats, clean_orders, orders],
        AssetSelection.keys("order_stats").upstream(),
        ["raw/orders", "clean_orders", AssetKey("order_stats")],
    ):
        result = materialize_to_memory(ALL, selection=selection)
        assert set(_materialized(result)) == {K["orders"], K["clean_orders"], K["order_stats"]}


def test_materialize_tags_and_run_config():
    @asset(config_schema={"n": int})
    def configured(context):
        return context.op_execution_context.op_config["n"] * 2

    result = materialize_to_memory(
        [configured],
        run_config={"ops": {"configured": {"config": {"n": 21}}}},
        tags={"owner": "me"},
    )
    assert result.asset_value("configured") == 42
    assert result.run.tags["owner"] == "me"
    assert result.run.run_config == {"ops": {"configured": {"config": {"n": 21}}}}


def test_materialize_to_memory_writes_nothing():
    instance = Instance.ephemeral()
    result = materialize_to_memory([orders, clean_orders], instance=instance)
    assert result.asset_value("clean_orders") == [1, 2, 3]
    storage = instance.storage_directory()
    assert not storage.exists() or not any(storage.iterdir())


def test_materialize_rejects_things_that_are_not_assets():
    @op
    def not_an_asset():
        return 1

    with pytest.raises(InvalidInvocationError, match="not_an_asset"):
        materialize([not_an_asset])


def test_asset_materializations_for_node_and_asset_value_errors():
    result = materialize_to_memory([orders, lonely])
    [m] = result.asset_materializations_for_node("raw__orders")
    assert m.asset_key == K["orders"]
    assert result.asset_materializations_for_node("lonely")[0].asset_key == K["lonely"]
    with pytest.raises(InvariantViolationError, match="dashboard"):
        result.asset_value("dashboard")


def test_load_asset_value_partition_key_must_match_the_asset(tmp_path):
    colors = StaticPartitionsDefinition(["red", "blue"])

    @asset(partitions_def=colors)
    def painted():
        return 1

    defs = Definitions(
        assets=[painted, lonely],
        resources={"io_manager": FilesystemIOManager(base_dir=str(tmp_path))},
    )
    with pytest.raises(InvalidInvocationError, match=r"painted.*partition_key"):
        defs.load_asset_value("painted")
    with pytest.raises(InvalidInvocationError, match=r"lonely.*not partitioned"):
        defs.load_asset_value("lonely", partition_key="red")
