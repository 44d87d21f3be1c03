"""Resource lifetimes in a run: generator and ``@contextmanager`` resources (torn down in
reverse order whatever happens; one that never yields or yields twice), which resources a
run builds, and init failures."""

from contextlib import contextmanager

import pytest

from trellis import EventType, InvalidDefinitionError, job, op, resource


def _event_types(result):
    return [e.event_type for e in result.all_events]


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
