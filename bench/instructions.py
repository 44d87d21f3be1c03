"""Instructions per step of the in-process engine, counted by valgrind's callgrind: a
figure that does not move with the machine's load, for comparing two versions of the
code when wall-clock medians are too noisy to tell (run on demand, never in tests).

    .venv/bin/python bench/instructions.py              # chain, fanout, ops at N=300
    .venv/bin/python bench/instructions.py chain 1000   # one workload and size
    .venv/bin/python bench/instructions.py dynamic 1000 # per mapped step of the dynamic job

Each workload is run in two fresh processes under callgrind: both build two copies of
the definitions and run the first once (warm-up); the second process also runs the
second copy. The difference is one warm run; divided by N, its cost per step. Building
the asset graph, job and plan inside ``materialize`` counts, as in ``run.py``'s rows.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

BENCH_DIR = Path(__file__).resolve().parent
WORKLOADS = ("chain", "fanout", "ops")  # run by default
CHOICES = (*WORKLOADS, "dynamic")  # dynamic: per mapped step (yield, map, collect)


def _definitions(fw: Any, workload: str, n: int) -> tuple[Any, Any]:
    """A fresh copy of the workload's definitions and the call that runs them."""
    import workloads as w

    if workload == "chain":
        assets = w.chain_assets(fw, n)
        return assets, lambda d: fw.materialize_to_memory(d, run_config=fw.QUIET)
    if workload == "fanout":
        root = fw.asset(name="root")(w._first)
        children = [w._child(fw, i) for i in range(n)]
        ins = {f"c{i}": fw.AssetIn(key=f"c{i}") for i in range(n)}
        sink = fw.asset(name="sink", ins=ins)(w._sum_of_params(n))
        return [root, *children, sink], lambda d: fw.materialize_to_memory(d, run_config=fw.QUIET)
    if workload == "dynamic":
        return w.dynamic_job(fw, n), lambda j: j.execute_in_process(run_config=fw.QUIET)
    start = fw.op(name="start")(lambda: 0)
    step = fw.op(name="step")(w._next)

    def line() -> None:
        value = start()
        for i in range(1, n):
            value = step.alias(f"s{i}")(value)

    return fw.job(name="line")(line), lambda j: j.execute_in_process(run_config=fw.QUIET)


def child(workload: str, n: int, measured_runs: int) -> None:
    """Inside valgrind: warm up on one copy, then run the other ``measured_runs`` times."""
    sys.path.insert(0, str(BENCH_DIR))
    from shim import load

    fw = load("trellis")
    warm, run = _definitions(fw, workload, n)
    measured, _ = _definitions(fw, workload, n)
    assert run(warm).success
    for _ in range(measured_runs):
        assert run(measured).success


def _instructions(workload: str, n: int, measured_runs: int) -> int:
    command = [
        "valgrind",
        "--tool=callgrind",
        "--callgrind-out-file=/dev/null",
        sys.executable,
        __file__,
        "--child",
        workload,
        str(n),
        str(measured_runs),
    ]
    # A fixed hash seed: dict and set layouts (and so the counts) repeat exactly.
    env = {**os.environ, "PYTHONHASHSEED": "0"}
    done = subprocess.run(command, capture_output=True, text=True, check=True, env=env)
    found = re.search(r"Collected : (\d+)", done.stderr)
    if found is None:
        raise SystemExit(f"no instruction count in valgrind's output:\n{done.stderr[-2000:]}")
    return int(found.group(1))


def main(argv: list[str] | None = None) -> None:
    """Print instructions per step for each workload asked for."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("workload", nargs="?", choices=CHOICES)
    parser.add_argument("n", nargs="?", type=int, default=300)
    parser.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        workload, n, runs = args.child
        child(workload, int(n), int(runs))
        return
    if shutil.which("valgrind") is None:
        raise SystemExit("valgrind is not installed (apt-get install valgrind)")
    for workload in [args.workload] if args.workload else WORKLOADS:
        base = _instructions(workload, args.n, 0)
        with_run = _instructions(workload, args.n, 1)
        per_step = (with_run - base) / args.n
        print(f"{workload:7} n={args.n:<6} {per_step / 1000:8.1f}k instructions per step")


if __name__ == "__main__":
    main()
