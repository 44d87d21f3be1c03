"""Schedules: the ``@schedule`` decorator and ``ScheduleDefinition``, evaluation of every
return form, run config and tags, partitions, resources, direct invocation, and the
schedule's evaluation context."""

import logging
from datetime import UTC, datetime

import pytest
from definitions_fakes import JOB, TICK, schedule_context

from trellis.contexts.resources_view import ResourcesView
from trellis.contexts.schedule import ScheduleEvaluationContext
from trellis.core.errors import (
    InvalidDefinitionError,
    InvalidInvocationError,
    InvariantViolationError,
    ScheduleExecutionError,
    UnknownResourceError,
    UserCodeExecutionError,
)
from trellis.defs.run_request import RunRequest, SensorResult, SkipReason
from trellis.defs.schedule import (
    DefaultScheduleStatus,
    ScheduleDefinition,
    ScheduleEvaluationResult,
    schedule,
)
from trellis.defs.time_partitions import DailyPartitionsDefinition

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
    # As in Dagster, a context handed to a function that takes none is simply not passed on.
    assert without_ctx(schedule_context()) == RunRequest(run_key="x")
    fixed = ScheduleDefinition("fixed", "0 0 * * *", job=JOB, run_config={})
    with pytest.raises(InvalidInvocationError, match="without an execution function"):
        fixed(schedule_context())


def test_direct_invocation_does_not_wrap_user_errors():
    @schedule("0 0 * * *", job=JOB)
    def broken():
        raise KeyError("raw")

    with pytest.raises(KeyError):
        broken()


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
