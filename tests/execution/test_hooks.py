"""Hooks in a run: when they run, what their context holds, what they record, and where
they attach (job, node use, graph, asset, asset job)."""

from __future__ import annotations

import pytest

from trellis import (
    AssetOut,
    AssetSelection,
    Definitions,
    EventType,
    Failure,
    HookContext,
    HookDefinition,
    HookExecutionResult,
    InvalidDefinitionError,
    Out,
    Output,
    ResourceDefinition,
    RetryPolicy,
    UnknownResourceError,
    asset,
    define_asset_job,
    failure_hook,
    get_dagster_logger,
    graph,
    instance_for_test,
    job,
    materialize,
    multi_asset,
    op,
    success_hook,
)

HOOK_TYPES = (EventType.HOOK_COMPLETED, EventType.HOOK_SKIPPED, EventType.HOOK_ERRORED)


def hook_events(result):
    """``(step, hook, event type)`` of each hook event, in order."""
    return [
        (e.step_key, e.data.hook_name, e.event_type)
        for e in result.all_events
        if e.event_type in HOOK_TYPES
    ]


seen: list = []


@pytest.fixture(autouse=True)
def _clear():
    seen.clear()


@success_hook
def note_success(context: HookContext):
    seen.append(("success", context.step_key, dict(context.op_output_values)))


@failure_hook
def note_failure(context: HookContext):
    seen.append(("failure", context.step_key, context.op_exception))


@op
def one() -> int:
    return 1


@op
def explode(x: int) -> int:
    raise ValueError(f"exploded on {x}")


@op
def plus_one(x: int) -> int:
    return x + 1


def test_success_and_failure_hooks_run_after_the_step_and_record_what_they_did():
    @job(hooks={note_success, note_failure})
    def mixed():
        plus_one(one())
        explode(one.alias("other")())

    result = mixed.execute_in_process(raise_on_error=False)
    assert not result.success
    assert hook_events(result) == [
        ("one", "note_failure", EventType.HOOK_SKIPPED),
        ("one", "note_success", EventType.HOOK_COMPLETED),
        ("plus_one", "note_failure", EventType.HOOK_SKIPPED),
        ("plus_one", "note_success", EventType.HOOK_COMPLETED),
        ("other", "note_failure", EventType.HOOK_SKIPPED),
        ("other", "note_success", EventType.HOOK_COMPLETED),
        ("explode", "note_failure", EventType.HOOK_COMPLETED),
        ("explode", "note_success", EventType.HOOK_SKIPPED),
    ]
    # each hook event comes right after its step's end, in the step's own events
    types = [e.event_type for e in result.events_for_node("explode")]
    assert types[-3:] == [EventType.STEP_FAILURE, EventType.HOOK_COMPLETED, EventType.HOOK_SKIPPED]
    assert ("success", "plus_one", {"result": 2}) in seen
    (failure,) = [s for s in seen if s[0] == "failure"]
    assert failure[1] == "explode"
    assert isinstance(failure[2], ValueError) and str(failure[2]) == "exploded on 1"
    skipped = [e for e in result.all_events if e.event_type is EventType.HOOK_SKIPPED]
    assert skipped[0].data.reason == "it runs after a failure, and the step succeeded"
    assert skipped[-1].data.reason == "it runs after a success, and the step failed"
    completed = [e for e in result.all_events if e.event_type is EventType.HOOK_COMPLETED]
    assert all(e.data.duration_ms >= 0 for e in completed)


def test_a_hook_that_raises_is_recorded_and_changes_nothing_about_the_step():
    @success_hook
    def broken(context):
        raise RuntimeError("the hook broke")

    @job(hooks={broken, note_success})
    def fine():
        plus_one(one())

    result = fine.execute_in_process()
    assert result.success and result.output_for_node("plus_one") == 2
    assert result.is_node_success("one") and result.is_node_success("plus_one")
    errored = [e for e in result.all_events if e.event_type is EventType.HOOK_ERRORED]
    assert [(e.step_key, e.data.hook_name) for e in errored] == [
        ("one", "broken"),
        ("plus_one", "broken"),
    ]
    assert "RuntimeError: the hook broke" in errored[0].data.error.to_string()
    assert errored[0].data.error.cause is None  # not chained to anything of the step
    assert "the step's result stands" in errored[0].message
    # the other hook still ran
    assert [s[1] for s in seen] == ["one", "plus_one"]


def test_hook_context_holds_the_step_its_outputs_config_and_the_hooks_resources():
    captured = {}

    @success_hook(required_resource_keys={"notifier"})
    def inspect_all(context: HookContext):
        captured.update(
            op_name=context.op.name,
            handle=context.op.handle,
            step_key=context.step_key,
            run_id=context.run_id,
            job_name=context.job_name,
            notifier=context.resources.notifier,
            keys=context.required_resource_keys,
            hook=context.hook_def.name,
            outputs=dict(context.op_output_values),
            metadata=dict(context.op_output_metadata),
            config=context.op_config,
            exception=context.op_exception,
            instance=context.instance,
        )
        with pytest.raises(UnknownResourceError) as unknown:
            _ = context.resources.database
        captured["unknown"] = str(unknown.value)

    @op(
        config_schema={"factor": int},
        out={"a": Out(), "b": Out()},
        required_resource_keys={"database"},
    )
    def two_outputs(context):
        yield Output(context.op_config["factor"], "a", metadata={"rows": 3})
        yield Output("bee", "b")

    @graph
    def inner():
        two_outputs.with_hooks({inspect_all})()

    @job(
        resource_defs={
            "notifier": ResourceDefinition.hardcoded_resource("slack"),
            "database": ResourceDefinition.hardcoded_resource("db"),
        }
    )
    def configured():
        inner.alias("outer")()

    result = configured.execute_in_process(
        run_config={"ops": {"outer": {"ops": {"two_outputs": {"config": {"factor": 7}}}}}}
    )
    assert result.success
    assert captured["op_name"] == "two_outputs" and captured["handle"] == "outer.two_outputs"
    assert captured["step_key"] == "outer.two_outputs"
    assert captured["run_id"] == result.run_id and captured["job_name"] == "configured"
    assert captured["notifier"] == "slack" and captured["keys"] == {"notifier"}
    assert captured["hook"] == "inspect_all"
    assert captured["outputs"] == {"a": 7, "b": "bee"}
    assert captured["metadata"]["a"]["rows"].value == 3
    assert captured["config"] == {"factor": 7}
    assert captured["exception"] is None
    assert captured["instance"] is not None
    assert "hook 'inspect_all'" in captured["unknown"] and "notifier" in captured["unknown"]


def test_hook_resources_are_built_for_the_steps_that_run_them():
    built = []

    def make(context):
        built.append("made")
        return "ready"

    @success_hook(required_resource_keys={"only_for_hook"})
    def uses_it(context):
        seen.append(context.resources.only_for_hook)

    @job(resource_defs={"only_for_hook": ResourceDefinition(make)})
    def needs_it():
        one.with_hooks({uses_it})()

    assert needs_it.execute_in_process().success
    assert built == ["made"] and seen == ["ready"]

    @job
    def missing():
        one.with_hooks({uses_it})()

    with pytest.raises(
        InvalidDefinitionError, match=r"Hook 'uses_it' of op 'one'.*'only_for_hook'"
    ):
        missing.execute_in_process()

    @asset(hooks={uses_it})
    def hooked() -> int:
        return 1

    needed = "Hook 'uses_it' of asset 'hooked' requires resource 'only_for_hook'"
    with pytest.raises(InvalidDefinitionError, match=needed):
        Definitions.validate_loadable(Definitions(assets=[hooked]))
    in_job = "Hook 'uses_it' of asset 'hooked' in job '__ephemeral_asset_job__' requires"
    with pytest.raises(InvalidDefinitionError, match=in_job):
        materialize([hooked])


def test_failure_hooks_see_the_users_exception_and_failure_metadata():
    @op
    def gives_up():
        raise Failure("no data today", metadata={"day": "monday"})

    @job(hooks={note_failure})
    def giving_up():
        gives_up()

    result = giving_up.execute_in_process(raise_on_error=False)
    (failure,) = seen
    assert isinstance(failure[2], Failure) and failure[2].description == "no data today"
    assert hook_events(result) == [("gives_up", "note_failure", EventType.HOOK_COMPLETED)]


def test_an_attempt_up_for_retry_skips_hooks_and_the_last_attempt_runs_them():
    attempts = []

    @op(retry_policy=RetryPolicy(max_retries=2))
    def flaky(context) -> int:
        attempts.append(context.retry_number)
        if context.retry_number < 1:
            raise ConnectionError("try again")
        return 5

    @job(hooks={note_success, note_failure})
    def retried():
        flaky()

    result = retried.execute_in_process()
    assert result.success and attempts == [0, 1]
    events = hook_events(result)
    assert events == [
        ("flaky", "note_failure", EventType.HOOK_SKIPPED),
        ("flaky", "note_success", EventType.HOOK_SKIPPED),
        ("flaky", "note_failure", EventType.HOOK_SKIPPED),
        ("flaky", "note_success", EventType.HOOK_COMPLETED),
    ]
    first = next(e for e in result.all_events if e.event_type is EventType.HOOK_SKIPPED)
    assert "will be retried" in first.data.reason
    assert seen == [("success", "flaky", {"result": 5})]


def test_hooks_attach_to_a_graph_use_to_a_job_copy_and_by_decorating():
    @graph
    def pair():
        plus_one(one())

    @job
    def plain():
        pair.with_hooks({note_success})()
        one.alias("alone")()

    assert [h[0] for h in hook_events(plain.execute_in_process())] == [
        "pair.one",
        "pair.plus_one",
    ]
    with_job_hook = plain.with_hooks({note_failure})
    assert plain.hook_defs == frozenset() and with_job_hook.hook_defs == {note_failure}
    assert len(hook_events(with_job_hook.execute_in_process())) == 5

    decorated = note_success(pair.to_job(name="decorated"))
    assert decorated.hook_defs == {note_success}
    assert len(hook_events(decorated.execute_in_process())) == 2
    to_job = pair.to_job(name="via_to_job", hooks={note_success})
    assert len(hook_events(to_job.execute_in_process())) == 2


def test_the_same_hook_twice_on_a_step_runs_once():
    @job(hooks={note_success})
    def twice():
        one.with_hooks({note_success})()

    assert hook_events(twice.execute_in_process()) == [
        ("one", "note_success", EventType.HOOK_COMPLETED)
    ]


@asset(hooks={note_success})
def hooked_asset() -> int:
    return 10


@asset
def downstream_asset(hooked_asset: int) -> int:
    return hooked_asset * 2


@multi_asset(outs={"m1": AssetOut(), "m2": AssetOut()}, hooks={note_failure})
def two_assets():
    return 1, 2


def test_asset_hooks_run_in_materialize_and_in_asset_jobs():
    with instance_for_test() as instance:
        _asset_hooks_in(instance)


def _asset_hooks_in(instance):
    result = materialize([hooked_asset, downstream_asset], instance=instance)
    assert hook_events(result) == [("hooked_asset", "note_success", EventType.HOOK_COMPLETED)]
    assert seen == [("success", "hooked_asset", {"result": 10})]

    defs = Definitions(
        assets=[hooked_asset, downstream_asset, two_assets],
        jobs=[define_asset_job("all_hooked", hooks={note_failure})],
    )
    result = defs.get_job_def("all_hooked").execute_in_process(instance=instance)
    assert sorted(hook_events(result)) == [
        ("downstream_asset", "note_failure", EventType.HOOK_SKIPPED),
        ("hooked_asset", "note_failure", EventType.HOOK_SKIPPED),
        ("hooked_asset", "note_success", EventType.HOOK_COMPLETED),
        ("two_assets", "note_failure", EventType.HOOK_SKIPPED),
    ]
    # a subset of the job keeps its hooks
    subset = defs.get_job_def("all_hooked").execute_in_process(
        instance=instance, asset_selection=AssetSelection.assets(downstream_asset)
    )
    assert hook_events(subset) == [("downstream_asset", "note_failure", EventType.HOOK_SKIPPED)]

    later = note_failure(downstream_asset)
    assert later.hook_defs == {note_failure} and downstream_asset.hook_defs == frozenset()
    with_hooks = downstream_asset.with_hooks({note_success})
    result = materialize([hooked_asset, with_hooks], instance=instance)
    assert [h[0] for h in hook_events(result)] == ["hooked_asset", "downstream_asset"]


def test_hook_definitions_and_arguments_are_checked():
    with pytest.raises(InvalidDefinitionError, match="first positional parameter, named 'context'"):

        @success_hook
        def no_context():
            pass

    def body():
        one()

    with pytest.raises(InvalidDefinitionError, match="hooks must be a set of hook definitions"):
        job(hooks="note_success")(body)
    with pytest.raises(InvalidDefinitionError, match="hooks must be hook definitions"):
        one.with_hooks({print})
    with pytest.raises(InvalidDefinitionError, match="hooks must be hook definitions"):
        asset(hooks={"not a hook"})(lambda: 1)

    @failure_hook(name="renamed", required_resource_keys={"pager"})
    def original(_):
        pass

    assert original.name == "renamed" and original.required_resource_keys == {"pager"}
    assert isinstance(original, HookDefinition)


def test_a_hook_definition_of_its_own_gets_the_ending_event():
    received = []

    def on_any_end(context, event_list):
        received.append([e.event_type for e in event_list])
        return HookExecutionResult("every_end", is_skipped=False)

    every_end = HookDefinition(name="every_end", hook_fn=on_any_end)

    @job(hooks={every_end})
    def ends():
        one()

    result = ends.execute_in_process()
    assert received == [[EventType.STEP_SUCCESS]]
    assert hook_events(result) == [("one", "every_end", EventType.HOOK_COMPLETED)]


def test_a_hook_logs_through_the_step_and_the_lines_are_run_events():
    @success_hook
    def chatty(context):
        context.log.info(f"{context.op.name} is done")
        get_dagster_logger().warning("and a library says so too")

    @job(hooks={chatty})
    def talks():
        one()

    result = talks.execute_in_process()
    logs = [
        (e.step_key, e.message) for e in result.event_log if e.event_type is EventType.LOG_MESSAGE
    ]
    assert logs == [("one", "one is done"), ("one", "and a library says so too")]
