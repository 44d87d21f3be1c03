"""Runs one job whose steps belong to the concurrency pool ``db``, on the instance given
by a home and a JSON config, in a process of its own (the cross-process pool tests).

``python pool_run.py HOME CONFIG_JSON OUT_DIR LABEL STEPS SECONDS``: STEPS parallel ops
of pool ``db`` on the multithread executor (so that, without the pool, they would run at
once), each writing ``<LABEL>-<op>.span`` with its start and end times after sleeping
SECONDS; with STEPS 0, one op ``hold`` writes ``<LABEL>-hold.started`` and sleeps for
SECONDS (the test kills the process then). Prints the run id.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

from trellis import Instance, job, op

home, config, out_dir, label, steps, seconds = sys.argv[1:7]
OUT = Path(out_dir)
SECONDS = float(seconds)


def _make_op(name: str):
    @op(name=name, pool="db")
    def timed() -> None:
        start = time.time()
        time.sleep(SECONDS)
        (OUT / f"{label}-{name}.span").write_text(f"{start} {time.time()}")

    return timed


@op(pool="db")
def hold() -> None:
    (OUT / f"{label}-hold.started").write_text(str(time.time()))
    time.sleep(SECONDS)


if int(steps) == 0:

    @job
    def pooled_job():
        hold()

else:
    ops = [_make_op(f"step_{i}") for i in range(int(steps))]

    @job
    def pooled_job():
        for each in ops:
            each()


with Instance.from_config(home, json.loads(config)) as instance:
    result = pooled_job.execute_in_process(
        instance=instance,
        raise_on_error=False,
        run_config={"execution": {"config": {"multithread": {"max_concurrent": 4}}}},
    )
    print(result.run_id, flush=True)
