"""The `parallel` workload's job, in a module of its own so that worker processes (the
process pool, Dask workers) can import it by reference.

Environment (set by ``workloads.py`` before the run, inherited by the workers):
``BENCH_FRAMEWORK`` (trellis or dagster), ``BENCH_EXECUTOR`` (multiprocess or dask),
``BENCH_SPIN_ITERS`` (loop length of one step's CPU work).
"""

from __future__ import annotations

import os
from typing import Any

from shim import load

STEPS = 8
WORKERS = 2

fw = load(os.environ.get("BENCH_FRAMEWORK", "trellis"))


def spin(iters: int) -> int:
    """Pure-Python CPU work: the sum of squares below ``iters``, modulo a prime."""
    total = 0
    for i in range(iters):
        total += i * i
    return total % 1_000_003


def expected_spin(iters: int) -> int:
    """What ``spin(iters)`` returns, in closed form."""
    return (iters - 1) * iters * (2 * iters - 1) // 6 % 1_000_003


def _iters() -> int:
    return int(os.environ.get("BENCH_SPIN_ITERS", "1000"))


def _work_asset(i: int) -> Any:
    @fw.asset(name=f"p{i}")
    def work() -> int:
        return spin(_iters())

    return work


def _check_total(**values: int) -> int:
    total = sum(values.values())
    expected = STEPS * expected_spin(_iters())
    if total != expected:
        raise ValueError(f"sink got {total}, expected {expected}")
    return total


# Trellis rejects **kwargs in an asset function; give the sink explicit parameters.
_params = ", ".join(f"p{i}" for i in range(STEPS))
_namespace: dict[str, Any] = {"_check_total": _check_total}
exec(f"def total({_params}):\n    return _check_total(**locals())\n", _namespace)
sink = fw.asset(name="total", ins={f"p{i}": fw.AssetIn(key=f"p{i}") for i in range(STEPS)})(
    _namespace["total"]
)


def _executor() -> Any:
    if os.environ.get("BENCH_EXECUTOR", "multiprocess") == "dask":
        return fw.dask_executor()
    return fw.multiprocess_executor.configured({"max_concurrent": WORKERS})


EXECUTOR = _executor()
defs = fw.Definitions(
    assets=[*(_work_asset(i) for i in range(STEPS)), sink],
    jobs=[fw.define_asset_job("parallel", executor_def=EXECUTOR)] if EXECUTOR else [],
    resources={"io_manager": fw.fs_io_manager},
)


def parallel_job() -> Any:
    """The asset job on the chosen executor (a function, as Dagster's reconstructable
    wants)."""
    return fw.job_from_defs(defs, "parallel")
