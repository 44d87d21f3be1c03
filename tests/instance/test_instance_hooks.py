"""Hook events in storage: stored with the run on every back end, read back with their
payloads, and queried by type (``instance.all_logs(run_id, of_type=...)``)."""

from __future__ import annotations

from trellis import EventType, failure_hook, job, op, success_hook
from trellis.core.serialization import event_to_dict


@success_hook
def recorded(context):
    context.log.info("recorded the success")


@failure_hook
def raises(context):
    raise KeyError("missing channel")


@op
def works() -> int:
    return 1


@op
def fails(x: int) -> int:
    raise ValueError("fails on purpose")


@job(hooks={recorded, raises})
def hooked():
    fails(works())


def test_hook_events_are_stored_and_queried_by_type(any_instance):
    result = hooked.execute_in_process(instance=any_instance, raise_on_error=False)
    stored = any_instance.all_logs(result.run_id)
    assert [event_to_dict(e) for e in stored] == [event_to_dict(e) for e in result.event_log]

    hook_types = {EventType.HOOK_COMPLETED, EventType.HOOK_SKIPPED, EventType.HOOK_ERRORED}
    hooks = any_instance.all_logs(result.run_id, of_type=hook_types)
    assert [(e.step_key, e.data.hook_name, e.event_type) for e in hooks] == [
        ("works", "raises", EventType.HOOK_SKIPPED),
        ("works", "recorded", EventType.HOOK_COMPLETED),
        ("fails", "raises", EventType.HOOK_ERRORED),
        ("fails", "recorded", EventType.HOOK_SKIPPED),
    ]
    (errored,) = any_instance.all_logs(result.run_id, of_type=EventType.HOOK_ERRORED)
    assert errored.data.error.cls_name == "KeyError"
    assert "missing channel" in errored.data.error.to_string()
    assert errored.data.duration_ms >= 0
    skipped = any_instance.all_logs(result.run_id, of_type=[EventType.HOOK_SKIPPED])
    assert skipped[0].data.reason == "it runs after a failure, and the step succeeded"
    logs = any_instance.all_logs(result.run_id, of_type=EventType.LOG_MESSAGE)
    assert [(e.step_key, e.message) for e in logs] == [("works", "recorded the success")]
    assert any_instance.all_logs(result.run_id, of_type=set()) == []
