"""The benchmark runner: every case of ``workloads.py`` in a fresh process, repeated,
Trellis and Dagster interleaved; prints a markdown table of medians and writes the raw
records to ``bench/results/latest.json``.

    .venv/bin/python bench/run.py                 # Trellis and Dagster side by side
    .venv/bin/python bench/run.py --trellis-only  # what `make bench` runs
    .venv/bin/python bench/run.py --only chain,ops --sizes 10,100 --repeat 7

Dagster runs from its own virtualenv, ``bench/.venv-dagster`` (created here on first
use, never a dependency of Trellis); Trellis from the repository's ``.venv``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from dagster_env import dagster_python, ensure_dagster_venv
from report import medians, table

BENCH_DIR = Path(__file__).resolve().parent
REPO = BENCH_DIR.parent
TRELLIS_PYTHON = REPO / ".venv" / "bin" / "python"
RESULTS = BENCH_DIR / "results" / "latest.json"

# Workloads in table order, with their sizes. import/instance/parallel have one size.
SIZES: dict[str, list[int]] = {
    "import": [1],
    "instance": [1],
    "plain": [10, 100, 1000, 10000],
    "chain": [10, 100, 1000, 10000],
    "fanout": [10, 100, 1000, 10000],
    "ops": [10, 100, 1000, 10000],
    "dynamic": [1000, 10000, 20000],
    "chain_fs": [100, 500],
    "define": [1000, 10000],
    "parallel": [8],
    "parallel_dask": [8],
}
FIXED_SIZE = {"import", "instance", "parallel", "parallel_dask"}
# Dagster runs these in-memory workloads only up to --dagster-max-n (about 20 s a run at
# 1,000, and a chain of 10,000 overflows its recursive graph sort).
DAGSTER_CAPPED = {"chain", "fanout", "ops", "dynamic"}


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    """The command line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=None, help="runs per case (default 5)")
    parser.add_argument("--only", default="", help="comma-separated workloads")
    parser.add_argument("--sizes", default="", help="comma-separated N (sized workloads)")
    parser.add_argument(
        "--quick", action="store_true", help="smoke run: smallest size of each workload, 3 runs"
    )
    parser.add_argument("--trellis-only", action="store_true", help="skip Dagster")
    parser.add_argument(
        "--dagster-max-n",
        type=int,
        default=1000,
        help=f"largest N for Dagster in {sorted(DAGSTER_CAPPED)}",
    )
    parser.add_argument("--timeout", type=float, default=900, help="seconds per run")
    parser.add_argument("--output", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    unknown = set(filter(None, args.only.split(","))) - set(SIZES)
    if unknown:
        parser.error(f"unknown workloads {sorted(unknown)}; choose from {list(SIZES)}")
    if args.repeat is None:
        args.repeat = 3 if args.quick else 5
    return args


def plan_cases(args: argparse.Namespace) -> list[tuple[str, int]]:
    """(workload, n) pairs to run, in table order."""
    only = [w for w in SIZES if w in args.only.split(",")] if args.only else list(SIZES)
    chosen = [int(s) for s in args.sizes.split(",") if s]
    cases = []
    for workload in only:
        sizes = SIZES[workload]
        if chosen and workload not in FIXED_SIZE:
            sizes = chosen
        elif args.quick:
            sizes = sizes[:1]
        cases.extend((workload, n) for n in sizes)
    return cases


def run_one(python: Path, framework: str, workload: str, n: int, timeout: float) -> dict:
    """One case in a fresh process: its JSON record, or a record with ``error``."""
    command = [
        str(python),
        str(BENCH_DIR / "workloads.py"),
        "--framework",
        framework,
        "--workload",
        workload,
        "--n",
        str(n),
    ]
    base = {"framework": framework, "workload": workload, "n": n}
    try:
        done = subprocess.run(
            command, capture_output=True, text=True, timeout=timeout, cwd=REPO, env=_clean_env()
        )
    except subprocess.TimeoutExpired:
        return {**base, "error": f"timed out after {timeout:.0f} s"}
    lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
    if done.returncode != 0 or not lines:
        tail = done.stderr.strip().splitlines()[-3:]
        return {**base, "error": f"exit {done.returncode}: " + " | ".join(tail)}
    return json.loads(lines[-1])


def _clean_env() -> dict[str, str]:
    # Each workload that needs a persistent instance makes its own home.
    return {k: v for k, v in os.environ.items() if k not in ("TRELLIS_HOME", "DAGSTER_HOME")}


def _git_commit() -> str:
    try:
        done = subprocess.run(
            ["git", "describe", "--always", "--dirty"],
            cwd=REPO,
            capture_output=True,
            text=True,
            timeout=10,
        )
        return done.stdout.strip() or "?"
    except OSError:
        return "?"


def main(argv: list[str] | None = None) -> int:
    """Run the suite; 1 if any run failed or gave a wrong result."""
    args = parse_args(argv)
    pythons = {"trellis": TRELLIS_PYTHON}
    notes: list[str] = []
    if not args.trellis_only:
        notes.extend(ensure_dagster_venv())
        pythons["dagster"] = dagster_python()
    cases = plan_cases(args)
    started = time.time()
    records: list[dict[str, Any]] = []
    for workload, n in cases:
        skipped: set[str] = set()
        for rep in range(args.repeat):
            for framework, python in pythons.items():
                capped = workload in DAGSTER_CAPPED and n > args.dagster_max_n
                if framework in skipped or (framework == "dagster" and capped):
                    continue
                record = run_one(python, framework, workload, n, args.timeout)
                record["rep"] = rep
                records.append(record)
                if "skipped" in record:
                    skipped.add(framework)
                _progress(record)
    rows = medians(records)
    text = table(rows, include_dagster=not args.trellis_only)
    elapsed = time.time() - started
    print(text)
    if (
        any(r["workload"] in DAGSTER_CAPPED and r["n"] > args.dagster_max_n for r in rows)
        and not args.trellis_only
    ):
        notes.append(
            f"-: not run; Dagster runs {', '.join(sorted(DAGSTER_CAPPED))} only up "
            f"to N = {args.dagster_max_n} (--dagster-max-n)"
        )
    for note in notes + sorted(
        {f"{r['framework']} {r['workload']}: {r['skipped']}" for r in records if "skipped" in r}
    ):
        print(f"- {note}")
    errors = [r for r in records if "error" in r]
    for record in errors:
        print(
            f"ERROR {record['framework']} {record['workload']} n={record['n']}: {record['error']}"
        )
    meta = {
        "command": " ".join(sys.argv),
        "started": started,
        "elapsed_s": elapsed,
        "repeat": args.repeat,
        "python": platform.python_version(),
        "machine": platform.platform(),
        "commit": _git_commit(),
        "notes": notes,
    }
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(
        json.dumps({"meta": meta, "medians": rows, "runs": records, "table": text}, indent=1)
    )
    print(
        f"\n{len(records)} runs in {elapsed:.0f} s; raw results in {args.output}", file=sys.stderr
    )
    return 1 if errors else 0


def _progress(record: dict[str, Any]) -> None:
    if "error" in record:
        status = "ERROR " + record["error"][:200]
    elif "skipped" in record:
        status = "skipped: " + record["skipped"]
    else:
        status = f"wall {record['wall_s']:.4f} s"
    print(
        f"  {record['framework']:8} {record['workload']:14} n={record['n']:<6} "
        f"#{record['rep'] + 1}  {status}",
        file=sys.stderr,
        flush=True,
    )


if __name__ == "__main__":
    sys.exit(main())
