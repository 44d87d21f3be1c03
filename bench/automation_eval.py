"""What one declarative-automation evaluation costs, on a SQLite instance. Run on demand
(never a timed unit test):

    .venv/bin/python bench/automation_eval.py [N ...]

Workloads (one JSON line each):

- ``eager_chain``: N assets in a line, each ``AutomationCondition.eager()``, all
  materialized once; the time of a steady evaluation (nothing requested) and of the one
  after the first asset is materialized again (one request), and the cursor's size.
- ``daily_partitions``: an upstream and a downstream asset over N daily partitions, the
  downstream ``eager()``, the upstream materialized in every partition; the same figures.
"""

from __future__ import annotations

import json
import os
import sys
import time
from datetime import UTC, datetime, timedelta

os.environ.setdefault("TRELLIS_LOG_LEVEL", "WARNING")


def _median_ms(fn, repeat: int = 5) -> float:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        times.append((time.perf_counter() - started) * 1000)
    return sorted(times)[len(times) // 2]


def eager_chain(n: int) -> dict[str, float]:
    """N eager assets in a line."""
    from trellis import (
        AssetIn,
        AutomationCondition,
        Definitions,
        asset,
        instance_for_test,
        materialize,
    )
    from trellis.automation.loop import AutomationLoop

    assets = [asset(name="a0", automation_condition=AutomationCondition.eager())(lambda: 1)]
    for i in range(1, n):
        assets.append(
            asset(
                name=f"a{i}",
                ins={"prev": AssetIn(key=f"a{i - 1}")},
                automation_condition=AutomationCondition.eager(),
            )(lambda prev: prev)
        )
    defs = Definitions(assets=assets)
    with instance_for_test() as instance:
        materialize(assets, instance=instance)
        loop = AutomationLoop(record_evaluations=False)
        cursor = loop.run_once(instance, defs, None, None).cursor
        steady = _median_ms(lambda: loop.run_once(instance, defs, None, cursor))
        materialize([assets[0]], instance=instance)
        started = time.perf_counter()
        tick = loop.run_once(instance, defs, None, cursor)
        requested_ms = (time.perf_counter() - started) * 1000
        assert len(tick.run_requests) == 1, tick.run_requests
    return {
        "steady_ms": round(steady, 1),
        "steady_us_per_asset": round(steady * 1000 / n, 1),
        "one_request_ms": round(requested_ms, 1),
        "cursor_bytes": len(cursor),
    }


def daily_partitions(n: int) -> dict[str, float]:
    """Two assets over N daily partitions, the downstream one eager."""
    from trellis import (
        AutomationCondition,
        DailyPartitionsDefinition,
        Definitions,
        asset,
        instance_for_test,
    )
    from trellis.automation.loop import AutomationLoop
    from trellis.core import event_factory
    from trellis.core.outputs import AssetMaterialization
    from trellis.core.run import Run

    now = datetime(2024, 1, 1, 6, tzinfo=UTC)
    daily = DailyPartitionsDefinition(start_date=now - timedelta(days=n))

    @asset(partitions_def=daily)
    def up(): ...

    @asset(deps=[up], partitions_def=daily, automation_condition=AutomationCondition.eager())
    def down(): ...

    defs = Definitions(assets=[up, down])
    keys = daily.get_partition_keys(now)
    with instance_for_test() as instance:
        run = instance.add_run(Run("bench-run", "bench"))
        events = [
            event_factory.asset_materialization(
                run.run_id, "bench", "up", AssetMaterialization("up", partition=k)
            )
            for k in keys
        ]
        instance.handle_new_events(events, run)
        loop = AutomationLoop(record_evaluations=False)
        cursor = loop.run_once(instance, defs, now, None).cursor
        steady = _median_ms(lambda: loop.run_once(instance, defs, now, cursor))
        latest = AssetMaterialization("up", partition=keys[-1])
        event = event_factory.asset_materialization(run.run_id, "bench", "up", latest)
        instance.handle_new_events([event], run)
        tick = loop.run_once(instance, defs, now, cursor)
        assert [r.partition_key for r in tick.run_requests] == [keys[-1]]
    return {
        "partitions": len(keys),
        "steady_ms": round(steady, 1),
        "cursor_bytes": len(cursor),
        "next_cursor_bytes": len(tick.cursor),
    }


def main(sizes: list[int]) -> None:
    """Print one JSON line per workload and size."""
    for n in sizes:
        print(json.dumps({"workload": "eager_chain", "n": n, **eager_chain(n)}), flush=True)
    for n in sizes:
        print(json.dumps({"workload": "daily_partitions", "n": n, **daily_partitions(n)}))


if __name__ == "__main__":
    main([int(a) for a in sys.argv[1:]] or [100, 1000])
