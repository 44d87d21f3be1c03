"""The event stream of a run and how failures, skips and retries show in it: the exact
event order for ops and assets, ``context.log`` lines, step failures with the user's
traceback, downstream skips, ``raise_on_error``, ``RetryPolicy``, ``RetryRequested`` and
``Failure``."""

import logging

import pytest

from trellis import (
    Backoff,
    EventType,
    Failure,
    FilesystemIOManager,
    RetryPolicy,
    RetryRequested,
    asset,
    job,
    materialize,
    op,
    resource,
)

E = EventType


def _types(events):
    return [e.event_type for e in events]


def _step_types(result, step_key):
    return [e.event_type for e in result.all_events if e.step_key == step_key]


# -- event order ------------------------------------------------------------------------------


def test_two_op_job_emits_events_in_order():
    @op
    def first() -> int:
        return 1

    @op
    def second(x: int) -> int:
        return x + 1

    @job
    def chain():
        second(first())

    result = chain.execute_in_process()
    assert _types(result.all_events) == [
        E.RUN_START,
        E.RESOURCE_INIT_STARTED,
        E.RESOURCE_INIT_SUCCESS,
        E.STEP_START,
        E.STEP_OUTPUT,
        E.HANDLED_OUTPUT,
        E.STEP_SUCCESS,
        E.STEP_START,
        E.LOADED_INPUT,
        E.STEP_OUTPUT,
        E.HANDLED_OUTPUT,
        E.STEP_SUCCESS,
        E.RESOURCE_TEARDOWN,
        E.RUN_SUCCESS,
    ]
    steps = [e.step_key for e in result.all_events]
    assert steps == [None, None, None] + ["first"] * 4 + ["second"] * 5 + [None, None]
    loaded = next(e for e in result.all_events if e.event_type is E.LOADED_INPUT)
    assert loaded.data.input_name == "x"
    assert loaded.data.upstream_step_key == "first"
    assert loaded.data.upstream_output_name == "result"
    assert loaded.data.manager_key == "io_manager"
    init_started = result.all_events[1]
    assert "io_manager" in init_started.message
    assert all(e.run_id == result.run_id for e in result.all_events)


def test_two_asset_materialize_emits_events_in_order(tmp_path):
    @asset
    def upstream_asset() -> int:
        return 1

    @asset
    def downstream_asset(upstream_asset: int) -> int:
        return upstream_asset + 1

    result = materialize(
        [upstream_asset, downstream_asset],
        resources={"io_manager": FilesystemIOManager(base_dir=str(tmp_path))},
    )
    assert _types(result.all_events) == [
        E.RUN_START,
        E.RESOURCE_INIT_STARTED,
        E.RESOURCE_INIT_SUCCESS,
        E.STEP_START,
        E.STEP_OUTPUT,
        E.ASSET_MATERIALIZATION,
        E.HANDLED_OUTPUT,
        E.STEP_SUCCESS,
        E.STEP_START,
        E.LOADED_INPUT,
        E.STEP_OUTPUT,
        E.ASSET_MATERIALIZATION,
        E.HANDLED_OUTPUT,
        E.STEP_SUCCESS,
        E.RESOURCE_TEARDOWN,
        E.RUN_SUCCESS,
    ]
    (mat,) = result.asset_materializations_for_node("downstream_asset")
    assert mat.asset_key.to_user_string() == "downstream_asset"
    assert result.asset_value("downstream_asset") == 2


def test_log_messages_are_in_the_event_log_with_their_step_but_not_in_all_events():
    @op
    def chatty(context):
        context.log.info("processing %d rows", 3)
        context.log.warning("careful")
        return 1

    @op
    def quiet(x):
        return x

    @job
    def logging_job():
        quiet(chatty())

    result = logging_job.execute_in_process()
    logs = [e for e in result.event_log if e.event_type is E.LOG_MESSAGE]
    assert [(e.step_key, e.message, e.level) for e in logs] == [
        ("chatty", "processing 3 rows", logging.INFO),
        ("chatty", "careful", logging.WARNING),
    ]
    assert E.LOG_MESSAGE not in _types(result.all_events)
    # log lines sit between the step's start and its success
    log_types = _types(e for e in result.event_log if e.step_key == "chatty")
    assert log_types[0] is E.STEP_START
    assert log_types[1:3] == [E.LOG_MESSAGE, E.LOG_MESSAGE]
    assert log_types[-1] is E.STEP_SUCCESS
    assert len(result.event_log) == len(result.all_events) + 2


# -- failures ---------------------------------------------------------------------------------


def _bad_transform(rows):
    raise ValueError(f"cannot parse {rows}")


@op
def source() -> int:
    return 1


@op
def parse(x: int) -> int:
    return _bad_transform(x)


@op
def report(x: int) -> int:
    return x


@op
def independent() -> str:
    return "fine"


@job
def parsing():
    report(parse(source()))
    independent()


def test_user_exception_fails_the_step_with_the_user_traceback():
    result = parsing.execute_in_process(raise_on_error=False)
    assert not result.success
    (failure,) = result.get_step_failure_events()
    assert failure.step_key == "parse"
    assert "parse" in failure.message
    assert "ValueError: cannot parse 1" in failure.message
    text = failure.error.to_string()
    assert "ValueError: cannot parse 1" in text
    assert "_bad_transform" in text  # the user's own frames are in the traceback
    assert failure.data.error_source == "USER_CODE_ERROR"


def test_downstream_of_a_failure_is_skipped_naming_the_failed_upstream():
    result = parsing.execute_in_process(raise_on_error=False)
    (skipped,) = result.get_step_skipped_events()
    assert skipped.step_key == "report"
    assert "'parse'" in skipped.message
    assert "failed" in skipped.message
    assert _step_types(result, "report") == [E.STEP_SKIPPED]
    # steps that do not depend on the failure still run
    assert result.output_for_node("independent") == "fine"
    assert result.is_node_success("source")


def test_run_failure_lists_the_failed_step_keys():
    @op
    def bad_a():
        raise RuntimeError("a")

    @op
    def bad_b():
        raise RuntimeError("b")

    @op
    def good():
        return 1

    @job
    def failing():
        bad_a()
        good()
        bad_b()

    result = failing.execute_in_process(raise_on_error=False)
    last = result.all_events[-1]
    assert last.event_type is E.RUN_FAILURE
    assert "['bad_a', 'bad_b']" in last.message
    assert [e.step_key for e in result.get_step_failure_events()] == ["bad_a", "bad_b"]


def test_raise_on_error_reraises_the_original_exception_after_teardown():
    log = []

    @resource
    def connection():
        log.append("open")
        yield "conn"
        log.append("close")

    @op(required_resource_keys={"connection"})
    def explode(context):
        log.append("explode")
        raise ValueError("original message")

    @job(resource_defs={"connection": connection})
    def exploding():
        explode()

    with pytest.raises(ValueError, match="original message") as info:
        exploding.execute_in_process()
    assert type(info.value) is ValueError
    assert log == ["open", "explode", "close"]


def test_raise_on_error_false_records_the_failure_and_tears_down():
    log = []

    @resource
    def connection():
        yield "conn"
        log.append("close")

    @op(required_resource_keys={"connection"})
    def explode(context):
        raise ValueError("x")

    @job(resource_defs={"connection": connection})
    def exploding():
        explode()

    result = exploding.execute_in_process(raise_on_error=False)
    assert result.success is False
    assert log == ["close"]
    assert result.all_events[-1].event_type is E.RUN_FAILURE


def test_failure_in_an_io_manager_reraises_the_user_exception():
    class BrokenIO:
        def handle_output(self, context, obj):
            raise OSError("disk full")

        def load_input(self, context):
            raise AssertionError("not reached")

    @op
    def produce():
        return 1

    @job(resource_defs={"io_manager": BrokenIO()})
    def storing():
        produce()

    with pytest.raises(OSError, match="disk full"):
        storing.execute_in_process()
    result = storing.execute_in_process(raise_on_error=False)
    (failure,) = result.get_step_failure_events()
    assert "output 'result' of step 'produce'" in failure.error.to_string()
    assert "disk full" in failure.message


# -- retries ----------------------------------------------------------------------------------


def test_retry_policy_retries_a_flaky_op_until_it_succeeds():
    attempts = []

    @op(retry_policy=RetryPolicy(max_retries=2))
    def flaky(context) -> int:
        attempts.append(context.retry_number)
        if context.retry_number < 2:
            raise ConnectionError("try again")
        return 7

    @op
    def after(x: int) -> int:
        return x + 1

    @job
    def retrying():
        after(flaky())

    result = retrying.execute_in_process()
    assert result.success
    assert attempts == [0, 1, 2]
    assert _step_types(result, "flaky") == [
        E.STEP_START,
        E.STEP_UP_FOR_RETRY,
        E.STEP_RESTARTED,
        E.STEP_UP_FOR_RETRY,
        E.STEP_RESTARTED,
        E.STEP_OUTPUT,
        E.HANDLED_OUTPUT,
        E.STEP_SUCCESS,
    ]
    retry_events = [e for e in result.all_events if e.event_type is E.STEP_UP_FOR_RETRY]
    assert [e.data.retry_number for e in retry_events] == [0, 1]
    assert "ConnectionError: try again" in retry_events[0].message
    assert result.output_for_node("after") == 8


def test_exhausted_retries_fail_the_step():
    attempts = []

    @op(retry_policy=RetryPolicy(max_retries=1))
    def always_fails(context):
        attempts.append(context.retry_number)
        raise ConnectionError("down")

    @job
    def failing():
        always_fails()

    result = failing.execute_in_process(raise_on_error=False)
    assert attempts == [0, 1]
    assert _step_types(result, "always_fails") == [
        E.STEP_START,
        E.STEP_UP_FOR_RETRY,
        E.STEP_RESTARTED,
        E.STEP_FAILURE,
    ]
    with pytest.raises(ConnectionError, match="down"):
        failing.execute_in_process()


def test_retry_policy_from_the_job_and_from_the_invocation():
    attempts = {"job": 0, "node": 0}

    @op
    def job_level():
        attempts["job"] += 1
        if attempts["job"] < 2:
            raise RuntimeError("once")

    @op
    def node_level():
        attempts["node"] += 1
        if attempts["node"] < 3:
            raise RuntimeError("twice")

    @job(op_retry_policy=RetryPolicy(max_retries=1))
    def policies():
        job_level()
        node_level.with_retry_policy(RetryPolicy(max_retries=2))()

    result = policies.execute_in_process()
    assert result.success
    assert attempts == {"job": 2, "node": 3}


def test_retry_requested_reruns_the_step_up_to_its_max_retries():
    attempts = []

    @op
    def asks_for_retry(context):
        attempts.append(context.retry_number)
        raise RetryRequested(max_retries=2)

    @job
    def asking():
        asks_for_retry()

    result = asking.execute_in_process(raise_on_error=False)
    assert attempts == [0, 1, 2]
    assert _step_types(result, "asks_for_retry") == [
        E.STEP_START,
        E.STEP_UP_FOR_RETRY,
        E.STEP_RESTARTED,
        E.STEP_UP_FOR_RETRY,
        E.STEP_RESTARTED,
        E.STEP_FAILURE,
    ]


def test_retry_requested_can_succeed_on_a_later_attempt():
    @op
    def eventually(context) -> int:
        if context.retry_number == 0:
            raise RetryRequested(max_retries=1, seconds_to_wait=0.001)
        return context.retry_number

    @job
    def eventual():
        eventually()

    result = eventual.execute_in_process()
    assert result.success
    assert result.output_for_node("eventually") == 1
    (up,) = [e for e in result.all_events if e.event_type is E.STEP_UP_FOR_RETRY]
    assert up.data.seconds_to_wait == 0.001


def test_failure_without_retries_is_not_retried_and_carries_metadata():
    attempts = []

    @op(retry_policy=RetryPolicy(max_retries=3))
    def validate():
        attempts.append(1)
        raise Failure(
            description="3 rows failed validation",
            metadata={"bad_rows": 3, "table": "orders"},
            allow_retries=False,
        )

    @job
    def validating():
        validate()

    result = validating.execute_in_process(raise_on_error=False)
    assert attempts == [1]
    assert _step_types(result, "validate") == [E.STEP_START, E.STEP_FAILURE]
    (failure,) = result.get_step_failure_events()
    assert "3 rows failed validation" in failure.message
    assert failure.metadata["bad_rows"].value == 3
    assert failure.metadata["table"].value == "orders"

    with pytest.raises(Failure) as info:
        validating.execute_in_process()
    assert info.value.description == "3 rows failed validation"


def test_failure_with_retries_allowed_follows_the_retry_policy():
    attempts = []

    @op(retry_policy=RetryPolicy(max_retries=2))
    def soft_fail():
        attempts.append(1)
        raise Failure("transient", allow_retries=True)

    @job
    def soft():
        soft_fail()

    result = soft.execute_in_process(raise_on_error=False)
    assert len(attempts) == 3
    assert _step_types(result, "soft_fail")[-1] is E.STEP_FAILURE


def test_retry_policy_delay_is_reported_and_grows_with_backoff():
    @op(retry_policy=RetryPolicy(max_retries=2, delay=0.001, backoff=Backoff.LINEAR))
    def slow_flaky(context) -> int:
        if context.retry_number < 2:
            raise RuntimeError("not yet")
        return 1

    @job
    def delayed():
        slow_flaky()

    result = delayed.execute_in_process()
    assert result.success
    waits = [
        e.data.seconds_to_wait for e in result.all_events if e.event_type is E.STEP_UP_FOR_RETRY
    ]
    assert waits == pytest.approx([0.001, 0.002])
    assert "will be retried in" in next(
        e.message for e in result.all_events if e.event_type is E.STEP_UP_FOR_RETRY
    )


def test_retry_of_an_upstream_step_delays_but_does_not_skip_downstream():
    order = []

    @op(retry_policy=RetryPolicy(max_retries=1, delay=0.001))
    def upstream(context) -> int:
        order.append(("upstream", context.retry_number))
        if context.retry_number == 0:
            raise RuntimeError("blip")
        return 5

    @op
    def downstream(x: int) -> int:
        order.append(("downstream", x))
        return x

    @job
    def waiting():
        downstream(upstream())

    result = waiting.execute_in_process()
    assert result.success
    assert order == [("upstream", 0), ("upstream", 1), ("downstream", 5)]
    assert result.get_step_skipped_events() == []
