"""The ``build_*`` testing helpers and direct invocation of ops, assets and resources:
every helper works without a ``with`` block, resources with a teardown are torn down
when the context is closed or garbage-collected."""

import gc
from contextlib import contextmanager
from datetime import UTC, datetime

import pytest

from trellis import (
    AssetExecutionContext,
    AssetKey,
    Config,
    ConfigurableResource,
    InitResourceContext,
    InputContext,
    InvalidConfigError,
    InvalidInvocationError,
    InvariantViolationError,
    IOManager,
    OpExecutionContext,
    OutputContext,
    ScheduleEvaluationContext,
    SensorEvaluationContext,
    StaticPartitionsDefinition,
    UnknownResourceError,
    asset,
    build_asset_context,
    build_init_resource_context,
    build_input_context,
    build_op_context,
    build_output_context,
    build_resources,
    build_schedule_context,
    build_sensor_context,
    io_manager,
    op,
    resource,
    schedule,
    sensor,
)
from trellis.contexts.io import EPHEMERAL_RUN_ID


def _recording_resource(log, name="conn"):
    """A generator resource whose teardown (no ``finally``: only an explicit teardown
    runs it, not the collection of the generator) records itself in ``log``."""

    @resource
    def conn():
        log.append(f"open {name}")
        yield f"{name} handle"
        log.append(f"close {name}")

    return conn


# -- build_op_context and direct op calls ------------------------------------------------


def test_build_op_context_with_resources_config_partition_and_tags_without_with():
    @op(config_schema={"factor": int}, required_resource_keys={"store"})
    def scale(context, x: int) -> tuple:
        context.log.info("scaling")
        return (
            x * context.op_config["factor"],
            context.resources.store,
            context.partition_key,
            context.get_tag("team"),
            context.has_tag("missing"),
        )

    context = build_op_context(
        resources={"store": "memory"},
        op_config={"factor": 3},
        partition_key="2024-01-01",
        run_tags={"team": "data"},
    )
    assert isinstance(context, OpExecutionContext)
    assert scale(context, x=2) == (6, "memory", "2024-01-01", "data", False)
    assert scale(context, 5)[0] == 15  # inputs may be positional too
    assert context.run_id
    assert context.run.tags["team"] == "data"


def test_op_config_is_validated_against_the_op_schema():
    @op(config_schema={"factor": int})
    def scale(context) -> int:
        return context.op_config["factor"]

    with pytest.raises(InvalidConfigError, match="factor"):
        scale(build_op_context(op_config={"factor": "three"}))


def test_op_without_context_is_called_without_one():
    @op
    def add(a: int, b: int = 10) -> int:
        return a + b

    assert add(1) == 11
    assert add(1, b=2) == 3
    assert add(a=5) == 15


def test_op_without_inputs_or_context_is_called_bare():
    @op
    def constant() -> str:
        return "value"

    assert constant() == "value"


def test_a_context_given_to_an_op_without_context_parameter_supplies_config():
    class Limit(Config):
        n: int = 1

    @op
    def bare(x: int, config: Limit) -> int:
        return x * config.n

    assert bare(build_op_context(op_config={"n": 4}), 2) == 8
    assert bare(build_op_context(op_config={"n": 3}), x=2) == 6


def test_op_context_is_built_when_not_given():
    @op
    def who(context) -> str:
        return context.op.name

    assert who() == "who"


def test_missing_input_in_direct_call_is_a_clear_error():
    @op
    def add(context, a: int, b: int) -> int:
        return a + b

    with pytest.raises(InvalidInvocationError) as info:
        add(build_op_context(), 1)
    message = str(info.value)
    assert "'add'" in message
    assert "input 'b'" in message


def test_unknown_keyword_and_too_many_arguments_are_clear_errors():
    @op
    def one(a: int) -> int:
        return a

    with pytest.raises(InvalidInvocationError, match="no parameter 'z'"):
        one(a=1, z=2)
    with pytest.raises(InvalidInvocationError, match="takes 1 arguments after the context"):
        one(1, 2)


def test_config_typed_parameter_in_direct_call():
    class ScaleConfig(Config):
        factor: int = 2

    @op
    def scale(context, config: ScaleConfig, x: int) -> int:
        return x * config.factor

    assert scale(build_op_context(op_config={"factor": 5}), x=2) == 10
    assert scale(build_op_context(), x=2) == 4  # default applies
    assert scale(build_op_context(), x=2, config=ScaleConfig(factor=7)) == 14

    @op
    def no_context(config: ScaleConfig) -> int:
        return config.factor

    assert no_context(config=ScaleConfig(factor=3)) == 3
    assert no_context() == 2


def test_typed_resource_parameter_in_direct_call():
    class Database(ConfigurableResource):
        host: str

    @op
    def read(db: Database) -> str:
        return db.host

    # the op takes no context: the given one only supplies the resource
    assert read(build_op_context(resources={"db": Database(host="ctx")})) == "ctx"
    assert read(db=Database(host="kwarg")) == "kwarg"
    assert read(build_op_context(), db=Database(host="both")) == "both"
    with pytest.raises(InvalidInvocationError, match="resource 'db' both"):
        read(build_op_context(resources={"db": Database(host="a")}), db=Database(host="b"))

    @op
    def with_context(context, x: int, db: Database) -> str:
        return f"{context.op.name} {x} {db.host}"

    context = build_op_context(resources={"db": Database(host="h")})
    assert with_context(context, 1) == "with_context 1 h"


def test_undeclared_resource_on_a_test_context_names_available_ones():
    @op
    def use(context):
        return context.resources.missing

    with pytest.raises(UnknownResourceError) as info:
        use(build_op_context(resources={"present": 1}))
    assert "'missing'" in str(info.value)
    assert "present" in str(info.value)


def test_op_def_before_binding_raises_a_clear_error():
    context = build_op_context()
    with pytest.raises(InvariantViolationError, match="not bound"):
        _ = context.op_def

    @op
    def named(context) -> str:
        return context.op_def.name

    assert named(context) == "named"
    assert context.op_def.name == "named"  # stays readable after the call


def test_output_metadata_is_readable_after_a_direct_call():
    @op
    def emit(context) -> int:
        context.add_output_metadata({"rows": 3})
        return 1

    context = build_op_context()
    emit(context)
    metadata = context.get_step_execution_context().output_metadata_by_name()
    assert metadata["result"]["rows"].value == 3


# -- resource teardown of test contexts --------------------------------------------------


def test_generator_resource_of_op_context_is_torn_down_when_the_with_block_ends():
    log = []

    @op(required_resource_keys={"conn"})
    def use(context) -> str:
        return context.resources.conn

    with build_op_context(resources={"conn": _recording_resource(log)}) as context:
        assert use(context) == "conn handle"
        assert log == ["open conn"]
    assert log == ["open conn", "close conn"]


def test_generator_resource_of_op_context_is_torn_down_on_garbage_collection():
    log = []

    @op(required_resource_keys={"conn"})
    def use(context) -> str:
        return context.resources.conn

    context = build_op_context(resources={"conn": _recording_resource(log)})
    assert use(context) == "conn handle"
    assert log == ["open conn"]
    del context
    gc.collect()
    assert log == ["open conn", "close conn"]


def test_resources_of_a_test_context_are_usable_without_with():
    log = []

    class Client(ConfigurableResource):
        def setup_for_execution(self, context) -> None:
            log.append("setup")

        def teardown_after_execution(self, context) -> None:
            log.append("teardown")

        def ping(self) -> str:
            return "pong"

    @asset
    def pinged(client: Client) -> str:
        return client.ping()

    context = build_asset_context(resources={"client": Client()})
    assert pinged(context) == "pong"
    assert log == ["setup"]
    del context
    gc.collect()
    assert log == ["setup", "teardown"]


def test_teardown_runs_once_when_closed_then_collected():
    log = []
    context = build_op_context(resources={"conn": _recording_resource(log)})
    with context:
        pass
    del context
    gc.collect()
    assert log == ["open conn", "close conn"]


# -- build_asset_context and direct asset calls ------------------------------------------


def test_asset_direct_call_with_context_and_upstream_value():
    @asset(config_schema={"suffix": str}, required_resource_keys={"greeter"})
    def greeting(context: AssetExecutionContext, name: str) -> str:
        assert context.asset_key == AssetKey("greeting")
        return f"{context.resources.greeter} {name}{context.op_config['suffix']}"

    context = build_asset_context(resources={"greeter": "hello"}, asset_config={"suffix": "!"})
    assert isinstance(context, AssetExecutionContext)
    assert greeting(context, "world") == "hello world!"


def test_asset_direct_call_without_context():
    @asset
    def doubled(numbers: list[int]) -> list[int]:
        return [n * 2 for n in numbers]

    assert doubled([1, 2]) == [2, 4]
    assert doubled(numbers=[3]) == [6]
    with pytest.raises(InvalidInvocationError, match="input 'numbers'"):
        doubled()


def test_asset_context_partition_key():
    colors = StaticPartitionsDefinition(["red", "blue"])

    @asset(partitions_def=colors)
    def paint(context) -> str:
        return f"{context.partition_key} paint"

    assert paint(build_asset_context(partition_key="red")) == "red paint"


def test_asset_context_metadata_added_in_body():
    @asset(metadata={"owner": "me"})
    def table(context: AssetExecutionContext) -> int:
        context.add_output_metadata({"rows": 2})
        return context.definition_metadata["owner"] == "me"

    context = build_asset_context()
    assert table(context) is True
    step_context = context.get_step_execution_context()
    assert step_context.output_metadata_by_name()["result"]["rows"].value == 2


def test_asset_context_assets_def_before_binding_raises():
    context = build_asset_context()
    with pytest.raises(InvariantViolationError, match="not bound"):
        _ = context.assets_def


# -- build_init_resource_context and direct resource calls -------------------------------


def test_build_init_resource_context_calls_a_resource_function_directly():
    @resource(config_schema={"host": str}, required_resource_keys={"creds"})
    def client(init_context: InitResourceContext) -> str:
        return f"{init_context.resources.creds}@{init_context.resource_config['host']}"

    context = build_init_resource_context(config={"host": "db"}, resources={"creds": "bob"})
    assert isinstance(context, InitResourceContext)
    assert context.run is None
    assert client(context) == "bob@db"


def test_resource_without_context_is_called_bare():
    @resource
    def constant():
        return 42

    assert constant() == 42


def test_init_resource_context_resources_are_torn_down_on_garbage_collection():
    log = []
    context = build_init_resource_context(resources={"conn": _recording_resource(log)})
    assert context.resources.conn == "conn handle"
    del context
    gc.collect()
    assert log == ["open conn", "close conn"]


# -- build_input_context / build_output_context ------------------------------------------


class DictIOManager(IOManager):
    def __init__(self):
        self.values = {}

    def handle_output(self, context, obj):
        self.values[tuple(context.get_identifier())] = obj
        context.add_output_metadata({"stored": True})

    def load_input(self, context):
        return self.values[tuple(context.get_identifier())]


def test_io_manager_round_trip_with_built_io_contexts():
    manager = DictIOManager()
    out = build_output_context(step_key="make", name="result", run_id="r1")
    assert isinstance(out, OutputContext)
    manager.handle_output(out, [1, 2])
    assert out.consume_logged_metadata()["stored"].value is True

    inp = build_input_context(name="numbers", upstream_output=out)
    assert isinstance(inp, InputContext)
    assert manager.load_input(inp) == [1, 2]


def test_build_output_context_fields():
    out = build_output_context(
        step_key="s",
        name="o",
        definition_metadata={"a": 1},
        asset_key="my_asset",
        partition_key="p1",
        resource_config={"root": "/x"},
        resources={"helper": "h"},
        dagster_type=int,
    )
    assert out.definition_metadata == {"a": 1}
    assert out.metadata == {"a": 1}
    assert out.asset_key == AssetKey("my_asset")
    assert out.partition_key == "p1"
    assert out.get_asset_identifier() == ["my_asset", "p1"]
    assert out.resource_config == {"root": "/x"}
    assert out.resources.helper == "h"
    assert out.dagster_type is int
    assert build_output_context(step_key="s").get_identifier() == [EPHEMERAL_RUN_ID, "s", "result"]


def test_build_input_context_fields_and_missing_upstream():
    inp = build_input_context(
        name="x",
        asset_key=["a", "b"],
        definition_metadata={"m": 1},
        dagster_type=str,
        resource_config={"k": "v"},
    )
    assert inp.name == "x"
    assert inp.asset_key == AssetKey(["a", "b"])
    assert inp.definition_metadata == {"m": 1}
    assert inp.dagster_type is str
    assert inp.resource_config == {"k": "v"}
    assert inp.upstream_output is None
    with pytest.raises(InvariantViolationError, match="no upstream output"):
        inp.get_identifier()


def test_io_contexts_tear_down_their_resources_on_garbage_collection():
    log = []
    out = build_output_context(resources={"conn": _recording_resource(log, "out")})
    inp = build_input_context(resources={"conn": _recording_resource(log, "in")})
    assert out.resources.conn == "out handle"
    assert inp.resources.conn == "in handle"
    del out, inp
    gc.collect()
    assert sorted(log) == ["close in", "close out", "open in", "open out"]


def test_decorated_io_manager_class_can_be_tested_with_built_contexts():
    @io_manager
    class Store:
        def __init__(self):
            self.data = {}

        def handle_output(self, context, obj):
            self.data[context.asset_key] = obj

        def load_input(self, context):
            return self.data[context.asset_key]

    manager = Store()  # the definition builds an instance when called directly
    manager.handle_output(build_output_context(asset_key="t"), 5)
    assert manager.load_input(build_input_context(asset_key="t")) == 5


# -- build_sensor_context / build_schedule_context ---------------------------------------


def test_build_sensor_context_with_resources_and_cursor():
    @sensor(job_name="some_job", required_resource_keys={"api"})
    def watcher(context: SensorEvaluationContext):
        context.update_cursor(f"{context.cursor}+{context.resources.api}")

    context = build_sensor_context(resources={"api": "v1"}, cursor="c0")
    assert isinstance(context, SensorEvaluationContext)
    watcher(context)
    assert context.cursor == "c0+v1"


def test_sensor_context_resources_are_torn_down_when_closed_or_collected():
    log = []
    with build_sensor_context(resources={"conn": _recording_resource(log)}) as context:
        assert context.resources.conn == "conn handle"
    assert log == ["open conn", "close conn"]

    log.clear()
    context = build_sensor_context(resources={"conn": _recording_resource(log)})
    assert context.resources.conn == "conn handle"
    del context
    gc.collect()
    assert log == ["open conn", "close conn"]


def test_build_schedule_context_with_time_and_resources():
    @schedule(cron_schedule="0 * * * *", job_name="some_job", required_resource_keys={"clock"})
    def hourly(context: ScheduleEvaluationContext):
        return {"ops": {"x": {"config": {"at": context.scheduled_execution_time.isoformat()}}}}

    when = datetime(2024, 1, 2, 3, tzinfo=UTC)
    context = build_schedule_context(scheduled_execution_time=when, resources={"clock": "c"})
    assert isinstance(context, ScheduleEvaluationContext)
    assert context.scheduled_execution_time == when
    assert context.resources.clock == "c"
    assert hourly(context) == {"ops": {"x": {"config": {"at": when.isoformat()}}}}


def test_schedule_context_resources_are_torn_down_when_closed_or_collected():
    log = []
    with build_schedule_context(resources={"conn": _recording_resource(log)}) as context:
        assert context.resources.conn == "conn handle"
    assert log == ["open conn", "close conn"]

    log.clear()
    context = build_schedule_context(resources={"conn": _recording_resource(log)})
    del context
    gc.collect()
    assert log == ["open conn", "close conn"]


# -- build_resources ---------------------------------------------------------------------


def test_build_resources_initialises_and_tears_down_around_the_block():
    log = []

    @resource(config_schema={"name": str}, required_resource_keys={"conn"})
    def client(init_context):
        log.append("client")
        return f"{init_context.resource_config['name']} on {init_context.resources.conn}"

    with build_resources(
        {"conn": _recording_resource(log), "client": client, "plain": 7},
        resource_config={"client": {"config": {"name": "c1"}}},
    ) as resources:
        assert resources.client == "c1 on conn handle"
        assert resources.plain == 7
        assert log == ["open conn", "client"]
        with pytest.raises(UnknownResourceError, match="'nope'"):
            _ = resources.nope
    assert log == ["open conn", "client", "close conn"]


def test_build_resources_validates_resource_config():
    @resource(config_schema={"n": int})
    def numbered(init_context):
        return init_context.resource_config["n"]

    with build_resources({"numbered": numbered}, resource_config={"numbered": {"n": 3}}) as r:
        assert r.numbered == 3
    with pytest.raises(InvalidConfigError, match="numbered"):
        with build_resources({"numbered": numbered}, resource_config={"numbered": {"n": "x"}}):
            pass


def test_build_resources_tears_down_when_the_block_raises():
    log = []
    with pytest.raises(RuntimeError, match="inside"):
        with build_resources({"conn": _recording_resource(log)}):
            raise RuntimeError("inside")
    assert log == ["open conn", "close conn"]


def test_build_resources_with_a_contextmanager_resource_and_configurable_resource():
    log = []

    @resource
    @contextmanager
    def session():
        log.append("enter")
        yield "session"
        log.append("exit")

    class Api(ConfigurableResource):
        url: str

    with build_resources({"session": session, "api": Api(url="u")}) as resources:
        assert resources.session == "session"
        assert resources.api.url == "u"
    assert log == ["enter", "exit"]


def test_direct_call_without_a_required_resource_is_a_clear_error():
    @op(required_resource_keys={"warehouse"})
    def load(context) -> int:
        return 1

    with pytest.raises(InvalidInvocationError) as info:
        load(build_op_context(resources={"lake": 1}))
    assert "'load'" in str(info.value)
    assert "'warehouse'" in str(info.value)
    assert "lake" in str(info.value)
    with pytest.raises(InvalidInvocationError, match="'warehouse'"):
        load()
