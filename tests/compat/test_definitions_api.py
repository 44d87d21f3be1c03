"""The current ``Definitions`` API and its neighbours, used the way a Dagster 1.13 project
and its tests use them, with ``dagster`` changed to ``trellis`` in the imports."""

import warnings
from unittest import mock

import pytest

from trellis import (
    AssetExecutionContext,
    AssetKey,
    AssetSelection,
    AssetSpec,
    Config,
    ConfigurableResource,
    DagsterInstance,
    DagsterInvalidConfigError,
    DagsterInvalidDefinitionError,
    DagsterRunStatus,
    Definitions,
    Failure,
    In,
    Int,
    MaterializeResult,
    MetadataValue,
    Out,
    ResourceDependency,
    RunConfig,
    RunRequest,
    ScheduleDefinition,
    SourceAsset,
    String,
    asset,
    build_schedule_context,
    build_sensor_context,
    define_asset_job,
    get_dagster_logger,
    instance_for_test,
    job,
    materialize,
    op,
    resource,
    schedule,
    sensor,
    validate_run_config,
)

# -- a small project ---------------------------------------------------------------------


class ApiClient(ConfigurableResource):
    base_url: str = "https://example.test"

    def fetch(self, what: str) -> list[int]:
        return [1, 2, 3] if what == "orders" else []


class OrdersConfig(Config):
    limit: int = 10


@asset(group_name="sales")
def raw_orders(config: OrdersConfig, api: ApiClient) -> list[int]:
    return api.fetch("orders")[: config.limit]


@asset(group_name="sales")
def order_total(raw_orders: list[int]) -> int:
    return sum(raw_orders)


sales_job = define_asset_job(
    "sales_job",
    selection=AssetSelection.assets("raw_orders", "order_total"),
    config=RunConfig(ops={"raw_orders": OrdersConfig(limit=2)}),
)


@schedule(cron_schedule="0 6 * * *", job=sales_job)
def morning(context):
    return RunRequest(run_key=context.scheduled_execution_time.isoformat())


nightly = ScheduleDefinition(
    name="nightly",
    job=sales_job,
    cron_schedule="0 0 * * *",
    run_config=RunConfig(ops={"raw_orders": OrdersConfig(limit=1)}),
)


@sensor(job=sales_job)
def new_orders(context, api: ApiClient):
    if api.fetch("orders"):
        return RunRequest(run_key=context.cursor or "first")
    return None


defs = Definitions(
    assets=[raw_orders, order_total],
    jobs=[sales_job],
    schedules=[morning, nightly],
    sensors=[new_orders],
    resources={"api": ApiClient()},
)


# -- resolving what Definitions holds ---------------------------------------------------


def test_resolve_lookups():
    job_def = defs.resolve_job_def("sales_job")
    assert job_def.execute_in_process().output_for_node("order_total") == 3  # limit 2
    assert defs.resolve_schedule_def("nightly") is nightly
    assert defs.resolve_sensor_def("new_orders") is new_orders
    assert defs.resolve_assets_def("order_total").key == AssetKey("order_total")
    assert defs.resolve_assets_def(AssetKey(["raw_orders"])).key == AssetKey("raw_orders")
    implicit = defs.resolve_implicit_global_asset_job_def()
    assert implicit.execute_in_process().success
    names = [j.name for j in defs.resolve_all_job_defs()]
    assert names == ["__ASSET_JOB", "sales_job"]
    assert defs.resolve_all_asset_keys() == [AssetKey("order_total"), AssetKey("raw_orders")]
    assert [s.key for s in defs.resolve_all_asset_specs()] == defs.resolve_all_asset_keys()
    Definitions.validate_loadable(defs)


def test_a_schedule_with_a_run_config_object():
    request = nightly.evaluate_tick(build_schedule_context()).run_requests[0]
    assert request.run_config["ops"] == {"raw_orders": {"config": {"limit": 1}}}
    result = defs.resolve_job_def("sales_job").execute_in_process(run_config=request.run_config)
    assert result.output_for_node("order_total") == 1


def test_run_config_objects_everywhere():
    run_config = RunConfig(ops={"raw_orders": OrdersConfig(limit=1)})
    assert RunRequest(run_config=run_config).run_config["ops"] == {
        "raw_orders": {"config": {"limit": 1}}
    }
    result = materialize(
        [raw_orders, order_total], run_config=run_config, resources={"api": ApiClient()}
    )
    assert result.asset_value("order_total") == 1


def test_a_sensor_takes_its_resources_as_parameters():
    context = build_sensor_context(cursor="c1", resources={"api": ApiClient()})
    assert new_orders(context) == RunRequest(run_key="c1")
    assert new_orders.required_resource_keys == {"api"}
    empty = mock.Mock()
    empty.fetch.return_value = []
    assert new_orders(build_sensor_context(), api=empty) is None  # a resource by keyword


def test_definitions_with_a_problem_build_and_fail_when_used():
    @asset(name="twin")
    def first():
        return 1

    @asset(name="twin")
    def second():
        return 2

    broken = Definitions(assets=[first, second])  # as in Dagster: no error yet
    with pytest.raises(DagsterInvalidDefinitionError, match="twin"):
        broken.resolve_implicit_global_asset_job_def()
    with pytest.raises(DagsterInvalidDefinitionError, match="twin"):
        Definitions.validate_loadable(broken)


def test_validate_loadable_in_a_unit_test():
    @asset
    def needs_db(db: ApiClient):
        return 1

    Definitions.validate_loadable(Definitions(assets=[needs_db], resources={"db": ApiClient()}))
    with pytest.raises(DagsterInvalidDefinitionError, match="'db'"):
        Definitions.validate_loadable(Definitions(assets=[needs_db]))


def test_validate_run_config():
    @op(config_schema={"rows": Int, "table": String})
    def load(context):
        return context.op_config["rows"]

    @job
    def loader():
        load()

    processed = validate_run_config(
        loader, {"ops": {"load": {"config": {"rows": 3, "table": "t"}}}}
    )
    assert processed["ops"]["load"]["config"] == {"rows": 3, "table": "t"}
    with pytest.raises(DagsterInvalidConfigError, match="rows"):
        validate_run_config(loader, {"ops": {"load": {"config": {"rows": "x", "table": "t"}}}})


def test_config_scalars_type_inputs_and_outputs():
    @op(ins={"n": In(Int)}, out=Out(String))
    def describe(n):
        return f"{n} rows"

    @op
    def three():
        return 3

    @job
    def pipeline():
        describe(three())

    assert pipeline.execute_in_process().output_for_node("describe") == "3 rows"


def test_resource_dependency_takes_any_resource():
    class Connection:
        def __init__(self, dsn):
            self.dsn = dsn

    @resource
    def connection():
        return Connection("postgres://db")

    class Warehouse(ConfigurableResource):
        connection: ResourceDependency[Connection]
        schema_name: str = "public"

        def where(self) -> str:
            return f"{self.connection.dsn}/{self.schema_name}"

    @asset
    def location(warehouse: Warehouse) -> str:
        return warehouse.where()

    result = materialize([location], resources={"warehouse": Warehouse(connection=connection)})
    assert result.asset_value("location") == "postgres://db/public"


def test_asset_selection_and_keys_take_strings():
    selection = AssetSelection.assets("raw_orders") | AssetSelection.assets(order_total)
    assert selection == AssetSelection.assets("raw_orders") | AssetSelection.assets(order_total)
    assert AssetSelection.groups("sales") != AssetSelection.groups("marketing")
    assert AssetKey(["sales", "orders"]).path == ["sales", "orders"]
    assert [spec.group_name for spec in order_total.specs] == ["sales"]
    assert order_total.keys_by_output_name == {"result": AssetKey("order_total")}
    assert list(order_total.check_specs) == []


def test_failure_metadata_and_the_result_api():
    @op
    def flaky():
        raise Failure("bad rows", metadata={"rows": 3, "where": "s3://x"})

    @op
    def after(x):
        return x

    @job
    def broken():
        after(flaky())

    result = broken.execute_in_process(raise_on_error=False)
    assert not result.success
    assert result.get_failed_step_keys() == {"flaky"}
    data = result.failure_data_for_node("flaky")
    assert data.user_failure_data.metadata["rows"] == MetadataValue.int(3)
    assert not result.is_node_success("after")
    assert result.get_job_failure_event().event_type_value == "RUN_FAILURE"
    assert result.retry_attempts_for_node("flaky") == 0
    assert result.dagster_run.status == DagsterRunStatus.FAILURE
    assert result.filter_events(lambda e: e.is_step_failure)[0].step_key == "flaky"


def test_an_op_with_kwargs_receives_its_ins():
    @op(ins={"left": In(int), "right": In(int)})
    def add(**kwargs) -> int:
        return kwargs["left"] + kwargs["right"]

    @op
    def two() -> int:
        return 2

    @job
    def adding():
        add(left=two(), right=two())

    assert adding.execute_in_process().output_for_node("add") == 4
    assert add(left=1, right=2) == 3


def test_instance_for_test_and_the_dagster_logger():
    @asset
    def logged(context: AssetExecutionContext) -> MaterializeResult:
        get_dagster_logger().info("hello from the logger")
        return MaterializeResult(metadata={"n": 1})

    with instance_for_test() as instance:
        assert isinstance(instance, DagsterInstance)
        result = materialize([logged], instance=instance)
        run = instance.get_run_by_id(result.run_id)
        assert run.status == DagsterRunStatus.SUCCESS
        assert any("hello from the logger" in e.message for e in instance.all_logs(result.run_id))


def test_deprecated_spellings_warn_and_work():
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        upstream = SourceAsset(key="upstream_table", io_manager_key="warehouse_io")

        @asset(compute_kind="python", non_argument_deps={"upstream_table"})
        def downstream():
            return 1

    # Dagster accepts compute_kind silently; Trellis says what to write instead.
    messages = [str(w.message) for w in caught if w.category is DeprecationWarning]
    assert any("SourceAsset" in m and "AssetSpec" in m for m in messages)
    assert any("compute_kind" in m and "kinds" in m for m in messages)
    assert any("non_argument_deps" in m and "deps" in m for m in messages)
    assert isinstance(upstream, AssetSpec) and upstream.io_manager_key == "warehouse_io"
    [spec] = downstream.specs
    assert spec.kinds == {"python"}
    assert materialize([upstream, downstream]).success
