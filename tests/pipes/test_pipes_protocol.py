"""The Pipes protocol (``docs/pipes-protocol.md``), both ends in this process: what
``trellis_pipes`` writes, byte for byte where the format is fixed, and what the
orchestrating side makes of every message, including the ones it must refuse."""

from __future__ import annotations

import base64
import json
import logging
import zlib
from contextlib import contextmanager
from pathlib import Path

import pytest

import trellis_pipes
from trellis import (
    AssetExecutionContext,
    AssetKey,
    EventType,
    MaterializeResult,
    MetadataValue,
    PipesEnvContextInjector,
    PipesMessageReader,
    PipesTempFileContextInjector,
    PipesTempFileMessageReader,
    TableColumn,
    TableColumnDep,
    TableColumnLineage,
    TableRecord,
    TableSchema,
    asset,
    materialize,
    open_pipes_session,
)
from trellis_pipes import (
    DAGSTER_PIPES_CONTEXT_ENV_VAR,
    DAGSTER_PIPES_MESSAGES_ENV_VAR,
    DagsterPipesError,
    DagsterPipesWarning,
    PipesCliArgsParamsLoader,
    PipesContext,
    PipesMappingParamsLoader,
    decode_param,
    encode_param,
    open_dagster_pipes,
    to_asset_key_path,
    to_escaped_asset_key,
)


@pytest.fixture(autouse=True)
def no_open_pipes_context(monkeypatch):
    """``open_dagster_pipes`` keeps one context per process: each test starts without."""
    monkeypatch.setattr(PipesContext, "_instance", None)


CONTEXT = {
    "asset_keys": ["raw/orders"],
    "code_version_by_asset_key": {"raw/orders": "v2"},
    "provenance_by_asset_key": {"raw/orders": None},
    "partition_key": None,
    "partition_key_range": {"start": "a", "end": "c"},
    "partition_time_window": None,
    "run_id": "run-1",
    "job_name": "nightly",
    "retry_number": 1,
    "extras": {"region": "north"},
}


def params_loader(tmp_path: Path, context: dict = CONTEXT) -> PipesMappingParamsLoader:
    context_file = tmp_path / "context.json"
    context_file.write_text(json.dumps(context))
    return PipesMappingParamsLoader(
        {
            DAGSTER_PIPES_CONTEXT_ENV_VAR: encode_param({"path": str(context_file)}),
            DAGSTER_PIPES_MESSAGES_ENV_VAR: encode_param({"path": str(tmp_path / "messages")}),
        }
    )


def messages(tmp_path: Path) -> list[dict]:
    return [json.loads(line) for line in (tmp_path / "messages").read_text().splitlines()]


# -- the external side ---------------------------------------------------------------------
def test_parameters_are_json_compressed_with_zlib_in_base64():
    encoded = encode_param({"path": "/tmp/x"})
    assert json.loads(zlib.decompress(base64.b64decode(encoded))) == {"path": "/tmp/x"}
    assert decode_param(encoded) == {"path": "/tmp/x"}
    with pytest.raises(DagsterPipesError, match="JSON-serializable"):
        encode_param({"when": object()})


@pytest.mark.parametrize(
    ("parts", "escaped"),
    [(["orders"], "orders"), (["raw", "orders"], "raw/orders"), (["a/b", "c\\d"], "a\\/b/c\\\\d")],
)
def test_asset_keys_travel_as_escaped_strings(parts, escaped):
    assert to_escaped_asset_key(parts) == escaped
    assert to_asset_key_path(escaped) == parts


def test_a_process_reports_as_json_lines_with_the_protocol_version(tmp_path):
    with open_dagster_pipes(params_loader=params_loader(tmp_path)) as pipes:
        assert PipesContext.get() is pipes and open_dagster_pipes() is pipes
        assert pipes.is_asset_step and pipes.asset_key == "raw/orders"
        assert pipes.code_version == "v2" and pipes.provenance is None
        assert pipes.is_partition_step and dict(pipes.partition_key_range) == {
            "start": "a",
            "end": "c",
        }
        assert pipes.run_id == "run-1" and pipes.job_name == "nightly"
        assert pipes.retry_number == 1 and pipes.get_extra("region") == "north"
        pipes.log.warning("careful: %s", "x")
        pipes.report_asset_materialization(
            metadata={"rows": 3, "link": {"raw_value": "https://x", "type": "url"}},
            data_version="v9",
        )
        pipes.report_asset_check("positive", passed=True, severity="WARN")
        pipes.report_custom_message([1, 2])
    assert pipes.is_closed
    version = {"__dagster_pipes_version": "0.1"}
    assert messages(tmp_path) == [
        {**version, "method": "opened", "params": {"extras": {}}},
        {**version, "method": "log", "params": {"message": "careful: x", "level": "WARNING"}},
        {
            **version,
            "method": "report_asset_materialization",
            "params": {
                "asset_key": "raw/orders",
                "data_version": "v9",
                "metadata": {
                    "rows": {"raw_value": 3, "type": "__infer__"},
                    "link": {"raw_value": "https://x", "type": "url"},
                },
            },
        },
        {
            **version,
            "method": "report_asset_check",
            "params": {
                "asset_key": "raw/orders",
                "check_name": "positive",
                "passed": True,
                "severity": "WARN",
                "metadata": None,
            },
        },
        {**version, "method": "report_custom_message", "params": {"payload": [1, 2]}},
        {**version, "method": "closed", "params": {}},
    ]


def test_an_exception_that_ends_the_block_is_sent_with_closed(tmp_path):
    def fail():
        try:
            raise KeyError("order 7")
        except KeyError as exc:
            raise ValueError("bad row") from exc

    with pytest.raises(ValueError), open_dagster_pipes(params_loader=params_loader(tmp_path)):
        fail()
    closed = messages(tmp_path)[-1]
    assert closed["method"] == "closed"
    exception = closed["params"]["exception"]
    assert exception["name"] == "ValueError"
    assert exception["message"].strip() == "ValueError: bad row"
    assert any("fail" in frame for frame in exception["stack"])
    assert exception["cause"]["name"] == "KeyError"


def test_context_in_the_parameter_messages_on_a_stream_and_cli_arguments(capsys):
    context = {**CONTEXT, "asset_keys": None, "partition_key_range": None}
    loader = PipesCliArgsParamsLoader(
        [
            "--dagster-pipes-context",
            encode_param({"data": context}),
            "--dagster-pipes-messages=" + encode_param({"stdio": "stdout"}),
            "--other",
        ]
    )
    assert loader.is_dagster_pipes_process()
    with open_dagster_pipes(params_loader=loader) as pipes:
        assert not pipes.is_asset_step and not pipes.is_partition_step
        pipes.log.info("on stdout")
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [m["method"] for m in lines] == ["opened", "log", "closed"]
    assert not PipesCliArgsParamsLoader(["--nothing"]).is_dagster_pipes_process()


def test_what_does_not_apply_to_the_step_is_a_clear_error(tmp_path):
    op_context = {**CONTEXT, "asset_keys": None, "partition_key_range": None, "extras": {}}
    with open_dagster_pipes(params_loader=params_loader(tmp_path, op_context)) as pipes:
        with pytest.raises(DagsterPipesError, match="`asset_key` is undefined: this step is an op"):
            pipes.asset_key  # noqa: B018
        with pytest.raises(DagsterPipesError, match="`partition_key` is undefined: the run is not"):
            pipes.partition_key  # noqa: B018
        with pytest.raises(DagsterPipesError, match=r"Extra `day` is undefined; .* are \[\]"):
            pipes.get_extra("day")
        with pytest.raises(
            DagsterPipesError, match=r"needs asset_key=\.\.\.: this step materializes no"
        ):
            pipes.report_asset_materialization()
        with pytest.raises(DagsterPipesError, match="must be JSON-serializable"):
            pipes.report_custom_message({"x": object()})
    with pytest.raises(DagsterPipesError, match="Cannot send 'log': the Pipes context is closed"):
        pipes.log.info("too late")


def test_reports_the_protocol_does_not_allow_are_refused_in_the_process(tmp_path):
    several = {**CONTEXT, "asset_keys": ["a", "b"]}
    with open_dagster_pipes(params_loader=params_loader(tmp_path, several)) as pipes:
        with pytest.raises(DagsterPipesError, match="several assets"):
            pipes.asset_key  # noqa: B018
        with pytest.raises(DagsterPipesError, match=r"covers the partitions a\.\.\.c"):
            pipes.partition_key  # noqa: B018
        with pytest.raises(DagsterPipesError, match=r"needs asset_key=\.\.\.: .* several"):
            pipes.report_asset_materialization()
        with pytest.raises(DagsterPipesError, match="asset 'c' is not one of this step's assets"):
            pipes.report_asset_materialization(asset_key="c")
        pipes.report_asset_materialization(asset_key="a")
        with pytest.raises(DagsterPipesError, match="'a' was already reported"):
            pipes.report_asset_materialization(asset_key="a")
        with pytest.raises(DagsterPipesError, match=r"metadata 'x' .* has type 'graph'"):
            pipes.report_asset_materialization(
                asset_key="b", metadata={"x": {"raw_value": 1, "type": "graph"}}
            )
        with pytest.raises(DagsterPipesError, match=r"severity .* 'WARN' or 'ERROR'"):
            pipes.report_asset_check("c1", True, severity="INFO", asset_key="a")  # type: ignore[arg-type]


def test_a_process_no_orchestrator_launched_gets_a_mock(monkeypatch):
    monkeypatch.delenv(DAGSTER_PIPES_CONTEXT_ENV_VAR, raising=False)
    with pytest.warns(DagsterPipesWarning, match="not launched by an orchestrator"):
        pipes = open_dagster_pipes()
    pipes.report_asset_materialization(metadata={"rows": 1})  # does nothing
    assert PipesContext.get() is pipes


def test_trellis_pipes_imports_only_the_standard_library():
    source = Path(trellis_pipes.__file__).read_text()
    imported = {
        line.split()[1].split(".")[0]
        for line in source.splitlines()
        if line.startswith(("import ", "from ")) and not line.startswith("from __future__")
    }
    assert imported <= {
        "base64",
        "io",
        "json",
        "logging",
        "os",
        "sys",
        "threading",
        "traceback",
        "warnings",
        "zlib",
        "abc",
        "collections",
        "contextlib",
        "typing",
    }, imported


# -- both ends --------------------------------------------------------------------------------
def test_round_trip_through_a_session_in_this_process():
    """The step opens a session; a PipesContext made from the session's bootstrap
    variables (what the external process would see) reads the context and reports."""

    @asset(key_prefix="raw", code_version="7")
    def orders(context: AssetExecutionContext):
        with open_pipes_session(
            context=context,
            context_injector=PipesTempFileContextInjector(),
            message_reader=PipesTempFileMessageReader(),
            extras={"day": "monday"},
        ) as session:
            loader = PipesMappingParamsLoader(session.get_bootstrap_env_vars())
            with open_dagster_pipes(params_loader=loader) as pipes:
                assert pipes.asset_key == "raw/orders" and pipes.code_version == "7"
                assert pipes.run_id == context.run_id and pipes.get_extra("day") == "monday"
                pipes.log.error("from the other side")
                pipes.report_asset_materialization(metadata={"rows": 4}, data_version="d1")
        yield from session.get_results()

    result = materialize([orders])
    (mat,) = result.get_asset_materialization_events()
    assert mat.asset_key == AssetKey(["raw", "orders"])
    assert mat.metadata["rows"].value == 4
    assert mat.tags["dagster/data_version"] == "d1"
    lines = [
        (e.level, e.message) for e in result.event_log if e.event_type is EventType.LOG_MESSAGE
    ]
    assert (logging.ERROR, "from the other side") in lines


class LinesReader(PipesMessageReader):
    """A message reader that hands the session prepared lines when it closes (a custom
    reader, as users write them against the ``PipesMessageReader`` interface)."""

    def __init__(self, lines: list[str]) -> None:
        self.lines = lines

    @contextmanager
    def read_messages(self, handler):
        try:
            yield {"path": "/nowhere"}
        finally:
            for line in self.lines:
                handler.handle_line(line)

    def no_messages_debug_text(self) -> str:
        return "Prepared lines."


def line(method: str, params: dict | None = None, version: str = "0.1") -> str:
    return json.dumps({"__dagster_pipes_version": version, "method": method, "params": params})


def run_with_lines(lines: list[str]):
    @asset
    def orders(context: AssetExecutionContext):
        with open_pipes_session(
            context=context,
            context_injector=PipesEnvContextInjector(),
            message_reader=LinesReader(lines),
        ) as session:
            assert session.get_bootstrap_params()[DAGSTER_PIPES_CONTEXT_ENV_VAR]["data"][
                "asset_keys"
            ] == ["orders"]
        yield from session.get_results()

    return materialize([orders], raise_on_error=False)


def test_every_message_method_becomes_what_it_says(capfd):
    result = run_with_lines(
        [
            line("opened", {"extras": {}}),
            line("log", {"message": "custom level", "level": "NOTICE"}),
            line("log", {"message": "a debug line", "level": "DEBUG"}),
            line("log_external_stream", {"stream": "stdout", "text": "streamed text\n"}),
            line(
                "report_asset_materialization",
                {
                    "asset_key": "orders",
                    "data_version": None,
                    "metadata": {
                        "text": {"raw_value": "t", "type": "text"},
                        "path": {"raw_value": "/data/x", "type": "path"},
                        "md": {"raw_value": "# h", "type": "md"},
                        "json": {"raw_value": {"a": [1]}, "type": "json"},
                        "bool": {"raw_value": True, "type": "bool"},
                        "null": {"raw_value": None, "type": "null"},
                        "when": {"raw_value": 1700000000.5, "type": "timestamp"},
                        "schema": {
                            "raw_value": {"columns": [{"name": "id", "type": "int"}]},
                            "type": "table_schema",
                        },
                        "rows": {
                            "raw_value": {
                                "records": [{"id": 1}],
                                "schema": [{"name": "id", "type": "int"}],
                            },
                            "type": "table",
                        },
                        "lineage": {
                            "raw_value": {"id": [{"asset_key": "raw/ids", "column_name": "n"}]},
                            "type": "table_column_lineage",
                        },
                        "up": {"raw_value": "raw/ids", "type": "asset"},
                        "broken_schema": {"raw_value": {"cols": 1}, "type": "table_schema"},
                        "bad_int": {"raw_value": "seven", "type": "int"},
                        "plain": 5,
                    },
                },
            ),
            line("closed", {}),
        ]
    )
    assert result.success
    lines = [
        (e.level, e.message) for e in result.event_log if e.event_type is EventType.LOG_MESSAGE
    ]
    assert (logging.INFO, "custom level") in lines  # a level Python does not know: INFO
    assert (logging.DEBUG, "a debug line") in lines
    assert "streamed text" in capfd.readouterr().out
    (mat,) = result.get_asset_materialization_events()
    kinds = {name: (value.type_name, value.value) for name, value in mat.metadata.items()}
    assert kinds == {
        "text": ("text", "t"),
        "path": ("path", "/data/x"),
        "md": ("md", "# h"),
        "json": ("json", {"a": [1]}),
        "bool": ("bool", True),
        "null": ("null", None),
        "when": ("timestamp", 1700000000.5),
        "schema": ("table_schema", TableSchema([TableColumn("id", "int")])),
        "rows": (
            "table",
            MetadataValue.table(
                [TableRecord({"id": 1})], TableSchema([TableColumn("id", "int")])
            ).value,
        ),
        "lineage": (
            "table_column_lineage",
            TableColumnLineage({"id": [TableColumnDep(AssetKey(["raw", "ids"]), "n")]}),
        ),
        "up": ("asset", AssetKey(["raw", "ids"])),
        "broken_schema": ("json", {"cols": 1}),  # not a schema's shape: kept as sent
        "bad_int": ("text", "seven"),  # kept as what it is
        "plain": ("int", 5),
    }


def test_lines_that_are_not_messages_are_recorded_and_the_session_goes_on():
    result = run_with_lines(
        [
            line("opened", {"extras": {}}, version="2.0"),
            "this is not json",
            line("teleport", {}),
            json.dumps([1, 2]),
            line("report_asset_materialization", {"metadata": {}}),
            line("closed", {}),
        ]
    )
    assert result.success  # an implicit materialization: nothing valid was reported
    warnings = [
        e.message
        for e in result.all_events
        if e.event_type is EventType.ENGINE_EVENT and e.level == logging.WARNING
    ]
    assert len(warnings) == 5
    assert "speaks protocol version '2.0'; Trellis speaks 0.1" in warnings[0]
    assert "is not a message" in warnings[1] and "this is not json" in warnings[1]
    assert "unknown method 'teleport'" in warnings[2]
    assert "could not handle a None message" in warnings[3]
    assert "could not handle a 'report_asset_materialization' message" in warnings[4]
    assert "needs an 'asset_key' string" in warnings[4]


def test_the_orchestrator_refuses_reports_about_assets_outside_the_step():
    result = run_with_lines(
        [
            line("opened", {"extras": {}}),
            line("report_asset_materialization", {"asset_key": "orders", "metadata": None}),
            line("report_asset_materialization", {"asset_key": "orders", "metadata": None}),
            line("report_asset_materialization", {"asset_key": "raw\\/x", "metadata": None}),
            line("closed", {}),
        ]
    )
    assert not result.success
    (failure,) = result.get_step_failure_events()
    assert failure.data.error.cls_name == "PipesExecutionError"
    assert "reported asset 'orders' materialized twice" in failure.message
    assert (
        "reported a materialization of asset 'raw/x', which step 'orders' does not "
        "materialize (its assets: orders)" in failure.message
    )


def test_a_session_without_messages_warns_and_one_left_open_warns_too():
    silent = run_with_lines([])
    unclosed = run_with_lines([line("opened", {"extras": {}})])
    for result, expected in ((silent, "sent no message"), (unclosed, "did not close")):
        assert result.success
        warnings = [
            e.message
            for e in result.event_log
            if e.event_type is EventType.LOG_MESSAGE and e.level == logging.WARNING
        ]
        assert len(warnings) == 1 and expected in warnings[0]
    assert "LinesReader: Prepared lines." in next(
        e.message for e in silent.event_log if e.level == logging.WARNING
    )


def test_results_carry_the_invocations_metadata():
    from trellis import PipesClientCompletedInvocation

    @asset
    def orders(context: AssetExecutionContext) -> MaterializeResult:
        reader = LinesReader([line("opened", {"extras": {}}), line("closed", {})])
        with open_pipes_session(
            context=context, context_injector=PipesEnvContextInjector(), message_reader=reader
        ) as session:
            pass
        invocation = PipesClientCompletedInvocation(session, metadata={"job_id": "j-1"})
        return invocation.get_materialize_result()

    (mat,) = materialize([orders]).get_asset_materialization_events()
    assert mat.metadata["job_id"].value == "j-1"
