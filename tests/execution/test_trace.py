"""The trace of a run: the tree built from a run's events (contexts, IO manager calls,
retries, failures with the user's traceback), its text, JSON and Mermaid renderings and
the ``step``, ``only_errors`` and ``depth`` filters."""

import json

import pytest

from trellis import EventType, RetryPolicy, asset, job, materialize, op
from trellis.views.trace import TraceNode, build_trace, filter_trace
from trellis.views.trace_render import render_trace

NODE_KEYS = {
    "kind",
    "label",
    "start_offset_ms",
    "duration_ms",
    "pid",
    "thread",
    "attrs",
    "children",
}


@asset
def numbers(context) -> list:
    """Upstream asset that logs a line."""
    context.log.info("counting numbers")
    return [1, 2, 3]


@asset
def total(numbers: list) -> int:
    """Downstream asset."""
    return sum(numbers)


def _retry_job():
    calls = {"n": 0}

    @op(retry_policy=RetryPolicy(max_retries=1))
    def flaky() -> int:
        calls["n"] += 1
        if calls["n"] == 1:
            raise ValueError("flaky fails once")
        return 2

    @op
    def boom(x: int) -> int:
        raise RuntimeError("boom was told to fail")

    @op
    def after(y: int) -> int:
        return y

    @job
    def failing_job():
        after(boom(flaky()))

    return failing_job


@pytest.fixture(scope="module")
def asset_result():
    result = materialize([numbers, total])
    assert result.success
    return result


@pytest.fixture(scope="module")
def failed_result():
    result = _retry_job().execute_in_process(raise_on_error=False)
    assert not result.success
    return result


def _kinds(node: TraceNode) -> list[str]:
    return [child.kind for child in node.children]


def _step(root: TraceNode, key: str) -> TraceNode:
    (step,) = [s for s in root.find("step") if s.attrs["step_key"] == key]
    return step


def test_asset_run_tree_has_the_hierarchy_in_order(asset_result):
    root = build_trace(asset_result.event_log, asset_result.run)
    assert root.kind == "run" and asset_result.run_id in root.label
    assert _kinds(root) == ["orchestration", "run_end"]
    orch = root.children[0]
    assert orch.label == "PlanOrchestrationContext (executor: in_process)"
    assert orch.attrs["executor"] == "in_process"
    assert "run_config" in orch.attrs
    assert _kinds(orch) == ["resource_init", "step", "step", "teardown"]
    (init,) = orch.children[0].children
    assert init.kind == "init_resource" and init.label == "InitResourceContext io_manager"
    assert init.duration_ms is not None
    first, second = orch.children[1], orch.children[2]
    assert first.label == "StepExecutionContext numbers"
    assert second.label == "StepExecutionContext total"
    assert first.attrs["status"] == "SUCCESS" and first.attrs["attempts"] == 1
    (attempt,) = first.children
    assert _kinds(attempt) == ["compute", "step_success"]
    compute = attempt.children[0]
    assert compute.attrs["context_type"] == "AssetExecutionContext"
    assert _kinds(compute) == ["log", "handle_output"]
    assert "counting numbers" in compute.children[0].label
    output = compute.children[1]
    assert output.attrs["manager_key"] == "io_manager"
    assert output.attrs["asset_key"].to_user_string() == "numbers"
    assert output.duration_ms is not None
    assert _kinds(output) == ["materialization"]
    (attempt2,) = second.children
    assert _kinds(attempt2) == ["load_input", "compute", "step_success"]
    load = attempt2.children[0]
    assert load.label.startswith("InputContext numbers → load_input")
    assert load.attrs["upstream_step_key"] == "numbers"
    assert load.attrs["upstream_output_name"] == "result"
    assert load.duration_ms is not None
    assert root.children[-1].attrs["status"] == "RUN_SUCCESS"
    for node in root.walk():
        assert node.pid is not None and node.thread is not None
        assert node.start_offset_ms >= 0
    offsets = [s.start_offset_ms for s in orch.children[1:]]
    assert offsets == sorted(offsets)


def test_step_start_event_records_the_user_context_type(asset_result, failed_result):
    starts = [e for e in asset_result.all_events if e.event_type is EventType.STEP_START]
    assert {e.data.context_type for e in starts} == {"AssetExecutionContext"}
    starts = [e for e in failed_result.all_events if e.event_type is EventType.STEP_START]
    assert {e.data.context_type for e in starts} == {"OpExecutionContext"}


def test_failed_run_shows_retries_failure_traceback_and_skip(failed_result):
    root = build_trace(failed_result.event_log)
    flaky = _step(root, "flaky")
    assert flaky.attrs["attempts"] == 2 and flaky.attrs["status"] == "SUCCESS"
    first, second = flaky.children
    assert first.attrs["outcome"] == "RETRY" and second.attrs["outcome"] == "SUCCESS"
    assert second.attrs["event_type"] == "STEP_RESTARTED"
    retry = first.find("retry")[0]
    assert "flaky fails once" in retry.attrs["error"]
    boom = _step(root, "boom")
    assert boom.attrs["status"] == "FAILURE"
    (failure,) = boom.find("step_failure")
    assert "RuntimeError: boom was told to fail" in failure.attrs["error"]
    assert 'raise RuntimeError("boom was told to fail")' in failure.attrs["error"]
    assert _kinds(boom.children[0]) == ["load_input", "compute", "step_failure"]
    after = _step(root, "after")
    assert after.attrs["status"] == "SKIPPED" and _kinds(after) == ["step_skipped"]
    assert root.children[-1].attrs["status"] == "RUN_FAILURE"
    text = failed_result.trace()
    assert "attempt 2" in text and "STEP_UP_FOR_RETRY" in text
    assert "boom was told to fail" in text and "Traceback" not in text.splitlines()[0]
    assert "\x1b[" not in text  # no colour when not on a terminal


def test_text_rendering_aligns_durations_and_colours_only_when_asked(asset_result):
    root = build_trace(asset_result.event_log)
    text = render_trace(root, "text", color=False)
    lines = text.splitlines()
    assert lines[0].startswith("Run ") and "StepExecutionContext numbers" in text
    assert "AssetExecutionContext → compute numbers()" in text
    assert "handle_output [io_manager]" in text
    positions = {line.index("  +") for line in lines if "  +" in line}
    assert len(positions) == 1  # the offset and duration columns line up
    coloured = render_trace(root, "text", color=True)
    assert "\x1b[" in coloured


def test_json_round_trips_with_documented_keys(failed_result):
    data = json.loads(failed_result.trace("json"))

    def check(node):
        assert set(node) == NODE_KEYS
        for child in node["children"]:
            check(child)

    check(data)
    assert data["kind"] == "run"
    kinds = [n["kind"] for n in data["children"][0]["children"]]
    assert kinds.count("step") == 3
    failures = [
        n
        for step in data["children"][0]["children"]
        for attempt in step["children"]
        for n in attempt["children"]
        if n["kind"] == "step_failure"
    ]
    assert "boom was told to fail" in failures[0]["attrs"]["error"]


def test_json_serialises_asset_keys_and_metadata(asset_result):
    data = json.loads(asset_result.trace("json"))
    text = json.dumps(data)
    assert '"asset_key": "numbers"' in text


def test_mermaid_is_a_sequence_diagram_of_the_io_calls(asset_result, failed_result):
    text = asset_result.trace("mermaid")
    assert text.startswith("sequenceDiagram")
    assert "load_input(InputContext numbers)" in text
    assert "handle_output(OutputContext result)" in text
    assert "compute(AssetExecutionContext)" in text
    assert "participant" in text and "IO io_manager" in text
    failed = failed_result.trace("mermaid")
    assert "STEP_FAILURE" in failed and "STEP_UP_FOR_RETRY" in failed


def test_filters_step_only_errors_and_depth(failed_result):
    root = build_trace(failed_result.event_log)
    only_boom = filter_trace(root, step="boom")
    assert [s.attrs["step_key"] for s in only_boom.find("step")] == ["boom"]
    errors = filter_trace(root, only_errors=True)
    assert {n.kind for n in errors.walk() if n.is_error} == {"retry", "step_failure", "run_end"}
    assert not errors.find("load_input") and not errors.find("step_success")
    assert {s.attrs["step_key"] for s in errors.find("step")} == {"flaky", "boom"}
    shallow = filter_trace(root, depth=2)
    assert shallow.find("step") and not shallow.find("attempt")
    assert filter_trace(root, depth=0).children == []
    assert root.find("attempt")  # the original tree is untouched
    text = failed_result.trace(step="flaky", depth=3)
    assert "attempt 2" in text and "boom" not in text
    errors_text = failed_result.trace(only_errors=True)
    assert "STEP_SUCCESS" not in errors_text and "STEP_FAILURE" in errors_text
    with pytest.raises(ValueError, match="Unknown trace format"):
        render_trace(root, "svg")


def test_a_stored_run_is_traced_from_the_instance_with_its_executor():
    from trellis import Instance, job, multithread_executor, op
    from trellis.views.trace import trace_of_run

    @op
    def one():
        return 1

    @job(executor_def=multithread_executor)
    def threaded():
        one()

    instance = Instance.ephemeral()
    result = threaded.execute_in_process(instance=instance)
    text = render_trace(trace_of_run(instance, result.run_id), "text", color=False)
    assert "StepExecutionContext one" in text and "multithread" in text


def test_hooks_are_nodes_under_the_attempt_with_their_log_lines():
    from trellis import failure_hook, success_hook

    @success_hook
    def says_done(context):
        context.log.info("done with it")

    @failure_hook
    def cannot_page(context):
        raise ConnectionError("no pager")

    @op
    def fine() -> int:
        return 1

    @op
    def not_fine(x: int) -> int:
        raise ValueError("not fine")

    @job(hooks={says_done, cannot_page})
    def hooked():
        not_fine(fine())

    result = hooked.execute_in_process(raise_on_error=False)
    root = build_trace(result.event_log, result.run)
    steps = {node.attrs["step_key"]: node for node in root.find("step")}
    (attempt,) = steps["fine"].children
    kinds = [child.kind for child in attempt.children]
    assert kinds == ["compute", "step_success", "hook", "hook"]
    skipped, done = attempt.children[2:]
    assert skipped.attrs["status"] == "HOOK_SKIPPED" and "step succeeded" in skipped.label
    assert done.label == "HookContext says_done → says_done()"
    assert (
        done.duration_ms is not None
        and done.start_offset_ms >= attempt.children[1].start_offset_ms - 0.01
    )
    ((log),) = done.children
    assert log.kind == "log" and log.attrs["message"] == "done with it"
    assert not [n for n in attempt.find("compute") if n.children and n.children[0].kind == "log"]

    (failed_attempt,) = steps["not_fine"].children
    error = next(c for c in failed_attempt.children if c.kind == "hook_error")
    assert error.is_error and "ConnectionError: no pager" in error.attrs["error"]
    assert error.label.startswith("HookContext cannot_page → cannot_page() HOOK_ERRORED")
    only_errors = filter_trace(root, only_errors=True)
    assert "hook_error" in {n.kind for n in only_errors.walk()}
    assert "hook" not in {n.kind for n in only_errors.walk()}
    as_json = json.loads(render_trace(root, "json"))
    assert '"hook_name": "says_done"' in json.dumps(as_json)
    mermaid = render_trace(root, "mermaid")
    assert "hook says_done" in mermaid and "HOOK_ERRORED" in mermaid
