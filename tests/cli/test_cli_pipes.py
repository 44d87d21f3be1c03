"""A run whose assets ran external scripts with Pipes, as ``trellis run show``, ``run
trace`` and ``run logs`` show it."""

from __future__ import annotations

from cli_fixture_paths import FIXTURES

PIPES = str(FIXTURES / "pipes_defs.py")


def test_run_show_trace_and_logs_of_a_pipes_run(invoke, instance):
    executed = invoke("asset", "materialize", "-f", PIPES, "--select", "*")
    assert executed.exit_code == 1, executed.output
    (run,) = instance.get_runs()

    show = invoke("run", "show", run.run_id[:8])
    assert show.exit_code == 0, show.output
    out = " ".join(show.stdout.split())
    assert "orders │ SUCCESS" in out and "broken │ FAILURE" in out
    assert "rows=3" in out  # the materialization's metadata, as the process reported it
    assert "External process failed with exit code 1" in out
    assert "ValueError: bad row 17: amount is not a number" in out
    assert "crash.py" in out  # the external traceback

    trace = invoke("run", "trace", run.run_id[:8], "--step", "orders")
    assert trace.exit_code == 0, trace.output
    text = trace.stdout
    started = text.index("[pipes] started external process")
    warning = text.index("log WARNING: 1 row had a negative amount")
    exited = text.index("exited with code 0")
    assert started < warning < exited < text.index("ASSET_MATERIALIZATION orders")

    failed = invoke("run", "trace", run.run_id[:8], "--step", "broken")
    assert "[pipes] external process closed Pipes with an exception" in failed.stdout

    logs = invoke("run", "logs", run.run_id[:8])
    assert "computing orders in process" in logs.stdout
