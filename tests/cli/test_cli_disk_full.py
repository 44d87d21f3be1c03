"""A full disk, for real: a 40 MB tmpfs holds the Trellis home. An output that fills it
fails its step and run (both recorded) and leaves no partial file; reading the instance
works on a full disk; a run that cannot write ends with exit 1 and is marked failed on
the next look.

Mounting needs root (CI and the development machine run the suite as root); elsewhere
these tests skip, saying why.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from cli_fixture_paths import FIXTURES

DEFS = str(FIXTURES / "disk_defs.py")
DISK_MB = 40


@pytest.fixture
def disk(tmp_path):
    """A real 40 MB file system (tmpfs), unmounted afterwards."""
    mount_point = tmp_path / "disk"
    mount_point.mkdir()
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={DISK_MB}m", "tmpfs", str(mount_point)],
        capture_output=True,
        text=True,
    )
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a small tmpfs here (root needed): {mounted.stderr.strip()}")
    yield mount_point
    subprocess.run(["umount", "-l", str(mount_point)], check=True)


def _trellis(home: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    environ = {**os.environ, "TRELLIS_HOME": str(home), "COLUMNS": "200", **env}
    return subprocess.run(
        [sys.executable, "-m", "trellis", *args],
        env=environ,
        capture_output=True,
        text=True,
        timeout=120,
    )


def _free_mb(path: Path) -> float:
    return shutil.disk_usage(path).free / 2**20


def _fill(path: Path) -> None:
    """Write zeros to ``path`` until the file system is full."""
    with open(path, "wb") as f:
        try:
            while True:
                f.write(b"\0" * (1 << 16))
                f.flush()
        except OSError:
            pass
    assert _free_mb(path.parent) < 0.1


def _temp_files(root: Path) -> list[Path]:
    return [p for p in root.rglob("*.tmp") if p.is_file()]


@pytest.mark.slow
def test_an_output_that_fills_the_disk_fails_its_run_and_leaves_the_space_free(disk):
    home = disk / "home"
    done = _trellis(home, "asset", "materialize", "-f", DEFS, "--select", "small,big,after_big")
    assert done.returncode == 1, done.stdout + done.stderr
    assert "No space left on device" in " ".join((done.stdout + done.stderr).split())
    assert _temp_files(disk) == []  # the partial pickle was removed
    assert _free_mb(disk) > DISK_MB - 5
    logs = _trellis(home, "run", "logs", _only_run_id(home))
    assert logs.returncode == 0, logs.stderr
    lines = logs.stdout.splitlines()
    assert any("big - STEP_FAILURE" in line for line in lines)
    assert any("after_big - STEP_SKIPPED" in line for line in lines)
    assert "RUN_FAILURE" in lines[-1] and "Steps failed: ['big']" in lines[-1]


def _only_run_id(home: Path) -> str:
    listed = _trellis(home, "run", "list")
    assert listed.returncode == 0, listed.stderr
    rows = [line for line in listed.stdout.splitlines() if "__ASSET_JOB" in line]
    assert len(rows) == 1, listed.stdout
    return rows[0].split()[1]


@pytest.mark.slow
def test_reading_the_instance_works_on_a_full_disk(disk):
    home = disk / "home"
    done = _trellis(home, "asset", "materialize", "-f", DEFS, "--select", "small")
    assert done.returncode == 0, done.stderr
    _fill(disk / "filler")
    run_id = _only_run_id(home)
    for args in (["run", "show", run_id], ["run", "logs", run_id], ["instance", "info"]):
        result = _trellis(home, *args)
        assert result.returncode == 0, f"{args}: {result.stderr}"
    assert "RUN_SUCCESS" in _trellis(home, "run", "logs", run_id).stdout
    info = _trellis(home, "instance", "info").stdout
    assert "runs" in info and " 1 " in info
    # A new run cannot be recorded: a clear failure, not a crash or "bad input".
    refused = _trellis(home, "asset", "materialize", "-f", DEFS, "--select", "small")
    assert refused.returncode == 1
    assert "the disk holding it is full" in " ".join(refused.stdout.split())


@pytest.mark.slow
def test_a_run_that_cannot_write_exits_1_and_is_failed_on_the_next_look(disk):
    home = disk / "home"
    filler = disk / "filler"
    done = _trellis(
        home,
        "asset",
        "materialize",
        "-f",
        DEFS,
        "--select",
        "small,fill_disk,after_fill",
        TRELLIS_TEST_FILL_PATH=str(filler),
    )
    assert done.returncode == 1, done.stdout + done.stderr
    said = " ".join(done.stdout.split())
    assert "could not be recorded" in said and "the disk holding it is full" in said
    assert _temp_files(disk) == []
    filler.unlink()  # space again
    run_id = _only_run_id(home)
    shown = _trellis(home, "run", "show", run_id)
    assert shown.returncode == 0 and "FAILURE" in shown.stdout
    last = _trellis(home, "run", "logs", run_id).stdout.splitlines()[-1]
    assert "RUN_FAILURE" in last and "was marked failed" in last
