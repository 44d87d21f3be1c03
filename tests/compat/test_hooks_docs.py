"""Op and asset hooks the way Dagster's documentation uses them: a Slack-style resource told
about successes and failures, hooks on a job, on one op in the job's body and on assets,
the failed op's exception, the outputs of the op, and hooks tested with
``build_hook_context``. Only the imports would change (``dagster`` → ``trellis``)."""

from unittest import mock

import pytest

from trellis import (
    AssetSelection,
    DagsterEventType,
    Definitions,
    HookContext,
    ResourceDefinition,
    asset,
    build_hook_context,
    define_asset_job,
    failure_hook,
    graph,
    job,
    materialize,
    op,
    success_hook,
)


class FakeSlack:
    """Stands in for a Slack client: keeps the messages it was asked to post."""

    def __init__(self):
        self.messages = []

    def chat_postMessage(self, channel, text):
        self.messages.append((channel, text))


@success_hook(required_resource_keys={"slack"})
def slack_message_on_success(context: HookContext):
    message = f"Op {context.op.name} finished successfully"
    context.resources.slack.chat_postMessage(channel="#data", text=message)


@failure_hook(required_resource_keys={"slack"})
def slack_message_on_failure(context: HookContext):
    message = f"Op {context.op.name} failed: {context.op_exception}"
    context.resources.slack.chat_postMessage(channel="#alerts", text=message)


@op
def extract():
    return [1, 2, 3]


@op
def transform(rows):
    if len(rows) > 2:
        raise ValueError("too many rows for this toy pipeline")
    return rows


def hook_events(result):
    return [
        (event.step_key, event.event_type_value)
        for event in result.all_events
        if event.event_type_value.startswith("HOOK_")
    ]


def test_hooks_on_a_whole_job():
    slack = FakeSlack()

    @job(
        resource_defs={"slack": ResourceDefinition.hardcoded_resource(slack)},
        hooks={slack_message_on_failure},
    )
    def notify_on_failure():
        transform(extract())

    result = notify_on_failure.execute_in_process(raise_on_error=False)
    assert not result.success
    assert slack.messages == [
        ("#alerts", "Op transform failed: too many rows for this toy pipeline")
    ]
    assert hook_events(result) == [
        ("extract", "HOOK_SKIPPED"),
        ("transform", "HOOK_COMPLETED"),
    ]


def test_a_hook_on_one_op_of_the_job_and_a_job_decorated_with_a_hook():
    slack = FakeSlack()

    @job(resource_defs={"slack": ResourceDefinition.hardcoded_resource(slack)})
    def selective():
        extract.with_hooks({slack_message_on_success})()

    assert selective.execute_in_process().success
    assert slack.messages == [("#data", "Op extract finished successfully")]

    @slack_message_on_success
    @job(resource_defs={"slack": ResourceDefinition.hardcoded_resource(slack)})
    def decorated():
        extract()

    slack.messages.clear()
    result = decorated.execute_in_process()
    assert slack.messages == [("#data", "Op extract finished successfully")]
    assert [e.event_type for e in result.all_events].count(DagsterEventType.HOOK_COMPLETED) == 1


def test_hooks_on_a_graph_apply_to_its_ops():
    seen = []

    @success_hook
    def record_outputs(context: HookContext):
        seen.append((context.op.name, context.op_output_values))

    @op
    def double(rows):
        return [row * 2 for row in rows]

    @graph
    def prepare():
        return double(extract())

    @job
    def with_graph():
        prepare.with_hooks({record_outputs})()

    assert with_graph.execute_in_process().success
    assert seen == [("extract", {"result": [1, 2, 3]}), ("double", {"result": [2, 4, 6]})]


def test_a_hook_that_fails_does_not_fail_the_op():
    @success_hook
    def flaky_notification(context):
        raise ConnectionError("Slack is down")

    @job(hooks={flaky_notification})
    def still_succeeds():
        extract()

    result = still_succeeds.execute_in_process()
    assert result.success
    assert hook_events(result) == [("extract", "HOOK_ERRORED")]


@asset(hooks={slack_message_on_success})
def orders():
    return [{"id": 1}, {"id": 2}]


@asset
def order_count(orders):
    return len(orders)


def test_hooks_on_assets_and_on_asset_jobs():
    slack = FakeSlack()
    resources = {"slack": ResourceDefinition.hardcoded_resource(slack)}
    result = materialize([orders, order_count], resources=resources)
    assert result.success
    assert slack.messages == [("#data", "Op orders finished successfully")]

    defs = Definitions(
        assets=[orders, order_count],
        jobs=[
            define_asset_job(
                "orders_job",
                selection=AssetSelection.assets(order_count).upstream(),
                hooks={slack_message_on_failure},
            )
        ],
        resources=resources,
    )
    slack.messages.clear()
    result = defs.resolve_job_def("orders_job").execute_in_process()
    assert result.success
    assert slack.messages == [("#data", "Op orders finished successfully")]
    assert sorted(hook_events(result)) == [
        ("order_count", "HOOK_SKIPPED"),
        ("orders", "HOOK_COMPLETED"),
        ("orders", "HOOK_SKIPPED"),
    ]


def test_testing_a_hook_with_build_hook_context():
    slack = mock.MagicMock()
    context = build_hook_context(resources={"slack": slack}, op=extract)
    slack_message_on_success(context)
    slack.chat_postMessage.assert_called_once_with(
        channel="#data", text="Op extract finished successfully"
    )

    failing = build_hook_context(
        resources={"slack": slack}, op=transform, op_exception=ValueError("bad input")
    )
    slack_message_on_failure(failing)
    slack.chat_postMessage.assert_called_with(
        channel="#alerts", text="Op transform failed: bad input"
    )

    with pytest.raises(Exception, match="slack"):
        slack_message_on_success(build_hook_context())
