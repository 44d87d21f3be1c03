"""``ResourceDefinition`` helpers (``hardcoded_resource``, ``none_resource``,
``mock_resource``, ``configured``) and the definition errors of resources: cycles,
missing dependencies, unbound keys, an IO manager class bound instead of an instance."""

from unittest import mock

import pytest

from trellis import (
    Field,
    InvalidConfigError,
    InvalidDefinitionError,
    ResourceDefinition,
    job,
    op,
    resource,
)

# -- ResourceDefinition helpers ----------------------------------------------------------


def test_hardcoded_none_and_mock_resources():
    value = object()

    @op(required_resource_keys={"fixed", "nothing", "fake"})
    def use(context):
        context.resources.fake.send("x")
        return context.resources.fixed, context.resources.nothing, context.resources.fake

    @job(
        resource_defs={
            "fixed": ResourceDefinition.hardcoded_resource(value, "a fixed value"),
            "nothing": ResourceDefinition.none_resource(),
            "fake": ResourceDefinition.mock_resource(),
        }
    )
    def pipeline():
        use()

    fixed, nothing, fake = pipeline.execute_in_process().output_for_node("use")
    assert fixed is value
    assert nothing is None
    assert isinstance(fake, mock.MagicMock)
    fake.send.assert_called_once_with("x")
    assert ResourceDefinition.hardcoded_resource(value, "a fixed value").description == (
        "a fixed value"
    )


def test_configured_fixes_the_config():
    @resource(config_schema={"host": str, "port": Field(int, default_value=1)})
    def conn(init_context):
        return dict(init_context.resource_config)

    local = conn.configured({"host": "localhost", "port": 99})
    assert isinstance(local, ResourceDefinition)

    @op(required_resource_keys={"conn"})
    def use(context):
        return context.resources.conn

    @job(resource_defs={"conn": local})
    def pipeline():
        use()

    # no run config needed any more
    assert pipeline.execute_in_process().output_for_node("use") == {
        "host": "localhost",
        "port": 99,
    }
    # the original definition is unchanged and still needs its config
    assert conn.config_schema is not None


def test_configured_validates_the_fixed_config():
    @resource(config_schema={"host": str, "port": Field(int, default_value=1)})
    def conn(init_context):
        return dict(init_context.resource_config)

    @op(required_resource_keys={"conn"})
    def use(context):
        return context.resources.conn

    @job(resource_defs={"conn": conn.configured({"host": "h"})})
    def defaults_applied():
        use()

    assert defaults_applied.execute_in_process().output_for_node("use") == {
        "host": "h",
        "port": 1,
    }

    @job(resource_defs={"conn": conn.configured({"port": "not an int"})})
    def bad():
        use()

    with pytest.raises(InvalidConfigError) as info:
        bad.execute_in_process()
    assert "conn" in str(info.value)
    assert "port" in str(info.value)


def test_configured_keeps_dependencies():
    @resource(config_schema={"scale": int}, required_resource_keys={"base"})
    def scaled(init_context):
        return init_context.resources.base * init_context.resource_config["scale"]

    @op(required_resource_keys={"scaled"})
    def use(context):
        return context.resources.scaled

    @job(resource_defs={"scaled": scaled.configured({"scale": 3}), "base": 5})
    def pipeline():
        use()

    assert pipeline.execute_in_process().output_for_node("use") == 15


# -- definition errors -------------------------------------------------------------------


def test_resource_cycle_is_a_definition_error():
    @resource(required_resource_keys={"b"})
    def a(init_context):
        return 1

    @resource(required_resource_keys={"a"})
    def b(init_context):
        return 2

    @op(required_resource_keys={"a"})
    def use(context):
        return context.resources.a

    @job(resource_defs={"a": a, "b": b})
    def pipeline():
        use()

    with pytest.raises(InvalidDefinitionError, match="cycle") as info:
        pipeline.execute_in_process()
    assert "a -> b -> a" in str(info.value)


def test_missing_resource_dependency_is_a_definition_error():
    @resource(required_resource_keys={"credentials"})
    def client(init_context):
        return 1

    @op(required_resource_keys={"client"})
    def use(context):
        return 1

    @job(resource_defs={"client": client})
    def pipeline():
        use()

    with pytest.raises(InvalidDefinitionError) as info:
        pipeline.execute_in_process()
    message = str(info.value)
    assert "'client'" in message
    assert "'credentials'" in message


def test_op_requiring_an_unbound_resource_is_a_definition_error():
    @op(required_resource_keys={"warehouse"})
    def use(context):
        return 1

    @job(resource_defs={"lake": 1})
    def pipeline():
        use()

    with pytest.raises(InvalidDefinitionError) as info:
        pipeline.execute_in_process()
    message = str(info.value)
    assert "'use'" in message
    assert "'warehouse'" in message
    assert "lake" in message


def test_binding_an_io_manager_class_instead_of_an_instance_is_a_clear_error():
    class Store:
        def handle_output(self, context, obj):
            pass

        def load_input(self, context):
            return None

    with pytest.raises(InvalidDefinitionError, match="Store"):

        @job(resource_defs={"io_manager": Store})
        def pipeline():
            pass


def test_resource_cycle_is_caught_when_definitions_are_resolved():
    from trellis import Definitions

    @resource(required_resource_keys={"b"})
    def a(init_context):
        return 1

    @resource(required_resource_keys={"a"})
    def b(init_context):
        return 2

    @op(required_resource_keys={"a"})
    def use(context):
        return context.resources.a

    @job
    def pipeline():
        use()

    defs = Definitions(jobs=[pipeline], resources={"a": a, "b": b})
    with pytest.raises(InvalidDefinitionError, match="cycle: a -> b -> a"):
        defs.resolve_job_def("pipeline")
