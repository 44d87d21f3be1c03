"""Concurrency pools across runs in real processes: two runs of one instance (SQLite or
PostgreSQL) whose steps share a pool of limit 1 never run two of them at once (the steps
write their own start and end times), and a run killed with SIGKILL while it holds the
pool's only slot does not keep it: the next run gets it once the instance has marked the
dead run failed."""

from __future__ import annotations

import itertools
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from trellis import EventType, Instance, RunStatus

SCRIPT = Path(__file__).parent / "scripts" / "pool_run.py"


def _config(kind: str, request) -> dict:
    if kind == "sqlite":
        return {}
    return {"storage": {"postgres": {"url": request.getfixturevalue("pg_url")}}}


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def home_and_config(request, tmp_path):
    """A fresh instance home and its config (SQLite, or PostgreSQL in a fresh schema),
    with the pool ``db`` limited to one slot."""
    home = tmp_path / "home"
    config = _config(request.param, request)
    with Instance.from_config(home, config) as instance:
        instance.set_concurrency_limit("db", 1)
    return home, config


def _start(home, config, out: Path, label: str, steps: int, seconds: float):
    args = [str(home), json.dumps(config), str(out), label, str(steps), str(seconds)]
    return subprocess.Popen(
        [sys.executable, str(SCRIPT), *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _finish(proc: subprocess.Popen, timeout: float = 60) -> str:
    out, err = proc.communicate(timeout=timeout)
    assert proc.returncode == 0, err
    return out.strip().splitlines()[-1]


def _spans(out: Path) -> list[tuple[float, float, str]]:
    spans = []
    for path in out.glob("*.span"):
        start, end = map(float, path.read_text().split())
        spans.append((start, end, path.stem))
    return sorted(spans)


def test_two_runs_in_two_processes_never_overlap_steps_of_a_pool(home_and_config, tmp_path):
    home, config = home_and_config
    out = tmp_path / "out"
    out.mkdir()
    procs = [_start(home, config, out, label, steps=2, seconds=0.3) for label in ("a", "b")]
    run_ids = [_finish(proc) for proc in procs]
    spans = _spans(out)
    assert len(spans) == 4  # two steps in each of two runs, all of them ran
    for (_, end, first), (start, _, second) in itertools.pairwise(spans):
        assert start >= end, f"{second} started before {first} ended"
    with Instance.from_config(home, config) as instance:
        for run_id in run_ids:
            assert instance.get_run(run_id).status is RunStatus.SUCCESS
        waits = [
            e
            for run_id in run_ids
            for e in instance.all_logs(run_id, of_type=EventType.ENGINE_EVENT)
            if "waiting for a slot in concurrency pool 'db'" in e.message
        ]
        # four steps, one slot: three of them had to wait
        assert len(waits) >= 3
        assert instance.get_concurrency_limit("db").in_use == 0


def test_a_run_killed_while_holding_a_slot_does_not_keep_it(home_and_config, tmp_path):
    home, config = home_and_config
    out = tmp_path / "out"
    out.mkdir()
    killed = _start(home, config, out, "killed", steps=0, seconds=120)
    started = out / "killed-hold.started"
    deadline = time.monotonic() + 30
    while not started.exists():
        assert killed.poll() is None, killed.communicate()[1]
        assert time.monotonic() < deadline, "the first run never started its step"
        time.sleep(0.05)
    with Instance.from_config(home, config) as instance:
        held = instance.get_concurrency_limit("db").slots
        assert [s.step_key for s in held] == ["hold"]
        dead_run_id = held[0].run_id
    os.kill(killed.pid, signal.SIGKILL)
    killed.wait(timeout=10)
    began = time.monotonic()
    next_run = _start(home, config, out, "next", steps=1, seconds=0.0)
    run_id = _finish(next_run, timeout=60)
    assert time.monotonic() - began < 30  # the slot came back; the run did not hang
    with Instance.from_config(home, config) as instance:
        assert instance.get_run(run_id).status is RunStatus.SUCCESS
        dead = instance.get_run(dead_run_id)
        assert dead.status is RunStatus.FAILURE
        assert instance.get_concurrency_limit("db").in_use == 0
    assert [stem for *_, stem in _spans(out)] == ["next-step_0"]
