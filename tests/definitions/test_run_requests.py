"""What schedules and sensors share: ``RunRequest``, ``SkipReason`` and ``SensorResult``,
their evaluation contexts as context managers, and the public names."""

import pytest

import trellis
from trellis.contexts.schedule import ScheduleEvaluationContext
from trellis.contexts.sensor import SensorEvaluationContext
from trellis.core.asset_key import AssetKey
from trellis.core.errors import InvalidInvocationError, InvariantViolationError
from trellis.defs.run_request import RunRequest, SensorResult, SkipReason
from trellis.defs.schedule import schedule
from trellis.defs.sensor import sensor
from trellis.defs.time_partitions import DailyPartitionsDefinition

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


# -- contexts --------------------------------------------------------------------------------------


def test_contexts_are_context_managers_running_cleanups():
    closed = []
    with ScheduleEvaluationContext() as ctx:
        ctx.exit_stack.callback(closed.append, "schedule")
        assert closed == []
    with SensorEvaluationContext() as sctx:
        sctx.exit_stack.callback(closed.append, "sensor")
    assert closed == ["schedule", "sensor"]


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
