"""The plan a backfill is stored with (``trellis.api.backfill.plan_backfill``): runs cut
by each asset's ``BackfillPolicy``, only over consecutive partitions, one key per run for
multi-dimensional partitions."""

from __future__ import annotations

from trellis import (
    BackfillPolicy,
    DailyPartitionsDefinition,
    Definitions,
    MultiPartitionsDefinition,
    StaticPartitionsDefinition,
    asset,
)
from trellis.api.backfill import plan_backfill
from trellis.core.asset_key import AssetKey

days = DailyPartitionsDefinition(start_date="2024-01-01", end_date="2024-01-11")


@asset(partitions_def=days, backfill_policy=BackfillPolicy.single_run())
def whole() -> None: ...


@asset(
    partitions_def=MultiPartitionsDefinition(
        {"date": days, "region": StaticPartitionsDefinition(["eu", "us"])}
    ),
    backfill_policy=BackfillPolicy.single_run(),
)
def grid() -> None: ...


graph = Definitions(assets=[whole, grid]).asset_graph


def _spans(chunks):
    return [(c.partition_keys[0], c.partition_keys[-1], c.range_run) for c in chunks]


def test_single_run_makes_one_range_run_per_stretch_of_consecutive_partitions():
    keys = ["2024-01-01", "2024-01-02", "2024-01-03", "2024-01-07", "2024-01-08"]
    chunks, cap = plan_backfill(graph, {AssetKey("whole"): keys})
    assert cap is None
    assert _spans(chunks) == [
        ("2024-01-01", "2024-01-03", True),
        ("2024-01-07", "2024-01-08", True),
    ]


def test_multi_dimensional_partitions_run_one_key_at_a_time():
    keys = ["2024-01-01|eu", "2024-01-01|us"]
    chunks, _ = plan_backfill(graph, {AssetKey("grid"): keys})
    assert [(c.partition_keys, c.range_run) for c in chunks] == [
        (["2024-01-01|eu"], False),
        (["2024-01-01|us"], False),
    ]
