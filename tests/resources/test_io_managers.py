"""IO managers inside a run: the ways to define one, which manager each output and input
uses, what ``OutputContext`` and ``InputContext`` carry, metadata added while storing,
and errors raised by ``handle_output`` / ``load_input``."""

import traceback

import pytest

from trellis import (
    AssetIn,
    AssetKey,
    ConfigurableIOManager,
    EventType,
    In,
    InputContext,
    InputManager,
    IOManager,
    IOManagerDefinition,
    Out,
    Output,
    OutputContext,
    StaticPartitionsDefinition,
    asset,
    io_manager,
    job,
    materialize,
    materialize_to_memory,
    op,
    resource,
)
from trellis.core.errors import ExecutionHandleOutputError, ExecutionLoadInputError


class DictIOManager(IOManager):
    """Stores outputs in a dict keyed by asset path or step/output, and records every
    context it receives."""

    def __init__(self, prefix: str = "") -> None:
        self.prefix = prefix
        self.store: dict[tuple, object] = {}
        self.output_contexts: list[OutputContext] = []
        self.input_contexts: list[InputContext] = []

    @staticmethod
    def _key(context: OutputContext) -> tuple:
        if context.asset_key is not None:
            return tuple(context.asset_key.path)
        return (context.step_key, context.name)

    def handle_output(self, context, obj):
        self.output_contexts.append(context)
        self.store[self._key(context)] = obj

    def load_input(self, context):
        self.input_contexts.append(context)
        return self.store[self._key(context.upstream_output)]


def _handled(result, output_name=None):
    return [
        e
        for e in result.all_events
        if e.event_type is EventType.HANDLED_OUTPUT
        and (output_name is None or e.data.output_name == output_name)
    ]


# -- ways to define an IO manager --------------------------------------------------------


def test_io_manager_subclass_instance_stores_and_loads_op_outputs():
    manager = DictIOManager()

    @op
    def make() -> int:
        return 3

    @op
    def double(value: int) -> int:
        return value * 2

    @job(resource_defs={"io_manager": manager})
    def pipeline():
        double(make())

    result = pipeline.execute_in_process()
    assert result.success
    assert manager.store == {("make", "result"): 3, ("double", "result"): 6}
    assert [c.name for c in manager.input_contexts] == ["value"]
    assert result.output_for_node("double") == 6  # read back through the manager


def test_io_manager_decorator_on_a_function_of_the_init_context_with_config():
    seen = {}

    @io_manager(config_schema={"prefix": str})
    def prefixed_io_manager(init_context):
        seen["config"] = init_context.resource_config
        return DictIOManager(init_context.resource_config["prefix"])

    assert isinstance(prefixed_io_manager, IOManagerDefinition)

    @op
    def make() -> str:
        return "v"

    @op
    def use(value: str) -> str:
        return value + "!"

    @job(resource_defs={"io_manager": prefixed_io_manager})
    def pipeline():
        use(make())

    result = pipeline.execute_in_process(
        run_config={"resources": {"io_manager": {"config": {"prefix": "p/"}}}}
    )
    assert result.output_for_node("use") == "v!"
    assert seen["config"] == {"prefix": "p/"}


def test_io_manager_decorator_directly_on_a_class_as_the_seed_writes_it():
    stored: dict[tuple, object] = {}
    calls: list[str] = []

    @io_manager
    class MyIOManager:
        def handle_output(self, context, obj):
            calls.append(f"handle_output {context.step_key} {context.metadata}")
            stored[tuple(context.asset_key.path)] = obj

        def load_input(self, context):
            calls.append(f"load_input {context.name}")
            return stored[tuple(context.asset_key.path)]

    assert isinstance(MyIOManager, IOManagerDefinition)

    @asset(metadata={"owner": "data"})
    def upstream() -> list[int]:
        return [1, 2]

    @asset
    def downstream(upstream: list[int]) -> int:
        return sum(upstream)

    result = materialize([upstream, downstream], resources={"io_manager": MyIOManager})
    assert result.success
    assert stored == {("upstream",): [1, 2], ("downstream",): 3}
    assert calls == [
        "handle_output upstream {'owner': 'data'}",
        "load_input upstream",
        "handle_output downstream {}",
    ]


def test_io_manager_decorator_on_a_class_with_config_and_init_context():
    @io_manager(config_schema={"root": str})
    class RootedIOManager:
        def __init__(self, init_context):
            self.root = init_context.resource_config["root"]
            self.values = {}

        def handle_output(self, context, obj):
            self.values[context.step_key] = (self.root, obj)

        def load_input(self, context):
            return self.values[context.upstream_output.step_key]

    @op
    def make() -> str:
        return "file"

    @op
    def use(value: tuple) -> str:
        root, name = value
        return f"{root}/{name}"

    @job(resource_defs={"io_manager": RootedIOManager})
    def pipeline():
        use(make())

    result = pipeline.execute_in_process(
        run_config={"resources": {"io_manager": {"config": {"root": "/data"}}}}
    )
    assert result.output_for_node("use") == ("/data", "/data/file")  # (root, value)


def test_each_run_builds_a_fresh_instance_of_a_decorated_class():
    instances = []

    @io_manager
    class Tracking:
        def __init__(self):
            instances.append(self)

        def handle_output(self, context, obj):
            pass

        def load_input(self, context):
            return None

    @op
    def make() -> int:
        return 1

    @job(resource_defs={"io_manager": Tracking})
    def pipeline():
        make()

    pipeline.execute_in_process()
    pipeline.execute_in_process()
    assert len(instances) == 2
    assert instances[0] is not instances[1]


def test_configurable_io_manager_fields_are_config():
    class JsonishIOManager(ConfigurableIOManager):
        root: str
        values: dict = {}

        def handle_output(self, context, obj):
            self.values[context.asset_key.to_user_string()] = (self.root, obj)

        def load_input(self, context):
            return self.values[context.asset_key.to_user_string()][1]

    @asset
    def first() -> int:
        return 10

    @asset
    def second(first: int) -> int:
        return first + 1

    manager = JsonishIOManager(root="/a")
    result = materialize(
        [first, second],
        resources={"io_manager": manager},
        run_config={"resources": {"io_manager": {"config": {"root": "/b"}}}},
    )
    assert result.asset_value("second") == 11
    handled = _handled(result)
    assert [e.data.manager_key for e in handled] == ["io_manager", "io_manager"]


# -- which manager each output and input uses --------------------------------------------


def test_out_io_manager_key_selects_the_manager_per_output():
    default = DictIOManager()
    special = DictIOManager()

    @op(out={"plain": Out(), "fancy": Out(io_manager_key="special_io")})
    def split():
        return 1, 2

    @op
    def add(a: int, b: int) -> int:
        return a + b

    @job(resource_defs={"io_manager": default, "special_io": special})
    def pipeline():
        plain, fancy = split()
        add(plain, fancy)

    result = pipeline.execute_in_process()
    assert default.store == {("split", "plain"): 1, ("add", "result"): 3}
    assert special.store == {("split", "fancy"): 2}
    # the downstream input is loaded by the manager that stored the upstream output
    assert [c.name for c in special.input_contexts] == ["b"]
    assert [c.name for c in default.input_contexts] == ["a"]
    assert result.output_for_node("add") == 3
    assert {e.data.output_name: e.data.manager_key for e in _handled(result)} == {
        "plain": "io_manager",
        "fancy": "special_io",
        "result": "io_manager",
    }


def test_asset_io_manager_key_selects_the_manager():
    lake = DictIOManager()
    warehouse = DictIOManager()

    @asset(io_manager_key="lake")
    def raw() -> int:
        return 5

    @asset(io_manager_key="warehouse")
    def clean(raw: int) -> int:
        return raw * 10

    result = materialize([raw, clean], resources={"lake": lake, "warehouse": warehouse})
    assert result.success
    assert lake.store == {("raw",): 5}
    assert warehouse.store == {("clean",): 50}
    assert len(lake.input_contexts) == 1


def test_io_manager_not_needed_by_the_run_is_not_built():
    built = []

    @io_manager
    def unused_io(_):
        built.append("unused_io")
        return DictIOManager()

    @op
    def make() -> int:
        return 1

    @job(resource_defs={"unused_io": unused_io})
    def pipeline():
        make()

    assert pipeline.execute_in_process().success
    assert built == []


def test_input_manager_key_on_in_loads_with_that_manager():
    class Constant(InputManager):
        def __init__(self):
            self.contexts = []

        def load_input(self, context):
            self.contexts.append(context)
            return 100

    loader = Constant()
    store = DictIOManager()

    @op
    def make() -> int:
        return 1

    @op(ins={"value": In(input_manager_key="loader")})
    def use(value: int) -> int:
        return value + 1

    @job(resource_defs={"io_manager": store, "loader": loader})
    def pipeline():
        use(make())

    result = pipeline.execute_in_process()
    assert store.input_contexts == []
    assert result.output_for_node("use") == 101
    (context,) = loader.contexts
    assert context.name == "value"
    assert context.upstream_output.step_key == "make"
    loaded = [e for e in result.all_events if e.event_type is EventType.LOADED_INPUT]
    assert [e.data.manager_key for e in loaded] == ["loader"]


def test_input_manager_key_on_asset_in_loads_with_that_manager():
    @io_manager
    def table_loader(_):
        class Loader(InputManager):
            def load_input(self, context):
                return f"loaded {context.asset_key.to_user_string()}"

        return Loader()

    @asset
    def source_table() -> str:
        return "stored"

    @asset(ins={"source_table": AssetIn(input_manager_key="table_loader")})
    def report(source_table: str) -> str:
        return source_table

    result = materialize_to_memory([source_table, report], resources={"table_loader": table_loader})
    assert result.asset_value("report") == "loaded source_table"


def test_input_manager_key_for_an_unconnected_op_input():
    class Loader(InputManager):
        def load_input(self, context):
            return f"from {context.name}"

    @op(ins={"raw": In(input_manager_key="loader")})
    def use(raw: str) -> str:
        return raw

    @job(resource_defs={"loader": Loader()})
    def pipeline():
        use()

    result = pipeline.execute_in_process()
    assert result.output_for_node("use") == "from raw"
    (loaded,) = [e for e in result.all_events if e.event_type is EventType.LOADED_INPUT]
    assert loaded.data.manager_key == "loader"
    assert loaded.data.upstream_step_key is None


def test_root_input_manager_error_names_the_input_step_and_key():
    class Loader(InputManager):
        def load_input(self, context):
            raise FileNotFoundError("raw.csv")

    @op(ins={"raw": In(input_manager_key="loader")})
    def use(raw: str) -> str:
        return raw

    @job(resource_defs={"loader": Loader()})
    def pipeline():
        use()

    result = pipeline.execute_in_process(raise_on_error=False)
    (failure,) = result.get_step_failure_events()
    assert "input 'raw'" in failure.error.message
    assert "step 'use'" in failure.error.message
    assert "'loader'" in failure.error.message
    assert "raw.csv" in failure.error.message


# -- what the IO contexts carry inside a run ---------------------------------------------


def test_output_and_input_contexts_of_op_outputs():
    @resource
    def settings():
        return {"compress": True}

    manager = DictIOManager()

    @io_manager(config_schema={"root": str}, required_resource_keys={"settings"})
    def recording_io(init_context):
        return manager

    @op(out=Out(metadata={"kind": "number"}))
    def make(context) -> int:
        context.add_output_metadata({"rows": 3})
        return 3

    @op(ins={"value": In(metadata={"note": "downstream"})})
    def use(value: int) -> int:
        return value

    @job(resource_defs={"io_manager": recording_io, "settings": settings, "other": 1})
    def pipeline():
        use(make())

    result = pipeline.execute_in_process(
        run_config={"resources": {"io_manager": {"config": {"root": "/r"}}}}
    )
    out = manager.output_contexts[0]
    assert out.step_key == "make"
    assert out.name == "result"
    assert out.run_id == result.run_id
    assert out.asset_key is None
    assert out.has_asset_key is False
    assert out.definition_metadata == {"kind": "number"}
    assert out.output_metadata["rows"].value == 3
    assert out.resource_config == {"root": "/r"}
    assert out.resources.settings == {"compress": True}
    assert not hasattr(out.resources, "other")
    assert out.dagster_type is int
    assert out.get_identifier() == [result.run_id, "make", "result"]
    out.log.info("from handle_output")

    inp = manager.input_contexts[0]
    assert inp.name == "value"
    assert inp.definition_metadata == {"note": "downstream"}
    assert inp.dagster_type is int
    assert inp.resource_config == {"root": "/r"}
    assert inp.resources.settings == {"compress": True}
    assert inp.asset_key is None
    upstream = inp.upstream_output
    assert isinstance(upstream, OutputContext)
    assert upstream.step_key == "make"
    assert upstream.name == "result"
    assert upstream.definition_metadata == {"kind": "number"}
    assert inp.get_identifier() == out.get_identifier()


def test_output_and_input_contexts_of_assets():
    manager = DictIOManager()

    @asset(metadata={"owner": "x"})
    def up(context) -> int:
        context.add_output_metadata({"rows": 7})
        return 7

    @asset(ins={"up": AssetIn(metadata={"read": "all"})})
    def down(up: int) -> int:
        return up + 1

    result = materialize([up, down], resources={"io_manager": manager})
    out = manager.output_contexts[0]
    assert out.step_key == "up"
    assert out.name == "result"
    assert out.asset_key == AssetKey("up")
    assert out.definition_metadata == {"owner": "x"}
    assert out.output_metadata["rows"].value == 7
    assert out.dagster_type is int
    assert out.run_id == result.run_id
    assert out.get_asset_identifier() == ["up"]

    inp = manager.input_contexts[0]
    assert inp.name == "up"
    assert inp.asset_key == AssetKey("up")
    assert inp.has_asset_key
    assert inp.definition_metadata == {"read": "all"}
    assert inp.dagster_type is int
    assert inp.upstream_output.step_key == "up"
    assert inp.upstream_output.name == "result"
    assert inp.upstream_output.asset_key == AssetKey("up")
    assert inp.upstream_output.definition_metadata == {"owner": "x"}


def test_io_contexts_carry_the_partition_key():
    manager = DictIOManager()
    colors = StaticPartitionsDefinition(["red", "blue"])
    keys = []

    class PartitionedIO(IOManager):
        def handle_output(self, context, obj):
            keys.append(("out", context.partition_key, context.asset_partition_key))
            manager.store[(context.asset_key.to_user_string(), context.partition_key)] = obj

        def load_input(self, context):
            keys.append(("in", context.partition_key, context.asset_partition_key))
            return manager.store[(context.asset_key.to_user_string(), context.partition_key)]

    @asset(partitions_def=colors)
    def paint(context) -> str:
        return context.partition_key

    @asset(partitions_def=colors)
    def wall(paint: str) -> str:
        return f"{paint} wall"

    result = materialize(
        [paint, wall], resources={"io_manager": PartitionedIO()}, partition_key="blue"
    )
    assert result.success
    assert keys == [("out", "blue", "blue"), ("in", "blue", "blue"), ("out", "blue", "blue")]
    assert manager.store[("wall", "blue")] == "blue wall"


def test_output_context_log_reaches_the_run_events():
    class Chatty(IOManager):
        def handle_output(self, context, obj):
            context.log.info(f"storing {context.name}")

        def load_input(self, context):
            return None

    @op
    def make() -> int:
        return 1

    @job(resource_defs={"io_manager": Chatty()})
    def pipeline():
        make()

    result = pipeline.execute_in_process()
    logs = [e for e in result.event_log if e.event_type is EventType.LOG_MESSAGE]
    assert [(e.message, e.step_key) for e in logs] == [("storing result", "make")]


# -- metadata added while storing --------------------------------------------------------


class MetadataIOManager(IOManager):
    def handle_output(self, context, obj):
        context.add_output_metadata({"size": len(obj), "where": "memory"})

    def load_input(self, context):
        return None


def test_add_output_metadata_in_handle_output_lands_on_materialization_and_handled_output():
    @asset
    def letters(context) -> str:
        context.add_output_metadata({"from_body": 1})
        return "abcd"

    result = materialize([letters], resources={"io_manager": MetadataIOManager()})
    (materialization,) = result.asset_materializations_for_node("letters")
    assert materialization.metadata["size"].value == 4
    assert materialization.metadata["where"].value == "memory"
    assert materialization.metadata["from_body"].value == 1
    (handled,) = _handled(result)
    assert handled.metadata["size"].value == 4
    assert "from_body" not in handled.metadata


def test_add_output_metadata_in_handle_output_for_op_outputs():
    @op
    def make() -> str:
        return "xy"

    @job(resource_defs={"io_manager": MetadataIOManager()})
    def pipeline():
        make()

    result = pipeline.execute_in_process()
    (handled,) = _handled(result)
    assert handled.metadata["size"].value == 2
    assert result.get_asset_materialization_events() == []


def test_output_metadata_given_with_output_reaches_the_output_context():
    manager = DictIOManager()

    @op
    def make():
        return Output(1, metadata={"given": "yes"})

    @job(resource_defs={"io_manager": manager})
    def pipeline():
        make()

    pipeline.execute_in_process()
    assert manager.output_contexts[0].output_metadata["given"].value == "yes"


# -- errors ------------------------------------------------------------------------------


def _failing_handle_output(context, obj):
    raise OSError("disk full")


def _failing_load_input(context):
    raise KeyError("no such object")


class BrokenIOManager(IOManager):
    def __init__(self, fail_on: str):
        self.fail_on = fail_on
        self.values = {}

    def handle_output(self, context, obj):
        if self.fail_on == "handle_output":
            _failing_handle_output(context, obj)
        self.values[context.name] = obj

    def load_input(self, context):
        if self.fail_on == "load_input":
            _failing_load_input(context)
        return self.values[context.upstream_output.name]


def _error_job(fail_on):
    @op(out=Out(io_manager_key="store"))
    def produce() -> int:
        return 1

    @op
    def consume(number: int) -> int:
        return number

    @job(resource_defs={"store": BrokenIOManager(fail_on)})
    def pipeline():
        consume(produce())

    return pipeline


def test_handle_output_error_fails_the_step_naming_output_step_and_key():
    result = _error_job("handle_output").execute_in_process(raise_on_error=False)
    assert not result.success
    assert result.is_node_failed("produce")
    assert not result.is_node_success("consume")
    (failure,) = result.get_step_failure_events()
    assert failure.step_key == "produce"
    error = failure.error
    assert "output 'result'" in error.message
    assert "step 'produce'" in error.message
    assert "'store'" in error.message
    assert "disk full" in error.message
    # the user's traceback is kept, down to the function that raised
    assert error.cause is not None
    assert error.cause.cls_name == "OSError"
    assert any("_failing_handle_output" in frame for frame in error.cause.stack)


def test_handle_output_error_reraises_the_users_exception():
    with pytest.raises(OSError, match="disk full") as info:
        _error_job("handle_output").execute_in_process()
    frames = [f.name for f in traceback.extract_tb(info.value.__traceback__)]
    assert "_failing_handle_output" in frames


def test_load_input_error_fails_the_step_naming_input_step_and_key():
    result = _error_job("load_input").execute_in_process(raise_on_error=False)
    assert not result.success
    assert result.is_node_success("produce")
    (failure,) = result.get_step_failure_events()
    assert failure.step_key == "consume"
    error = failure.error
    assert "input 'number'" in error.message
    assert "step 'consume'" in error.message
    assert "'store'" in error.message
    assert "no such object" in error.message
    assert error.cause.cls_name == "KeyError"
    assert any("_failing_load_input" in frame for frame in error.cause.stack)


def test_load_input_error_is_wrapped_for_callers_that_catch_trellis_errors():
    result = _error_job("load_input").execute_in_process(raise_on_error=False)
    (failure,) = result.get_step_failure_events()
    assert failure.error.cls_name == ExecutionLoadInputError.__name__
    result = _error_job("handle_output").execute_in_process(raise_on_error=False)
    (failure,) = result.get_step_failure_events()
    assert failure.error.cls_name == ExecutionHandleOutputError.__name__
