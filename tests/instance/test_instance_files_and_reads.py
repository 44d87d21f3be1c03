"""What an instance does to the files around it and to other processes: the home, the
database (with its WAL files) and stored outputs are private to the user unless
configured otherwise; reading never waits for another process's write."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest
from instance_helpers import event, make_run

from trellis import AssetKey, asset, fs_io_manager, materialize
from trellis.core.events import EventType
from trellis.core.run import HOST_TAG, PID_NAMESPACE_TAG, PID_TAG, RunStatus
from trellis.instance.instance import Instance
from trellis.instance.liveness import this_host, this_pid_namespace


@asset(key=AssetKey(["sales", "daily"]))
def nested() -> int:
    return 1


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture
def umask_022():
    previous = os.umask(0o022)
    yield
    os.umask(previous)


@pytest.mark.parametrize(
    ("config", "directory", "file"),
    [
        ({}, 0o700, 0o600),
        ({"permissions": "private"}, 0o700, 0o600),
        ({"permissions": "umask"}, 0o755, 0o644),
    ],
)
def test_files_are_private_unless_configured(tmp_path, umask_022, config, directory, file):
    home = tmp_path / "home"
    with Instance.from_config(home, config) as instance:
        result = materialize([nested], instance=instance, resources={"io_manager": fs_io_manager})
        assert result.success
        database = home / "trellis.db"
        wal, shm = (database.with_name(f"trellis.db-{kind}") for kind in ("wal", "shm"))
        assert wal.exists() and shm.exists()  # while the database is open
        assert {_mode(p) for p in (database, wal, shm)} == {file}
        storage = instance.storage_directory()
        assert {_mode(p) for p in (home, storage, storage / "sales")} == {directory}
        assert _mode(storage / "sales" / "daily") == file


_HOLD_WRITE = """
import sqlite3, sys, time
conn = sqlite3.connect(sys.argv[1], isolation_level=None, timeout=60)
conn.execute("BEGIN IMMEDIATE")
conn.execute("UPDATE runs SET update_timestamp = update_timestamp")
print("holding", flush=True)
time.sleep(float(sys.argv[2]))
conn.execute("COMMIT")
"""


def test_reading_never_waits_for_another_process_writing(tmp_path):
    home = tmp_path / "home"
    with Instance.from_config(home, {}) as instance:
        done = instance.add_run(make_run("done"))
        instance.handle_new_events([event(done, EventType.RUN_START)], done)
        instance.handle_new_events([event(done, EventType.RUN_SUCCESS)], done)
        # A run whose process is gone: the look would like to write its end.
        gone = next(p for p in range(32000, 300, -1) if not Path(f"/proc/{p}").exists())
        tags = {PID_TAG: str(gone), HOST_TAG: this_host(), PID_NAMESPACE_TAG: this_pid_namespace()}
        dead = make_run("dead", tags=tags, status=RunStatus.STARTED)
        dead.start_time = time.time()
        instance.add_run(dead)
    holder = subprocess.Popen(
        [sys.executable, "-c", _HOLD_WRITE, str(home / "trellis.db"), "60"],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "holding"
        started = time.monotonic()
        with Instance.from_config(home, {}) as reader:
            assert {r.run_id for r in reader.get_runs()} == {"done", "dead"}
            assert reader.get_run("done").status is RunStatus.SUCCESS
            assert len(reader.all_logs("done")) == 2
            assert reader.info()["runs"] == 2
        listed = subprocess.run(
            [sys.executable, "-m", "trellis", "run", "list"],
            env={**os.environ, "TRELLIS_HOME": str(home), "COLUMNS": "200"},
            capture_output=True,
            text=True,
            timeout=30,
        )
        elapsed = time.monotonic() - started
        assert listed.returncode == 0, listed.stderr
        assert "done" in listed.stdout and "dead" in listed.stdout
        assert elapsed < 15  # it waited for the 60 s write before
        assert holder.poll() is None  # the write was still open all along
    finally:
        holder.kill()
        holder.wait(timeout=30)
    with Instance.from_config(home, {}) as later:  # the writer is gone: the look ends it
        assert later.get_run("dead").status is RunStatus.FAILURE
