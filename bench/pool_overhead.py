"""What concurrency pools cost. Run on demand (never a timed unit test):

    .venv/bin/python bench/pool_overhead.py [--postgres URL] [--steps N]

Prints JSON lines:

- ``claim_free``: the median time of one slot claim and one free (what each step of a
  pool adds: two write transactions) on a SQLite instance (and on PostgreSQL with
  ``--postgres``), over 500 pairs.
- ``job``: a job of N trivial independent ops (default 200) run in process on a SQLite
  instance, with every op in a pool (no limit) and without, alternating, best of five;
  the wall time per step of each and the difference, which is what a pool adds to a
  step inside a run.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import statistics
import tempfile
import time
import uuid
from collections.abc import Iterator
from urllib.parse import quote

os.environ.setdefault("TRELLIS_LOG_LEVEL", "WARNING")

from trellis import Instance, job, op
from trellis.core.run import Run


def claim_free(instance: Instance, pairs: int = 500) -> float:
    """Median milliseconds of one claim plus one free."""
    run = Run(run_id="bench-run", job_name="bench")
    instance.add_run(run)
    timings = []
    for i in range(pairs):
        start = time.perf_counter()
        assert instance.claim_concurrency_slot("bench", run.run_id, f"s{i}").granted
        instance.free_concurrency_slots(run.run_id, f"s{i}")
        timings.append((time.perf_counter() - start) * 1000)
    return statistics.median(timings)


def _job(steps: int, pool: str | None):
    ops = []
    for i in range(steps):

        @op(name=f"step_{i}", pool=pool)
        def trivial() -> None:
            return None

        ops.append(trivial)

    @job(name="pooled" if pool else "plain")
    def the_job():
        for each in ops:
            each()

    return the_job


def per_step_ms(instance: Instance, steps: int, rounds: int = 5) -> tuple[float, float]:
    """Wall milliseconds per step of one run of the job without and with a pool (best
    of ``rounds``, the two runs alternating so that both see the same machine)."""
    jobs = {None: _job(steps, None), "bench": _job(steps, "bench")}
    best = {None: float("inf"), "bench": float("inf")}
    for _ in range(rounds):
        for pool, the_job in jobs.items():
            start = time.perf_counter()
            result = the_job.execute_in_process(instance=instance)
            assert result.success
            best[pool] = min(best[pool], (time.perf_counter() - start) * 1000 / steps)
    return best[None], best["bench"]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--postgres", help="a PostgreSQL url to measure claims on too")
    parser.add_argument("--steps", type=int, default=200)
    args = parser.parse_args()
    load = os.getloadavg()[0]
    with Instance.from_config(tempfile.mkdtemp(prefix="trellis-bench-"), {}) as sqlite:
        print(
            json.dumps(
                {"claim_free": "sqlite", "median_ms": round(claim_free(sqlite), 3), "load": load}
            )
        )
        plain, pooled = per_step_ms(sqlite, args.steps)
        print(
            json.dumps(
                {
                    "job": args.steps,
                    "plain_per_step_ms": round(plain, 3),
                    "pooled_per_step_ms": round(pooled, 3),
                    "pool_adds_ms": round(pooled - plain, 3),
                    "load": load,
                }
            )
        )
    if args.postgres:
        with scratch_schema(args.postgres) as url:
            config = {"storage": {"postgres": {"url": url}}}
            with Instance.from_config(tempfile.mkdtemp(prefix="trellis-bench-"), config) as pg:
                median = claim_free(pg)
        print(json.dumps({"claim_free": "postgres", "median_ms": round(median, 3), "load": load}))


@contextlib.contextmanager
def scratch_schema(url: str) -> Iterator[str]:
    """``url`` confined to a new schema, dropped afterwards (the database is left as it
    was)."""
    import psycopg

    schema = f"trellis_bench_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    sep = "&" if "?" in url else "?"
    try:
        yield f"{url}{sep}options={quote(f'-csearch_path={schema}', safe='')}"
    finally:
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


if __name__ == "__main__":
    main()
