"""Dagster's names of the partition run tags (``dagster/partition``,
``dagster/asset_partition_range_start`` / ``_end``) work as Trellis' ``trellis/...`` ones
do: code ported from Dagster that tags a run with its partition or its range runs that
partition or range, and keeps the tags it gave."""

from __future__ import annotations

import pytest

from trellis import (
    AssetExecutionContext,
    BackfillPolicy,
    DailyPartitionsDefinition,
    asset,
    materialize,
)
from trellis.core.errors import UnknownPartitionError

daily = DailyPartitionsDefinition(start_date="2024-01-01")
SEEN: list[object] = []


@asset(partitions_def=daily, backfill_policy=BackfillPolicy.single_run())
def events(context: AssetExecutionContext) -> None:
    if context.has_partition_key_range and len(context.partition_keys) > 1:
        SEEN.append(tuple(context.partition_keys))
    else:
        SEEN.append(context.partition_key)


def test_a_range_given_with_dagsters_tags_runs_as_one_run():
    SEEN.clear()
    tags = {
        "dagster/asset_partition_range_start": "2024-01-01",
        "dagster/asset_partition_range_end": "2024-01-03",
    }
    result = materialize([events], tags=tags)
    assert result.success
    assert SEEN == [("2024-01-01", "2024-01-02", "2024-01-03")]
    stored = result.dagster_run.tags
    assert stored["dagster/asset_partition_range_start"] == "2024-01-01"  # kept as given
    assert stored["trellis/asset_partition_range_end"] == "2024-01-03"


def test_a_run_tagged_with_dagsters_partition_tag_runs_that_partition():
    SEEN.clear()
    result = materialize([events], tags={"dagster/partition": "2024-01-05"})
    assert result.success and SEEN == ["2024-01-05"]
    assert result.dagster_run.tags["trellis/partition"] == "2024-01-05"


def test_a_partition_tag_that_is_not_a_partition_is_refused():
    with pytest.raises(UnknownPartitionError, match=r"'2023-12-31' is not a partition"):
        materialize([events], tags={"dagster/partition": "2023-12-31"})
