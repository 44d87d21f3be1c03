"""Sensors: the ``@sensor`` decorator and ``SensorDefinition``, evaluation of every return
form, cursors, targets, partitions, resources, direct invocation, and the sensor's
evaluation context."""

import pytest
from definitions_fakes import JOB, OTHER, TICK

from trellis.contexts.resources_view import ResourcesView
from trellis.contexts.sensor import SensorEvaluationContext
from trellis.core.asset_key import AssetKey
from trellis.core.errors import (
    InvalidDefinitionError,
    InvalidInvocationError,
    InvariantViolationError,
    SensorExecutionError,
    UnknownResourceError,
)
from trellis.defs.partitions import StaticPartitionsDefinition
from trellis.defs.run_request import RunRequest, SensorResult, SkipReason
from trellis.defs.sensor import (
    DefaultSensorStatus,
    SensorDefinition,
    SensorEvaluationResult,
    sensor,
)

# -- sensors: definition ----------------------------------------------------------------------


def test_sensor_decorator_defaults():
    @sensor(job=JOB)
    def watch(context):
        return None

    assert isinstance(watch, SensorDefinition)
    assert watch.name == "watch"
    assert watch.job_name == "etl_job" and watch.jobs == [JOB] and watch.job_names == ["etl_job"]
    assert watch.minimum_interval_seconds == 30
    assert watch.default_status is DefaultSensorStatus.STOPPED
    assert watch.required_resource_keys == frozenset()


def test_sensor_decorator_bare_and_empty_parentheses():
    @sensor
    def bare():
        return RunRequest(job_name="anything")

    @sensor()
    def empty():
        return None

    assert bare.name == "bare" and bare.job_name is None
    assert empty.name == "empty"
    result = bare.evaluate_tick(SensorEvaluationContext())
    assert result.run_requests == [RunRequest(job_name="anything")]


def test_sensor_decorator_arguments():
    @sensor(
        "by_name",
        name="renamed",
        minimum_interval_seconds=120,
        description="d",
        default_status=DefaultSensorStatus.RUNNING,
        required_resource_keys=["api"],
        tags={"a": "b"},
    )
    def s():
        return None

    assert s.name == "renamed" and s.job_name == "by_name"
    assert s.minimum_interval_seconds == 120 and s.description == "d"
    assert s.default_status is DefaultSensorStatus.RUNNING
    assert s.required_resource_keys == {"api"} and s.tags == {"a": "b"}


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"job": JOB, "jobs": [OTHER]}, "only one of"),
        ({"job_name": "a", "asset_selection": ["x"]}, "only one of"),
        ({"jobs": []}, "empty list"),
        ({"minimum_interval_seconds": 0}, "positive integer"),
        ({"default_status": "RUNNING"}, "DefaultSensorStatus"),
        ({"name": "bad-name"}, "Invalid sensor name"),
    ],
)
def test_sensor_definition_errors(kwargs, match):
    with pytest.raises(InvalidDefinitionError, match=match):
        SensorDefinition(**({"name": "s", "evaluation_fn": lambda: None} | kwargs))


def test_sensor_definition_needs_a_function():
    with pytest.raises(InvalidDefinitionError, match="evaluation_fn"):
        SensorDefinition("s")


# -- sensors: evaluation ------------------------------------------------------------------------


def evaluate_sensor(returned, context=None, **sensor_kwargs) -> SensorEvaluationResult:
    @sensor(**({"job": JOB} | sensor_kwargs))
    def s(context):
        return returned(context) if callable(returned) else returned

    return s.evaluate_tick(context or SensorEvaluationContext(sensor_name="s"))


def test_sensor_run_request_gets_the_job_name():
    result = evaluate_sensor(RunRequest(run_key="a"))
    assert result.run_requests == [RunRequest(run_key="a", job_name="etl_job")]
    assert result.skip_message is None
    assert result.cursor is None and not result.cursor_updated


def test_sensor_list_and_generator():
    assert (
        len(evaluate_sensor([RunRequest(run_key="a"), RunRequest(run_key="b")]).run_requests) == 2
    )

    @sensor(job=JOB)
    def gen(context):
        for i in range(3):
            yield RunRequest(run_key=str(i))

    result = gen.evaluate_tick(SensorEvaluationContext())
    assert [r.run_key for r in result.run_requests] == ["0", "1", "2"]


def test_sensor_skip_forms():
    assert evaluate_sensor(SkipReason("nothing new")).skip_message == "nothing new"
    assert evaluate_sensor(SkipReason()).skip_message is None
    none = evaluate_sensor(None)
    assert none.run_requests == [] and "returned no run requests" in none.skip_message
    assert evaluate_sensor([]).run_requests == []


def test_sensor_result_with_run_requests_and_cursor():
    result = evaluate_sensor(SensorResult(run_requests=[RunRequest(run_key="7")], cursor="7"))
    assert result.run_requests == [RunRequest(run_key="7", job_name="etl_job")]
    assert result.cursor == "7" and result.cursor_updated


def test_sensor_result_yielded_alone():
    @sensor(job=JOB)
    def gen(context):
        yield SensorResult(run_requests=[RunRequest(run_key="y")], cursor="y")

    result = gen.evaluate_tick(SensorEvaluationContext())
    assert [r.run_key for r in result.run_requests] == ["y"] and result.cursor == "y"


def test_sensor_result_skip():
    result = evaluate_sensor(SensorResult(skip_reason="quiet"))
    assert result.run_requests == [] and result.skip_message == "quiet"


def test_sensor_mixing_skip_and_run_request_is_an_error():
    with pytest.raises(InvariantViolationError, match=r"sensor 's'.*both a SkipReason"):
        evaluate_sensor([SkipReason("x"), RunRequest()])

    @sensor(job=JOB)
    def mixed(context):
        yield RunRequest()
        yield SkipReason("x")

    with pytest.raises(InvariantViolationError, match="both a SkipReason"):
        mixed.evaluate_tick(SensorEvaluationContext())


def test_sensor_result_must_stand_alone():
    with pytest.raises(InvariantViolationError, match="on its own"):
        evaluate_sensor([SensorResult(), RunRequest()])


def test_sensor_rejects_junk_and_dicts():
    with pytest.raises(InvariantViolationError, match="returned 'oops'"):
        evaluate_sensor("oops")
    with pytest.raises(InvariantViolationError, match="dict"):
        evaluate_sensor({"ops": {}})


def test_sensor_cursor_via_context():
    def fn(context):
        last = int(context.cursor or 0)
        context.update_cursor(str(last + 5))
        return [RunRequest(run_key=str(i)) for i in range(last + 1, last + 6)]

    result = evaluate_sensor(fn, SensorEvaluationContext(cursor="10"))
    assert result.cursor == "15" and result.cursor_updated
    assert [r.run_key for r in result.run_requests] == ["11", "12", "13", "14", "15"]


def test_sensor_cursor_unchanged_is_reported_as_is():
    result = evaluate_sensor(None, SensorEvaluationContext(cursor="3"))
    assert result.cursor == "3" and not result.cursor_updated


def test_sensor_cursor_reset_via_context():
    def fn(context):
        context.update_cursor(None)

    result = evaluate_sensor(fn, SensorEvaluationContext(cursor="3"))
    assert result.cursor is None and result.cursor_updated


def test_setting_the_cursor_twice_is_an_error():
    def fn(context):
        context.update_cursor("a")
        return SensorResult(cursor="b")

    with pytest.raises(InvariantViolationError, match=r"update_cursor.*SensorResult\(cursor"):
        evaluate_sensor(fn)


def test_sensor_result_without_cursor_keeps_context_cursor():
    def fn(context):
        context.update_cursor("a")
        return SensorResult(run_requests=[RunRequest()])

    result = evaluate_sensor(fn)
    assert result.cursor == "a" and result.cursor_updated


def test_sensor_user_error_is_wrapped_naming_the_sensor():
    def fn(context):
        raise ConnectionError("api down")

    with pytest.raises(SensorExecutionError, match=r"sensor 's'.*ConnectionError: api down") as err:
        evaluate_sensor(fn)
    assert isinstance(err.value.__cause__, ConnectionError)

    @sensor(job=JOB)
    def gen(context):
        yield RunRequest()
        raise ValueError("mid-stream")

    with pytest.raises(SensorExecutionError, match="mid-stream"):
        gen.evaluate_tick(SensorEvaluationContext())


def test_sensor_unknown_resource_error_passes_through():
    def fn(context):
        return context.resources.missing

    with pytest.raises(UnknownResourceError, match="'missing'"):
        evaluate_sensor(fn)


def test_sensor_with_several_jobs():
    def fn(context):
        return [RunRequest(job_name="etl_job"), RunRequest(job_name="other_job")]

    result = evaluate_sensor(fn, job=None, jobs=[JOB, OTHER])
    assert [r.job_name for r in result.run_requests] == ["etl_job", "other_job"]
    with pytest.raises(InvariantViolationError, match=r"several jobs.*must set job_name"):
        evaluate_sensor(RunRequest(), job=None, jobs=[JOB, OTHER])
    with pytest.raises(InvariantViolationError, match="'nope', which it does not target"):
        evaluate_sensor(RunRequest(job_name="nope"), job=None, jobs=[JOB, OTHER])


def test_sensor_without_target():
    with pytest.raises(InvariantViolationError, match="targets no job"):
        evaluate_sensor(RunRequest(), job=None)
    result = evaluate_sensor(RunRequest(job_name="explicit"), job=None)
    assert result.run_requests[0].job_name == "explicit"
    result = evaluate_sensor(RunRequest(asset_selection=["a"]), job=None)
    assert result.run_requests[0].asset_selection == [AssetKey("a")]


def test_sensor_asset_selection_target():
    selection = ["raw/orders"]
    result = evaluate_sensor(RunRequest(run_key="x"), job=None, asset_selection=selection)
    assert result.run_requests == [RunRequest(run_key="x")]
    s = SensorDefinition("t", evaluation_fn=lambda: None, target=selection)
    assert s.target is selection and s.job_name is None
    assert SensorDefinition("u", evaluation_fn=lambda: None, target=JOB).job_name == "etl_job"


def test_sensor_requests_partitions():
    regions = StaticPartitionsDefinition(["us", "eu"])

    def fn(context):
        return [RunRequest(run_key=f"r-{k}", partition_key=k) for k in regions.get_partition_keys()]

    result = evaluate_sensor(fn)
    assert [(r.partition_key, r.job_name) for r in result.run_requests] == [
        ("us", "etl_job"),
        ("eu", "etl_job"),
    ]


def test_sensor_required_resources():
    @sensor(job=JOB, required_resource_keys={"api"})
    def polls(context):
        return RunRequest(run_key=context.resources.api.latest())

    class Api:
        def latest(self):
            return "v42"

    context = SensorEvaluationContext(sensor_name="polls", resources={"api": Api()})
    assert polls.evaluate_tick(context).run_requests[0].run_key == "v42"
    with pytest.raises(InvalidDefinitionError, match="sensor 'polls' requires the resource"):
        polls.evaluate_tick(SensorEvaluationContext())


def test_sensor_direct_invocation():
    @sensor(job=JOB)
    def with_ctx(context):
        context.update_cursor("moved")
        yield RunRequest(run_key="a")

    @sensor(job=JOB)
    def without_ctx():
        return SkipReason("idle")

    context = SensorEvaluationContext()
    assert list(with_ctx(context)) == [RunRequest(run_key="a")]
    assert context.cursor == "moved"
    assert without_ctx() == SkipReason("idle")
    with pytest.raises(InvalidInvocationError, match="takes a context"):
        with_ctx()
    # As in Dagster, a context handed to a function that takes none is simply not passed on.
    assert without_ctx(SensorEvaluationContext()) == SkipReason("idle")


def test_context_parameter_may_have_any_name():
    @sensor(job=JOB)
    def named(_ctx):
        return RunRequest(run_key=_ctx.cursor)

    assert named.evaluate_tick(SensorEvaluationContext(cursor="c")).run_requests[0].run_key == "c"


# -- contexts --------------------------------------------------------------------------------------


def test_sensor_context_members():
    instance = object()
    ctx = SensorEvaluationContext(
        instance=instance,
        cursor="c1",
        last_tick_completion_time=100.0,
        last_run_key="rk",
        last_sensor_start_time=50.0,
        sensor_name="watch",
        resources=ResourcesView({"api": 1}),
    )
    assert ctx.instance is instance
    assert ctx.cursor == "c1" and not ctx.cursor_updated
    assert ctx.last_tick_completion_time == 100.0
    assert ctx.last_sensor_start_time == 50.0
    assert ctx.last_run_key == "rk"
    assert ctx.sensor_name == "watch"
    assert ctx.resources.api == 1
    assert ctx.log.name == "trellis.sensor.watch"
    assert not ctx.is_first_tick_since_sensor_start
    with pytest.deprecated_call():
        assert ctx.last_completion_time == 100.0
    ctx.update_cursor("c2")
    assert ctx.cursor == "c2" and ctx.cursor_updated
    with pytest.raises(InvalidInvocationError, match=r"json\.dumps"):
        ctx.update_cursor(5)  # type: ignore[arg-type]


def test_sensor_context_first_tick_and_datetimes():
    assert SensorEvaluationContext().is_first_tick_since_sensor_start
    restarted = SensorEvaluationContext(last_tick_completion_time=10, last_sensor_start_time=20)
    assert restarted.is_first_tick_since_sensor_start
    assert SensorEvaluationContext(is_first_tick_since_sensor_start=False)
    explicit = SensorEvaluationContext(is_first_tick_since_sensor_start=True)
    assert explicit.is_first_tick_since_sensor_start
    ctx = SensorEvaluationContext(last_tick_completion_time=TICK)
    assert ctx.last_tick_completion_time == TICK.timestamp()
    with pytest.raises(InvariantViolationError, match="no instance"):
        _ = ctx.instance
    with pytest.raises(InvalidInvocationError, match="cursor"):
        SensorEvaluationContext(cursor=3)  # type: ignore[arg-type]
