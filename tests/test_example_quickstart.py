"""The quickstart example runs end to end, as ``make run`` runs it."""

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_quickstart_runs_end_to_end(tmp_path):
    env = {**os.environ, "TRELLIS_HOME": str(tmp_path / "home")}
    proc = subprocess.run(
        [sys.executable, str(ROOT / "examples" / "quickstart" / "run.py")],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
    )
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    assert "job 'sales_job': SUCCESS" in out
    assert "job 'report_job': SUCCESS" in out
    assert "materialized revenue_by_region" in out
    # The report is computed from the CSV shipped with the example: shipped orders only.
    assert "total     234.47" in out
    written = json.loads(
        (ROOT / "examples" / "quickstart" / "output" / "revenue_by_region.json").read_text()
    )
    assert written == {"east": 96.48, "north": 40.5, "south": 40.99, "west": 56.5}
    # context.log lines reach the console, tagged with their step.
    assert "shipped_orders - kept 9 of 12 orders" in proc.stderr

    # Both runs persisted to the instance: the trellis command lists them.
    listed = subprocess.run(
        [sys.executable, "-m", "trellis", "run", "list"],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
    )
    assert listed.returncode == 0, listed.stderr
    assert "sales_job" in listed.stdout and "report_job" in listed.stdout
    assert listed.stdout.count("SUCCESS") == 2
