"""``PipesSubprocessClient`` and ``open_pipes_session`` with real subprocesses: the scripts in
``external/`` import ``trellis_pipes`` (and nothing of Trellis) and report back; what they
send becomes events and results of the step that launched them. The executor suite runs
the same on every executor; this file covers what one executor is enough for."""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
import sys

import pytest
from pipes_helpers import EXTERNAL, SRC, logs, script

from trellis import (
    AssetCheckExecutionContext,
    AssetCheckResult,
    AssetCheckSeverity,
    AssetCheckSpec,
    AssetExecutionContext,
    AssetKey,
    AssetOut,
    AssetSpec,
    DailyPartitionsDefinition,
    EventType,
    MaterializeResult,
    OpExecutionContext,
    PipesExecutionError,
    PipesSubprocessClient,
    PipesTempFileContextInjector,
    PipesTempFileMessageReader,
    RetryPolicy,
    asset,
    asset_check,
    build_asset_context,
    job,
    materialize,
    multi_asset,
    op,
    open_pipes_session,
)


def engine_messages(result, step_key: str) -> list[str]:
    return [
        e.message
        for e in result.all_events
        if e.event_type is EventType.ENGINE_EVENT and e.step_key == step_key
    ]


def test_an_asset_materializes_through_an_external_script(capfd):
    @asset(code_version="v3")
    def orders(context: AssetExecutionContext, pipes: PipesSubprocessClient) -> MaterializeResult:
        invocation = pipes.run(
            command=script("materialize.py"), context=context, extras={"rows": 12}
        )
        assert invocation.get_custom_messages() == [{"rows": 12}]
        return invocation.get_materialize_result()

    result = materialize([orders], resources={"pipes": PipesSubprocessClient()})
    assert result.success
    (mat,) = result.get_asset_materialization_events()
    assert mat.asset_key == AssetKey("orders")
    metadata = mat.metadata
    assert metadata["rows"].value == 12 and metadata["rows"].type_name == "int"
    assert metadata["dashboard"].type_name == "url"
    assert metadata["ratio"].type_name == "float"
    assert mat.tags["dagster/data_version"] == "rows-12"
    assert mat.tags["dagster/code_version"] == "v3"
    context = metadata["context"].value
    assert context["run_id"] == result.run_id
    assert context["job_name"] == "__ephemeral_asset_job__"
    assert context["code_version_by_asset_key"] == {"orders": "v3"}
    assert context["is_partition_step"] is False and context["retry_number"] == 0
    lines = logs(result, "orders")
    pid = metadata["external_pid"].value
    assert lines == [
        (logging.INFO, "[pipes] external process opened its Pipes connection."),
        (logging.DEBUG, "debug detail"),
        (logging.INFO, f"computing orders in process {pid}"),
        (logging.WARNING, "1 row had a negative amount"),
    ]
    started, exited = engine_messages(result, "orders")
    assert started.startswith(f"[pipes] started external process (pid {pid}): ")
    assert exited.startswith(f"[pipes] external process (pid {pid}) exited with code 0")
    assert "a line on stdout" in capfd.readouterr().out  # its stdout is let through


def test_a_multi_asset_reports_each_asset_and_its_check_result():
    @multi_asset(
        outs={"first": AssetOut(), "second": AssetOut()},
        check_specs=[AssetCheckSpec("no_negative_amounts", asset="first")],
    )
    def pair(context: AssetExecutionContext, pipes: PipesSubprocessClient):
        invocation = pipes.run(command=script("several.py"), context=context)
        with pytest.raises(PipesExecutionError, match="several assets"):
            invocation.get_materialize_result()
        check = invocation.get_asset_check_result()
        assert isinstance(check, AssetCheckResult) and check.passed is False
        yield from invocation.get_results()

    result = materialize([pair], resources={"pipes": PipesSubprocessClient()})
    assert result.success  # the failed check is not blocking
    by_key = {e.asset_key.to_user_string(): e for e in result.get_asset_materialization_events()}
    assert set(by_key) == {"first", "second"}
    assert by_key["first"].metadata["part"].value == 1
    assert by_key["second"].metadata == {}
    (evaluation,) = result.get_asset_check_evaluations()
    assert evaluation.asset_key == AssetKey("first")
    assert evaluation.check_name == "no_negative_amounts" and evaluation.passed is False
    assert evaluation.severity is AssetCheckSeverity.ERROR
    assert evaluation.metadata["bad"].value == 1


def test_a_check_the_step_does_not_evaluate_fails_the_step_naming_it():
    @multi_asset(outs={"first": AssetOut(), "second": AssetOut()})
    def pair(context: AssetExecutionContext, pipes: PipesSubprocessClient):
        yield from pipes.run(command=script("several.py"), context=context).get_results()

    result = materialize([pair], resources={"pipes": PipesSubprocessClient()}, raise_on_error=False)
    assert not result.success
    (failure,) = [e for e in result.all_events if e.event_type is EventType.STEP_FAILURE]
    assert "asset check 'first:no_negative_amounts'" in failure.message
    assert "(it evaluates no check)" in failure.message


def test_an_asset_check_runs_an_external_script_and_returns_its_result():
    @asset
    def orders() -> int:
        return 3

    @asset_check(asset=orders, blocking=True)
    def orders_checked(context: AssetCheckExecutionContext, pipes: PipesSubprocessClient):
        return pipes.run(
            command=script("check.py"), context=context.op_execution_context
        ).get_asset_check_result()

    result = materialize([orders, orders_checked], resources={"pipes": PipesSubprocessClient()})
    assert result.success
    (evaluation,) = result.get_asset_check_evaluations()
    assert evaluation.check_name == "orders_checked" and evaluation.passed is True
    assert evaluation.severity is AssetCheckSeverity.WARN
    assert evaluation.metadata["checked_by_pid"].type_name == "int"


def test_implicit_materializations_cover_assets_the_process_did_not_report():
    @multi_asset(specs=[AssetSpec("a"), AssetSpec("b")])
    def both(context: AssetExecutionContext, pipes: PipesSubprocessClient):
        invocation = pipes.run(
            command=[
                sys.executable,
                "-c",
                "from trellis_pipes import open_dagster_pipes\n"
                "with open_dagster_pipes() as p: p.report_asset_materialization("
                "asset_key='a', metadata={'n': 1})",
            ],
            context=context,
        )
        assert [r.asset_key for r in invocation.get_results(implicit_materializations=False)] == [
            AssetKey("a")
        ]
        return invocation.get_results()

    result = materialize([both], resources={"pipes": PipesSubprocessClient()})
    assert result.success
    keys = sorted(e.asset_key.to_user_string() for e in result.get_asset_materialization_events())
    assert keys == ["a", "b"]


def test_an_op_can_run_an_external_script_too():
    @op
    def notify(context: OpExecutionContext, pipes: PipesSubprocessClient) -> dict:
        (facts,) = pipes.run(command=script("op_logs.py"), context=context).get_custom_messages()
        return facts

    @job(resource_defs={"pipes": PipesSubprocessClient()})
    def notifications():
        notify()

    result = notifications.execute_in_process()
    facts = result.output_for_node("notify")
    assert facts["is_asset_step"] is False
    assert "this step materializes no asset" in facts["refused"]
    assert (logging.INFO, "running for job notifications") in logs(result, "notify")


def test_env_cwd_and_partitions_reach_the_process(tmp_path):
    daily = DailyPartitionsDefinition(start_date="2024-01-01")

    @asset(partitions_def=daily)
    def sales(context: AssetExecutionContext, pipes: PipesSubprocessClient) -> MaterializeResult:
        (facts,) = pipes.run(
            command=script("environment.py"), context=context, env={"ORDERS_REGION": "north"}
        ).get_custom_messages()
        context.add_output_metadata({"facts": facts})
        return MaterializeResult()

    client = PipesSubprocessClient(env={"FROM_CLIENT": "yes"}, cwd=str(tmp_path))
    result = materialize([sales], resources={"pipes": client}, partition_key="2024-01-05")
    (mat,) = result.get_asset_materialization_events()
    facts = mat.metadata["facts"].value
    assert facts["cwd"] == str(tmp_path)
    assert facts["region"] == "north" and facts["client_variable"] == "yes"
    assert facts["partition_key"] == "2024-01-05"
    assert facts["partition_key_range"] == {"start": "2024-01-05", "end": "2024-01-05"}
    window = facts["partition_time_window"]
    assert window["start"].startswith("2024-01-05T00:00:00")
    assert window["end"].startswith("2024-01-06T00:00:00")


def test_a_crashing_process_fails_the_step_and_a_retry_policy_retries_it():
    @asset(retry_policy=RetryPolicy(max_retries=1))
    def fragile(context: AssetExecutionContext, pipes: PipesSubprocessClient) -> MaterializeResult:
        return pipes.run(
            command=script("exit_code.py", "3"), context=context
        ).get_materialize_result()

    result = materialize(
        [fragile], resources={"pipes": PipesSubprocessClient()}, raise_on_error=False
    )
    assert not result.success
    kinds = [e.event_type for e in result.all_events if e.step_key == "fragile"]
    assert kinds.count(EventType.STEP_UP_FOR_RETRY) == 1
    (failure,) = result.get_step_failure_events()
    assert "External process failed with exit code 3" in failure.message
    assert "no such table: orders" in failure.message
    assert failure.data.metadata["exit_code"].value == 3
    assert failure.data.metadata["stderr_tail"].value == (
        "loading the configuration\nno such table: orders"
    )
    # it never opened Pipes: said once per attempt
    warnings = [m for level, m in logs(result, "fragile") if level == logging.WARNING]
    assert len(warnings) == 2 and all("sent no message" in w for w in warnings)


def test_a_process_killed_by_a_signal_and_one_that_cannot_start():
    @asset
    def killed(context: AssetExecutionContext, pipes: PipesSubprocessClient) -> MaterializeResult:
        command = [sys.executable, "-c", "import os, signal; os.kill(os.getpid(), signal.SIGKILL)"]
        return pipes.run(command=command, context=context).get_materialize_result()

    @asset
    def missing(context: AssetExecutionContext, pipes: PipesSubprocessClient) -> MaterializeResult:
        return pipes.run(command=["/no/such/program"], context=context).get_materialize_result()

    result = materialize(
        [killed, missing], resources={"pipes": PipesSubprocessClient()}, raise_on_error=False
    )
    failures = {e.step_key: e for e in result.get_step_failure_events()}
    assert "External process was killed by SIGKILL" in failures["killed"].message
    assert failures["killed"].data.metadata["exit_code"].value == -9
    assert "Could not start the external process /no/such/program" in failures["missing"].message


def test_reporting_an_asset_outside_the_step_is_refused_by_the_process_itself():
    @asset
    def mine(context: AssetExecutionContext, pipes: PipesSubprocessClient) -> MaterializeResult:
        return pipes.run(command=script("wrong_asset.py"), context=context).get_materialize_result()

    result = materialize([mine], resources={"pipes": PipesSubprocessClient()}, raise_on_error=False)
    (failure,) = result.get_step_failure_events()
    # trellis_pipes refuses in the process itself, which exits with the reason (the
    # orchestrating side refuses too: test_pipes_protocol.py)
    assert "exit code 1" in failure.message
    assert "asset 'somebody_elses_asset' is not one of this step's assets ['mine']" in (
        failure.message
    )


def test_the_external_side_needs_only_the_standard_library_and_trellis_pipes(tmp_path):
    """A plain interpreter: isolated (-I: no PYTHON* variables, no user site), without the
    site module (-S: no site-packages, so no installed Trellis), and only a copy of the
    trellis_pipes directory on its path."""
    site = tmp_path / "site"
    shutil.copytree(SRC / "trellis_pipes", site / "trellis_pipes")
    bare = [sys.executable, "-I", "-S", "-c", "import trellis"]
    assert subprocess.run(bare, capture_output=True).returncode != 0  # no Trellis there
    bootstrap = (
        f"import sys, runpy; sys.path.insert(0, {str(site)!r}); "
        f"runpy.run_path({str(EXTERNAL / 'isolated.py')!r}, run_name='__main__')"
    )

    @asset
    def plain(context: AssetExecutionContext, pipes: PipesSubprocessClient) -> MaterializeResult:
        command = [sys.executable, "-I", "-S", "-c", bootstrap]
        return pipes.run(command=command, context=context).get_materialize_result()

    result = materialize([plain], resources={"pipes": PipesSubprocessClient()})
    (mat,) = result.get_asset_materialization_events()
    facts = {name: value.value for name, value in mat.metadata.items()}
    assert facts == {
        "trellis_importable": False,
        "site_loaded": False,
        "isolated": True,
        "pipes_module": str(site / "trellis_pipes" / "__init__.py"),
    }


def test_open_pipes_session_for_code_that_starts_the_process_itself():
    @asset
    def report(context: AssetExecutionContext):
        with open_pipes_session(
            context=context,
            context_injector=PipesTempFileContextInjector(),
            message_reader=PipesTempFileMessageReader(),
            extras={"rows": 5},
        ) as session:
            env = {**os.environ, **session.get_bootstrap_env_vars()}
            subprocess.run(script("materialize.py"), env=env, check=True, capture_output=True)
        yield from session.get_results()

    result = materialize([report])
    (mat,) = result.get_asset_materialization_events()
    assert mat.metadata["rows"].value == 5
    assert (logging.WARNING, "1 row had a negative amount") in logs(result, "report")


def test_without_forwarded_stdio_the_stderr_tail_is_still_kept(capfd):
    @asset
    def quiet(context: AssetExecutionContext, pipes: PipesSubprocessClient) -> MaterializeResult:
        return pipes.run(command=script("crash.py"), context=context).get_materialize_result()

    client = PipesSubprocessClient(forward_stdio=False)
    result = materialize([quiet], resources={"pipes": client}, raise_on_error=False)
    (failure,) = result.get_step_failure_events()
    assert "noise line 29" in failure.data.metadata["stderr_tail"].value
    assert "It closed Pipes with: ValueError: bad row 17" in failure.message
    # the failure message shows the tail; nothing else of its stderr came through
    assert "noise line 0" not in capfd.readouterr().err


def test_bad_arguments_are_clear_errors():
    with pytest.raises(Exception, match=r"env=\.\.\.\) must map names to strings; 'N' is int"):
        PipesSubprocessClient(env={"N": 1})

    @asset
    def odd(context: AssetExecutionContext, pipes: PipesSubprocessClient) -> MaterializeResult:
        return pipes.run(
            command=script("materialize.py"), context=context, extras={"when": object()}
        ).get_materialize_result()

    result = materialize([odd], resources={"pipes": PipesSubprocessClient()}, raise_on_error=False)
    (failure,) = result.get_step_failure_events()
    assert "Pipes extras travel as JSON to the external process and these cannot" in (
        failure.message
    )


def test_an_asset_with_a_pipes_client_can_be_called_with_a_test_context():
    @asset
    def orders(context: AssetExecutionContext, pipes: PipesSubprocessClient) -> MaterializeResult:
        return pipes.run(
            command=script("materialize.py"), context=context, extras={"rows": 2}
        ).get_materialize_result()

    context = build_asset_context()
    outcome = orders(context, PipesSubprocessClient())
    assert isinstance(outcome, MaterializeResult)
    assert outcome.asset_key == AssetKey("orders")
    assert outcome.metadata["rows"].value == 2
    assert outcome.metadata["context"].value["job_name"] is None  # no job in a direct call
