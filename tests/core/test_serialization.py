"""Events and runs survive a JSON round trip exactly (storage and workers rely on it)."""

import json

from trellis import AssetKey, Failure, MetadataValue, job, op
from trellis.core.events import ErrorInfo, Event, EventType
from trellis.core.outputs import AssetMaterialization
from trellis.core.run import Run, RunStatus
from trellis.core.serialization import (
    event_from_dict,
    event_to_dict,
    from_jsonable,
    run_from_dict,
    run_to_dict,
    to_jsonable,
)


def _round_trip(event: Event) -> Event:
    return event_from_dict(json.loads(json.dumps(event_to_dict(event))))


def test_materialization_event_round_trips_with_metadata_and_partition():
    mat = AssetMaterialization(AssetKey(["a", "b"]), metadata={"rows": 3, "p": 1.5}, partition="x")
    event = Event(
        EventType.ASSET_MATERIALIZATION,
        "run",
        "job",
        step_key="a__b",
        data={"materialization": mat, "metadata": mat.metadata},
        asset_key=mat.asset_key,
        partition="x",
    )
    back = _round_trip(event)
    assert back.event_type is EventType.ASSET_MATERIALIZATION
    assert back.asset_key == AssetKey(["a", "b"]) and back.partition == "x"
    assert back.metadata == {"rows": MetadataValue.int(3), "p": MetadataValue.float(1.5)}
    assert back.materialization.asset_key == mat.asset_key
    assert back.timestamp == event.timestamp and back.pid == event.pid


def test_failure_event_from_a_real_run_keeps_the_traceback_and_cause_chain():
    @op
    def bad():
        raise Failure("nope", metadata={"why": "test"})

    @job
    def j():
        bad()

    result = j.execute_in_process(raise_on_error=False)
    (failure,) = result.get_step_failure_events()
    back = _round_trip(failure)
    assert isinstance(back.error, ErrorInfo)
    assert back.error.to_string() == failure.error.to_string()
    assert "raise Failure" in back.error.to_string()
    assert back.data["metadata"] == {"why": MetadataValue.text("test")}


def test_values_json_cannot_hold_are_kept_as_repr_not_dropped():
    class Odd:
        def __repr__(self):
            return "<Odd>"

    assert from_jsonable(json.loads(json.dumps(to_jsonable({"x": Odd(), 1: 2})))) == {
        "x": "<Odd>",
        1: 2,
    }


def test_run_round_trips():
    run = Run(
        "rid",
        "job",
        {"ops": {"a": {"config": 1}}},
        {"t": "v"},
        RunStatus.FAILURE,
        op_selection=["a*"],
        parent_run_id="p",
        root_run_id="r",
    )
    run.start_time, run.end_time = 1.0, 2.0
    back = run_from_dict(json.loads(json.dumps(run_to_dict(run))))
    assert run_to_dict(back) == run_to_dict(run)
