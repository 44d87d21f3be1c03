"""Per-step overhead of the warm process pool (``multiprocess_executor``). Run on demand
(never a timed unit test):

    .venv/bin/python bench/executor_overhead.py [--sqlite] [--repeat N]

Prints JSON lines:

- ``trivial_chains``: 50 trivial ops in 2 parallel chains of 25 on 2 workers (outputs
  pickled to files). ``per_step_ms_median`` is the median time from one step's
  ``STEP_SUCCESS`` to the next step's in the same chain: everything a trivial step costs
  (the orchestrator handling the end of the previous step, the request to the worker, the
  step itself with its input loaded and its output stored, and its events coming back).
  The first step of each chain (it waits for a worker to boot) is left out; ``pool_start_s``
  is the time from ``RUN_START`` to the first ``STEP_START``. The same job on the
  in-process executor is printed for comparison (same IO manager, no pool).
- ``cpu_bound``: eight independent ops that each burn 0.5 s of CPU, on 2 workers; the
  run's wall time (ideal 2.0 s, target at most 2.4 s) includes starting the pool.
  ``busiest_worker_steps_s`` is the wall time the busier worker spent inside steps: the
  difference to ``wall_s`` is the pool's own cost (start, dispatch, stop), which stays
  readable when other processes slow the steps down.

``--sqlite`` runs against a persistent instance (SQLite in a temporary ``TRELLIS_HOME``)
instead of an ephemeral one, as ``trellis job execute`` would. Each line carries the
machine's 1-minute load average: on a 2-core machine, figures taken while other work
runs are not comparable.
"""

from __future__ import annotations

import json
import os
import statistics
import sys
import tempfile
import time

os.environ.setdefault("TRELLIS_LOG_LEVEL", "WARNING")
os.environ.setdefault("TRELLIS_BENCH_DIR", tempfile.mkdtemp(prefix="trellis-bench-"))

from trellis import (  # after setting the environment the workers inherit
    EventType,
    FilesystemIOManager,
    Instance,
    job,
    multiprocess_executor,
    op,
)

CHAINS = 2
LENGTH = 25
WORKERS = 2
IO = {"io_manager": FilesystemIOManager(base_dir=os.environ["TRELLIS_BENCH_DIR"])}
POOL = multiprocess_executor.configured({"max_concurrent": WORKERS})


@op
def first() -> int:
    """The head of a chain."""
    return 0


@op
def increment(x: int) -> int:
    """A trivial step."""
    return x + 1


def _chains() -> None:
    for c in range(CHAINS):
        value = first.alias(f"c{c}_0")()
        for i in range(1, LENGTH):
            value = increment.alias(f"c{c}_{i}")(value)


@job(resource_defs=IO, executor_def=POOL)
def trivial_chains_pool():
    """Two chains of 25 trivial steps on the pool."""
    _chains()


@job(resource_defs=IO)
def trivial_chains_in_process():
    """The same steps on the in-process executor."""
    _chains()


@op
def burn() -> float:
    """Burn 0.5 s of CPU."""
    started = time.process_time()
    spins = 0
    while time.process_time() - started < 0.5:
        spins += 1
    return spins


@job(resource_defs=IO, executor_def=POOL)
def cpu_bound():
    """Eight independent CPU-bound steps."""
    for i in range(8):
        burn.alias(f"burn_{i}")()


def _instance(sqlite: bool) -> Instance:
    if not sqlite:
        return Instance.ephemeral()
    os.environ["TRELLIS_HOME"] = tempfile.mkdtemp(prefix="trellis-bench-home-")
    return Instance.get()


def _chain_figures(job_def, sqlite: bool) -> dict[str, float]:
    started = time.perf_counter()
    result = job_def.execute_in_process(instance=_instance(sqlite))
    wall = time.perf_counter() - started
    assert result.success
    events = result.all_events
    success = {e.step_key: e.timestamp for e in events if e.event_type is EventType.STEP_SUCCESS}
    gaps = [
        (success[f"c{c}_{i}"] - success[f"c{c}_{i - 1}"]) * 1000
        for c in range(CHAINS)
        for i in range(2, LENGTH)
    ]
    first_start = min(e.timestamp for e in events if e.event_type is EventType.STEP_START)
    return {
        "per_step_ms_median": statistics.median(gaps),
        "per_step_ms_p90": statistics.quantiles(gaps, n=10)[-1],
        "pool_start_s": first_start - events[0].timestamp,
        "wall_s": wall,
    }


def main(argv: list[str]) -> None:
    """Run the workloads and print one JSON line each."""
    sqlite = "--sqlite" in argv
    repeat = int(argv[argv.index("--repeat") + 1]) if "--repeat" in argv else 3
    instance = "sqlite" if sqlite else "ephemeral"
    for name, job_def in (
        ("trivial_chains", trivial_chains_pool),
        ("trivial_chains_in_process", trivial_chains_in_process),
    ):
        for _ in range(repeat):
            figures = _chain_figures(job_def, sqlite)
            print(
                json.dumps(
                    {
                        "workload": name,
                        "instance": instance,
                        "steps": CHAINS * LENGTH,
                        **{k: round(v, 3) for k, v in figures.items()},
                        "load_1min": round(os.getloadavg()[0], 2),
                    }
                )
            )
    for _ in range(repeat):
        started = time.perf_counter()
        result = cpu_bound.execute_in_process(instance=_instance(sqlite))
        wall = time.perf_counter() - started
        assert result.success
        busy: dict[int, float] = {}
        for e in result.all_events:
            if e.event_type is EventType.STEP_SUCCESS:
                busy[e.pid] = busy.get(e.pid, 0.0) + e.data.duration_ms / 1000
        print(
            json.dumps(
                {
                    "workload": "cpu_bound",
                    "instance": instance,
                    "steps": 8,
                    "workers": WORKERS,
                    "wall_s": round(wall, 3),
                    "ideal_s": 2.0,
                    "busiest_worker_steps_s": round(max(busy.values()), 3),
                    "load_1min": round(os.getloadavg()[0], 2),
                }
            )
        )


if __name__ == "__main__":
    main(sys.argv[1:])
