"""Function-style resources inside a run: ``@resource`` with config and dependencies, the
``InitResourceContext``, plain objects as resources, resource config and
``context.resources``."""

import pytest

from trellis import (
    Definitions,
    EventType,
    Field,
    InitResourceContext,
    InvalidConfigError,
    ResourceDefinition,
    UnknownResourceError,
    job,
    op,
    resource,
)
from trellis.instance.instance import Instance

# -- @resource and InitResourceContext ---------------------------------------------------


def test_resource_receives_init_context_with_config_deps_log_run_and_instance():
    seen = {}

    @resource
    def creds():
        return {"user": "alice"}

    @resource
    def unrelated():
        return "not for warehouse"

    @resource(
        config_schema={"host": str, "port": Field(int, default_value=5432)},
        required_resource_keys={"creds"},
    )
    def warehouse(init_context: InitResourceContext):
        seen["context"] = init_context
        seen["config"] = init_context.resource_config
        seen["creds"] = init_context.resources.creds
        seen["has_unrelated"] = hasattr(init_context.resources, "unrelated")
        seen["run_id"] = init_context.run.run_id if init_context.run else None
        seen["instance"] = init_context.instance
        init_context.log.info("connecting warehouse")
        return f"{init_context.resource_config['host']}:{init_context.resource_config['port']}"

    @op(required_resource_keys={"warehouse", "unrelated"})
    def read(context):
        return context.resources.warehouse

    @job(resource_defs={"warehouse": warehouse, "creds": creds, "unrelated": unrelated})
    def pipeline():
        read()

    instance = Instance.ephemeral()
    result = pipeline.execute_in_process(
        run_config={"resources": {"warehouse": {"config": {"host": "db"}}}},
        instance=instance,
    )
    assert result.success
    assert result.output_for_node("read") == "db:5432"
    assert seen["config"] == {"host": "db", "port": 5432}
    assert seen["creds"] == {"user": "alice"}
    assert seen["has_unrelated"] is False  # only its declared dependencies
    assert seen["run_id"] == result.run_id
    assert seen["context"].run_id == result.run_id
    assert seen["instance"] is instance
    logs = [e.message for e in result.event_log if e.event_type is EventType.LOG_MESSAGE]
    assert "connecting warehouse" in logs


def test_undeclared_dependency_on_init_context_raises_unknown_resource_error():
    @resource
    def creds():
        return "secret"

    @resource
    def client(init_context):
        return init_context.resources.creds  # not declared

    @op(required_resource_keys={"client"})
    def use(context):
        return context.resources.client

    @job(resource_defs={"client": client, "creds": creds})
    def pipeline():
        use()

    result = pipeline.execute_in_process(raise_on_error=False)
    assert not result.success
    failure = next(e for e in result.all_events if e.event_type is EventType.RESOURCE_INIT_FAILURE)
    assert "creds" in failure.message
    with pytest.raises(UnknownResourceError, match="creds"):
        pipeline.execute_in_process()


def test_resource_without_parameters_is_called_without_context():
    calls = []

    @resource
    def counter():
        calls.append("built")
        return 41

    @op(required_resource_keys={"counter"})
    def first(context):
        return context.resources.counter + 1

    @op(required_resource_keys={"counter"})
    def second(context, value):
        return value + context.resources.counter

    @job(resource_defs={"counter": counter})
    def pipeline():
        second(first())

    result = pipeline.execute_in_process()
    assert result.output_for_node("second") == 83
    assert calls == ["built"]  # once per run, shared by every step


def test_resource_decorator_keeps_description_and_version():
    @resource(config_schema={"x": int}, version="3", required_resource_keys={"a"})
    def thing(init_context):
        """Makes a thing."""
        return init_context.resource_config["x"]

    assert isinstance(thing, ResourceDefinition)
    assert thing.description == "Makes a thing."
    assert thing.version == "3"
    assert thing.required_resource_keys == {"a"}
    assert thing.config_schema is not None


# -- plain objects -----------------------------------------------------------------------


def test_plain_python_objects_are_bound_as_resources():
    class Client:
        def get(self):
            return "payload"

    client = Client()

    seen = []

    @op(required_resource_keys={"client", "settings"})
    def fetch(context):
        seen.append(context.resources.client)
        return context.resources.client.get() + context.resources.settings["suffix"]

    @job(resource_defs={"client": client, "settings": {"suffix": "!"}})
    def pipeline():
        fetch()

    assert pipeline.execute_in_process().output_for_node("fetch") == "payload!"
    assert seen == [client]  # the object itself, not a copy

    # also as execute_in_process(resources=...)
    @job
    def unbound():
        fetch()

    other = Client()
    other.get = lambda: "other"
    result = unbound.execute_in_process(resources={"client": other, "settings": {"suffix": "?"}})
    assert result.output_for_node("fetch") == "other?"


def test_definitions_resources_are_bound_to_jobs():
    @op(required_resource_keys={"greeting"})
    def hello(context):
        return context.resources.greeting

    @job
    def pipeline():
        hello()

    defs = Definitions(jobs=[pipeline], resources={"greeting": "hi"})
    bound = defs.get_job_def("pipeline")
    assert bound.execute_in_process().output_for_node("hello") == "hi"


# -- resource config ---------------------------------------------------------------------


def test_resource_config_comes_from_run_config_and_is_validated():
    @resource(config_schema={"size": int, "name": Field(str, default_value="pool")})
    def pool(init_context):
        return dict(init_context.resource_config)

    @op(required_resource_keys={"pool"})
    def use(context):
        return context.resources.pool

    @job(resource_defs={"pool": pool})
    def pipeline():
        use()

    result = pipeline.execute_in_process(
        run_config={"resources": {"pool": {"config": {"size": 3}}}}
    )
    assert result.output_for_node("use") == {"size": 3, "name": "pool"}

    with pytest.raises(InvalidConfigError) as bad_type:
        pipeline.execute_in_process(
            run_config={"resources": {"pool": {"config": {"size": "three"}}}}
        )
    assert "root:resources:pool:config:size" in str(bad_type.value)

    with pytest.raises(InvalidConfigError) as missing:
        pipeline.execute_in_process(run_config={"resources": {"pool": {"config": {}}}})
    assert "root:resources:pool:config" in str(missing.value)
    assert "'size'" in str(missing.value)

    with pytest.raises(InvalidConfigError) as absent:
        pipeline.execute_in_process()
    assert "'resources'" in str(absent.value)
    assert "{'pool': {'config': {'size': 0}}}" in str(absent.value)  # an example to copy

    with pytest.raises(InvalidConfigError) as extra:
        pipeline.execute_in_process(
            run_config={"resources": {"pool": {"config": {"size": 1, "colour": "red"}}}}
        )
    assert "colour" in str(extra.value)
    assert "root:resources:pool:config" in str(extra.value)


def test_bad_resource_config_fails_before_any_resource_is_built():
    built = []

    @resource(config_schema={"n": int})
    def strict(init_context):
        built.append("strict")
        return init_context.resource_config["n"]

    @resource
    def other():
        built.append("other")
        return 0

    @op(required_resource_keys={"strict", "other"})
    def use(context):
        return 0

    @job(resource_defs={"strict": strict, "other": other})
    def pipeline():
        use()

    with pytest.raises(InvalidConfigError):
        pipeline.execute_in_process(run_config={"resources": {"strict": {"config": {"n": "x"}}}})
    assert built == []


# -- context.resources -------------------------------------------------------------------


def test_reading_an_undeclared_resource_raises_unknown_resource_error():
    @op(required_resource_keys={"declared"})
    def sneaky(context):
        return context.resources.secret

    @job(resource_defs={"declared": 1, "secret": 2})
    def pipeline():
        sneaky()

    with pytest.raises(UnknownResourceError) as info:
        pipeline.execute_in_process()
    message = str(info.value)
    assert "'secret'" in message
    assert "declared" in message  # lists what is available
    assert isinstance(info.value, AttributeError)


def test_context_resources_holds_declared_keys_and_io_manager_only():
    @op(required_resource_keys={"a"})
    def look(context):
        return (
            sorted(context.resources),
            hasattr(context.resources, "a"),
            hasattr(context.resources, "b"),
        )

    @job(resource_defs={"a": 1, "b": 2})
    def pipeline():
        look()

    keys, has_a, has_b = pipeline.execute_in_process().output_for_node("look")
    assert keys == ["a", "io_manager"]
    assert has_a is True
    assert has_b is False


def test_context_resources_is_read_only():
    @op(required_resource_keys={"a"})
    def write(context):
        context.resources.a = 5

    @job(resource_defs={"a": 1})
    def pipeline():
        write()

    with pytest.raises(AttributeError, match="read-only"):
        pipeline.execute_in_process()
