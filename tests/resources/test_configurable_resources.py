"""Pythonic resources: ``ConfigurableResource`` fields as config, run-config overrides,
``configure_at_launch``, nested resources, lifecycle hooks, typed-parameter injection,
``ResourceParam`` and ``ConfigurableResourceFactory``."""

from typing import Any

import pytest
from pydantic import PrivateAttr

from trellis import (
    ConfigurableResource,
    Definitions,
    EventType,
    InvalidConfigError,
    ResourceDefinition,
    ResourceParam,
    UnknownResourceError,
    asset,
    build_init_resource_context,
    define_asset_job,
    job,
    materialize_to_memory,
    op,
)
from trellis.defs.configurable_resource import ConfigurableResourceFactory


class Database(ConfigurableResource):
    """A fake database client."""

    host: str
    port: int = 5432

    def url(self) -> str:
        return f"{self.host}:{self.port}"


# -- fields as config --------------------------------------------------------------------


def test_fields_are_config_and_the_instance_reaches_the_op_by_typed_parameter():
    @op
    def read(db: Database) -> str:
        return db.url()

    @job(resource_defs={"db": Database(host="warehouse")})
    def pipeline():
        read()

    assert pipeline.execute_in_process().output_for_node("read") == "warehouse:5432"


def test_run_config_overrides_a_field():
    @op
    def read(db: Database) -> str:
        return db.url()

    @job(resource_defs={"db": Database(host="warehouse")})
    def pipeline():
        read()

    result = pipeline.execute_in_process(
        run_config={"resources": {"db": {"config": {"port": 1234}}}}
    )
    assert result.output_for_node("read") == "warehouse:1234"
    result = pipeline.execute_in_process(
        run_config={"resources": {"db": {"config": {"host": "replica"}}}}
    )
    assert result.output_for_node("read") == "replica:5432"


def test_bad_run_config_for_a_field_names_its_path():
    @op
    def read(db: Database) -> str:
        return db.url()

    @job(resource_defs={"db": Database(host="warehouse")})
    def pipeline():
        read()

    with pytest.raises(InvalidConfigError) as info:
        pipeline.execute_in_process(
            run_config={"resources": {"db": {"config": {"port": "not a port"}}}}
        )
    assert "root:resources:db:config:port" in str(info.value)


def test_resource_is_a_resource_definition_for_the_engine():
    definition = Database(host="h").get_resource_definition()
    assert isinstance(definition, ResourceDefinition)
    assert definition.description == "A fake database client."
    assert set(definition.config_schema.config_type.fields) == {"host", "port"}


def test_the_bound_instance_is_not_mutated_by_run_config():
    bound = Database(host="warehouse")

    @op
    def read(db: Database) -> str:
        return db.url()

    @job(resource_defs={"db": bound})
    def pipeline():
        read()

    pipeline.execute_in_process(run_config={"resources": {"db": {"config": {"port": 1}}}})
    assert bound.port == 5432


# -- configure_at_launch -----------------------------------------------------------------


def test_configure_at_launch_takes_config_from_the_run_config():
    @op
    def read(db: Database) -> str:
        return db.url()

    @job(resource_defs={"db": Database.configure_at_launch()})
    def pipeline():
        read()

    result = pipeline.execute_in_process(
        run_config={"resources": {"db": {"config": {"host": "launched", "port": 7}}}}
    )
    assert result.output_for_node("read") == "launched:7"

    with pytest.raises(InvalidConfigError) as info:
        pipeline.execute_in_process(run_config={"resources": {"db": {"config": {}}}})
    assert "root:resources:db:config" in str(info.value)
    assert "'host'" in str(info.value)


def test_configure_at_launch_with_some_values_given():
    @op
    def read(db: Database) -> str:
        return db.url()

    @job(resource_defs={"db": Database.configure_at_launch(port=99)})
    def pipeline():
        read()

    result = pipeline.execute_in_process(
        run_config={"resources": {"db": {"config": {"host": "h"}}}}
    )
    assert result.output_for_node("read") == "h:99"


# -- lifecycle ---------------------------------------------------------------------------


class Connection:
    def __init__(self, url: str, log: list[str]) -> None:
        self.url = url
        self.log = log

    def query(self, sql: str) -> str:
        self.log.append(f"query {sql}")
        return f"{self.url}:{sql}"


def test_setup_and_teardown_run_around_the_steps_and_may_set_private_state():
    log: list[str] = []

    class Client(ConfigurableResource):
        url: str
        _conn: Any = PrivateAttr(default=None)

        def setup_for_execution(self, context) -> None:
            log.append(f"setup {context.resource_config['url']}")
            self._conn = Connection(self.url, log)

        def teardown_after_execution(self, context) -> None:
            log.append("teardown")

        def query(self, sql: str) -> str:
            return self._conn.query(sql)

    @op
    def run_query(client: Client) -> str:
        return client.query("select 1")

    @job(resource_defs={"client": Client(url="pg")})
    def pipeline():
        run_query()

    result = pipeline.execute_in_process()
    assert result.output_for_node("run_query") == "pg:select 1"
    assert log == ["setup pg", "query select 1", "teardown"]


def test_private_attribute_without_declaration_can_be_set_in_setup():
    class Client(ConfigurableResource):
        name: str

        def setup_for_execution(self, context) -> None:
            self._client = f"client for {self.name}"

    @op
    def use(client: Client) -> str:
        return client._client

    @job(resource_defs={"client": Client(name="x")})
    def pipeline():
        use()

    assert pipeline.execute_in_process().output_for_node("use") == "client for x"


def test_teardown_runs_when_the_step_fails():
    log: list[str] = []

    class Client(ConfigurableResource):
        def setup_for_execution(self, context) -> None:
            log.append("setup")

        def teardown_after_execution(self, context) -> None:
            log.append("teardown")

    @op
    def boom(client: Client):
        raise RuntimeError("step broke")

    @job(resource_defs={"client": Client()})
    def pipeline():
        boom()

    with pytest.raises(RuntimeError, match="step broke"):
        pipeline.execute_in_process()
    assert log == ["setup", "teardown"]


def test_setup_failure_is_a_resource_init_failure():
    class Client(ConfigurableResource):
        def setup_for_execution(self, context) -> None:
            raise ConnectionError("cannot reach server")

    @op
    def use(client: Client):
        return 1

    @job(resource_defs={"client": Client()})
    def pipeline():
        use()

    result = pipeline.execute_in_process(raise_on_error=False)
    assert not result.success
    failure = next(e for e in result.all_events if e.event_type is EventType.RESOURCE_INIT_FAILURE)
    assert "cannot reach server" in failure.message
    with pytest.raises(ConnectionError, match="cannot reach server"):
        pipeline.execute_in_process()


def test_yield_for_execution_wraps_the_run():
    log: list[str] = []

    class Session(ConfigurableResource):
        name: str

        def yield_for_execution(self, context):
            log.append(f"open {self.name}")
            try:
                yield self
            finally:
                log.append(f"close {self.name}")

    @op
    def use(session: Session) -> str:
        log.append("use")
        return session.name

    @job(resource_defs={"session": Session(name="s1")})
    def pipeline():
        use()

    assert pipeline.execute_in_process().output_for_node("use") == "s1"
    assert log == ["open s1", "use", "close s1"]


def test_setup_context_is_the_init_resource_context_of_the_run():
    seen = {}

    class Client(ConfigurableResource):
        def setup_for_execution(self, context) -> None:
            seen["run_id"] = context.run_id
            seen["instance"] = context.instance

    @op
    def use(client: Client):
        return 1

    @job(resource_defs={"client": Client()})
    def pipeline():
        use()

    result = pipeline.execute_in_process()
    assert seen["run_id"] == result.run_id
    assert seen["instance"] is not None


# -- nested resources --------------------------------------------------------------------


def test_nested_resource_is_initialised_with_its_setup_and_teardown():
    log: list[str] = []

    class Credentials(ConfigurableResource):
        user: str

        def setup_for_execution(self, context) -> None:
            log.append(f"setup credentials {self.user}")

        def teardown_after_execution(self, context) -> None:
            log.append("teardown credentials")

    class Api(ConfigurableResource):
        credentials: Credentials
        base_url: str = "https://api"

        def setup_for_execution(self, context) -> None:
            log.append(f"setup api as {self.credentials.user}")

        def teardown_after_execution(self, context) -> None:
            log.append("teardown api")

        def get(self) -> str:
            return f"{self.base_url} as {self.credentials.user}"

    @op
    def call(api: Api) -> str:
        log.append("call")
        return api.get()

    @job(resource_defs={"api": Api(credentials=Credentials(user="bob"))})
    def pipeline():
        call()

    result = pipeline.execute_in_process(
        run_config={"resources": {"api": {"config": {"base_url": "https://other"}}}}
    )
    assert result.output_for_node("call") == "https://other as bob"
    assert log == [
        "setup credentials bob",
        "setup api as bob",
        "call",
        "teardown api",
        "teardown credentials",
    ]


def test_nested_resource_field_is_not_part_of_the_parent_config():
    class Credentials(ConfigurableResource):
        user: str

    class Api(ConfigurableResource):
        credentials: Credentials
        base_url: str = "https://api"

    definition = Api(credentials=Credentials(user="u")).get_resource_definition()
    assert set(definition.config_schema.config_type.fields) == {"base_url"}


# -- injection into ops and assets -------------------------------------------------------


def test_typed_resource_parameter_in_an_asset_needs_no_required_resource_keys():
    @asset
    def table(db: Database) -> str:
        return f"rows from {db.url()}"

    @asset
    def report(table: str, db: Database) -> str:
        return f"{table} via {db.host}"

    result = materialize_to_memory([table, report], resources={"db": Database(host="h")})
    assert result.asset_value("report") == "rows from h:5432 via h"


def test_typed_resource_parameter_together_with_context_and_inputs():
    @op
    def make() -> int:
        return 2

    @op
    def use(context, value: int, db: Database) -> str:
        return f"{context.op.name} {value} {db.host}"

    @job(resource_defs={"db": Database(host="h")})
    def pipeline():
        use(make())

    assert pipeline.execute_in_process().output_for_node("use") == "use 2 h"


def test_typed_resource_parameter_also_appears_on_context_resources():
    @op
    def use(context, db: Database) -> bool:
        return context.resources.db is db

    @job(resource_defs={"db": Database(host="h")})
    def pipeline():
        use()

    assert pipeline.execute_in_process().output_for_node("use") is True


def test_missing_typed_resource_is_a_definition_error_naming_the_key():
    @asset
    def table(warehouse: Database) -> int:
        return 1

    with pytest.raises(Exception) as info:
        materialize_to_memory([table])
    assert "warehouse" in str(info.value)


def test_definitions_resources_reach_asset_jobs():
    @asset
    def table(db: Database) -> str:
        return db.url()

    defs = Definitions(
        assets=[table],
        jobs=[define_asset_job("all_assets")],
        resources={"db": Database(host="defs")},
    )
    result = defs.get_job_def("all_assets").execute_in_process()
    assert result.asset_value("table") == "defs:5432"


def test_resource_param_injects_a_plain_object():
    class Client:
        def __init__(self, name: str) -> None:
            self.name = name

    @op
    def use(client: ResourceParam[Client]) -> str:
        return client.name

    @asset
    def named(client: ResourceParam[Client]) -> str:
        return client.name.upper()

    @job(resource_defs={"client": Client("plain")})
    def pipeline():
        use()

    assert pipeline.execute_in_process().output_for_node("use") == "plain"
    result = materialize_to_memory([named], resources={"client": Client("plain")})
    assert result.asset_value("named") == "PLAIN"


def test_undeclared_resource_on_context_is_unknown_even_with_typed_parameters():
    @op
    def use(context, db: Database):
        return context.resources.other

    @job(resource_defs={"db": Database(host="h"), "other": 1})
    def pipeline():
        use()

    with pytest.raises(UnknownResourceError, match="'other'"):
        pipeline.execute_in_process()


# -- factories ---------------------------------------------------------------------------


def test_configurable_resource_factory_hands_ops_the_created_object():
    log: list[str] = []

    class ClientFactory(ConfigurableResourceFactory[Connection]):
        url: str

        def create_resource(self, context) -> Connection:
            return Connection(self.url, log)

    @op
    def use(client: ResourceParam[Connection]) -> str:
        assert isinstance(client, Connection)
        return client.query("q")

    @job(resource_defs={"client": ClientFactory(url="made")})
    def pipeline():
        use()

    result = pipeline.execute_in_process(
        run_config={"resources": {"client": {"config": {"url": "override"}}}}
    )
    assert result.output_for_node("use") == "override:q"
    assert log == ["query q"]


def test_configurable_resource_can_be_called_outside_a_run():
    class Client(ConfigurableResource):
        url: str

        def create_resource(self, context) -> Any:
            return self

    client = Client(url="u")
    assert client.create_resource(build_init_resource_context()) is client


def test_run_config_for_a_nested_config_field_becomes_the_config_class():
    from trellis import Config

    class Retry(Config):
        attempts: int = 1

    class Client(ConfigurableResource):
        retry: Retry = Retry()
        tags: list[str] = []

    @op
    def use(client: Client):
        return client.retry, client.tags

    @job(resource_defs={"client": Client()})
    def pipeline():
        use()

    result = pipeline.execute_in_process(
        run_config={"resources": {"client": {"config": {"retry": {"attempts": 3}, "tags": ["a"]}}}}
    )
    retry, tags = result.output_for_node("use")
    assert isinstance(retry, Retry)
    assert retry.attempts == 3
    assert tags == ["a"]


def test_env_var_field_is_read_from_the_environment_at_run_time(monkeypatch):
    from trellis import EnvVar

    @op
    def read(db: Database) -> str:
        return db.url()

    @job(resource_defs={"db": Database(host=EnvVar("TRELLIS_TEST_DB_HOST"))})
    def pipeline():
        read()

    monkeypatch.setenv("TRELLIS_TEST_DB_HOST", "from-env")
    assert pipeline.execute_in_process().output_for_node("read") == "from-env:5432"
    monkeypatch.setenv("TRELLIS_TEST_DB_HOST", "changed")
    assert pipeline.execute_in_process().output_for_node("read") == "changed:5432"

    monkeypatch.delenv("TRELLIS_TEST_DB_HOST")
    with pytest.raises(InvalidConfigError, match="TRELLIS_TEST_DB_HOST"):
        pipeline.execute_in_process()


def test_a_field_with_an_alias_is_configured_by_either_name():
    """Dagster's own resources alias ``schema_`` to ``schema`` (a pydantic field cannot be
    named ``schema``); both the constructor and run config use the alias."""
    from pydantic import Field as PydanticField

    class Warehouse(ConfigurableResource):
        schema_: str = PydanticField(default="main", alias="schema")

    @asset
    def where(warehouse: Warehouse) -> str:
        return warehouse.schema_

    given = materialize_to_memory([where], resources={"warehouse": Warehouse(schema="sales")})
    assert given.asset_value("where") == "sales"
    assert (
        materialize_to_memory([where], resources={"warehouse": Warehouse()}).asset_value("where")
        == "main"
    )
    launched = materialize_to_memory(
        [where],
        resources={"warehouse": Warehouse.configure_at_launch()},
        run_config={"resources": {"warehouse": {"config": {"schema": "ops"}}}},
    )
    assert launched.asset_value("where") == "ops"
