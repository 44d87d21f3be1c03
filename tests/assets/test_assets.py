"""Software-defined assets: ``@asset`` and its options, ``@multi_asset``, ``AssetSpec``
upstreams, ``MaterializeResult``, ``AssetKey``, and the ``AssetExecutionContext`` an asset
body receives."""

import pytest

from trellis import (
    AssetExecutionContext,
    AssetIn,
    AssetKey,
    AssetOut,
    AssetSpec,
    Config,
    EventType,
    InvalidConfigError,
    InvalidDefinitionError,
    InvariantViolationError,
    IOManager,
    MaterializeResult,
    OpExecutionContext,
    Output,
    UnknownResourceError,
    asset,
    materialize,
    materialize_to_memory,
    multi_asset,
    resource,
)


class RecordingIOManager(IOManager):
    """Keeps values in a dict by asset key and records every call."""

    def __init__(self, preset=None):
        self.values = dict(preset or {})
        self.handled = []
        self.loaded = []

    def handle_output(self, context, obj):
        self.handled.append((context.asset_key, obj))
        self.values[context.asset_key] = obj

    def load_input(self, context):
        key = context.upstream_output.asset_key
        self.loaded.append(key)
        return self.values[key]


def _materialized_keys(result):
    return [e.asset_key for e in result.get_asset_materialization_events()]


# -- AssetKey ----------------------------------------------------------------------------


def test_asset_key_from_strings_and_parts():
    assert AssetKey("orders").path == ["orders"]  # a list, as in Dagster
    assert AssetKey("orders").parts == ("orders",)
    assert AssetKey(["raw", "orders"]).path == ["raw", "orders"]
    assert AssetKey.from_user_string("raw/sales/orders") == AssetKey(["raw", "sales", "orders"])
    # The constructor never splits a string: a single part may contain a slash.
    assert AssetKey("raw/orders").path == ["raw/orders"]
    with pytest.raises(ValueError):
        AssetKey([])
    with pytest.raises(ValueError):
        AssetKey(["raw", ""])


def test_asset_key_user_string_prefix_and_step_name():
    key = AssetKey(["sales", "orders"])
    assert key.to_user_string() == "sales/orders"
    assert str(key) == "sales/orders"
    assert key.with_prefix("raw") == AssetKey(["raw", "sales", "orders"])
    assert key.with_prefix(["a", "b"]).path == ["a", "b", "sales", "orders"]
    assert key.parent == AssetKey("sales")
    assert key.to_python_identifier() == "sales__orders"


def test_asset_key_equality_hash_and_immutability():
    a = AssetKey(["raw", "orders"])
    b = AssetKey.from_user_string("raw/orders")
    assert a == b
    assert hash(a) == hash(b)
    assert len({a, b, AssetKey(("raw", "orders"))}) == 1
    assert a != AssetKey(["raw", "customers"])
    assert a != "raw/orders"
    assert {a: 1}[b] == 1
    with pytest.raises(AttributeError):
        a.path = ("x",)


def test_equal_asset_keys_in_use_are_one_object_and_survive_pickling():
    """Keys are interned while in use (lookups then match by identity); a pickled key
    comes back as the same object, and a key nobody holds is not kept alive."""
    import gc
    import pickle
    import weakref

    a = AssetKey(["raw", "orders"])
    assert AssetKey.from_user_string("raw/orders") is a
    assert pickle.loads(pickle.dumps(a)) is a
    with pytest.raises(ValueError, match="non-empty strings"):
        AssetKey(["raw", ""])
    ref = weakref.ref(AssetKey(["only", "here"]))
    gc.collect()
    assert ref() is None


def test_prefixed_asset_step_key_joins_parts_with_double_underscore():
    @asset(key_prefix=["raw", "sales"])
    def orders():
        return [1, 2, 3]

    assert orders.key == AssetKey(["raw", "sales", "orders"])
    assert orders.node_name == "raw__sales__orders"
    result = materialize_to_memory([orders])
    assert result.success
    assert result.is_node_success("raw__sales__orders")
    [materialization] = result.asset_materializations_for_node("raw__sales__orders")
    assert materialization.asset_key == AssetKey(["raw", "sales", "orders"])
    step_keys = {e.step_key for e in result.all_events if e.step_key}
    assert step_keys == {"raw__sales__orders"}


# -- @asset options ----------------------------------------------------------------------


def test_asset_name_key_and_key_prefix():
    @asset(name="renamed")
    def fn_a():
        return 1

    @asset(key=["warehouse", "facts"])
    def fn_b():
        return 2

    @asset(key_prefix="staging")
    def fn_c():
        return 3

    @asset(key=AssetKey(["x", "y"]))
    def fn_d():
        return 4

    assert fn_a.key == AssetKey("renamed")
    assert fn_b.key == AssetKey(["warehouse", "facts"])
    assert fn_c.key == AssetKey(["staging", "fn_c"])
    assert fn_d.key == AssetKey(["x", "y"])
    result = materialize_to_memory([fn_a, fn_b, fn_c, fn_d])
    assert result.asset_value("renamed") == 1
    assert result.asset_value(AssetKey(["warehouse", "facts"])) == 2
    assert result.asset_value(["staging", "fn_c"]) == 3
    assert result.asset_value(AssetKey(["x", "y"])) == 4


def test_asset_key_together_with_name_is_rejected():
    with pytest.raises(InvalidDefinitionError, match="key"):

        @asset(key="a", name="b")
        def both():
            return 1


def test_upstream_inferred_from_parameter_names():
    @asset
    def numbers():
        return [1, 2, 3]

    @asset
    def total(numbers):
        return sum(numbers)

    @asset
    def report(numbers, total):
        return f"{len(numbers)} numbers, total {total}"

    assert report.keys_by_input_name == {"numbers": AssetKey("numbers"), "total": AssetKey("total")}
    result = materialize_to_memory([report, total, numbers])
    assert result.asset_value("report") == "3 numbers, total 6"
    assert _materialized_keys(result) == [
        AssetKey("numbers"),
        AssetKey("total"),
        AssetKey("report"),
    ]


def test_asset_in_with_key_and_key_prefix():
    @asset(key_prefix=["raw", "sales"])
    def orders():
        return [10, 20]

    @asset(key_prefix="raw")
    def customers():
        return ["ann"]

    @asset(
        ins={
            "o": AssetIn(key=AssetKey(["raw", "sales", "orders"])),
            "customers": AssetIn(key_prefix="raw"),
        }
    )
    def summary(o, customers):
        return {"orders": sum(o), "customers": len(customers)}

    assert summary.keys_by_input_name == {
        "o": AssetKey(["raw", "sales", "orders"]),
        "customers": AssetKey(["raw", "customers"]),
    }
    result = materialize_to_memory([orders, customers, summary])
    assert result.asset_value("summary") == {"orders": 30, "customers": 1}


def test_asset_in_for_unknown_parameter_is_rejected():
    with pytest.raises(InvalidDefinitionError, match="nope"):

        @asset(ins={"nope": AssetIn(key="x")})
        def a(x):
            return x


def test_deps_accept_keys_strings_asset_defs_and_specs():
    @asset
    def upstream_def():
        return 1

    spec = AssetSpec(["ext", "table"])

    @asset(deps=[upstream_def, "plain", AssetKey(["k", "one"]), spec, ["list", "key"]])
    def downstream():
        return 0

    assert downstream.dependency_keys == {
        AssetKey("upstream_def"),
        AssetKey("plain"),
        AssetKey(["k", "one"]),
        AssetKey(["ext", "table"]),
        AssetKey(["list", "key"]),
    }
    assert downstream.keys_by_input_name == {}  # deps carry no data


def test_deps_of_unsupported_type_is_rejected():
    with pytest.raises(TypeError, match="dependency"):

        @asset(deps=[42])
        def a():
            return 1


def test_non_data_deps_order_execution_without_loading():
    order = []
    io = RecordingIOManager()

    @asset
    def z_first():
        order.append("z_first")
        return "data"

    @asset(deps=[z_first])
    def a_second():
        order.append("a_second")
        return "done"

    # Listed downstream first: only the dep can put z_first before a_second.
    result = materialize([a_second, z_first], resources={"io_manager": io})
    assert result.success
    assert order == ["z_first", "a_second"]
    assert io.loaded == []  # a dep is never loaded through the IO manager


def test_deps_on_unknown_keys_become_external_assets():
    @asset(deps=["made_elsewhere"])
    def mine():
        return 1

    result = materialize_to_memory([mine])
    assert result.success
    assert _materialized_keys(result) == [AssetKey("mine")]


def test_metadata_description_group_code_version_kinds_owners_tags():
    @asset(
        metadata={"owner_team": "data", "rows": 3},
        description="All orders.",
        group_name="sales",
        code_version="v2",
        kinds={"python", "pandas"},
        owners=["ann@example.com", "team:data"],
        tags={"tier": "gold"},
    )
    def orders():
        """Docstring, overridden by description=."""
        return 1

    spec = orders.specs_by_key[AssetKey("orders")]
    assert spec.metadata == {"owner_team": "data", "rows": 3}
    assert spec.description == "All orders."
    assert spec.group_name == "sales"
    assert spec.code_version == "v2"
    assert spec.kinds == {"python", "pandas"}
    assert spec.owners == ["ann@example.com", "team:data"]
    assert spec.tags == {"tier": "gold"}
    assert orders.group_names_by_key == {AssetKey("orders"): "sales"}
    assert orders.metadata_by_key[AssetKey("orders")]["rows"] == 3


def test_description_defaults_to_docstring_and_group_to_default():
    @asset
    def documented():
        """What this asset holds."""
        return 1

    spec = documented.specs_by_key[documented.key]
    assert spec.description == "What this asset holds."
    assert documented.group_names_by_key == {documented.key: "default"}


def test_io_manager_key_stores_and_loads_through_that_manager():
    warehouse = RecordingIOManager()
    default = RecordingIOManager()

    @asset(io_manager_key="warehouse")
    def stored_in_warehouse():
        return 41

    @asset
    def plus_one(stored_in_warehouse):
        return stored_in_warehouse + 1

    result = materialize(
        [stored_in_warehouse, plus_one],
        resources={"warehouse": warehouse, "io_manager": default},
    )
    assert warehouse.handled == [(AssetKey("stored_in_warehouse"), 41)]
    assert warehouse.loaded == [AssetKey("stored_in_warehouse")]
    assert default.handled == [(AssetKey("plus_one"), 42)]
    assert default.loaded == []
    # The result reads a value back through the asset's own IO manager.
    assert result.asset_value("plus_one") == 42
    assert default.loaded == [AssetKey("plus_one")]


def test_required_resource_keys_are_available_on_context():
    @resource
    def api():
        return {"token": "abc"}

    @asset(required_resource_keys={"api"})
    def fetched(context):
        assert "api" in context.resources
        with pytest.raises(UnknownResourceError, match="other"):
            _ = context.resources.other
        return context.resources.api["token"]

    result = materialize_to_memory([fetched], resources={"api": api})
    assert result.asset_value("fetched") == "abc"


def test_config_schema_read_from_run_config():
    @asset(config_schema={"factor": int})
    def scaled(context):
        return 10 * context.op_execution_context.op_config["factor"]

    result = materialize_to_memory(
        [scaled], run_config={"ops": {"scaled": {"config": {"factor": 3}}}}
    )
    assert result.asset_value("scaled") == 30
    with pytest.raises(InvalidConfigError, match="factor"):
        materialize_to_memory([scaled])


def test_config_typed_parameter_on_prefixed_asset():
    class ScaleConfig(Config):
        factor: int = 2
        label: str

    @asset(key_prefix="calc")
    def scaled(config: ScaleConfig):
        return f"{config.label}={config.factor * 5}"

    result = materialize_to_memory(
        [scaled], run_config={"ops": {"calc__scaled": {"config": {"label": "x"}}}}
    )
    assert result.asset_value("calc/scaled") == "x=10"
    result = materialize_to_memory(
        [scaled], run_config={"ops": {"calc__scaled": {"config": {"label": "y", "factor": 3}}}}
    )
    assert result.asset_value("calc/scaled") == "y=15"


def test_partitions_def_is_kept_on_the_definition():
    from trellis import StaticPartitionsDefinition

    regions = StaticPartitionsDefinition(["eu", "us"])

    @asset(partitions_def=regions)
    def sales():
        return 1

    assert sales.partitions_def is regions
    assert sales.specs_by_key[sales.key].partitions_def is regions


# -- @multi_asset ------------------------------------------------------------------------


def test_multi_asset_yielding_outputs():
    @multi_asset(
        outs={
            "users": AssetOut(key_prefix="app", metadata={"pii": True}),
            "events": AssetOut(group_name="tracking"),
        }
    )
    def extract():
        yield Output([1, 2], "users")
        yield Output(["click"], "events", metadata={"count": 1})

    assert set(extract.keys) == {AssetKey(["app", "users"]), AssetKey("events")}
    assert extract.group_names_by_key[AssetKey("events")] == "tracking"
    result = materialize_to_memory([extract])
    assert result.asset_value("app/users") == [1, 2]
    assert result.asset_value("events") == ["click"]
    by_key = {m.asset_key: m for m in result.asset_materializations_for_node("extract")}
    assert by_key[AssetKey("events")].metadata["count"].value == 1


def test_multi_asset_returning_a_tuple_in_outs_order():
    @multi_asset(outs={"first": AssetOut(), "second": AssetOut()})
    def pair():
        return "one", "two"

    @asset
    def joined(first, second):
        return first + "+" + second

    result = materialize_to_memory([pair, joined])
    assert result.asset_value("first") == "one"
    assert result.asset_value("second") == "two"
    assert result.asset_value("joined") == "one+two"


def test_multi_asset_with_wrong_tuple_length_fails_the_step():
    @multi_asset(outs={"first": AssetOut(), "second": AssetOut()})
    def bad():
        return ("only one",)

    with pytest.raises(InvariantViolationError, match="tuple of 2"):
        materialize_to_memory([bad])


def test_subsettable_multi_asset_with_partial_selection():
    calls = []

    @multi_asset(
        outs={"s1": AssetOut(is_required=False), "s2": AssetOut(is_required=False)},
        can_subset=True,
    )
    def split(context: AssetExecutionContext):
        calls.append(sorted(k.to_user_string() for k in context.selected_asset_keys))
        for name in sorted(context.op_execution_context.selected_output_names):
            yield Output(name.upper(), name)

    @asset
    def after_s2(s2):
        return s2 + "!"

    result = materialize_to_memory([split, after_s2], selection=["s2", "after_s2"])
    assert result.success
    assert calls == [["s2"]]
    assert _materialized_keys(result) == [AssetKey("s2"), AssetKey("after_s2")]
    assert result.asset_value("after_s2") == "S2!"
    with pytest.raises(InvariantViolationError, match="s1"):
        result.asset_value("s1")


def test_subsettable_multi_asset_ignores_outputs_it_was_not_asked_for():
    @multi_asset(outs={"s1": AssetOut(), "s2": AssetOut()}, can_subset=True)
    def both():
        return "a", "b"

    result = materialize_to_memory([both], selection=["s1"])
    assert result.success
    assert _materialized_keys(result) == [AssetKey("s1")]


def test_partial_selection_of_non_subsettable_multi_asset_is_an_error():
    @multi_asset(outs={"m1": AssetOut(), "m2": AssetOut(key_prefix="p")})
    def whole():
        return 1, 2

    with pytest.raises(InvalidDefinitionError) as info:
        materialize_to_memory([whole], selection=["m1"])
    message = str(info.value)
    assert "whole" in message and "can_subset" in message and "p/m2" in message


def test_multi_asset_needs_outs_or_specs():
    with pytest.raises(InvalidDefinitionError, match="outs"):
        multi_asset()


def test_multi_asset_from_specs():
    @multi_asset(specs=[AssetSpec("left", group_name="g"), AssetSpec(["right", "side"])])
    def from_specs():
        yield MaterializeResult(asset_key="left", metadata={"n": 1})
        yield MaterializeResult(asset_key=["right", "side"], metadata={"n": 2})

    result = materialize_to_memory([from_specs])
    assert result.success
    assert {
        m.asset_key: m.metadata["n"].value
        for m in result.asset_materializations_for_node("from_specs")
    } == {AssetKey("left"): 1, AssetKey(["right", "side"]): 2}


# -- AssetSpec upstreams and MaterializeResult -------------------------------------------


def test_asset_spec_upstream_loaded_through_its_io_manager_key():
    class ExternalTableIO(IOManager):
        def __init__(self):
            self.contexts = []

        def handle_output(self, context, obj):
            raise AssertionError("an external asset is never stored")

        def load_input(self, context):
            self.contexts.append(context)
            return {"table": context.upstream_output.asset_key.to_user_string()}

    external = ExternalTableIO()
    raw = AssetSpec(["lake", "raw_events"]).with_io_manager_key("lake_io")

    @asset(ins={"events": AssetIn(key=["lake", "raw_events"])})
    def cleaned(events):
        return events["table"].upper()

    result = materialize_to_memory([raw, cleaned], resources={"lake_io": external})
    assert result.asset_value("cleaned") == "LAKE/RAW_EVENTS"
    [context] = external.contexts
    assert context.asset_key == AssetKey(["lake", "raw_events"])
    assert context.name == "events"
    assert _materialized_keys(result) == [AssetKey("cleaned")]


def test_asset_spec_io_manager_key_defaults_to_io_manager():
    spec = AssetSpec("x")
    assert spec.io_manager_key == "io_manager"
    assert spec.with_io_manager_key("other").io_manager_key == "other"
    assert spec.io_manager_key == "io_manager"  # with_io_manager_key returns a copy


def test_materialize_result_metadata_without_calling_io_manager():
    io = RecordingIOManager()

    @asset
    def written_elsewhere(context) -> MaterializeResult:
        return MaterializeResult(metadata={"rows": 12, "source": "api"})

    result = materialize([written_elsewhere], resources={"io_manager": io})
    assert result.success
    assert io.handled == []
    [materialization] = result.asset_materializations_for_node("written_elsewhere")
    assert materialization.metadata["rows"].value == 12
    assert materialization.metadata["source"].value == "api"
    handled = [e for e in result.all_events if e.event_type is EventType.HANDLED_OUTPUT]
    assert handled == []


# -- AssetExecutionContext ---------------------------------------------------------------


def test_asset_context_members():
    seen = {}

    @resource
    def db():
        return "db-conn"

    @asset(
        key_prefix="core",
        metadata={"owner": "x"},
        code_version="v7",
        required_resource_keys={"db"},
    )
    def table(context: AssetExecutionContext):
        seen["type"] = type(context)
        seen["asset_key"] = context.asset_key
        seen["code_version"] = context.code_version
        seen["definition_metadata"] = context.definition_metadata
        seen["run_id"] = context.run_id
        seen["run"] = context.run
        seen["db"] = context.resources.db
        seen["op_context"] = context.op_execution_context
        seen["current"] = AssetExecutionContext.get()
        seen["current_op"] = OpExecutionContext.get()
        context.log.info("building core table")
        return 1

    result = materialize_to_memory([table], resources={"db": db}, tags={"team": "core"})
    assert seen["type"] is AssetExecutionContext
    assert seen["asset_key"] == AssetKey(["core", "table"])
    assert seen["code_version"] == "v7"
    assert seen["definition_metadata"] == {"owner": "x"}
    assert seen["run_id"] == result.run_id
    assert seen["run"].run_id == result.run_id
    assert seen["run"].tags["team"] == "core"
    assert seen["db"] == "db-conn"
    assert isinstance(seen["op_context"], OpExecutionContext)
    assert seen["op_context"].op_def.name == "core__table"
    assert seen["current"] is not None
    assert isinstance(seen["current"], AssetExecutionContext)
    assert isinstance(seen["current_op"], OpExecutionContext)
    logs = [e for e in result.event_log if e.event_type is EventType.LOG_MESSAGE]
    assert [e.message for e in logs] == ["building core table"]
    assert logs[0].step_key == "core__table"


def test_asset_context_is_not_an_op_context():
    assert not issubclass(AssetExecutionContext, OpExecutionContext)
    assert not issubclass(OpExecutionContext, AssetExecutionContext)


def test_context_get_outside_a_step_raises():
    with pytest.raises(InvariantViolationError, match="outside"):
        AssetExecutionContext.get()
    with pytest.raises(InvariantViolationError, match="outside"):
        OpExecutionContext.get()


def test_asset_annotated_op_context_receives_the_op_context():
    seen = {}

    @asset
    def as_op(context: OpExecutionContext):
        seen["type"] = type(context)
        seen["step_key"] = context.step_key
        seen["asset_key"] = context.asset_key
        return 1

    assert materialize_to_memory([as_op]).success
    assert seen == {"type": OpExecutionContext, "step_key": "as_op", "asset_key": AssetKey("as_op")}


def test_add_output_metadata_lands_on_the_materialization():
    @asset
    def counted(context: AssetExecutionContext):
        context.add_output_metadata({"rows": 3, "preview": "a,b"})
        return [1, 2, 3]

    result = materialize_to_memory([counted])
    [event] = result.get_asset_materialization_events()
    assert event.asset_key == AssetKey("counted")
    assert event.materialization.metadata["rows"].value == 3
    assert event.data.metadata["preview"].value == "a,b"


def test_add_output_metadata_on_multi_asset_needs_output_name():
    @multi_asset(outs={"m1": AssetOut(), "m2": AssetOut()})
    def two(context: AssetExecutionContext):
        with pytest.raises(InvariantViolationError, match="output_name"):
            context.add_output_metadata({"x": 1})
        context.add_output_metadata({"x": 2}, output_name="m2")
        context.add_asset_metadata({"y": 3}, asset_key="m1")
        return 1, 2

    result = materialize_to_memory([two])
    by_key = {m.asset_key: m.metadata for m in result.asset_materializations_for_node("two")}
    assert by_key[AssetKey("m2")]["x"].value == 2
    assert by_key[AssetKey("m1")]["y"].value == 3
    assert "x" not in by_key[AssetKey("m1")]


def test_asset_key_on_multi_asset_context_raises():
    @multi_asset(outs={"m1": AssetOut(), "m2": AssetOut()})
    def two(context: AssetExecutionContext):
        with pytest.raises(InvalidDefinitionError, match="keys"):
            _ = context.asset_key
        return 1, 2

    assert materialize_to_memory([two]).success


def test_partition_members_raise_clearly_in_an_unpartitioned_run():
    errors = {}

    @asset
    def plain(context: AssetExecutionContext):
        assert context.has_partition_key is False
        for member in (
            "partition_key",
            "partition_key_range",
            "partition_keys",
            "partition_time_window",
        ):
            with pytest.raises(InvariantViolationError) as info:
                getattr(context, member)
            errors[member] = str(info.value)
        return 1

    assert materialize_to_memory([plain]).success
    assert "not partitioned" in errors["partition_key"]
    assert "not partitioned" in errors["partition_key_range"]
    assert "time" in errors["partition_time_window"]


def test_key_parts_with_dots_and_dashes_make_valid_step_keys():
    @asset(key=["v1.2", "my-table"], config_schema={"n": int})
    def versioned(context):
        return context.op_execution_context.op_config["n"]

    assert versioned.node_name == "v1_2__my_table"
    result = materialize_to_memory(
        [versioned], run_config={"ops": {"v1_2__my_table": {"config": {"n": 7}}}}
    )
    assert result.success
    assert result.asset_value(AssetKey(["v1.2", "my-table"])) == 7
    [event] = result.get_asset_materialization_events()
    assert event.step_key == "v1_2__my_table"
