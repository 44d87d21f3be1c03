"""What a backfill costs the daemon, on SQLite. Run on demand (never a timed unit test):

    .venv/bin/python bench/backfill.py [--repeat N]

Workloads (one JSON line each), over a daily asset from 2019-01-01 to 2023-12-31 (1,826
partitions):

- ``plan_multi_run_30``: ``launch_backfill`` with ``BackfillPolicy.multi_run(30)`` (61
  runs planned, the record stored): median ms.
- ``plan_self_dependent``: the same with a self-dependent asset without a policy (1,826
  runs, each after the one before): median ms.
- ``round_1826_runs``: one round of the backfill loop over the self-dependent backfill
  with every run already made and succeeded except the last (the runs read, the states,
  the counts written): median ms. This is the loop's cost per second while such a
  backfill is under way.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time

os.environ.setdefault("TRELLIS_LOG_LEVEL", "WARNING")

DEFS = """
from trellis import (AssetIn, BackfillPolicy, DailyPartitionsDefinition, Definitions,
                     TimeWindowPartitionMapping, asset)

days = DailyPartitionsDefinition(start_date="2019-01-01", end_date="2024-01-01")


@asset(partitions_def=days, backfill_policy=BackfillPolicy.multi_run(30))
def history() -> None: ...


@asset(partitions_def=days,
       ins={"chain": AssetIn("chain", partition_mapping=TimeWindowPartitionMapping(-1, -1))})
def chain(chain) -> None: ...


defs = Definitions(assets=[history, chain])
"""


def _median_ms(fn, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        times.append((time.perf_counter() - started) * 1000)
    return round(statistics.median(times), 2)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    from trellis.api.backfill import launch_backfill
    from trellis.core.run import RunStatus
    from trellis.daemon.backfill_loop import BackfillLoop
    from trellis.daemon.code_location import CodeLocation
    from trellis.execution.remote.code_pointer import CodePointer
    from trellis.instance.instance import Instance

    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "defs.py")
        with open(path, "w") as f:
            f.write(DEFS)
        location = CodeLocation.load(CodePointer(file=path, attribute="defs"))
        defs = location.definitions
        instance = Instance.from_config(os.path.join(tmp, "home"), {})
        for name, select in (("plan_multi_run_30", "history"), ("plan_self_dependent", "chain")):
            ms = _median_ms(
                lambda s=select: launch_backfill(instance, defs, [s], all_partitions=True),
                args.repeat,
            )
            print(json.dumps({"workload": name, "backend": "sqlite", "median_ms": ms}))
        record = launch_backfill(instance, defs, ["chain"], all_partitions=True)
        loop = BackfillLoop(instance, location)
        for index in range(len(record.chunks) - 1):  # made and succeeded, straight in storage
            run = loop.launch_chunk(record, index)
            run.status = RunStatus.SUCCESS
            instance.storage.update_run(run)
        instance.update_backfill(record)
        ms = _median_ms(lambda: loop.advance(instance.get_backfill(record.backfill_id)), 3)
        print(json.dumps({"workload": "round_1826_runs", "backend": "sqlite", "median_ms": ms}))
        instance.dispose()
    sys.stdout.flush()


if __name__ == "__main__":
    main()
