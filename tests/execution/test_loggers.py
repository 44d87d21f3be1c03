"""A run's own loggers: which ones a run uses, their config, what they receive, and how
they combine with the console."""

from __future__ import annotations

import io
import json
import logging

import pytest

from trellis import (
    Definitions,
    EventType,
    Field,
    InitLoggerContext,
    InvalidConfigError,
    InvalidDefinitionError,
    LoggerDefinition,
    asset,
    build_init_logger_context,
    colored_console_logger,
    default_loggers,
    default_system_loggers,
    define_asset_job,
    get_dagster_logger,
    job,
    json_console_logger,
    logger,
    op,
)


class Capture(logging.Handler):
    """Keeps every record it is handed."""

    def __init__(self) -> None:
        super().__init__()
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


captures: dict[str, Capture] = {}
inits: list[InitLoggerContext] = []


@logger(
    {"log_level": Field(str, is_required=False, default_value="INFO"), "prefix": str},
    description="Keeps records in memory.",
)
def memory_logger(init_context: InitLoggerContext) -> logging.Logger:
    inits.append(init_context)
    built = logging.Logger("memory", init_context.logger_config["log_level"])
    capture = captures[init_context.logger_config["prefix"]] = Capture()
    built.addHandler(capture)
    return built


@logger
def plain_logger(init_context):
    built = logging.Logger("plain", logging.DEBUG)
    built.addHandler(captures.setdefault("plain", Capture()))
    return built


@pytest.fixture(autouse=True)
def _clear():
    captures.clear()
    inits.clear()


@op
def chatty(context) -> int:
    context.log.debug("a detail")
    context.log.info("working")
    get_dagster_logger().warning("from a library")
    return 3


@job(logger_defs={"memory": memory_logger, "plain": plain_logger})
def logged():
    chatty()


def _messages(capture: Capture) -> list[tuple[str, str]]:
    return [(r.levelname, r.dagster_meta["orig_message"]) for r in capture.records]


def test_the_loggers_the_run_config_names_are_built_once_and_receive_the_runs_events():
    config = {"loggers": {"memory": {"config": {"prefix": "m", "log_level": "INFO"}}}}
    result = logged.execute_in_process(run_config=config)
    assert result.success
    assert list(captures) == ["m"]  # plain_logger was not named: not built
    (init,) = inits
    assert init.logger_config == {"prefix": "m", "log_level": "INFO"}
    assert init.logger_def is memory_logger and init.job_def.name == "logged"
    assert init.run_id == result.run_id
    received = _messages(captures["m"])
    assert ("INFO", "working") in received and ("WARNING", "from a library") in received
    assert ("DEBUG", "a detail") not in received  # below the logger's own level
    assert received[0] == ("INFO", "Started execution of run for 'logged'.")
    assert received[-1] == ("INFO", "Finished execution of run for 'logged'.")

    record = next(r for r in captures["m"].records if r.dagster_meta["orig_message"] == "working")
    assert record.getMessage() == f"logged - {result.run_id} - chatty - working"
    meta = record.dagster_meta
    assert meta["step_key"] == "chatty" and meta["op_name"] == "chatty"
    assert meta["run_id"] == result.run_id and meta["job_name"] == "logged"
    assert meta["dagster_event"] is None and record.dagster_event is None
    start = next(r for r in captures["m"].records if "RUN_START" in r.getMessage())
    assert start.dagster_event.event_type is EventType.RUN_START
    assert start.getMessage().startswith(f"logged - {result.run_id} - {start.process} - RUN_START")


def test_every_level_reaches_a_debug_logger_and_failures_carry_their_error():
    @op
    def fails():
        raise ValueError("no")

    @job(logger_defs={"plain": plain_logger})
    def failing():
        fails()

    failing.execute_in_process(run_config={"loggers": {"plain": {}}}, raise_on_error=False)
    records = captures["plain"].records
    assert any(r.levelno == logging.DEBUG for r in records)
    failure = next(r for r in records if "STEP_FAILURE" in r.getMessage())
    assert failure.levelno == logging.ERROR and "ValueError: no" in failure.getMessage()


def test_the_console_writes_unless_the_run_config_names_only_other_loggers(capfd, monkeypatch):
    monkeypatch.delenv("TRELLIS_LOG_LEVEL", raising=False)
    logged.execute_in_process()  # no loggers named: the console, nothing else
    assert "RUN_START" in capfd.readouterr().err and not captures

    logged.execute_in_process(run_config={"loggers": {"plain": {}}})
    assert capfd.readouterr().err == "" and "plain" in captures

    @job(logger_defs={"console": colored_console_logger, "plain": plain_logger})
    def both():
        chatty()

    config = {"loggers": {"plain": {}, "console": {"config": {"log_level": "WARNING"}}}}
    both.execute_in_process(run_config=config)
    err = capfd.readouterr().err
    assert "from a library" in err and "working" not in err  # the console at WARNING


def test_trellis_log_level_sets_the_console_unless_run_config_does(capfd, monkeypatch):
    monkeypatch.setenv("TRELLIS_LOG_LEVEL", "DEBUG")
    logged.execute_in_process()
    assert "a detail" in capfd.readouterr().err
    logged.execute_in_process(run_config={"loggers": {}})
    assert "a detail" in capfd.readouterr().err

    @op
    def plain_op():
        return 1

    @job
    def default_job():
        plain_op()

    default_job.execute_in_process(run_config={"loggers": {"console": {"config": {}}}})
    assert "STEP_START" in capfd.readouterr().err  # the variable still applies
    quiet = {"loggers": {"console": {"config": {"log_level": "ERROR"}}}}
    default_job.execute_in_process(run_config=quiet)
    assert capfd.readouterr().err == ""


def test_logger_config_is_validated_with_the_run_config():
    with pytest.raises(InvalidConfigError, match="prefix"):
        logged.execute_in_process(run_config={"loggers": {"memory": {"config": {}}}})
    with pytest.raises(InvalidConfigError, match="console"):
        logged.execute_in_process(run_config={"loggers": {"console": {}}})
    with pytest.raises(InvalidConfigError, match="log_level"):

        @job
        def plain():
            chatty()

        plain.execute_in_process(run_config={"loggers": {"console": {"config": {"level": 1}}}})


def test_definitions_loggers_apply_to_jobs_without_their_own():
    @asset
    def numbers() -> int:
        return 1

    @job
    def op_job():
        chatty()

    @job(logger_defs={"memory": memory_logger})
    def own_loggers():
        chatty()

    defs = Definitions(
        assets=[numbers],
        jobs=[op_job, own_loggers, define_asset_job("asset_job")],
        loggers={"plain": plain_logger},
    )
    for name in ("op_job", "asset_job", "__ASSET_JOB"):
        job_def = defs.get_job_def(name)
        assert job_def.loggers == {"plain": plain_logger}, name
        assert job_def.has_specified_loggers
    assert defs.get_job_def("own_loggers").loggers == {"memory": memory_logger}
    assert op_job.loggers == default_loggers() and not op_job.has_specified_loggers

    defs.get_job_def("asset_job").execute_in_process(run_config={"loggers": {"plain": {}}})
    assert ("DEBUG", "Started execution of step 'numbers'.") in _messages(captures["plain"])
    with pytest.raises(InvalidDefinitionError, match="logger 'bad' must be a logger definition"):
        Definitions(loggers={"bad": print})


def test_a_logger_that_cannot_be_built_fails_the_run_with_its_error():
    @logger
    def broken(init_context):
        raise OSError("no log server")

    @logger
    def not_a_logger(init_context):
        return "a string"

    @job(logger_defs={"broken": broken, "wrong": not_a_logger})
    def doomed():
        chatty()

    result = doomed.execute_in_process(run_config={"loggers": {"broken": {}}}, raise_on_error=False)
    assert not result.success
    assert not [e for e in result.all_events if e.event_type is EventType.STEP_START]
    engine = next(e for e in result.all_events if e.event_type is EventType.ENGINE_EVENT)
    assert "Error while building logger 'broken': OSError: no log server" in engine.message
    with pytest.raises(OSError, match="no log server"):
        doomed.execute_in_process(run_config={"loggers": {"broken": {}}})
    result = doomed.execute_in_process(run_config={"loggers": {"wrong": {}}}, raise_on_error=False)
    assert "returns a logging.Logger" in result.all_events[-1].message


def test_a_logger_that_logs_through_the_run_does_not_loop():
    @logger
    def loops(init_context):
        return get_dagster_logger("loop")  # hands records back to the run's context.log

    @job(logger_defs={"loops": loops})
    def looping():
        chatty()

    result = looping.execute_in_process(run_config={"loggers": {"loops": {}}})
    assert result.success
    lines = [e.message for e in result.event_log if e.event_type is EventType.LOG_MESSAGE]
    assert lines.count("working") == 1


def test_loggers_are_built_directly_with_build_init_logger_context():
    built = memory_logger(build_init_logger_context(logger_config={"prefix": "t"}))
    assert isinstance(built, logging.Logger) and built.level == logging.INFO
    assert "t" in captures
    with pytest.raises(InvalidConfigError, match="prefix"):
        memory_logger(build_init_logger_context(logger_config={}))
    assert memory_logger.description == "Keeps records in memory."
    assert isinstance(memory_logger, LoggerDefinition)
    assert plain_logger.config_schema is None
    fixed = memory_logger.configured({"prefix": "fixed"})
    assert fixed.config_schema is None
    fixed(build_init_logger_context())
    assert "fixed" in captures


def test_the_built_in_loggers(capsys):
    console = colored_console_logger(build_init_logger_context())
    assert console.level == logging.INFO and console.name == "dagster"
    ((definition, config),) = default_system_loggers(None)
    assert definition is colored_console_logger and config["name"] == "dagster"

    stream = io.StringIO()
    as_json = json_console_logger(build_init_logger_context({"log_level": "DEBUG", "name": "j"}))
    as_json.handlers[0].setStream(stream)
    as_json.debug("hello %s", "json")
    line = json.loads(stream.getvalue())
    assert line["msg"] == "hello %s" and line["levelname"] == "DEBUG" and line["name"] == "j"

    @job(logger_defs={"json": json_console_logger})
    def in_json():
        chatty()

    # the logger is built by the run: point the record stream at a buffer via a handler
    records: list[dict] = []

    class Keep(logging.Handler):
        def emit(self, record):
            records.append(json.loads(self.format(record)))

    @logger({"log_level": Field(str, default_value="INFO")})
    def json_into_list(init_context):
        built = json_console_logger(
            build_init_logger_context({"log_level": init_context.logger_config["log_level"]})
        )
        keep = Keep()
        keep.setFormatter(built.handlers[0].formatter)
        built.handlers = [keep]
        return built

    in_json.with_logger_defs({"json": json_into_list}).execute_in_process(
        run_config={"loggers": {"json": {"config": {"log_level": "DEBUG"}}}}
    )
    working = next(r for r in records if r["dagster_meta"]["orig_message"] == "working")
    assert working["levelname"] == "INFO" and working["dagster_meta"]["step_key"] == "chatty"
    start = next(r for r in records if "STEP_START" in r["msg"])
    assert start["dagster_meta"]["dagster_event"]["event_type"] == "STEP_START"
