"""Definitions the backfill tests run: a daily asset over five years (1,826 partitions)
with ``BackfillPolicy.multi_run(30)``, a daily asset that fails on the partitions listed
in $BACKFILL_FAIL_KEYS, a weekly asset downstream of it (named to sort before it), a
self-dependent daily asset and an unpartitioned one. Every partition each asset computes
is appended to $DAEMON_TEST_OUT/<asset>.log when set."""

from __future__ import annotations

import os
from pathlib import Path

from trellis import (
    AssetIn,
    BackfillPolicy,
    DailyPartitionsDefinition,
    Definitions,
    TimeWindowPartitionMapping,
    WeeklyPartitionsDefinition,
    asset,
    custom_path_fs_io_manager,
    in_process_executor,
)

five_years = DailyPartitionsDefinition(start_date="2019-01-01", end_date="2024-01-01")
days = DailyPartitionsDefinition(start_date="2024-01-01", end_date="2024-02-01")
weeks = WeeklyPartitionsDefinition(start_date="2024-01-01", end_date="2024-02-01")


def _note(name: str, keys: list[str]) -> None:
    out = os.environ.get("DAEMON_TEST_OUT")
    if out:
        with (Path(out) / f"{name}.log").open("a") as f:
            f.write("".join(f"{k}\n" for k in keys))


@asset(partitions_def=five_years, backfill_policy=BackfillPolicy.multi_run(30))
def history(context) -> None:
    _note("history", context.partition_keys)


@asset(partitions_def=days)
def raw(context) -> int:
    _note("raw", [context.partition_key])
    if context.partition_key in os.environ.get("BACKFILL_FAIL_KEYS", "").split(","):
        raise RuntimeError(f"raw failed on {context.partition_key}")
    return 1


@asset(partitions_def=weeks)
def by_week(context, raw) -> int:
    _note("by_week", [context.partition_key])
    return sum(raw.values())


@asset(
    partitions_def=days,
    ins={"running": AssetIn("running", partition_mapping=TimeWindowPartitionMapping(-1, -1))},
)
def running(context, running) -> int:
    _note("running", [context.partition_key])
    return (running or 0) + 1


@asset
def summary() -> int:
    return 0


defs = Definitions(
    assets=[history, raw, by_week, running, summary],
    executor=in_process_executor,
    # The outputs go to $DAEMON_TEST_OUT, read when a run starts (the module may stay
    # imported from one test to the next).
    resources={
        "io_manager": custom_path_fs_io_manager.configured({"base_dir": {"env": "DAEMON_TEST_OUT"}})
    },
)
