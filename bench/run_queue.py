"""The run queue and its launcher, with a real ``trellis daemon`` process on a SQLite
instance in a temporary home. Run on demand (never a timed unit test):

    .venv/bin/python bench/run_queue.py [WORKLOAD ...] [--dequeue-interval S]
        [--launcher fork|subprocess|dask] [--dask-workers N] [--max-concurrent N]

Workloads (one JSON line each; both by default):

- ``hundred_runs``: 100 runs submitted at once with ``max_concurrent_runs: 4``; the
  daemon started after. From the stored ``RUN_START`` / ``RUN_SUCCESS`` (or
  ``RUN_FAILURE``) timestamps: the most runs ever running at once (must be <= 4), how
  many finished, the wall time, and the *queue overhead* of each run: from the moment the
  queue could have started it (its enqueue, or the end of the run whose place it took,
  whichever is later) to its ``RUN_START``. That includes handing the run to a process
  and that process loading the code.
- ``enqueue_to_user_code``: 20 runs submitted one at a time (from this process, as
  ``trellis run launch`` does) to an idle daemon, each after the previous finished; the
  time from the ``RUN_ENQUEUED`` event to the moment the run's asset body runs (it
  writes ``time.time()`` to a file), and the part of it from the queue claiming the run
  (``RUN_STARTING``) to that moment (the launcher's share).

``hundred_runs`` also splits the overhead: the place freed -> the queue claiming the
run (``RUN_STARTING``: the daemon woken, its queue round), claimed -> the run's process
taking it (``begin_launched_run``), taken -> ``RUN_START`` (the run's set-up).

``--launcher`` picks ``trellis daemon --launcher``: ``fork`` (the default on Linux: a
warm zygote's spare child), ``subprocess`` (a new interpreter per run, one started
ahead), or ``dask``: the daemon submits each run to a Dask cluster made of real
``dask scheduler`` and ``dask worker`` processes that the benchmark starts
(``--dask-workers N``, default 2, one thread each). ``--dequeue-interval`` sets
``run_queue: dequeue_interval_seconds`` (default 0.5, as in ``trellis.yaml``): the
queue's periodic look, the fallback now that enqueues and run ends wake it.
``--max-concurrent N`` changes the 4 of ``hundred_runs``.
"""

from __future__ import annotations

import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

import yaml

os.environ.setdefault("TRELLIS_LOG_LEVEL", "WARNING")

_DEFS = """
    import os
    import time
    from pathlib import Path

    from trellis import Definitions, asset, define_asset_job

    @asset
    def stamped() -> None:
        now = time.time()
        out = os.environ.get("BENCH_OUT")
        if out:
            Path(out, f"{os.getpid()}-{now}").write_text(str(now))

    job = define_asset_job("stamp", selection=[stamped])
    defs = Definitions(assets=[stamped], jobs=[job])
"""


def _home(tmp: Path, dequeue_interval: float, max_concurrent: int) -> Path:
    home = tmp / "home"
    home.mkdir()
    config = {
        "run_queue": {
            "max_concurrent_runs": max_concurrent,
            "dequeue_interval_seconds": dequeue_interval,
        }
    }
    (home / "trellis.yaml").write_text(yaml.safe_dump(config))
    return home


def _defs(tmp: Path) -> Path:
    path = tmp / "bench_queue_defs.py"
    path.write_text(textwrap.dedent(_DEFS))
    return path


LAUNCHER = ["fork"]
DASK_WORKERS = [2]
MAX_CONCURRENT = [4]


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class _DaskCluster:
    """A ``dask scheduler`` and ``DASK_WORKERS`` ``dask worker`` processes on 127.0.0.1."""

    def __init__(self, env: dict[str, str]) -> None:
        port = _free_port()
        self.address = f"tcp://127.0.0.1:{port}"
        dask = str(Path(sys.executable).with_name("dask"))
        quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL}
        self.procs = [
            subprocess.Popen(
                [dask, "scheduler", "--host", "127.0.0.1", "--port", str(port), "--no-dashboard"],
                env=env,
                **quiet,
            )
        ]
        for _ in range(DASK_WORKERS[0]):
            self.procs.append(
                subprocess.Popen(
                    [
                        dask,
                        "worker",
                        self.address,
                        "--nthreads",
                        "1",
                        "--no-dashboard",
                        "--host",
                        "127.0.0.1",
                    ],
                    env=env,
                    **quiet,
                )
            )
        from distributed import Client

        with Client(self.address, timeout=60) as client:
            client.wait_for_workers(DASK_WORKERS[0], timeout=60)

    def close(self) -> None:
        for proc in reversed(self.procs):
            proc.send_signal(signal.SIGTERM)
        for proc in self.procs:
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def _daemon(defs: Path, env: dict[str, str]) -> tuple[subprocess.Popen[bytes], _DaskCluster | None]:
    command = [
        sys.executable,
        "-m",
        "trellis",
        "daemon",
        "-f",
        str(defs),
        "--launcher",
        LAUNCHER[0],
    ]
    cluster = None
    if LAUNCHER[0] == "dask":
        cluster = _DaskCluster(env)
        command += ["--dask-address", cluster.address]
    proc = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return proc, cluster


def _stop(started: tuple[subprocess.Popen[bytes], _DaskCluster | None]) -> None:
    proc, cluster = started
    proc.send_signal(signal.SIGTERM)
    proc.wait(timeout=60)
    if cluster is not None:
        cluster.close()


def _submit(instance, defs: Path) -> str:  # type: ignore[no-untyped-def]
    from trellis.core.run import Run, new_run_id
    from trellis.daemon.code_location import pointer_tag
    from trellis.execution.remote.code_pointer import CodePointer

    tag = pointer_tag(CodePointer(file=str(defs), attribute="defs"))
    run = Run(new_run_id(), "stamp", tags={"trellis/code_location": tag})
    return str(instance.submit_run(run).run_id)


def _summary_ms(values: list[float]) -> dict[str, float]:
    ms = sorted(v * 1000 for v in values)
    return {
        "n": len(ms),
        "median_ms": round(statistics.median(ms), 1),
        "mean_ms": round(statistics.fmean(ms), 1),
        "p90_ms": round(ms[int(0.9 * (len(ms) - 1))], 1),
        "max_ms": round(ms[-1], 1),
    }


def _times(instance, run_id: str) -> dict[str, float]:  # type: ignore[no-untyped-def]
    from trellis.core.events import EventType

    found: dict[str, float] = {}
    for event in instance.all_logs(run_id):
        kind = event.event_type
        if kind is EventType.ENGINE_EVENT and "started for the launched run" in event.message:
            found.setdefault("TAKEN", event.timestamp)
        if kind in (
            EventType.RUN_ENQUEUED,
            EventType.RUN_STARTING,
            EventType.RUN_START,
            EventType.RUN_SUCCESS,
            EventType.RUN_FAILURE,
        ):
            found.setdefault(kind.value, event.timestamp)
    return found


def hundred_runs(dequeue_interval: float, runs: int = 100) -> dict[str, object]:
    """100 runs through a queue of 4 (see the module docstring)."""
    from trellis.instance.instance import Instance

    limit = MAX_CONCURRENT[0]
    with tempfile.TemporaryDirectory() as name:
        tmp = Path(name)
        home = _home(tmp, dequeue_interval, limit)
        defs = _defs(tmp)
        env = {**os.environ, "TRELLIS_HOME": str(home)}
        with Instance.from_config(home, yaml.safe_load((home / "trellis.yaml").read_text())) as i:
            ids = [_submit(i, defs) for _ in range(runs)]
            began = time.time()
            proc = _daemon(defs, env)
            try:
                deadline = time.monotonic() + 600
                while time.monotonic() < deadline:
                    done = i.get_runs(statuses=["SUCCESS", "FAILURE", "CANCELED"])
                    if len(done) == runs:
                        break
                    time.sleep(0.2)
            finally:
                _stop(proc)
            times = {run_id: _times(i, run_id) for run_id in ids}
            statuses = [i.get_run(run_id).status.value for run_id in ids]  # type: ignore[union-attr]
    ends = {r: t.get("RUN_SUCCESS", t.get("RUN_FAILURE")) for r, t in times.items()}
    points = []  # (time, +1 start / -1 end)
    for run_id, t in times.items():
        if "RUN_START" in t:
            points.append((t["RUN_START"], 1))
        if ends[run_id] is not None:
            points.append((ends[run_id], -1))
    running = peak = 0
    for _, delta in sorted(points, key=lambda p: (p[0], p[1])):
        running += delta
        peak = max(peak, running)
    # A run could start at its enqueue or when a place became free: the k-th run to
    # start (k >= limit) takes the place of the (k - limit + 1)-th run to end.
    starts = sorted((t["RUN_START"], r) for r, t in times.items() if "RUN_START" in t)
    end_times = sorted(e for e in ends.values() if e is not None)
    overhead = []
    parts: dict[str, list[float]] = {
        "freed_to_claimed": [],
        "claimed_to_taken": [],
        "taken_to_start": [],
    }
    for k, (start, run_id) in enumerate(starts):
        t = times[run_id]
        ready = t["RUN_ENQUEUED"]
        if k >= limit:
            ready = max(ready, end_times[k - limit])
        overhead.append(start - ready)
        if k >= limit and "TAKEN" in t:
            parts["freed_to_claimed"].append(t["RUN_STARTING"] - ready)
            parts["claimed_to_taken"].append(t["TAKEN"] - t["RUN_STARTING"])
            parts["taken_to_start"].append(start - t["TAKEN"])
    last_end = max(end_times) if end_times else began
    return {
        "workload": "hundred_runs",
        "launcher": LAUNCHER[0],
        "max_concurrent_runs": limit,
        "dequeue_interval_s": dequeue_interval,
        "max_running_at_once": peak,
        "succeeded": statuses.count("SUCCESS"),
        "runs": runs,
        "wall_s": round(last_end - began, 2),
        "queue_overhead_after_the_first_4": _summary_ms(overhead[limit:]),
        "overhead_parts_median_ms": {
            name: _summary_ms(values)["median_ms"] for name, values in parts.items() if values
        },
        "first_4_from_daemon_start": _summary_ms([s - began for s, _ in starts[:limit]]),
    }


def enqueue_to_user_code(dequeue_interval: float, runs: int = 20) -> dict[str, object]:
    """Enqueue -> the asset body running, one run at a time (see the module docstring)."""
    from trellis.instance.instance import Instance

    with tempfile.TemporaryDirectory() as name:
        tmp = Path(name)
        home = _home(tmp, dequeue_interval, 4)
        defs = _defs(tmp)
        out = tmp / "out"
        out.mkdir()
        env = {**os.environ, "TRELLIS_HOME": str(home), "BENCH_OUT": str(out)}
        total: list[float] = []
        launcher_share: list[float] = []
        with Instance.from_config(home, yaml.safe_load((home / "trellis.yaml").read_text())) as i:
            proc = _daemon(defs, env)
            try:
                time.sleep(3)  # the daemon and its spare worker are up
                for n in range(runs):
                    before = set(out.iterdir())
                    run_id = _submit(i, defs)
                    deadline = time.monotonic() + 60
                    while time.monotonic() < deadline:
                        run = i.get_run(run_id)
                        if run is not None and run.status.is_finished:
                            break
                        time.sleep(0.02)
                    new = set(out.iterdir()) - before
                    if len(new) != 1:
                        raise RuntimeError(f"run {n} ({run_id}) wrote {len(new)} stamps")
                    body = float(new.pop().read_text())
                    t = _times(i, run_id)
                    total.append(body - t["RUN_ENQUEUED"])
                    launcher_share.append(body - t["RUN_STARTING"])
                    time.sleep(0.3)  # the next spare worker is ready
            finally:
                _stop(proc)
    return {
        "workload": "enqueue_to_user_code",
        "launcher": LAUNCHER[0],
        "dequeue_interval_s": dequeue_interval,
        "enqueued_to_asset_body": _summary_ms(total),
        "claimed_to_asset_body": _summary_ms(launcher_share),
    }


WORKLOADS = {"hundred_runs": hundred_runs, "enqueue_to_user_code": enqueue_to_user_code}


def main(argv: list[str]) -> None:
    interval = 0.5
    if "--dequeue-interval" in argv:
        at = argv.index("--dequeue-interval")
        interval = float(argv[at + 1])
        argv = argv[:at] + argv[at + 2 :]
    for flag, store, kind in (
        ("--launcher", LAUNCHER, str),
        ("--dask-workers", DASK_WORKERS, int),
        ("--max-concurrent", MAX_CONCURRENT, int),
    ):
        if flag in argv:
            at = argv.index(flag)
            store[0] = kind(argv[at + 1])  # type: ignore[index]
            argv = argv[:at] + argv[at + 2 :]
    for name in argv or list(WORKLOADS):
        if name not in WORKLOADS:
            raise SystemExit(f"unknown workload {name!r}; choose from {', '.join(WORKLOADS)}")
        print(json.dumps(WORKLOADS[name](interval)), flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
