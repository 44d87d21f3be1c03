"""The installed ``trellis`` console script and ``python -m trellis``, as a user runs them,
on the quickstart example project."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from cli_fixture_paths import QUICKSTART, REPO

SCRIPT = shutil.which("trellis", path=str(Path(sys.executable).parent))


def _env(home: Path) -> dict[str, str]:
    """The environment of a command: ``home`` as ``$TRELLIS_HOME``, and the quickstart's
    JSON output next to it."""
    env = {
        **os.environ,
        "TRELLIS_HOME": str(home),
        "QUICKSTART_OUTPUT_DIR": str(home.parent / "quickstart-output"),
    }
    env.pop("COLUMNS", None)
    return env


def _run(command: list[str], home: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        command, env=_env(home), cwd=REPO, capture_output=True, text=True, timeout=120
    )


@pytest.mark.skipif(SCRIPT is None, reason="the trellis console script is not installed")
def test_console_script_runs_and_inspects_the_example(tmp_path):
    home = tmp_path / "home"
    trellis = [str(SCRIPT)]
    executed = _run([*trellis, "job", "execute", "-f", QUICKSTART, "-j", "sales_job"], home)
    assert executed.returncode == 0, executed.stderr
    assert "revenue_by_region" in executed.stdout and "SUCCESS" in executed.stdout
    assert "kept 9 of 12 orders" in executed.stderr  # the run's log lines

    listed = _run([*trellis, "run", "list"], home)
    assert listed.returncode == 0, listed.stderr
    row = next(line for line in listed.stdout.splitlines() if "sales_job" in line)
    run_id = row.split()[1]
    assert "SUCCESS" in row

    shown = _run([*trellis, "run", "show", run_id[:8]], home)
    assert shown.returncode == 0, shown.stderr
    for step in ("raw_orders", "shipped_orders", "revenue_by_region"):
        assert step in shown.stdout
    assert "rows=12" in shown.stdout  # materialization metadata

    logs = _run([*trellis, "run", "logs", run_id], home)
    assert logs.returncode == 0, logs.stderr
    assert "RUN_START" in logs.stdout and "STEP_SUCCESS" in logs.stdout
    assert "RUN_SUCCESS" in logs.stdout


def test_python_dash_m_trellis(tmp_path):
    home = tmp_path / "home"
    python_m = [sys.executable, "-m", "trellis"]
    # report_job reads the summary that sales_job writes
    summary = _run([*python_m, "job", "execute", "-f", QUICKSTART, "-j", "sales_job"], home)
    assert summary.returncode == 0, summary.stderr
    executed = _run([*python_m, "job", "execute", "-f", QUICKSTART, "-j", "report_job"], home)
    assert executed.returncode == 0, executed.stderr
    listed = _run([*python_m, "run", "list", "--job", "report_job"], home)
    assert "report_job" in listed.stdout and "1 run" in listed.stdout
    unknown = _run([*python_m, "job", "execute", "-f", QUICKSTART, "-j", "sales"], home)
    assert unknown.returncode == 2
    assert "Did you mean 'sales_job'?" in unknown.stderr
    usage = _run([*python_m, "job", "execute", "--no-such-option"], home)
    assert usage.returncode == 2
    helped = _run([*python_m, "--help"], home)
    assert helped.returncode == 0 and "Exit codes" in helped.stdout


def test_failed_run_exit_code_in_a_real_process(tmp_path):
    home = tmp_path / "home"
    flaky = str(Path(__file__).resolve().parent / "fixtures" / "flaky_defs.py")
    env = {**_env(home), "TRELLIS_CLI_TEST_FAIL": "1"}
    proc = subprocess.run(
        [sys.executable, "-m", "trellis", "asset", "materialize", "-f", flaky, "--select", "*"],
        env=env,
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 1, proc.stderr
    assert "doubled was told to fail" in proc.stdout
