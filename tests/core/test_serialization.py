"""Events and runs survive a JSON round trip exactly (storage and workers rely on it)."""

import json

from trellis import AssetCheckEvaluation, AssetCheckKey, AssetKey, Failure, MetadataValue, job, op
from trellis.core import event_factory
from trellis.core.asset_checks import AssetCheckEvaluationTargetMaterializationData
from trellis.core.event_payloads import PAYLOAD_TYPES, AssetMaterializationData, payload_from_dict
from trellis.core.events import ErrorInfo, Event, EventType
from trellis.core.outputs import AssetMaterialization, AssetObservation
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
        data=AssetMaterializationData(mat),
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
    assert back.data.metadata == {"why": MetadataValue.text("test")}


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


def _one_event_of_each_type() -> list[Event]:
    try:
        raise ValueError("boom")
    except ValueError as exc:
        caught = exc
    error = ErrorInfo.from_exception(caught)
    key = AssetKey(["a", "b"])
    meta = {"rows": MetadataValue.int(3)}
    f = event_factory
    r, j = "run", "job"
    return [
        f.run_start(r, j),
        f.run_success(r, j),
        f.run_failure(r, j, "died", reason="process died", pid=12, host="h"),
        f.run_canceling(r, j),
        f.run_canceled(r, j, "canceled"),
        f.engine_event(r, j, "note", error=error, step_key="s"),
        f.resource_init_started(r, j, ["b", "a"]),
        f.resource_init_success(r, j, ["a", "b"], {"a": 1.5, "b": 0.25}, 2.0),
        f.resource_init_failure(r, j, caught),
        f.resource_teardown(r, j, ["b", "a"], 0.5),
        f.resource_teardown_failure(r, j, caught, " in worker process 1"),
        f.step_start(r, j, "s", 0, "AssetExecutionContext"),
        f.step_start(r, j, "s", 2, "OpExecutionContext"),
        f.loaded_input(r, j, "s", "x", "io_manager", "up", "result", meta, 0.3, key),
        f.loaded_input(r, j, "s[k1]", "x", "io_manager", "up", "result", meta, 0.3, None, "k1"),
        f.step_output(r, j, "s", "result", meta),
        f.step_output(r, j, "s", "items", meta, "k1"),
        f.asset_materialization(r, j, "s", AssetMaterialization(key, "d", meta, "p1")),
        f.asset_observation(r, j, "s", AssetObservation(key, None, meta, None)),
        f.handled_output(r, j, "s", "result", "io_manager", meta, 0.2, key),
        f.asset_check_evaluation_planned(r, j, AssetCheckKey(key, "has_rows"), "s"),
        f.asset_check_evaluation(
            r,
            j,
            "s",
            AssetCheckEvaluation(
                key,
                "has_rows",
                False,
                meta,
                AssetCheckEvaluationTargetMaterializationData(7, "earlier", 1.5),
                "WARN",
                "too few",
                True,
            ),
        ),
        f.handled_output(r, j, "s", "items", "io_manager", meta, 0.2, None, "k1"),
        f.step_success(r, j, "s", 1.25),
        f.step_failure(
            r,
            j,
            "s",
            "failed",
            error=error,
            error_source="USER_CODE_ERROR",
            duration_ms=3.0,
            metadata=meta,
            reason=None,
            crashed=True,
            exit_code=-9,
        ),
        f.step_up_for_retry(
            r, j, "s", "retry", error=error, seconds_to_wait=1.5, retry_number=1, crashed=True
        ),
        f.step_skipped(r, j, "s", "upstream failed"),
        f.run_enqueued(r, j),
        f.run_starting(r, j, "Launching the run in a subprocess."),
        f.log_message(r, j, "s", "hello ✓", 20),
        f.hook_completed(r, j, "s", "notify", 0.75),
        f.hook_skipped(r, j, "s", "notify", "the step failed"),
        f.hook_errored(r, j, "s", "notify", caught, 1.5),
    ]


def test_every_event_type_has_a_payload_class_and_a_constructor():
    assert set(PAYLOAD_TYPES) == set(EventType)
    made = {e.event_type for e in _one_event_of_each_type()}
    assert made == set(EventType)
    for event in _one_event_of_each_type():
        assert type(event.data) is PAYLOAD_TYPES[event.event_type], event.event_type


def test_every_event_type_round_trips_through_json_exactly():
    for event in _one_event_of_each_type():
        back = _round_trip(event)
        assert type(back.data) is type(event.data)
        assert event_to_dict(back) == event_to_dict(event), event.event_type
        assert back.message == event.message and back.level == event.level
        if event.error is not None:
            assert back.error.to_string() == event.error.to_string()


def test_payloads_from_other_versions_load_with_defaults_and_unknown_fields_dropped():
    old = payload_from_dict(EventType.STEP_FAILURE, {"error": None, "from_the_future": 1})
    assert old.crashed is False and old.exit_code is None and not hasattr(old, "from_the_future")
    bare = Event(EventType.STEP_SKIPPED, "r", "j", step_key="s")
    assert bare.data == PAYLOAD_TYPES[EventType.STEP_SKIPPED]()


def test_an_asset_check_evaluation_round_trips_with_its_target_and_severity():
    target = AssetCheckEvaluationTargetMaterializationData(None, "this-run", None)
    evaluation = AssetCheckEvaluation(
        AssetKey(["a", "b"]), "fresh", True, {"age": 3}, target, blocking=False
    )
    event = event_factory.asset_check_evaluation("r", "j", "a__b_fresh", evaluation)
    back = _round_trip(event)
    assert back.data.evaluation == evaluation
    assert back.data.evaluation.target_materialization_data == target
    assert back.data.evaluation.severity.value == "ERROR" and back.data.passed is True
    assert back.data.asset_check_key == AssetCheckKey(AssetKey(["a", "b"]), "fresh")
    assert back.asset_key == AssetKey(["a", "b"]) and back.metadata == {"age": MetadataValue.int(3)}


def test_a_run_keeps_its_asset_check_selection():
    run = Run("rid", "job", asset_selection=[], asset_check_selection=["a/b:fresh"])
    back = run_from_dict(json.loads(json.dumps(run_to_dict(run))))
    assert back.asset_selection == [] and back.asset_check_selection == ["a/b:fresh"]
    assert run_from_dict({"run_id": "old", "job_name": "j"}).asset_check_selection is None


def test_mapping_keys_of_dynamic_outputs_round_trip():
    """An item of a dynamic output keeps its mapping key in storage and between processes:
    re-execution reads the keys a run yielded back from its stored STEP_OUTPUT events."""
    by_type = {}
    for event in _one_event_of_each_type():
        if getattr(event.data, "mapping_key", None) or getattr(
            event.data, "upstream_mapping_key", None
        ):
            by_type[event.event_type] = _round_trip(event).data
    assert by_type[EventType.STEP_OUTPUT].mapping_key == "k1"
    assert by_type[EventType.HANDLED_OUTPUT].mapping_key == "k1"
    assert by_type[EventType.LOADED_INPUT].upstream_mapping_key == "k1"
    old = payload_from_dict(EventType.STEP_OUTPUT, {"output_name": "result"})
    assert old.mapping_key is None  # stored before mapping keys existed
