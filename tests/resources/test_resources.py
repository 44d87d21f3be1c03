"""Function-style resources inside a run: ``@resource`` with config and dependencies, the
``InitResourceContext``, generator and ``@contextmanager`` lifetimes, plain objects,
resource config, which resources a run builds, init failures, ``context.resources`` and
the ``ResourceDefinition`` helpers."""

from contextlib import contextmanager
from unittest import mock

import pytest

from trellis import (
    Definitions,
    EventType,
    Field,
    InitResourceContext,
    InvalidConfigError,
    InvalidDefinitionError,
    ResourceDefinition,
    UnknownResourceError,
    job,
    op,
    resource,
)
from trellis.instance.instance import Instance


def _event_types(result):
    return [e.event_type for e in result.all_events]


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


# -- lifetimes: generators and context managers ------------------------------------------


def _recording_resources(log, fail_in=None):
    """Three resources that record set-up and teardown; ``fail_in`` names one whose init
    raises after the others before it were built."""

    @resource
    def first():
        log.append("setup first")
        try:
            yield "first"
        finally:
            log.append("teardown first")

    @resource(required_resource_keys={"first"})
    @contextmanager
    def second(init_context):
        log.append("setup second")
        try:
            yield init_context.resources.first + "+second"
        finally:
            log.append("teardown second")

    @resource(required_resource_keys={"second"})
    def third(init_context):
        if fail_in == "third":
            raise ConnectionError("third could not connect")
        log.append("setup third")
        yield "third"
        log.append("teardown third")

    return {"first": first, "second": second, "third": third}


def test_generator_and_contextmanager_resources_tear_down_in_reverse_order_on_success():
    log = []

    @op(required_resource_keys={"second", "third"})
    def use(context):
        log.append(f"use {context.resources.second} {context.resources.third}")
        return 1

    @job(resource_defs=_recording_resources(log))
    def pipeline():
        use()

    assert pipeline.execute_in_process().success
    assert log == [
        "setup first",
        "setup second",
        "setup third",
        "use first+second third",
        "teardown third",
        "teardown second",
        "teardown first",
    ]


def test_teardown_runs_when_a_step_fails():
    log = []

    @op(required_resource_keys={"third"})
    def boom(context):
        log.append("boom")
        raise ValueError("step failed")

    @job(resource_defs=_recording_resources(log))
    def pipeline():
        boom()

    with pytest.raises(ValueError, match="step failed"):
        pipeline.execute_in_process()
    assert log == [
        "setup first",
        "setup second",
        "setup third",
        "boom",
        "teardown third",
        "teardown second",
        "teardown first",
    ]

    log.clear()
    result = pipeline.execute_in_process(raise_on_error=False)
    assert not result.success
    assert log[-3:] == ["teardown third", "teardown second", "teardown first"]


def test_teardown_runs_when_a_later_resource_init_raises():
    log = []

    @op(required_resource_keys={"third"})
    def never(context):
        log.append("never")

    @job(resource_defs=_recording_resources(log, fail_in="third"))
    def pipeline():
        never()

    with pytest.raises(ConnectionError, match="third could not connect"):
        pipeline.execute_in_process()
    assert log == ["setup first", "setup second", "teardown second", "teardown first"]


def test_teardown_error_is_reported_without_failing_the_run():
    @resource
    def flaky():
        yield "value"
        raise RuntimeError("close failed")

    @op(required_resource_keys={"flaky"})
    def use(context):
        return context.resources.flaky

    @job(resource_defs={"flaky": flaky})
    def pipeline():
        use()

    result = pipeline.execute_in_process()
    assert result.success
    failures = [e for e in result.all_events if e.event_type is EventType.RESOURCE_TEARDOWN_FAILURE]
    assert len(failures) == 1
    assert "close failed" in failures[0].message


def test_generator_resource_that_never_yields_is_a_clear_error():
    @resource
    def empty():
        if False:
            yield

    @op(required_resource_keys={"empty"})
    def use(context):
        return 1

    @job(resource_defs={"empty": empty})
    def pipeline():
        use()

    with pytest.raises(InvalidDefinitionError, match=r"'empty'.*never yielded"):
        pipeline.execute_in_process()
    result = pipeline.execute_in_process(raise_on_error=False)
    assert not result.success
    assert EventType.RESOURCE_INIT_FAILURE in _event_types(result)


def test_generator_resource_that_yields_twice_is_a_clear_error():
    @resource
    def twice():
        yield 1
        yield 2

    @op(required_resource_keys={"twice"})
    def use(context):
        return context.resources.twice

    @job(resource_defs={"twice": twice})
    def pipeline():
        use()

    result = pipeline.execute_in_process(raise_on_error=False)
    failures = [e for e in result.all_events if e.event_type is EventType.RESOURCE_TEARDOWN_FAILURE]
    assert len(failures) == 1
    assert "'twice'" in failures[0].message
    assert "more than once" in failures[0].message


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


# -- which resources a run builds --------------------------------------------------------


def test_only_resources_the_steps_need_are_initialised():
    built = []

    @resource(config_schema={"url": str})
    def unused(init_context):
        built.append("unused")
        return init_context.resource_config["url"]

    @resource
    def needed():
        built.append("needed")
        return "ok"

    @op(required_resource_keys={"needed"})
    def use(context):
        return context.resources.needed

    @job(resource_defs={"needed": needed, "unused": unused})
    def pipeline():
        use()

    # the unused resource's required config is optional, and it is never built
    result = pipeline.execute_in_process()
    assert result.success
    assert built == ["needed"]
    init = next(e for e in result.all_events if e.event_type is EventType.RESOURCE_INIT_STARTED)
    assert "unused" not in init.message


def test_op_selection_initialises_only_the_selected_steps_resources():
    built = []

    @resource
    def a():
        built.append("a")
        return "a"

    @resource(config_schema={"must": int})
    def b(init_context):
        built.append("b")
        return "b"

    @op(required_resource_keys={"a"})
    def use_a(context):
        return context.resources.a

    @op(required_resource_keys={"b"})
    def use_b(context):
        return context.resources.b

    @job(resource_defs={"a": a, "b": b})
    def pipeline():
        use_a()
        use_b()

    result = pipeline.execute_in_process(op_selection=["use_a"])
    assert result.success
    assert built == ["a"]


def test_resource_dependencies_are_initialised_even_when_no_op_names_them():
    built = []

    @resource
    def base():
        built.append("base")
        return 2

    @resource(required_resource_keys={"base"})
    def derived(init_context):
        built.append("derived")
        return init_context.resources.base * 10

    @op(required_resource_keys={"derived"})
    def use(context):
        return context.resources.derived

    @job(resource_defs={"derived": derived, "base": base})
    def pipeline():
        use()

    assert pipeline.execute_in_process().output_for_node("use") == 20
    assert built == ["base", "derived"]


# -- init failure ------------------------------------------------------------------------


class DatabaseDown(Exception):
    pass


def _failing_job(log):
    @resource
    def db():
        raise DatabaseDown("db is down")

    @op(required_resource_keys={"db"})
    def use(context):
        log.append("ran")

    @job(resource_defs={"db": db})
    def pipeline():
        use()

    return pipeline


def test_resource_init_failure_fails_the_run_with_an_event():
    log = []
    result = _failing_job(log).execute_in_process(raise_on_error=False)
    assert not result.success
    types = _event_types(result)
    assert EventType.RESOURCE_INIT_FAILURE in types
    assert EventType.RUN_FAILURE in types
    assert EventType.STEP_START not in types
    failure = next(e for e in result.all_events if e.event_type is EventType.RESOURCE_INIT_FAILURE)
    assert "'db'" in failure.message
    assert "db is down" in failure.message
    assert log == []


def test_resource_init_failure_reraises_the_users_exception():
    with pytest.raises(DatabaseDown, match="db is down"):
        _failing_job([]).execute_in_process()


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


def test_resource_cycle_is_caught_when_definitions_are_built():
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

    with pytest.raises(InvalidDefinitionError, match="cycle: a -> b -> a"):
        Definitions(jobs=[pipeline], resources={"a": a, "b": b})
