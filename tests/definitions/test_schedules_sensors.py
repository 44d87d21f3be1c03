"""Schedules and sensors: definitions, decorators, evaluation of every return form, cursors,
contexts, direct invocation."""

import logging
from datetime import UTC, datetime

import pytest

import trellis
from trellis.contexts.resources_view import ResourcesView
from trellis.contexts.schedule import ScheduleEvaluationContext
from trellis.contexts.sensor import SensorEvaluationContext
from trellis.core.asset_key import AssetKey
from trellis.core.errors import (
    InvalidDefinitionError,
    InvalidInvocationError,
    InvariantViolationError,
    ScheduleExecutionError,
    SensorExecutionError,
    UnknownResourceError,
    UserCodeExecutionError,
)
from trellis.definitions.partitions import StaticPartitionsDefinition
from trellis.definitions.run_request import RunRequest, SensorResult, SkipReason
from trellis.definitions.schedule import (
    DefaultScheduleStatus,
    ScheduleDefinition,
    ScheduleEvaluationResult,
    schedule,
)
from trellis.definitions.sensor import (
    DefaultSensorStatus,
    SensorDefinition,
    SensorEvaluationResult,
    sensor,
)
from trellis.definitions.time_partitions import DailyPartitionsDefinition


class FakeJob:
    """Stands in for a job definition: all a schedule or sensor reads is ``name``."""

    def __init__(self, name: str) -> None:
        self.name = name


JOB = FakeJob("etl_job")
OTHER = FakeJob("other_job")
TICK = datetime(2024, 5, 1, 6, 0, tzinfo=UTC)


def schedule_context(**kwargs) -> ScheduleEvaluationContext:
    kwargs.setdefault("scheduled_execution_time", TICK)
    return ScheduleEvaluationContext(**kwargs)


# -- RunRequest, SkipReason, SensorResult ------------------------------------------------------


def test_run_request_defaults_and_fields():
    r = RunRequest()
    assert r.run_key is None and r.job_name is None and r.partition_key is None
    assert r.run_config == {} and r.tags == {} and r.asset_selection is None
    r = RunRequest(
        run_key="k1",
        run_config={"ops": {"a": {"config": {"x": 1}}}},
        tags={"team": "data"},
        job_name="etl_job",
        asset_selection=[AssetKey("a"), "b/c", ["d", "e"]],
        partition_key="2024-04-30",
    )
    assert r.asset_selection == [AssetKey("a"), AssetKey(["b", "c"]), AssetKey(["d", "e"])]
    assert r.partition_key == "2024-04-30"
    assert r == RunRequest(
        run_key="k1",
        run_config={"ops": {"a": {"config": {"x": 1}}}},
        tags={"team": "data"},
        job_name="etl_job",
        asset_selection=["a", "b/c", "d/e"],
        partition_key="2024-04-30",
    )
    assert "run_key='k1'" in repr(r)


def test_run_request_copies_its_mappings_and_replaces_attrs():
    config = {"a": 1}
    r = RunRequest(run_config=config, tags={"t": "v"})
    config["a"] = 2
    assert r.run_config == {"a": 1}
    r2 = r.with_replaced_attrs(job_name="j", run_key="k")
    assert (r2.job_name, r2.run_key, r2.run_config, r.job_name) == ("j", "k", {"a": 1}, None)
    with pytest.raises(InvalidInvocationError, match="nope"):
        r.with_replaced_attrs(nope=1)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"run_key": 1}, "run_key"),
        ({"tags": {"a": 1}}, "tag 'a'"),
        ({"partition_key": 5}, "partition_key"),
        ({"asset_selection": "a"}, r"\['a'\]"),
    ],
)
def test_run_request_rejects_bad_arguments(kwargs, match):
    with pytest.raises(InvalidInvocationError, match=match):
        RunRequest(**kwargs)


def test_skip_reason():
    assert SkipReason().skip_message is None
    assert SkipReason("nothing new") == SkipReason(skip_message="nothing new")
    assert repr(SkipReason("x")) == "SkipReason('x')"


def test_sensor_result():
    result = SensorResult(run_requests=[RunRequest(run_key="a")], cursor="5")
    assert result.run_requests == [RunRequest(run_key="a")] and result.cursor == "5"
    assert SensorResult(skip_reason="quiet").skip_reason == SkipReason("quiet")
    with pytest.raises(InvariantViolationError, match="both run_requests and a skip_reason"):
        SensorResult(run_requests=[RunRequest()], skip_reason=SkipReason("x"))
    with pytest.raises(InvalidInvocationError, match="RunRequest"):
        SensorResult(run_requests=["not a request"])  # type: ignore[list-item]


# -- schedules: definition ---------------------------------------------------------------------


def test_schedule_decorator_with_job():
    @schedule("0 6 * * *", job=JOB, execution_timezone="Europe/Paris", description="daily")
    def morning(context):
        return RunRequest(run_key=context.scheduled_execution_time.isoformat())

    assert isinstance(morning, ScheduleDefinition)
    assert morning.name == "morning"
    assert morning.cron_schedule == "0 6 * * *"
    assert morning.job_name == "etl_job" and morning.job is JOB
    assert morning.execution_timezone == "Europe/Paris"
    assert morning.description == "daily"
    assert morning.default_status is DefaultScheduleStatus.STOPPED


def test_schedule_decorator_keyword_cron_and_overrides():
    @schedule(
        cron_schedule="@daily",
        job_name="by_name",
        name="renamed",
        tags={"team": "x"},
        default_status=DefaultScheduleStatus.RUNNING,
        required_resource_keys={"db"},
        metadata={"owner": "me"},
    )
    def original():
        return RunRequest()

    assert original.name == "renamed"
    assert original.job_name == "by_name" and original.job is None
    assert original.tags == {"team": "x"}
    assert original.default_status is DefaultScheduleStatus.RUNNING
    assert original.required_resource_keys == {"db"}
    assert original.metadata == {"owner": "me"}


def test_bare_schedule_decorator_asks_for_a_cron():
    with pytest.raises(InvalidDefinitionError, match=r"needs a cron schedule.*'nightly'"):

        @schedule
        def nightly(): ...


def test_schedule_cron_validated_naming_schedule_and_cron():
    with pytest.raises(InvalidDefinitionError, match=r"'0 25 \* \* \*' for schedule 'nightly'"):

        @schedule("0 25 * * *", job=JOB)
        def nightly(): ...

    with pytest.raises(InvalidDefinitionError, match="'every day' for schedule 'x'"):
        ScheduleDefinition("x", "every day", job=JOB)


def test_schedule_cron_list():
    s = ScheduleDefinition("twice", ["0 6 * * *", "0 18 * * 1-5"], job=JOB)
    assert s.cron_schedule == ["0 6 * * *", "0 18 * * 1-5"]
    with pytest.raises(InvalidDefinitionError, match="'bad' for schedule 'thrice'"):
        ScheduleDefinition("thrice", ["0 6 * * *", "bad"], job=JOB)


def test_schedule_definition_target_rules():
    assert ScheduleDefinition(cron_schedule="0 0 * * *", job=JOB).name == "etl_job_schedule"
    selection = ["raw/orders", "clean/orders"]
    s = ScheduleDefinition("assets", "0 0 * * *", target=selection)
    assert s.target is selection and s.job_name is None
    assert ScheduleDefinition("t", "0 0 * * *", target=JOB).job_name == "etl_job"
    with pytest.raises(InvalidDefinitionError, match="targets nothing"):
        ScheduleDefinition("none", "0 0 * * *")
    with pytest.raises(InvalidDefinitionError, match="only one of job, job_name, target"):
        ScheduleDefinition("both", "0 0 * * *", job=JOB, job_name="etl_job")
    with pytest.raises(InvalidDefinitionError, match="needs a name"):
        ScheduleDefinition(cron_schedule="0 0 * * *", target=selection)
    with pytest.raises(InvalidDefinitionError, match="needs a cron_schedule"):
        ScheduleDefinition("nocron", job=JOB)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"name": "has space"}, "Invalid schedule name"),
        ({"execution_timezone": "Nowhere/Land"}, "Nowhere/Land"),
        ({"default_status": "RUNNING"}, "DefaultScheduleStatus"),
        ({"run_config": {}, "run_config_fn": lambda: {}}, "run_config, run_config_fn"),
        ({"run_config": {"a": 1}, "execution_fn": lambda: None}, "execution_fn, run_config"),
        ({"execution_fn": lambda a, b: None}, "requires the parameter"),
        ({"tags": {"a": 1}}, "tag 'a'"),
    ],
)
def test_schedule_definition_errors(kwargs, match):
    kwargs = {"name": "s", "cron_schedule": "0 0 * * *", "job": JOB, **kwargs}
    with pytest.raises(InvalidDefinitionError, match=match):
        ScheduleDefinition(**kwargs)


# -- schedules: evaluation ------------------------------------------------------------------------


def evaluate_schedule(returned, **schedule_kwargs) -> ScheduleEvaluationResult:
    @schedule("0 0 * * *", **({"job": JOB} | schedule_kwargs))
    def s(context):
        return returned() if callable(returned) else returned

    return s.evaluate_tick(schedule_context())


def test_schedule_returns_one_run_request_and_gets_the_job_name():
    result = evaluate_schedule(RunRequest(run_key="a"))
    assert result.run_requests == [RunRequest(run_key="a", job_name="etl_job")]
    assert result.skip_message is None


def test_schedule_keeps_an_explicit_job_name():
    result = evaluate_schedule(RunRequest(run_key="a", job_name="other"))
    assert result.run_requests[0].job_name == "other"


def test_schedule_returns_a_list():
    result = evaluate_schedule([RunRequest(run_key="a"), RunRequest(run_key="b")])
    assert [r.run_key for r in result.run_requests] == ["a", "b"]
    assert {r.job_name for r in result.run_requests} == {"etl_job"}


def test_schedule_yields_run_requests():
    @schedule("0 0 * * *", job=JOB)
    def gen(context):
        yield RunRequest(run_key="a")
        yield RunRequest(run_key="b")

    assert [r.run_key for r in gen.evaluate_tick(schedule_context()).run_requests] == ["a", "b"]


def test_schedule_skip_reason():
    result = evaluate_schedule(SkipReason("holiday"))
    assert result.run_requests == [] and result.skip_message == "holiday"


def test_schedule_returning_none_or_empty_list_skips():
    for returned in (None, []):
        result = evaluate_schedule(returned)
        assert result.run_requests == []
        assert "returned no run requests" in result.skip_message


def test_schedule_legacy_run_config_dict():
    config = {"ops": {"load": {"config": {"day": "2024-05-01"}}}}
    result = evaluate_schedule(config, tags={"source": "schedule"})
    assert result.run_requests == [
        RunRequest(run_config=config, tags={"source": "schedule"}, job_name="etl_job")
    ]


def test_schedule_mixing_skip_and_run_request_is_an_error():
    with pytest.raises(InvariantViolationError, match=r"schedule 's'.*both a SkipReason"):
        evaluate_schedule([RunRequest(), SkipReason("no")])


def test_schedule_two_skip_reasons_is_an_error():
    with pytest.raises(InvariantViolationError, match="2 SkipReasons"):
        evaluate_schedule([SkipReason("a"), SkipReason("b")])


def test_schedule_rejects_sensor_result_and_junk():
    with pytest.raises(InvariantViolationError, match="schedules cannot"):
        evaluate_schedule(SensorResult())
    with pytest.raises(InvariantViolationError, match=r"returned 42 \(int\)"):
        evaluate_schedule(42)


def test_schedule_user_error_is_wrapped_naming_the_schedule():
    def boom():
        raise ValueError("disk full")

    with pytest.raises(ScheduleExecutionError, match=r"schedule 's'.*ValueError: disk full") as err:
        evaluate_schedule(boom)
    assert isinstance(err.value, UserCodeExecutionError)
    assert isinstance(err.value.__cause__, ValueError)
    assert err.value.user_exception is err.value.__cause__


def test_schedule_with_run_config_and_tags():
    s = ScheduleDefinition(
        "fixed", "0 0 * * *", job=JOB, run_config={"a": 1}, tags={"kind": "fixed"}
    )
    result = s.evaluate_tick(schedule_context())
    assert result.run_requests == [
        RunRequest(run_config={"a": 1}, tags={"kind": "fixed"}, job_name="etl_job")
    ]


def test_schedule_with_run_config_fn_reads_the_context():
    s = ScheduleDefinition(
        "dynamic",
        "0 0 * * *",
        job=JOB,
        run_config_fn=lambda ctx: {"day": ctx.scheduled_execution_time.strftime("%Y-%m-%d")},
    )
    assert s.evaluate_tick(schedule_context()).run_requests[0].run_config == {"day": "2024-05-01"}


def test_schedule_should_execute():
    s = ScheduleDefinition("gated", "0 0 * * *", job=JOB, should_execute=lambda ctx: False)
    result = s.evaluate_tick(schedule_context())
    assert result.run_requests == [] and "should_execute" in result.skip_message

    def fail(ctx):
        raise RuntimeError("nope")

    s = ScheduleDefinition("gated2", "0 0 * * *", job=JOB, should_execute=fail)
    with pytest.raises(ScheduleExecutionError, match="gated2"):
        s.evaluate_tick(schedule_context())


def test_schedule_partitioned_run_requests():
    partitions = DailyPartitionsDefinition(start_date="2024-04-28")

    @schedule("0 1 * * *", job=JOB)
    def daily(context):
        key = partitions.get_last_partition_key(context.scheduled_execution_time)
        return RunRequest(run_key=key, partition_key=key)

    result = daily.evaluate_tick(schedule_context())
    assert result.run_requests == [
        RunRequest(run_key="2024-04-30", partition_key="2024-04-30", job_name="etl_job")
    ]


def test_schedule_resources_from_required_keys():
    @schedule("0 0 * * *", job=JOB, required_resource_keys={"calendar"})
    def working_days(context):
        if context.resources.calendar.is_holiday(context.scheduled_execution_time):
            return SkipReason("holiday")
        return RunRequest()

    class Calendar:
        def is_holiday(self, when):
            return when.month == 5 and when.day == 1

    result = working_days.evaluate_tick(schedule_context(resources={"calendar": Calendar()}))
    assert result.skip_message == "holiday"
    with pytest.raises(InvalidDefinitionError, match=r"requires the resource.*calendar"):
        working_days.evaluate_tick(schedule_context(resources={"other": 1}))


def test_schedule_direct_invocation():
    @schedule("0 0 * * *", job=JOB)
    def with_ctx(context):
        return {"tick": context.scheduled_execution_time}

    @schedule("0 0 * * *", job=JOB)
    def without_ctx():
        return RunRequest(run_key="x")

    assert with_ctx(schedule_context()) == {"tick": TICK}
    assert with_ctx(context=schedule_context()) == {"tick": TICK}
    assert without_ctx() == RunRequest(run_key="x")
    assert without_ctx.evaluate_tick(schedule_context()).run_requests[0].run_key == "x"
    with pytest.raises(InvalidInvocationError, match="takes a context"):
        with_ctx()
    with pytest.raises(InvalidInvocationError, match="takes no parameters"):
        without_ctx(schedule_context())
    fixed = ScheduleDefinition("fixed", "0 0 * * *", job=JOB, run_config={})
    with pytest.raises(InvalidInvocationError, match="without an execution function"):
        fixed(schedule_context())


def test_direct_invocation_does_not_wrap_user_errors():
    @schedule("0 0 * * *", job=JOB)
    def broken():
        raise KeyError("raw")

    with pytest.raises(KeyError):
        broken()


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
    with pytest.raises(InvalidInvocationError, match="takes no parameters"):
        without_ctx(SensorEvaluationContext())


def test_context_parameter_may_have_any_name():
    @sensor(job=JOB)
    def named(_ctx):
        return RunRequest(run_key=_ctx.cursor)

    assert named.evaluate_tick(SensorEvaluationContext(cursor="c")).run_requests[0].run_key == "c"


# -- contexts --------------------------------------------------------------------------------------


def test_schedule_context_members():
    instance, repo = object(), type("Repo", (), {"name": "my_repo"})()
    logger = logging.getLogger("test.schedule")
    ctx = ScheduleEvaluationContext(
        instance=instance,
        scheduled_execution_time=TICK,
        resources={"db": "conn"},
        repository_def=repo,
        log=logger,
    )
    assert ctx.instance is instance
    assert ctx.scheduled_execution_time == TICK
    assert isinstance(ctx.resources, ResourcesView) and ctx.resources.db == "conn"
    assert ctx.repository_def is repo and ctx.repository_name == "my_repo"
    assert ctx.log is logger


def test_schedule_context_defaults():
    ctx = ScheduleEvaluationContext()
    assert ctx.scheduled_execution_time.tzinfo is not None
    assert abs((datetime.now(UTC) - ctx.scheduled_execution_time).total_seconds()) < 5
    assert isinstance(ctx.log, logging.Logger)
    assert len(ctx.resources) == 0 and ctx.repository_def is None
    with pytest.raises(InvariantViolationError, match="no instance"):
        _ = ctx.instance
    naive = ScheduleEvaluationContext(scheduled_execution_time=datetime(2024, 1, 1, 6))
    assert naive.scheduled_execution_time == datetime(2024, 1, 1, 6, tzinfo=UTC)
    with pytest.raises(UnknownResourceError, match=r"'db'.*schedule"):
        _ = ctx.resources.db


def test_contexts_are_context_managers_running_cleanups():
    closed = []
    with ScheduleEvaluationContext() as ctx:
        ctx.exit_stack.callback(closed.append, "schedule")
        assert closed == []
    with SensorEvaluationContext() as sctx:
        sctx.exit_stack.callback(closed.append, "sensor")
    assert closed == ["schedule", "sensor"]


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


# -- public names ----------------------------------------------------------------------


def test_public_names():
    assert trellis.RunRequest is RunRequest
    assert trellis.schedule is schedule and trellis.sensor is sensor
    assert trellis.ScheduleEvaluationContext is ScheduleEvaluationContext
    assert trellis.SensorEvaluationContext is SensorEvaluationContext
    assert trellis.DailyPartitionsDefinition is DailyPartitionsDefinition
    for name in (
        "DefaultScheduleStatus",
        "DefaultSensorStatus",
        "HourlyPartitionsDefinition",
        "MonthlyPartitionsDefinition",
        "PartitionKeyRange",
        "PartitionsDefinition",
        "ScheduleDefinition",
        "SensorDefinition",
        "SensorResult",
        "SkipReason",
        "StaticPartitionsDefinition",
        "TimeWindow",
        "TimeWindowPartitionsDefinition",
        "WeeklyPartitionsDefinition",
    ):
        assert name in trellis.__all__ and getattr(trellis, name).__doc__
