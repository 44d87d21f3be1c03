"""The quickstart example runs end to end, as ``make run`` runs it (with its runs and its
output in a temporary directory)."""

import json
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _snapshot(directory: Path) -> dict[str, int]:
    """The files under ``directory`` (if any) and their modification times."""
    return {str(p): p.stat().st_mtime_ns for p in directory.rglob("*") if p.is_file()}


def test_quickstart_runs_end_to_end(tmp_path):
    # Runs, outputs and the JSON summary all go under tmp_path, never into the checkout.
    home, output = tmp_path / "home", tmp_path / "output"
    env = {**os.environ, "TRELLIS_HOME": str(home), "QUICKSTART_OUTPUT_DIR": str(output)}
    untouched = [ROOT / "examples" / "quickstart" / "output", ROOT / ".trellis"]
    before = [_snapshot(d) for d in untouched]
    proc = subprocess.run(
        [sys.executable, str(ROOT / "examples" / "quickstart" / "run.py")],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
        cwd=tmp_path,
    )
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    assert "job 'sales_job': SUCCESS" in out
    assert "job 'report_job': SUCCESS" in out
    assert "materialized revenue_by_region" in out
    # The report is computed from the CSV shipped with the example: shipped orders only.
    assert "total     234.47" in out
    written = json.loads((output / "revenue_by_region.json").read_text())
    assert written == {"east": 96.48, "north": 40.5, "south": 40.99, "west": 56.5}
    assert f"Both runs are stored in {home}" in out
    # It ends with a command that works as printed (no `trellis` on PATH needed).
    suggested = re.search(r"try `(.+) run list`", out)
    assert suggested is not None, out
    command = shlex.split(suggested.group(1))
    assert command[0] != "trellis"
    if not os.path.isabs(command[0]):
        command[0] = str(tmp_path / command[0])
    shown = subprocess.run(
        [*command, "run", "list"], capture_output=True, text=True, timeout=120, env=env
    )
    assert shown.returncode == 0, shown.stderr
    assert "sales_job" in shown.stdout
    assert [_snapshot(d) for d in untouched] == before  # the default places stay as they were
    _check_ui_command(out, tmp_path, env)
    # context.log lines reach the console, tagged with their step.
    assert "shipped_orders - kept 9 of 12 orders" in proc.stderr

    # Both runs persisted to the instance: the trellis command lists them.
    listed = subprocess.run(
        [sys.executable, "-m", "trellis", "run", "list"],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
        cwd=tmp_path,
    )
    assert listed.returncode == 0, listed.stderr
    assert "sales_job" in listed.stdout and "report_job" in listed.stdout
    assert listed.stdout.count("SUCCESS") == 2


def _check_ui_command(out: str, cwd, env) -> None:
    """The closing line names the one command that opens the web UI; it serves the
    example's jobs as printed (here on a free port instead of 3000)."""
    import socket
    import time
    import urllib.request

    found = re.search(r"Open the web UI .* with `(.+)`, then http://127.0.0.1:3000/", out)
    assert found is not None, out
    command = shlex.split(found.group(1))
    assert command[1] == "dev" and command[2] == "-f"
    if not os.path.isabs(command[0]):
        command[0] = str(cwd / command[0])
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    server = subprocess.Popen(
        [*command, "--port", str(port)],
        cwd=cwd,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/workspace") as r:
                    body = r.read().decode()
                break
            except OSError:
                assert time.monotonic() < deadline, "trellis dev did not start"
                time.sleep(0.05)
        assert '"sales_job"' in body and '"error":null' in body
    finally:
        server.terminate()
        server.wait(timeout=10)
