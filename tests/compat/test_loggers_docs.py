"""Custom loggers the way Dagster's documentation writes them: a JSON logger with its own
config, attached to a job (``logger_defs``) or to every job of a code location
(``Definitions(loggers=...)``), switched on in run config, fed by ``context.log`` and by
library code through ``get_dagster_logger``, and built directly in a test. Only the
imports would change (``dagster`` → ``trellis``)."""

import json
import logging

import pytest

from trellis import (
    DagsterInvalidConfigError,
    Definitions,
    Field,
    InitLoggerContext,
    OpExecutionContext,
    asset,
    build_init_logger_context,
    define_asset_job,
    get_dagster_logger,
    job,
    logger,
    op,
)

RECEIVED = []


class ListHandler(logging.Handler):
    """Keeps each formatted record (a real project would send it somewhere)."""

    def emit(self, record):
        RECEIVED.append(self.format(record))


class JsonFormatter(logging.Formatter):
    def format(self, record):
        meta = getattr(record, "dagster_meta", {})
        return json.dumps(
            {
                "level": record.levelname,
                "step": meta.get("step_key"),
                "message": meta.get("orig_message", record.getMessage()),
            }
        )


@logger(
    {
        "log_level": Field(str, is_required=False, default_value="INFO"),
        "name": Field(str, is_required=False, default_value="json_logger"),
    },
    description="A JSON logger that keeps records in memory.",
)
def json_logger(init_context: InitLoggerContext):
    level = init_context.logger_config["log_level"]
    name = init_context.logger_config["name"]
    logger_ = logging.Logger(name, level=level)
    handler = ListHandler()
    handler.setFormatter(JsonFormatter())
    logger_.addHandler(handler)
    return logger_


def clean(rows):
    """Library code: it has no context, it asks for Dagster's logger."""
    get_dagster_logger().info("cleaning %d rows", len(rows))
    return [row for row in rows if row is not None]


@op
def load_rows(context: OpExecutionContext):
    context.log.info("loading rows")
    return clean([1, None, 2])


@job(logger_defs={"json_logger": json_logger})
def logged_job():
    load_rows()


@pytest.fixture(autouse=True)
def _received():
    RECEIVED.clear()


def messages_of(step):
    rows = [json.loads(line) for line in RECEIVED]
    return [(row["level"], row["message"]) for row in rows if row["step"] == step]


def test_a_custom_logger_switched_on_in_run_config():
    result = logged_job.execute_in_process(
        run_config={"loggers": {"json_logger": {"config": {"log_level": "INFO"}}}}
    )
    assert result.success
    assert messages_of("load_rows") == [
        ("INFO", "loading rows"),
        ("INFO", "cleaning 3 rows"),
    ]


def test_a_logger_not_named_in_run_config_is_not_used():
    assert logged_job.execute_in_process().success
    assert RECEIVED == []


def test_logger_config_is_checked_with_the_run_config():
    with pytest.raises(DagsterInvalidConfigError):
        logged_job.execute_in_process(
            run_config={"loggers": {"json_logger": {"config": {"log_level": 10}}}}
        )
    with pytest.raises(DagsterInvalidConfigError):
        logged_job.execute_in_process(run_config={"loggers": {"not_a_logger": {}}})


@asset
def cleaned_rows():
    return clean([None, 4])


def test_loggers_for_every_job_of_a_code_location():
    defs = Definitions(
        assets=[cleaned_rows],
        jobs=[define_asset_job("rows_job")],
        loggers={"json_logger": json_logger},
    )
    rows_job = defs.resolve_job_def("rows_job")
    result = rows_job.execute_in_process(
        run_config={"loggers": {"json_logger": {"config": {"log_level": "DEBUG"}}}}
    )
    assert result.success
    assert ("INFO", "cleaning 2 rows") in messages_of("cleaned_rows")
    assert any(level == "DEBUG" for level, _ in messages_of("cleaned_rows"))


def test_testing_a_logger_with_build_init_logger_context():
    built = json_logger(build_init_logger_context(logger_config={"log_level": "DEBUG"}))
    assert isinstance(built, logging.Logger)
    assert built.level == logging.DEBUG and built.name == "json_logger"
    built.debug("direct")
    assert json.loads(RECEIVED[-1]) == {"level": "DEBUG", "step": None, "message": "direct"}
