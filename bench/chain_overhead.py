"""Per-step overhead of the in-process engine: a chain of N assets (in-memory IO) and a
job of N ops in a line. Run on demand (never a timed unit test):

    .venv/bin/python bench/chain_overhead.py [N ...]

Prints one JSON line per workload and size: definition time, run wall time and the
run's time per step.
"""

from __future__ import annotations

import json
import os
import sys
import time

os.environ.setdefault("TRELLIS_LOG_LEVEL", "WARNING")


def asset_chain(n: int) -> dict[str, float]:
    """N assets, each reading the previous one."""
    from trellis import AssetIn, asset, materialize_to_memory

    started = time.perf_counter()

    def first() -> int:
        return 1

    def compute(prev: int) -> int:
        return prev + 1

    assets = [asset(name="a0")(first)]
    for i in range(1, n):
        assets.append(asset(name=f"a{i}", ins={"prev": AssetIn(key=f"a{i - 1}")})(compute))
    defined = time.perf_counter()
    result = materialize_to_memory(assets)
    finished = time.perf_counter()
    assert result.success and result.asset_value(f"a{n - 1}") == n
    return {"define_s": defined - started, "run_s": finished - defined}


def op_chain(n: int) -> dict[str, float]:
    """A job of N ops in a line, run with execute_in_process."""
    from trellis import job, op

    @op
    def step(x: int) -> int:
        return x + 1

    @op
    def start() -> int:
        return 0

    started = time.perf_counter()

    @job
    def line() -> None:
        value = start()
        for _ in range(n - 1):
            value = step(value)

    defined = time.perf_counter()
    result = line.execute_in_process()
    finished = time.perf_counter()
    assert result.success
    return {"define_s": defined - started, "run_s": finished - defined}


def main(sizes: list[int]) -> None:
    """Run both workloads at each size and print JSON lines."""
    for name, workload in (("asset_chain", asset_chain), ("op_chain", op_chain)):
        for n in sizes:
            figures = workload(n)
            figures["per_step_us"] = figures["run_s"] / n * 1e6
            print(
                json.dumps(
                    {"workload": name, "n": n, **{k: round(v, 4) for k, v in figures.items()}}
                )
            )


if __name__ == "__main__":
    main([int(a) for a in sys.argv[1:]] or [10, 100, 1000])
