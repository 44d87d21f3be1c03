"""Runs over a range of partitions: a ``BackfillPolicy.single_run()`` asset gets the whole
range, the filesystem IO manager writes one file per partition and reads several back as
a dict, and a range that cannot run is refused before the run starts."""

import pickle

import pytest

from trellis import (
    AssetExecutionContext,
    BackfillPolicy,
    DailyPartitionsDefinition,
    FilesystemIOManager,
    InputContext,
    IOManager,
    OutputContext,
    PartitionKeyRange,
    asset,
    build_input_context,
    build_output_context,
    materialize,
)
from trellis.core.errors import (
    InvalidDefinitionError,
    InvalidInvocationError,
    UnknownPartitionError,
)
from trellis.core.run import PARTITION_RANGE_END_TAG, PARTITION_RANGE_START_TAG

DAILY = DailyPartitionsDefinition(start_date="2024-01-01", end_date="2024-03-01")


def range_tags(start, end):
    return {PARTITION_RANGE_START_TAG: start, PARTITION_RANGE_END_TAG: end}


@asset(partitions_def=DAILY, backfill_policy=BackfillPolicy.single_run())
def visits(context: AssetExecutionContext) -> dict:
    assert context.partition_key_range == PartitionKeyRange("2024-01-01", "2024-01-07")
    assert context.asset_partition_key_range_for_output() == context.partition_key_range
    return {key: int(key[-2:]) for key in context.partition_keys}


@asset(partitions_def=DAILY, backfill_policy=BackfillPolicy.single_run())
def weekly_view(context: AssetExecutionContext, visits: dict) -> dict:
    assert context.asset_partition_keys_for_input("visits") == context.partition_keys
    total = sum(visits.values())
    return dict.fromkeys(context.partition_keys, total)


def test_a_single_run_asset_gets_the_whole_range_and_each_partition_gets_a_file(tmp_path):
    io = FilesystemIOManager(base_dir=str(tmp_path))
    result = materialize(
        [visits, weekly_view],
        tags=range_tags("2024-01-01", "2024-01-07"),
        resources={"io_manager": io},
    )
    assert result.success
    files = sorted(p.name for p in (tmp_path / "visits").iterdir())
    assert files == [f"2024-01-0{d}" for d in range(1, 8)]
    assert pickle.loads((tmp_path / "visits" / "2024-01-03").read_bytes()) == 3
    assert pickle.loads((tmp_path / "weekly_view" / "2024-01-07").read_bytes()) == 28
    # Each partition is an ordinary partition afterwards: a one-key run reads its file.

    @asset(partitions_def=DAILY)
    def one_day(visits: int) -> int:
        return visits * 10

    single = materialize(
        [visits, one_day],
        selection=[one_day],
        partition_key="2024-01-05",
        resources={"io_manager": io},
    )
    assert single.output_for_node("one_day") == 50


def test_a_range_output_that_is_not_a_dict_per_partition_is_refused(tmp_path):
    @asset(partitions_def=DAILY, backfill_policy=BackfillPolicy.single_run())
    def lumped(context) -> int:
        return 7

    with pytest.raises(Exception, match=r"return a dict of partition key -> value"):
        materialize(
            [lumped],
            tags=range_tags("2024-01-01", "2024-01-03"),
            resources={"io_manager": FilesystemIOManager(base_dir=str(tmp_path))},
        )
    assert not (tmp_path / "lumped").exists()


def test_a_multi_run_policy_caps_the_range_of_one_run():
    @asset(partitions_def=DAILY, backfill_policy=BackfillPolicy.multi_run(3))
    def capped(context) -> dict:
        return dict.fromkeys(context.partition_keys, 1)

    with pytest.raises(InvalidInvocationError, match=r"'capped'.*multi_run\(3\).*holds 7"):
        materialize([capped], tags=range_tags("2024-01-01", "2024-01-07"))
    assert materialize([capped], tags=range_tags("2024-01-01", "2024-01-03")).success


def test_bad_ranges_are_refused_before_the_run():
    with pytest.raises(Exception, match="comes after its end"):
        materialize([visits], tags=range_tags("2024-01-09", "2024-01-07"))
    with pytest.raises(UnknownPartitionError, match="Did you mean '2024-01-07'"):
        materialize([visits], tags=range_tags("2024-01-01", "2024-01-077"))
    with pytest.raises(InvalidInvocationError, match="needs both"):
        materialize([visits], tags={PARTITION_RANGE_START_TAG: "2024-01-01"})


def test_backfill_policies_are_definitions():
    assert BackfillPolicy.single_run().max_partitions_per_run is None
    assert BackfillPolicy.single_run().policy_type == "SINGLE_RUN"
    assert BackfillPolicy.multi_run(30).max_partitions_per_run == 30
    assert BackfillPolicy.multi_run(30).policy_type == "MULTI_RUN"
    assert BackfillPolicy.multi_run(2).split(["a", "b", "c"]) == [["a", "b"], ["c"]]
    assert visits.backfill_policy == BackfillPolicy.single_run()
    with pytest.raises(InvalidDefinitionError, match="positive int"):
        BackfillPolicy.multi_run(0)
    with pytest.raises(InvalidDefinitionError, match="must be a BackfillPolicy"):

        @asset(backfill_policy="single")
        def wrong():
            return 1


def test_io_contexts_built_for_tests_carry_asset_partitions():
    window = PartitionKeyRange("2024-01-02", "2024-01-04")
    out = build_output_context(asset_partitions_def=DAILY, asset_partition_key_range=window)
    assert out.asset_partition_keys == ["2024-01-02", "2024-01-03", "2024-01-04"]
    assert out.asset_partitions_time_window.start.day == 2
    assert out.asset_partitions_time_window.end.day == 5
    inp = build_input_context(
        asset_partitions_def=DAILY, asset_partition_key_range=window, partition_key=None
    )
    assert inp.has_asset_partitions
    assert inp.asset_partition_keys == ["2024-01-02", "2024-01-03", "2024-01-04"]
    assert inp.asset_partition_key_range == window


class KeysSeen(IOManager):
    def __init__(self):
        self.out = []
        self.inp = []

    def handle_output(self, context: OutputContext, obj):
        self.out.append(list(context.asset_partition_keys))

    def load_input(self, context: InputContext):
        self.inp.append(list(context.asset_partition_keys))
        return {}


def test_io_managers_see_every_partition_of_a_range():
    io = KeysSeen()
    materialize(
        [visits, weekly_view],
        tags=range_tags("2024-01-01", "2024-01-07"),
        resources={"io_manager": io},
    )
    days = [f"2024-01-0{d}" for d in range(1, 8)]
    assert io.out == [days, days]
    assert io.inp == [days]
