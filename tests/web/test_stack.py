"""The web stack stays out of ``import trellis``; the shipped pages load nothing from
outside; the live stream pushes runs and their events; ``trellis dev`` binds to this
machine unless told otherwise, and warns when it is."""

from __future__ import annotations

import re
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from ui_helpers import wait_for_run

from trellis import materialize

STATIC = Path(__file__).resolve().parents[2] / "src" / "trellis" / "web" / "static"
# The SVG namespace is a name, not a resource: the one URL-shaped string allowed.
SVG_NAMESPACE = "http://www.w3.org/2000/svg"
EXTERNAL = re.compile(
    r"(?:https?:)?//[\w.-]+\.[a-z]{2,}|@import|url\(\s*['\"]?(?:https?:)?//", re.I
)


def test_import_trellis_does_not_import_the_web_stack():
    code = (
        "import sys, trellis; trellis.asset; trellis.Definitions; "
        "import trellis.cli.main; "
        "print(sorted(m for m in sys.modules if m.split('.')[0] in "
        "('starlette', 'uvicorn', 'anyio', 'h11') or m.startswith('trellis.web')))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_static_files_reference_no_external_url():
    files = [p for p in STATIC.rglob("*") if p.is_file()]
    assert {p.suffix for p in files} >= {".html", ".css", ".js"}
    found = []
    for path in files:
        text = path.read_text(encoding="utf-8").replace(SVG_NAMESPACE, "")
        found += [f"{path.name}: {m.group(0)}" for m in EXTERNAL.finditer(text)]
    assert not found, found


def test_pages_never_parse_values_as_html():
    offenders = []
    for path in STATIC.rglob("*.js"):
        text = path.read_text(encoding="utf-8")
        for sink in ("innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval("):
            if sink in text:
                offenders.append(f"{path.name} uses {sink}")
    assert not offenders, offenders


def test_hub_pushes_new_runs_and_their_events(ui):
    _client, state = ui
    hub = state.hub
    hub.stop()  # drive it by hand
    messages = []
    hub.publish = messages.append
    defs = state.workspace.definitions
    result = materialize([defs.get_assets_def("numbers")], instance=state.instance)
    hub.poll_once()
    runs = [m for m in messages if m["type"] == "run"]
    assert [m["run"]["run_id"] for m in runs] == [result.run_id]
    assert runs[0]["run"]["status"] == "SUCCESS"
    events = [e for m in messages if m["type"] == "events" for e in m["events"]]
    assert events[0]["type"] == "RUN_START" and events[-1]["type"] == "RUN_SUCCESS"
    messages.clear()
    hub.poll_once()
    assert messages == []  # nothing changed, nothing sent


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _start_dev(defs_file: Path, *args: str) -> tuple[subprocess.Popen[str], int]:
    port = _free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "trellis", "dev", "-f", str(defs_file), "--port", str(port), *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    return process, port


def _get(url: str, timeout: float = 15.0) -> bytes:
    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                return response.read()
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)


def test_dev_serves_on_localhost_by_default(defs_file):
    process, port = _start_dev(defs_file)
    try:
        body = _get(f"http://127.0.0.1:{port}/api/workspace")
        assert b'"numbers_job"' in body
        assert b"<main" in _get(f"http://127.0.0.1:{port}/")
    finally:
        process.terminate()
        out, err = process.communicate(timeout=10)
    assert f"http://127.0.0.1:{port}/" in out
    assert "no authentication" not in err


def test_dev_warns_when_listening_elsewhere(defs_file):
    process, port = _start_dev(defs_file, "--host", "0.0.0.0")
    try:
        _get(f"http://127.0.0.1:{port}/api/workspace")
    finally:
        process.terminate()
        _out, err = process.communicate(timeout=10)
    assert "listening on 0.0.0.0" in err and "no authentication" in err


def test_dev_reloads_definitions_when_the_file_changes(defs_file):
    process, port = _start_dev(defs_file)
    try:
        _get(f"http://127.0.0.1:{port}/api/workspace")
        added = (
            "\n@asset\ndef extra() -> int:\n    return 1\n\n"
            "defs = Definitions(assets=[numbers, scaled, total, broken, slow, extra])\n"
        )
        defs_file.write_text(defs_file.read_text() + added)
        deadline = time.monotonic() + 20
        while b'"asset_count":6' not in _get(f"http://127.0.0.1:{port}/api/workspace"):
            assert time.monotonic() < deadline, "the definitions were not reloaded"
            time.sleep(0.1)
    finally:
        process.terminate()
        process.communicate(timeout=10)


def test_launch_children_leave_their_output_in_the_instance_folder(ui):
    client, state = ui
    response = client.post("/api/launch", json={"job": "numbers_job"})
    run_id = response.json()["run_id"]
    wait_for_run(state.instance, run_id)
    state.launcher.wait_all()
    log = Path(state.instance.root_directory) / "ui_launches" / f"{run_id}.log"
    assert "SUCCESS" in log.read_text()


def test_children_load_the_code_the_way_the_server_did(tmp_path):
    from trellis.cli.code_target import CodeTarget
    from trellis.web.launcher import code_arguments

    file = tmp_path / "defs.py"
    assert code_arguments(CodeTarget(file=file, attribute="defs")) == [
        "-f",
        str(file.resolve()),
        "-a",
        "defs",
    ]
    assert code_arguments(CodeTarget(module="my_project.defs")) == ["-m", "my_project.defs"]
    # Read from pyproject.toml: the child, in the same folder, reads it again.
    from_pyproject = CodeTarget(module="my_project", source="pyproject.toml [tool.trellis]")
    assert code_arguments(from_pyproject) == []


DEV_SENSOR_SOURCE = """
from trellis import DefaultSensorStatus, Definitions, RunRequest, asset, define_asset_job, sensor


@asset
def pinged() -> int:
    return 1


ping_job = define_asset_job("ping_job", selection=["pinged"])


@sensor(job=ping_job, minimum_interval_seconds=1, default_status=DefaultSensorStatus.RUNNING)
def ping_sensor(context):
    yield RunRequest(run_key="once")


defs = Definitions(assets=[pinged], jobs=[ping_job], sensors=[ping_sensor])
"""


def test_dev_runs_the_daemon_so_sensors_fire(defs_file):
    from trellis.instance.instance import Instance

    defs_file.write_text(DEV_SENSOR_SOURCE)
    process, port = _start_dev(defs_file)
    instance = Instance.get()
    try:
        _get(f"http://127.0.0.1:{port}/api/workspace")
        deadline = time.monotonic() + 30
        runs: list = []
        while not any(r.is_finished for r in runs):
            assert time.monotonic() < deadline, "the sensor's run did not finish"
            time.sleep(0.1)
            runs = instance.get_runs()
        assert [r.job_name for r in runs] == ["ping_job"]
        assert runs[0].status.value == "SUCCESS"
        assert runs[0].tags["trellis/sensor_name"] == "ping_sensor"
    finally:
        process.terminate()
        process.communicate(timeout=10)
        instance.dispose()


def test_dev_without_daemon_leaves_sensors_alone(defs_file):
    from trellis.instance.instance import Instance

    defs_file.write_text(DEV_SENSOR_SOURCE)
    process, port = _start_dev(defs_file, "--no-daemon")
    instance = Instance.get()
    try:
        _get(f"http://127.0.0.1:{port}/api/workspace")
        time.sleep(2.5)
        assert instance.get_runs() == []
    finally:
        process.terminate()
        process.communicate(timeout=10)
        instance.dispose()


def _children(pid: int) -> list[str]:
    found: list[str] = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        found += (task / "children").read_text().split()
    return found


def test_dev_is_one_process_with_the_daemon_in_it(defs_file):
    """The daemon's loops run, yet no spare worker or other child waits beside the UI."""
    from trellis.instance.instance import Instance

    process, port = _start_dev(defs_file)
    instance = Instance.get()
    try:
        _get(f"http://127.0.0.1:{port}/api/workspace")
        deadline = time.monotonic() + 15
        while {b.daemon_type for b in instance.get_daemon_heartbeats()} < {"run_queue"}:
            assert time.monotonic() < deadline, "the daemon's loops did not run"
            time.sleep(0.1)
        time.sleep(0.5)
        assert _children(process.pid) == []
    finally:
        process.terminate()
        process.communicate(timeout=10)
        instance.dispose()
