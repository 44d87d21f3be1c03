"""Hooks called directly in tests: ``build_hook_context`` and ``my_hook(context)``."""

from __future__ import annotations

import pytest

from trellis import (
    HookContext,
    InvalidDefinitionError,
    InvalidInvocationError,
    build_hook_context,
    failure_hook,
    op,
    resource,
    success_hook,
)

messages: list[str] = []


@success_hook(required_resource_keys={"slack"})
def tell_slack(context: HookContext):
    context.resources.slack.append(f"{context.op.name} ok in {context.job_name}")
    return "sent"


@failure_hook
def on_failure(context):
    messages.append(f"{context.run_id}: {context.op_exception}")


@op(tags={"team": "data"})
def load():
    return 1


def test_a_hook_runs_directly_with_a_built_context_and_returns_what_its_function_returns():
    sent: list[str] = []
    context = build_hook_context(resources={"slack": sent}, op=load, job_name="nightly")
    assert tell_slack(context) == "sent"
    assert sent == ["load ok in nightly"]
    assert context.op.tags == {"team": "data"}
    assert tell_slack(context=context) == "sent"  # by keyword too

    on_failure(build_hook_context(run_id="r1", op_exception=ValueError("bad rows")))
    assert messages[-1] == "r1: bad rows"
    aliased = build_hook_context(op=load.alias("load_2"))
    assert aliased.op.name == "load_2"


def test_what_a_built_context_was_not_given_says_so():
    context = build_hook_context()
    for name in ("run_id", "job_name", "op", "instance"):
        with pytest.raises(InvalidInvocationError, match=f"pass {name}= to build_hook_context"):
            getattr(context, name)
    for name in ("step_key", "op_output_values", "op_output_metadata", "op_config"):
        with pytest.raises(InvalidInvocationError, match="only set in a run"):
            getattr(context, name)
    with pytest.raises(InvalidInvocationError, match="hook_def is set once"):
        _ = context.hook_def
    assert context.op_exception is None
    with pytest.raises(InvalidDefinitionError, match="requires resource 'slack'"):
        tell_slack(context)
    with pytest.raises(InvalidInvocationError, match="takes a HookContext"):
        tell_slack("not a context")
    with pytest.raises(InvalidInvocationError, match="op definition"):
        build_hook_context(op="load")


def test_resources_of_a_built_context_are_built_and_torn_down_with_it():
    events: list[str] = []

    @resource
    def connection(_):
        events.append("open")
        yield ["conn"]
        events.append("close")

    @success_hook(required_resource_keys={"slack"})
    def bound_name(context):
        events.append(context.hook_def.name)

    with build_hook_context(resources={"slack": connection}) as context:
        bound_name(context)
        assert context.resources.slack == ["conn"]
    assert events == ["open", "bound_name", "close"]
