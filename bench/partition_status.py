"""What reading partition status costs, on SQLite and PostgreSQL. Run on demand (never a
timed unit test); ``make bench`` runs it after the run benchmarks:

    .venv/bin/python bench/partition_status.py [--postgres URL] [--repeat N]

Workloads (one JSON line each, per back end):

- ``one_asset_100k``: one hourly asset with 100,000 partitions (2013-01-01 onwards),
  materialized everywhere except every 1,000th partition, which failed, and the last
  5,000, which are missing (about 200 ranges): the median time of
  ``partition_status`` for it (the instance read, the in-progress runs, the ranges as
  keys). Target: at most 50 ms.
- ``assets_1000x365``: 1,000 daily assets over 365 partitions, each materialized except
  one failed day in the middle: the median time of ``partition_status`` for all of them
  at once. Target: at most 1 s.
- ``multi_365x50``: one asset partitioned by 365 days x 50 static keys (18,250
  partitions), each key's days materialized except one failed day (a different one per
  key) and the last 30 days missing: the median time of ``partition_status`` (ranges
  along the days, per key).
- ``dynamic_100k``: one asset over a dynamic partitions definition with 100,000 keys
  (1,000 of them deleted again, every 100th), materialized except every 1,000th key,
  which failed, and the last 10,000, which are missing: the median time of
  ``partition_status`` (the instance keeps the keys and ids it read while their number
  and highest id stay the same), and of adding a key and then reading the status (the
  99,000 keys and ids read again).

The index is filled through the same storage call a run's event batches make
(``store_events`` with the status updates), in batches, not by running 100,000 runs.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from datetime import UTC, datetime

os.environ.setdefault("TRELLIS_LOG_LEVEL", "WARNING")
DEFAULT_PG = "postgresql://postgres@127.0.0.1:5432/test"


def _median_ms(fn, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        times.append((time.perf_counter() - started) * 1000)
    return round(sorted(times)[len(times) // 2], 2)


def _fill(instance, updates) -> None:
    """Store status updates the way a run's event batches do (1,000 per transaction)."""
    for i in range(0, len(updates), 1000):
        instance.storage.store_events([], None, status_updates=updates[i : i + 1000])


def one_asset_100k(instance, repeat: int) -> dict:
    """One hourly asset with 100,000 partitions."""
    from trellis import Definitions, HourlyPartitionsDefinition, asset
    from trellis.instance.partition_status import FAILED, MATERIALIZED, StatusUpdate
    from trellis.instance.sqlite.schema import asset_key_to_db
    from trellis.views.partition_status import partition_status

    hourly = HourlyPartitionsDefinition(start_date="2013-01-01-00:00")
    now = datetime(2024, 6, 30, tzinfo=UTC)

    @asset(partitions_def=hourly)
    def readings() -> None:
        return None

    graph = Definitions(assets=[readings]).asset_graph
    first, _ = hourly.ordinal_bounds(now)
    last = first + 99_999
    stored = asset_key_to_db(readings.key)
    updates = [StatusUpdate(stored, first, last - 5_000, MATERIALIZED)]
    updates += [StatusUpdate(stored, n, n, FAILED) for n in range(first + 999, last - 5_000, 1_000)]
    _fill(instance, updates)
    current = hourly.window_of_ordinals(last + 1, last + 1).start  # the 100,000th completes
    result = partition_status(instance, graph, [readings.key], current)[readings.key]
    assert sum(r.num_partitions for r in result) == 100_000, sum(r.num_partitions for r in result)
    assert len(result) == 94 + 95 + 1, len(result)  # failed hours, materialized runs, missing
    ms = _median_ms(lambda: partition_status(instance, graph, [readings.key], current), repeat)
    return {"workload": "one_asset_100k", "partitions": 100_000, "ranges": len(result), "ms": ms}


def assets_1000x365(instance, repeat: int) -> dict:
    """1,000 daily assets over 365 partitions."""
    from trellis import DailyPartitionsDefinition, Definitions, asset
    from trellis.instance.partition_status import FAILED, MATERIALIZED, StatusUpdate
    from trellis.instance.sqlite.schema import asset_key_to_db
    from trellis.views.partition_status import partition_status

    daily = DailyPartitionsDefinition(start_date="2023-01-01", end_date="2024-01-01")
    assets = [asset(name=f"a{i}", partitions_def=daily)(lambda: None) for i in range(1000)]
    graph = Definitions(assets=assets).asset_graph
    first, last = daily.ordinal_bounds(None)
    updates = []
    for i in range(1000):
        stored = asset_key_to_db(assets[i].key)
        updates.append(StatusUpdate(stored, first, last, MATERIALIZED))
        updates.append(StatusUpdate(stored, first + 180, first + 180, FAILED))
    _fill(instance, updates)
    keys = [a.key for a in assets]
    result = partition_status(instance, graph, keys)
    assert all(sum(r.num_partitions for r in v) == 365 for v in result.values())
    assert all(len(v) == 3 for v in result.values())  # materialized, failed, materialized
    ms = _median_ms(lambda: partition_status(instance, graph, keys), repeat)
    return {"workload": "assets_1000x365", "assets": 1000, "partitions": 365_000, "ms": ms}


def multi_365x50(instance, repeat: int) -> dict:
    """One asset over 365 days x 50 static keys."""
    from trellis import (
        DailyPartitionsDefinition,
        Definitions,
        MultiPartitionKey,
        MultiPartitionsDefinition,
        StaticPartitionsDefinition,
        asset,
    )
    from trellis.defs.partition_ordinals import partition_ordinal
    from trellis.instance.partition_status import FAILED, MATERIALIZED, StatusUpdate
    from trellis.instance.sqlite.schema import asset_key_to_db
    from trellis.views.partition_status import partition_status

    daily = DailyPartitionsDefinition(start_date="2023-01-01", end_date="2024-01-01")
    stores = StaticPartitionsDefinition([f"store_{i:02d}" for i in range(50)])
    pdef = MultiPartitionsDefinition({"date": daily, "store": stores})

    @asset(partitions_def=pdef)
    def store_sales() -> None:
        return None

    graph = Definitions(assets=[store_sales]).asset_graph
    days = daily.get_partition_keys()
    stored = asset_key_to_db(store_sales.key)
    updates = []
    for i, store in enumerate(stores.get_partition_keys()):

        def ordinal(day: str, store: str = store) -> int:
            found = partition_ordinal(pdef, MultiPartitionKey({"date": day, "store": store}), None)
            assert found is not None
            return found

        updates.append(StatusUpdate(stored, ordinal(days[0]), ordinal(days[-31]), MATERIALIZED))
        failed = ordinal(days[(i * 7) % 330])
        updates.append(StatusUpdate(stored, failed, failed, FAILED))
    _fill(instance, updates)
    result = partition_status(instance, graph, [store_sales.key])[store_sales.key]
    assert sum(r.num_partitions for r in result) == 365 * 50
    ms = _median_ms(lambda: partition_status(instance, graph, [store_sales.key]), repeat)
    return {"workload": "multi_365x50", "partitions": 365 * 50, "ranges": len(result), "ms": ms}


def dynamic_100k(instance, repeat: int) -> dict:
    """One asset over 100,000 dynamic keys, 1,000 of them deleted."""
    from trellis import Definitions, DynamicPartitionsDefinition, asset
    from trellis.instance.partition_status import FAILED, MATERIALIZED, StatusUpdate
    from trellis.instance.sqlite.schema import asset_key_to_db
    from trellis.views.partition_status import partition_status

    name = f"files_{instance.storage.backend}"
    files = DynamicPartitionsDefinition(name=name)

    @asset(partitions_def=files)
    def parsed_files() -> None:
        return None

    graph = Definitions(assets=[parsed_files]).asset_graph
    keys = [f"file-{i:06d}.csv" for i in range(100_000)]
    for i in range(0, len(keys), 10_000):
        instance.add_dynamic_partitions(name, keys[i : i + 10_000])
    ids = [n for n, _ in instance.get_dynamic_partition_ordinals(name)]
    stored = asset_key_to_db(parsed_files.key)
    updates = [StatusUpdate(stored, ids[0], ids[89_999], MATERIALIZED)]
    updates += [StatusUpdate(stored, ids[i], ids[i], FAILED) for i in range(999, 90_000, 1_000)]
    _fill(instance, updates)
    for i in range(50, 100_000, 100):
        instance.delete_dynamic_partition(name, keys[i])
    result = partition_status(instance, graph, [parsed_files.key])[parsed_files.key]
    assert sum(r.num_partitions for r in result) == 99_000, sum(r.num_partitions for r in result)
    ms = _median_ms(lambda: partition_status(instance, graph, [parsed_files.key]), repeat)
    changes = iter(range(repeat))

    def after_a_change() -> None:  # a new key: the ids are read again, not from the cache
        instance.add_dynamic_partitions(name, [f"new-{next(changes)}.csv"])
        partition_status(instance, graph, [parsed_files.key])

    changed_ms = _median_ms(after_a_change, repeat)
    return {
        "workload": "dynamic_100k",
        "partitions": 99_000,
        "ranges": len(result),
        "ms": ms,
        "ms_after_a_change": changed_ms,
    }


def _instances(postgres_url: str | None):
    from trellis.instance.instance import Instance

    yield "sqlite", Instance.from_config(tempfile.mkdtemp(prefix="trellis-bench-"), {})
    if postgres_url:
        import uuid

        import psycopg

        schema = f"trellis_bench_{uuid.uuid4().hex[:8]}"
        with psycopg.connect(postgres_url, autocommit=True) as conn:
            conn.execute(f'CREATE SCHEMA "{schema}"')
        url = f"{postgres_url}?options=-csearch_path%3D{schema}"
        home = tempfile.mkdtemp(prefix="trellis-bench-")
        try:
            yield "postgres", Instance.from_config(home, {"storage": {"postgres": {"url": url}}})
        finally:
            with psycopg.connect(postgres_url, autocommit=True) as conn:
                conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


def main(argv: list[str] | None = None) -> int:
    """Run the workloads on each back end; print one JSON line per figure."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--postgres", default=DEFAULT_PG, help="a PostgreSQL URL ('' to skip)")
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args(argv)
    for backend, instance in _instances(args.postgres or None):
        for workload in (one_asset_100k, assets_1000x365, multi_365x50, dynamic_100k):
            figure = workload(instance, args.repeat)
            print(json.dumps({"backend": backend, **figure}), flush=True)
        instance.dispose()
    return 0


if __name__ == "__main__":
    sys.exit(main())
