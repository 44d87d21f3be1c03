"""The run queue is woken from other processes (``instance/queue_wakeup.py``): a named
pipe beside an SQLite file, ``NOTIFY``/``LISTEN`` on PostgreSQL. With the queue's
periodic look set to a minute, real ``trellis daemon`` processes start runs enqueued by
this process, and the run after each that ends, long before that look."""

from __future__ import annotations

import logging
import signal
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest
import yaml
from daemon_helpers import wait_until

from trellis.core.run import Run, RunStatus, new_run_id
from trellis.daemon.code_location import pointer_tag
from trellis.execution.remote.code_pointer import CodePointer
from trellis.instance.instance import Instance
from trellis.instance.queue_wakeup import FifoWakeup

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="named pipes, POSIX signals")

DEFS = """
    from trellis import Definitions, asset, define_asset_job

    @asset
    def touched() -> None:
        pass

    defs = Definitions(assets=[touched], jobs=[define_asset_job("touch", selection=[touched])])
"""
LOOK_EVERY = 60.0  # the periodic look: everything below happens long before it


def test_a_poke_with_nobody_listening_does_nothing(tmp_path):
    wakeup = FifoWakeup(tmp_path / "trellis.db-wakeup")
    wakeup.poke()  # no pipe
    import os

    os.mkfifo(wakeup.path)
    wakeup.poke()  # a pipe nobody reads: the open fails at once, nothing blocks


def test_the_listener_is_woken_by_another_process(tmp_path):
    wakeup = FifoWakeup(tmp_path / "trellis.db-wakeup")
    woken = threading.Event()
    listening = wakeup.listen(woken.set)
    assert listening is not None and wakeup.path.exists()
    poke = (
        "from pathlib import Path; from trellis.instance.queue_wakeup import FifoWakeup; "
        f"FifoWakeup(Path({str(wakeup.path)!r})).poke()"
    )
    subprocess.run([sys.executable, "-c", poke], check=True, timeout=60)
    assert woken.wait(20)
    woken.clear()
    subprocess.run([sys.executable, "-c", poke], check=True, timeout=60)
    assert woken.wait(20)  # and again: the pipe stays open between pokes
    listening.close()
    assert not wakeup.path.exists()


def test_a_file_in_the_way_is_reported_and_the_queue_falls_back_to_looking(tmp_path, caplog):
    path = tmp_path / "trellis.db-wakeup"
    path.write_text("not a pipe")
    with caplog.at_level(logging.WARNING):
        assert FifoWakeup(path).listen(lambda: None) is None
    assert "is not a named pipe" in caplog.text and str(path) in caplog.text
    assert path.read_text() == "not a pipe"


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def home(request, tmp_path, monkeypatch):
    config: dict = {"run_queue": {"max_concurrent_runs": 1, "dequeue_interval_seconds": LOOK_EVERY}}
    if request.param == "postgres":
        config["storage"] = {"postgres": {"url": request.getfixturevalue("pg_url")}}
    path = tmp_path / "home"
    path.mkdir()
    (path / "trellis.yaml").write_text(yaml.safe_dump(config))
    monkeypatch.setenv("TRELLIS_HOME", str(path))
    return path


def test_runs_enqueued_elsewhere_and_runs_ending_wake_the_daemon(home, tmp_path):
    defs = tmp_path / "wake_defs.py"
    defs.write_text(textwrap.dedent(DEFS))
    tag = pointer_tag(CodePointer(file=str(defs), attribute="defs"))
    daemon = subprocess.Popen(
        [sys.executable, "-m", "trellis", "daemon", "-f", str(defs)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        with Instance.get() as instance:
            # The daemon's first round (its listener is up once the queue has beaten).
            wait_until(
                lambda: any(b.daemon_type == "run_queue" for b in instance.get_daemon_heartbeats()),
                "the daemon's first round",
            )
            first = instance.submit_run(
                Run(new_run_id(), "touch", tags={"trellis/code_location": tag})
            )
            started = time.monotonic()
            wait_until(
                lambda: instance.get_run(first.run_id).status is RunStatus.SUCCESS, "the run"
            )
            # Three more with room for one at a time: each starts when the one before ends.
            more = [
                instance.submit_run(Run(new_run_id(), "touch", tags={"trellis/code_location": tag}))
                for _ in range(3)
            ]
            wait_until(
                lambda: all(instance.get_run(r.run_id).status is RunStatus.SUCCESS for r in more),
                "the three queued runs",
            )
            assert time.monotonic() - started < LOOK_EVERY  # no periodic look was needed
    finally:
        daemon.send_signal(signal.SIGTERM)
        out, _ = daemon.communicate(timeout=60)
    assert daemon.returncode == 0, out
    if not any(Path(home).glob("**/*-wakeup")):
        return
    raise AssertionError("the daemon left its wake-up pipe behind")
