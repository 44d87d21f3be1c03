"""The partition status index on every back end: runs keep it (materialized, failed, a
range run's partitions), it answers as ranges with the missing and in-progress
partitions, a wipe clears it, and ``trellis asset partitions`` prints it."""

import pytest

from trellis import (
    AssetPartitionStatus,
    BackfillPolicy,
    DailyPartitionsDefinition,
    Definitions,
    asset,
    materialize,
)
from trellis.core.asset_key import AssetKey
from trellis.core.errors import InvariantViolationError
from trellis.core.run import (
    PARTITION_RANGE_END_TAG,
    PARTITION_RANGE_START_TAG,
    PARTITION_TAG,
    Run,
    RunStatus,
)
from trellis.views.partition_status import partition_status

DAYS = DailyPartitionsDefinition(start_date="2024-01-01", end_date="2024-01-21")


@asset(partitions_def=DAYS, backfill_policy=BackfillPolicy.single_run())
def sales(context) -> dict:
    if context.partition_key_range.start == "2024-01-05" and context.run.tags.get("fail"):
        raise ValueError("the source was down")
    return dict.fromkeys(context.partition_keys, 1)


GRAPH = Definitions(assets=[sales]).asset_graph


def status(instance):
    return [r.describe() for r in partition_status(instance, GRAPH, [sales.key])[sales.key]]


def run(instance, key=None, start=None, end=None, **tags):
    if start is not None:
        tags |= {PARTITION_RANGE_START_TAG: start, PARTITION_RANGE_END_TAG: end}
    return materialize(
        [sales], partition_key=key, instance=instance, tags=tags, raise_on_error=False
    )


def test_runs_keep_the_status_as_ranges(any_instance):
    instance = any_instance
    assert status(instance) == ["2024-01-01…2024-01-20 missing"]
    for day in ("2024-01-01", "2024-01-02", "2024-01-03"):
        assert run(instance, day).success
    assert not run(instance, "2024-01-05", fail="yes").success
    assert run(instance, start="2024-01-10", end="2024-01-12").success  # one run, 3 partitions
    assert status(instance) == [
        "2024-01-01…2024-01-03 materialized",
        "2024-01-04 missing",
        "2024-01-05 failed",
        "2024-01-06…2024-01-09 missing",
        "2024-01-10…2024-01-12 materialized",
        "2024-01-13…2024-01-20 missing",
    ]
    assert run(instance, "2024-01-05").success
    assert run(instance, "2024-01-04").success
    assert status(instance)[:2] == [
        "2024-01-01…2024-01-05 materialized",
        "2024-01-06…2024-01-09 missing",
    ]
    stored = instance.get_partition_status_ranges([sales.key])[sales.key]
    assert len(stored) == 2  # merged runs, not one row per partition
    first = partition_status(instance, GRAPH, [sales.key])[sales.key][0]
    assert first.status is AssetPartitionStatus.MATERIALIZED
    assert (first.first_key, first.last_key, first.num_partitions) == (
        "2024-01-01",
        "2024-01-05",
        5,
    )
    instance.wipe_assets([sales.key])
    assert status(instance) == ["2024-01-01…2024-01-20 missing"]


def test_runs_in_progress_show_as_in_progress(any_instance):
    instance = any_instance
    run(instance, "2024-01-02")
    instance.add_run(
        Run(
            run_id="r-live",
            job_name="__ASSET_JOB",
            status=RunStatus.STARTED,
            tags={PARTITION_TAG: "2024-01-02"},
            asset_selection=["sales"],
        )
    )
    instance.add_run(
        Run(
            run_id="r-live-range",
            job_name="__ASSET_JOB",
            status=RunStatus.STARTED,
            tags={PARTITION_RANGE_START_TAG: "2024-01-07", PARTITION_RANGE_END_TAG: "2024-01-08"},
            asset_selection=["sales"],
        )
    )
    assert status(instance) == [
        "2024-01-01 missing",
        "2024-01-02 in progress",
        "2024-01-03…2024-01-06 missing",
        "2024-01-07…2024-01-08 in progress",
        "2024-01-09…2024-01-20 missing",
    ]


def test_unpartitioned_and_unknown_assets_are_refused():
    @asset
    def plain():
        return 1

    graph = Definitions(assets=[plain]).asset_graph
    from trellis import instance_for_test

    with instance_for_test() as instance:
        with pytest.raises(InvariantViolationError, match="is not partitioned"):
            partition_status(instance, graph, [plain.key])
        with pytest.raises(InvariantViolationError, match="No asset 'nope' is defined here"):
            partition_status(instance, graph, [AssetKey("nope")])
