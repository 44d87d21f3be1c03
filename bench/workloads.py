"""The benchmark workloads, each written once against ``shim.py``. One process runs one
case and prints one JSON line (``run.py`` starts a fresh process per case):

    python bench/workloads.py --framework trellis --workload chain --n 1000

Each workload builds its definitions, runs, and checks its result: a wrong result raises
(exit status 1, no JSON line), it is never a number. A workload that cannot run yet (an
executor not written) prints ``{"skipped": reason}``.

Fields: ``wall_s`` (the run), ``define_s`` (building the definitions), ``per_step_s``
(``(wall_s - work_s) / steps``, where ``work_s`` is the time the steps' own work needs at
best; 0 for trivial steps), ``rss_mb`` (peak RSS of this process).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

BENCH_DIR = Path(__file__).resolve().parent
STEP_WORK_S = 0.5  # CPU seconds of one `parallel` step


class WrongResult(AssertionError):
    """A workload's result is not what it must be."""


def check(condition: bool, what: str) -> None:
    """Raise ``WrongResult`` unless ``condition`` holds."""
    if not condition:
        raise WrongResult(what)


def _first() -> int:
    return 1


def _next(prev: int) -> int:
    return prev + 1


def chain_assets(fw: Any, n: int) -> list[Any]:
    """N assets in a line: a0 = 1, a_i = a_{i-1} + 1 (so a_{n-1} == n)."""
    assets = [fw.asset(name="a0")(_first)]
    for i in range(1, n):
        assets.append(fw.asset(name=f"a{i}", ins={"prev": fw.AssetIn(key=f"a{i - 1}")})(_next))
    return assets


def _persistent_home(fw: Any) -> str:
    home = tempfile.mkdtemp(prefix=f"bench-{fw.name}-home-")
    os.environ[fw.HOME_VAR] = home
    return home


def wl_import(fw_name: str, n: int) -> dict[str, Any]:
    """The whole process ``python -c "import <framework>"``, timed from outside."""
    started = time.perf_counter()
    subprocess.run([sys.executable, "-c", f"import {fw_name}"], check=True)
    wall = time.perf_counter() - started
    rss = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    return {"wall_s": wall, "define_s": 0.0, "steps": 1, "rss_mb": rss}


def wl_plain(fw: Any, n: int) -> dict[str, Any]:
    """The chain as plain function calls, values kept in a dict: the floor."""
    started = time.perf_counter()
    steps = [(f"a{i}", _next, f"a{i - 1}") for i in range(1, n)]
    defined = time.perf_counter()
    values = {"a0": _first()}
    for name, fn, dep in steps:
        values[name] = fn(values[dep])
    finished = time.perf_counter()
    check(values[f"a{n - 1}"] == n, "plain chain value")
    return {"wall_s": finished - defined, "define_s": defined - started, "steps": n}


def wl_chain(fw: Any, n: int) -> dict[str, Any]:
    """N assets in a line, in-memory IO (``materialize_to_memory``)."""
    started = time.perf_counter()
    assets = chain_assets(fw, n)
    defined = time.perf_counter()
    result = fw.materialize_to_memory(assets, run_config=fw.QUIET)
    finished = time.perf_counter()
    check(result.success and result.asset_value(f"a{n - 1}") == n, "chain value")
    return {"wall_s": finished - defined, "define_s": defined - started, "steps": n}


def _sum_of_params(n: int) -> Callable[..., int]:
    # Trellis rejects **kwargs in an asset function (Dagster accepts it), so the sink is a
    # generated function with N named parameters.
    namespace: dict[str, Any] = {}
    params = ", ".join(f"c{i}" for i in range(n))
    exec(f"def sink({params}):\n    return sum(locals().values())\n", namespace)
    return namespace["sink"]


def _child(fw: Any, i: int) -> Any:
    def child(root: int) -> int:
        return root + i

    return fw.asset(name=f"c{i}", ins={"root": fw.AssetIn(key="root")})(child)


def wl_fanout(fw: Any, n: int) -> dict[str, Any]:
    """root -> N children (root + i) -> one sink summing them, in-memory IO."""
    started = time.perf_counter()
    root = fw.asset(name="root")(_first)
    children = [_child(fw, i) for i in range(n)]
    ins = {f"c{i}": fw.AssetIn(key=f"c{i}") for i in range(n)}
    sink = fw.asset(name="sink", ins=ins)(_sum_of_params(n))
    defined = time.perf_counter()
    result = fw.materialize_to_memory([root, *children, sink], run_config=fw.QUIET)
    finished = time.perf_counter()
    check(result.success and result.asset_value("sink") == n + n * (n - 1) // 2, "fanout sum")
    return {"wall_s": finished - defined, "define_s": defined - started, "steps": n + 2}


def wl_ops(fw: Any, n: int) -> dict[str, Any]:
    """A job of N ops in a line (aliases s1..s{N-1}), ``execute_in_process``."""
    started = time.perf_counter()
    start = fw.op(name="start")(lambda: 0)
    step = fw.op(name="step")(_next)

    def line() -> None:
        value = start()
        for i in range(1, n):
            value = step.alias(f"s{i}")(value)

    job = fw.job(name="line")(line)
    defined = time.perf_counter()
    result = job.execute_in_process(run_config=fw.QUIET)
    finished = time.perf_counter()
    last = f"s{n - 1}" if n > 1 else "start"
    check(result.success and result.output_for_node(last) == n - 1, "ops value")
    return {"wall_s": finished - defined, "define_s": defined - started, "steps": n}


def _total(values: list) -> int:
    return sum(values)


def dynamic_job(fw: Any, n: int) -> Any:
    """An op yielding N ``DynamicOutput``s, a trivial op mapped over them (``x + 1``), and
    a collect summing the results."""

    def items() -> Any:
        for i in range(n):
            yield fw.DynamicOutput(i, mapping_key=str(i))

    fan_out = fw.op(name="fan_out", out=fw.DynamicOut())(items)
    inc = fw.op(name="inc")(_next)
    total = fw.op(name="total")(_total)

    def graph() -> None:
        total(fan_out().map(inc).collect())

    return fw.job(name="dynamic")(graph)


def wl_dynamic(fw: Any, n: int) -> dict[str, Any]:
    """N dynamic outputs mapped and collected in process (``execute_in_process``): the
    user code is trivial, so the wall time is the framework's overhead; per step is per
    mapped step (each item is yielded, stored, loaded by its own step, stored again and
    loaded by the collect)."""
    started = time.perf_counter()
    job = dynamic_job(fw, n)
    defined = time.perf_counter()
    result = job.execute_in_process(run_config=fw.QUIET)
    finished = time.perf_counter()
    check(result.success and result.output_for_node("total") == n * (n + 1) // 2, "dynamic sum")
    return {"wall_s": finished - defined, "define_s": defined - started, "steps": n}


def wl_chain_fs(fw: Any, n: int) -> dict[str, Any]:
    """The chain on a persistent SQLite instance (fresh home) with the filesystem pickle
    IO manager; the instance is opened before the clock starts (see ``instance``)."""
    home = _persistent_home(fw)
    instance = fw.get_instance()
    started = time.perf_counter()
    assets = chain_assets(fw, n)
    defined = time.perf_counter()
    result = fw.materialize(
        assets,
        instance=instance,
        resources={"io_manager": fw.fs_io_manager},
        run_config=fw.QUIET,
    )
    finished = time.perf_counter()
    check(result.success and result.asset_value(f"a{n - 1}") == n, "chain_fs value")
    check((Path(home) / "storage" / f"a{n - 1}").is_file(), "chain_fs pickle file")
    shutil.rmtree(home, ignore_errors=True)
    return {"wall_s": finished - defined, "define_s": defined - started, "steps": n}


def wl_instance(fw: Any, n: int) -> dict[str, Any]:
    """Open the persistent instance of a fresh home and read its (empty) run list."""
    home = _persistent_home(fw)
    started = time.perf_counter()
    instance = fw.get_instance()
    runs = instance.get_runs()
    finished = time.perf_counter()
    check(len(runs) == 0, "a fresh instance has no runs")
    shutil.rmtree(home, ignore_errors=True)
    return {"wall_s": finished - started, "define_s": 0.0, "steps": 1}


def _combine(left: int, right: int) -> int:
    return left + right


def layered_assets(fw: Any, n: int, width: int = 100) -> list[Any]:
    """N assets in layers of ``width``; each asset past the first layer reads two assets
    of the layer before (a wide, shallow graph, as large deployments are)."""
    assets = [fw.asset(name=f"a{i}")(_first) for i in range(min(n, width))]
    for i in range(width, n):
        layer_start = i - i % width - width
        ins = {
            "left": fw.AssetIn(key=f"a{i - width}"),
            "right": fw.AssetIn(key=f"a{layer_start + (i + 1) % width}"),
        }
        assets.append(fw.asset(name=f"a{i}", ins=ins)(_combine))
    return assets


def wl_define(fw: Any, n: int) -> dict[str, Any]:
    """Decorate N layered assets, build Definitions, the implicit asset job and its plan;
    no run. ``wall_s`` is all of it, ``define_s`` the decorating part. (Not the chain:
    Dagster sorts a graph recursively and fails with RecursionError on a chain of 10,000.)"""
    started = time.perf_counter()
    assets = layered_assets(fw, n)
    defined = time.perf_counter()
    defs = fw.Definitions(assets=assets)
    plan = fw.build_plan(defs.get_implicit_global_asset_job_def())
    finished = time.perf_counter()
    check(len(plan.step_keys_to_execute) == n, "plan step count")
    return {"wall_s": finished - started, "define_s": defined - started, "steps": n}


def _calibrate_spin(spin: Callable[[int], int]) -> int:
    """Loop length for ``STEP_WORK_S`` of ``spin`` on this machine."""
    probe = 200_000
    started = time.perf_counter()
    spin(probe)
    return max(1, int(probe * STEP_WORK_S / (time.perf_counter() - started)))


def _parallel(fw: Any, executor: str) -> dict[str, Any]:
    os.environ["BENCH_EXECUTOR"] = executor
    os.environ["PYTHONPATH"] = os.pathsep.join(
        p for p in (str(BENCH_DIR), os.environ.get("PYTHONPATH")) if p
    )
    if executor == "multiprocess" and not fw.has_multiprocess:
        return {"skipped": f"{fw.name}'s multiprocess executor is not importable yet"}
    if executor == "dask" and fw.dask_executor() is None:
        what = (
            "dagster-dask is not installed in bench/.venv-dagster"
            if fw.name == "dagster"
            else "trellis's dask executor is not importable yet"
        )
        return {"skipped": what}
    defining = time.perf_counter()
    import parallel_job  # builds the definitions
    from parallel_job import STEPS, WORKERS, spin

    define_s = time.perf_counter() - defining
    os.environ["BENCH_SPIN_ITERS"] = str(_calibrate_spin(spin))
    home = _persistent_home(fw)
    instance = fw.get_instance()
    started = time.perf_counter()
    success = fw.execute_by_reference(parallel_job, "parallel_job", instance)
    finished = time.perf_counter()
    check(success, f"parallel run on {executor} succeeded (its sink checks the sum)")
    shutil.rmtree(home, ignore_errors=True)
    ideal = STEPS * STEP_WORK_S / WORKERS
    return {
        "wall_s": finished - started,
        "define_s": define_s,
        "steps": STEPS + 1,
        "work_s": ideal,
        "executor": executor,
    }


def wl_parallel(fw: Any, n: int) -> dict[str, Any]:
    """8 assets of ~0.5 s CPU each (and a sink checking them) on the process executor
    with 2 workers, persistent instance, filesystem IO."""
    return _parallel(fw, "multiprocess")


def wl_parallel_dask(fw: Any, n: int) -> dict[str, Any]:
    """The ``parallel`` job on the Dask executor, a local cluster of 2 workers."""
    return _parallel(fw, "dask")


WORKLOADS: dict[str, Callable[[Any, int], dict[str, Any]]] = {
    "import": wl_import,
    "instance": wl_instance,
    "plain": wl_plain,
    "chain": wl_chain,
    "fanout": wl_fanout,
    "ops": wl_ops,
    "dynamic": wl_dynamic,
    "chain_fs": wl_chain_fs,
    "define": wl_define,
    "parallel": wl_parallel,
    "parallel_dask": wl_parallel_dask,
}


def run_case(framework: str, workload: str, n: int) -> dict[str, Any]:
    """Run one case in this process and return its JSON record."""
    os.environ["BENCH_FRAMEWORK"] = framework
    record: dict[str, Any] = {"framework": framework, "workload": workload, "n": n}
    if workload == "import":
        figures = wl_import(framework, n)
    elif workload == "plain":
        figures = wl_plain(None, n)  # the floor imports no framework
    else:
        from shim import load

        fw = load(framework)
        record["version"] = getattr(fw.module, "__version__", "?")
        figures = WORKLOADS[workload](fw, n)
    if "skipped" in figures:
        return {**record, **figures}
    work = figures.pop("work_s", 0.0)
    record.update(figures)
    record["per_step_s"] = (figures["wall_s"] - work) / figures["steps"]
    if work:
        record["work_s"] = work
    record.setdefault("rss_mb", resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
    return record


def main(argv: list[str] | None = None) -> None:
    """Parse the command line, run the case, print its JSON line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--framework", required=True, choices=("trellis", "dagster"))
    parser.add_argument("--workload", required=True, choices=sorted(WORKLOADS))
    parser.add_argument("--n", type=int, default=100)
    args = parser.parse_args(argv)
    record = run_case(args.framework, args.workload, args.n)
    print(json.dumps(record), flush=True)


if __name__ == "__main__":
    main()
