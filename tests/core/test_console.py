"""Console logging: one readable line per event (time, level, run, step, message),
coloured only on a terminal, with the traceback of failures."""

import io
import logging

from trellis import Failure, job, op
from trellis.core.event_payloads import StepFailureData
from trellis.core.events import ErrorInfo, Event, EventType
from trellis.views.console import ConsoleLogger, parse_level


def _event(**kw):
    defaults = dict(step_key="load", message="hello", level=logging.INFO)
    defaults.update(kw)
    return Event(EventType.LOG_MESSAGE, "0123456789abcdef", "my_job", **defaults)


def test_line_shows_level_step_and_message_without_colour_off_a_terminal():
    stream = io.StringIO()
    logger = ConsoleLogger(logging.INFO, stream=stream)
    logger.write(_event())
    line = stream.getvalue()
    assert "INFO" in line and "01234567 load - hello" in line
    assert "\033[" not in line


def test_colour_on_a_terminal_and_engine_event_names():
    logger = ConsoleLogger(logging.DEBUG, stream=io.StringIO(), color=True)
    event = Event(
        EventType.STEP_FAILURE,
        "r" * 8,
        "j",
        step_key="s",
        message="boom",
        level=logging.ERROR,
        data=StepFailureData(ErrorInfo.from_exception(ValueError("x"))),
    )
    line = logger.format(event)
    assert line.startswith("\033[31m") and line.endswith("\033[0m")
    assert "STEP_FAILURE boom" in line and "ValueError: x" in line


def test_parse_level_accepts_names_numbers_and_rejects_garbage():
    assert parse_level("debug") == logging.DEBUG
    assert parse_level(30) == logging.WARNING
    assert parse_level(None, logging.ERROR) == logging.ERROR
    try:
        parse_level("loud")
    except ValueError as exc:
        assert "loud" in str(exc)
    else:
        raise AssertionError("expected ValueError")


def test_run_config_log_level_controls_what_reaches_the_console(capsys):
    @op
    def chatty(context):
        context.log.debug("debug detail")
        context.log.info("info line")

    @job
    def talk():
        chatty()

    talk.execute_in_process()
    err = capsys.readouterr().err
    assert "chatty - info line" in err and "debug detail" not in err
    talk.execute_in_process(run_config={"loggers": {"console": {"config": {"log_level": "DEBUG"}}}})
    err = capsys.readouterr().err
    assert "chatty - debug detail" in err and "STEP_START" in err


def test_failure_is_printed_with_the_user_traceback(capsys):
    @op
    def broken():
        raise Failure("disk full", metadata={"free": 0})

    @job
    def fails():
        broken()

    result = fails.execute_in_process(raise_on_error=False)
    assert not result.success
    err = capsys.readouterr().err
    assert "STEP_FAILURE Step 'broken' failed: disk full" in err
    assert "Failure: disk full" in err
