"""Per-step overhead of the Dask executor (``dask_executor``) on a ``LocalCluster`` of 2
single-threaded worker processes. Run on demand (never a timed unit test):

    .venv/bin/python bench/dask_overhead.py [--repeat N]

Prints JSON lines:

- ``trivial_chain``: one chain of 50 trivial ops (one step at a time), and
  ``trivial_chains``: 50 trivial ops in 2 parallel chains of 25, both on a cluster started
  beforehand (``existing``). ``per_step_ms_median`` is the median time from one step's
  ``STEP_SUCCESS`` to the next step's in the same chain: everything a trivial step costs
  (the orchestrator handling the end of the previous step, the submission to the
  scheduler, the step on a worker with its input loaded and its output stored, its
  events streamed back). The first two steps of each chain (code loading) are left out.
  The same job on the in-process executor is printed for comparison.
- ``cpu_bound``: eight independent ops that each burn 0.5 s of CPU on the 2 workers;
  ``wall_s`` is the run's wall time on the running cluster (ideal 2.0 s, target at most
  2.4 s), ``wall_with_cluster_start_s`` the same with ``cluster: {local: ...}``, which
  starts the cluster for the run and closes it after.
"""

from __future__ import annotations

import json
import logging
import os
import statistics
import sys
import tempfile
import time

os.environ.setdefault("TRELLIS_LOG_LEVEL", "WARNING")
os.environ.setdefault("TRELLIS_BENCH_DIR", tempfile.mkdtemp(prefix="trellis-bench-"))

from trellis import (  # after the environment the workers inherit
    EventType,
    FilesystemIOManager,
    job,
    op,
)

WORKERS = 2
IO = {"io_manager": FilesystemIOManager(base_dir=os.environ["TRELLIS_BENCH_DIR"])}


@op
def first() -> int:
    """The head of a chain."""
    return 0


@op
def increment(x: int) -> int:
    """A trivial step."""
    return x + 1


def _chains(chains: int, length: int) -> None:
    for c in range(chains):
        value = first.alias(f"c{c}_0")()
        for i in range(1, length):
            value = increment.alias(f"c{c}_{i}")(value)


@job(resource_defs=IO)
def one_chain():
    """A chain of 50 trivial steps."""
    _chains(1, 50)


@job(resource_defs=IO)
def two_chains():
    """Two chains of 25 trivial steps."""
    _chains(2, 25)


@op
def burn() -> float:
    """Burn 0.5 s of CPU."""
    started = time.process_time()
    spins = 0
    while time.process_time() - started < 0.5:
        spins += 1
    return spins


@job(resource_defs=IO)
def cpu_bound():
    """Eight independent CPU-bound steps."""
    for i in range(8):
        burn.alias(f"burn_{i}")()


def _on(cluster: dict) -> dict:
    return {"execution": {"config": {"dask": {"cluster": cluster}}}}


def _chain_figures(job_def, chains: int, length: int, run_config: dict) -> dict[str, float]:
    started = time.perf_counter()
    result = job_def.execute_in_process(run_config=run_config)
    wall = time.perf_counter() - started
    assert result.success
    success = {
        e.step_key: e.timestamp for e in result.all_events if e.event_type is EventType.STEP_SUCCESS
    }
    gaps = [
        (success[f"c{c}_{i}"] - success[f"c{c}_{i - 1}"]) * 1000
        for c in range(chains)
        for i in range(3, length)
    ]
    return {
        "per_step_ms_median": statistics.median(gaps),
        "per_step_ms_p90": statistics.quantiles(gaps, n=10)[-1],
        "wall_s": wall,
    }


def main(argv: list[str]) -> None:
    """Run the workloads and print one JSON line each."""
    from distributed import LocalCluster

    repeat = int(argv[argv.index("--repeat") + 1]) if "--repeat" in argv else 3
    local = {"local": {"n_workers": WORKERS, "threads_per_worker": 1}}
    cluster = LocalCluster(
        n_workers=WORKERS,
        threads_per_worker=1,
        processes=True,
        host="127.0.0.1",
        dashboard_address=None,
        scheduler_kwargs={"dashboard_address": ":0"},
        silence_logs=logging.ERROR,
    )
    existing = _on({"existing": {"address": cluster.scheduler_address}})
    try:
        for name, job_def, chains, length, config in (
            ("trivial_chain", one_chain, 1, 50, existing),
            ("trivial_chain_in_process", one_chain, 1, 50, {}),
            ("trivial_chains", two_chains, 2, 25, existing),
            ("trivial_chains_in_process", two_chains, 2, 25, {}),
        ):
            for _ in range(repeat):
                figures = _chain_figures(job_def, chains, length, config)
                print(
                    json.dumps(
                        {
                            "workload": name,
                            "steps": chains * length,
                            **{k: round(v, 3) for k, v in figures.items()},
                        }
                    )
                )
        for _ in range(repeat):
            started = time.perf_counter()
            assert cpu_bound.execute_in_process(run_config=existing).success
            warm = time.perf_counter() - started
            started = time.perf_counter()
            assert cpu_bound.execute_in_process(run_config=_on(local)).success
            cold = time.perf_counter() - started
            print(
                json.dumps(
                    {
                        "workload": "cpu_bound",
                        "steps": 8,
                        "workers": WORKERS,
                        "wall_s": round(warm, 3),
                        "wall_with_cluster_start_s": round(cold, 3),
                        "ideal_s": 2.0,
                    }
                )
            )
    finally:
        cluster.close()


if __name__ == "__main__":
    main(sys.argv[1:])
