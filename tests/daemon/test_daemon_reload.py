"""``trellis daemon --reload``: a real daemon process over a code location whose file
this test rewrites on disk. The new definitions are picked up between ticks without a
restart, and runs launched after the reload run the new code (the forked launcher's
zygote is started again from it); a file that stops loading keeps the last good
definitions, and the error is reported."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from daemon_helpers import wait_until

from trellis.core.run import RunStatus
from trellis.instance.instance import Instance

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")

DEFS = """
    import os
    from pathlib import Path

    from trellis import (DefaultSensorStatus, Definitions, RunRequest, asset,
                         define_asset_job, sensor)

    VERSION = "{version}"

    @asset
    def versioned() -> None:
        Path(os.environ["RELOAD_TEST_OUT"], VERSION).write_text(str(os.getpid()))

    job = define_asset_job("write_version", selection=[versioned])

    @sensor(job=job, minimum_interval_seconds=1, default_status=DefaultSensorStatus.RUNNING)
    def {sensor_name}(context):
        return RunRequest(run_key=VERSION)

    defs = Definitions(assets=[versioned], jobs=[job], sensors=[{sensor_name}])
"""


def _write(path: Path, version: str, sensor_name: str = "each_version") -> None:
    text = textwrap.dedent(DEFS).format(version=version, sensor_name=sensor_name)
    path.write_text(text)
    stamp = time.time() + 1  # a new modification time even within the clock's resolution
    os.utime(path, (stamp, stamp))


@pytest.mark.parametrize("launcher", ["fork", "subprocess"])
def test_the_daemon_picks_up_code_changes_without_restarting(tmp_path, monkeypatch, launcher):
    home = tmp_path / "home"
    out = tmp_path / "out"
    out.mkdir()
    monkeypatch.setenv("TRELLIS_HOME", str(home))
    monkeypatch.setenv("RELOAD_TEST_OUT", str(out))
    defs = tmp_path / "reloaded_defs.py"
    _write(defs, "v1")
    daemon = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "trellis",
            "daemon",
            "-f",
            str(defs),
            "--reload",
            "--launcher",
            launcher,
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        wait_until((out / "v1").exists, "the v1 run")
        _write(defs, "v2")
        wait_until((out / "v2").exists, "a run of the reloaded code (v2)")

        (defs).write_text("this is not python (\n")
        stamp = time.time() + 2
        os.utime(defs, (stamp, stamp))
        with Instance.get() as instance:
            # The sensor goes on ticking with the last good definitions.
            ticks_before = len(instance.get_ticks("each_version", limit=1000))
            wait_until(
                lambda: len(instance.get_ticks("each_version", limit=1000)) >= ticks_before + 3,
                "ticks with the last good definitions",
            )
        # Fixed, with a new sensor name: the new definitions replace the old ones.
        _write(defs, "v3", sensor_name="renamed")
        wait_until((out / "v3").exists, "a run of the fixed code (v3)")
        with Instance.get() as instance:
            assert instance.get_ticks("renamed", limit=10)

            # The v3 body has run; its run records SUCCESS just after.
            def succeeded():
                found = instance.get_runs(statuses=[RunStatus.SUCCESS])
                return found if len(found) >= 3 else None

            runs = wait_until(succeeded, "the three runs to succeed")
    finally:
        daemon.send_signal(signal.SIGTERM)
        output, _ = daemon.communicate(timeout=60)
    assert daemon.returncode == 0, output
    assert len(runs) == 3
    assert sorted(p.name for p in out.iterdir()) == ["v1", "v2", "v3"]
    assert "Reloaded" in output and "reloaded_defs.py" in output
    assert "failed; the daemon keeps the definitions it had" in output
    assert "SyntaxError" in output


def test_reload_is_refused_with_once(tmp_path, monkeypatch):
    monkeypatch.setenv("TRELLIS_HOME", str(tmp_path / "home"))
    defs = tmp_path / "reloaded_defs.py"
    _write(defs, "v1")
    done = subprocess.run(
        [sys.executable, "-m", "trellis", "daemon", "-f", str(defs), "--reload", "--once"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 2
    assert "--reload is for a daemon that keeps running" in done.stderr
