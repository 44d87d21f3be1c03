"""A database whose events predate the partition status index (revision 0009): revision
0011 lists its assets with partitioned materializations, the first read of their status
rebuilds it from their events with the definitions (keeping what runs stored since), and
``reindex_assets`` (``trellis instance reindex-partitions``) rebuilds history no
migration can see (an asset that only ever failed)."""

import sqlalchemy as sa

from trellis import (
    DailyPartitionsDefinition,
    Definitions,
    MultiPartitionKey,
    MultiPartitionsDefinition,
    StaticPartitionsDefinition,
    asset,
    materialize,
)
from trellis.instance.config import StorageSpec
from trellis.instance.instance import Instance
from trellis.instance.sql import migrate as migrations
from trellis.instance.sql.database import Database
from trellis.instance.sqlite.schema import asset_key_to_db
from trellis.views.partition_reindex import reindex_assets
from trellis.views.partition_status import describe_by_group, partition_status

DAYS = DailyPartitionsDefinition(start_date="2024-01-01", end_date="2024-01-11")
DAY_REGION = MultiPartitionsDefinition(
    {"date": DAYS, "region": StaticPartitionsDefinition(["eu", "us"])}
)


@asset(partitions_def=DAYS)
def visits(context) -> int:
    if context.run.tags.get("fail"):
        raise ValueError("the source was down")
    return 1


@asset(partitions_def=DAY_REGION)
def regional(context) -> int:
    return 1


@asset(partitions_def=DAYS)
def flaky(context) -> int:
    raise ValueError("never works")


GRAPH = Definitions(assets=[visits, regional, flaky]).asset_graph


def lines(instance, key):
    return describe_by_group(partition_status(instance, GRAPH, [key])[key])


def _database(instance):
    if instance.storage.backend == "sqlite":  # migrations go through SQLAlchemy
        return Database(StorageSpec("sqlite", path=instance.storage.db.path))
    return Database(instance.settings.storage)


def _back_to_0007(instance) -> set[str]:
    """Downgrade to the revision before the index (its tables dropped, events kept)."""
    db = _database(instance)
    try:
        db.write(lambda conn: migrations.downgrade(conn, "0007"))
        return db.read(lambda conn: set(sa.inspect(conn).get_table_names()))
    finally:
        db.dispose()


def _history(instance):
    for day in ("2024-01-01", "2024-01-02", "2024-01-03", "2024-01-06"):
        assert materialize([visits], partition_key=day, instance=instance).success
    failed = materialize(
        [visits],
        partition_key="2024-01-02",
        instance=instance,
        tags={"fail": "1"},
        raise_on_error=False,
    )
    assert not failed.success  # the newer failure wins over the materialization before it
    materialize(
        [regional],
        partition_key=MultiPartitionKey({"date": "2024-01-04", "region": "us"}),
        instance=instance,
    )
    materialize([flaky], partition_key="2024-01-09", instance=instance, raise_on_error=False)


def test_events_from_before_the_index_are_rebuilt_on_first_read(instance):
    _history(instance)
    expected_visits = [
        "2024-01-01 materialized, 2024-01-02 failed, 2024-01-03 materialized, "
        "2024-01-04…2024-01-05 missing, 2024-01-06 materialized, 2024-01-07…2024-01-10 missing"
    ]
    assert lines(instance, visits.key) == expected_visits  # as the runs indexed it
    tables = _back_to_0007(instance)
    assert "asset_partition_status" not in tables and "event_logs" in tables
    instance.dispose()
    with Instance.from_ref(instance.get_ref()) as reopened:
        assert reopened.storage.opened["from_revision"] == "0007"
        assert reopened.info()["schema_revision"] == migrations.head_revision() == "0011"
        listed = reopened.storage.get_partition_reindex_pending(
            [asset_key_to_db(k) for k in (visits.key, regional.key, flaky.key)]
        )
        assert listed == {asset_key_to_db(visits.key), asset_key_to_db(regional.key)}
        assert reopened.get_partition_status_ranges([visits.key])[visits.key] == []
        # a run after the upgrade, before the first read: its row is kept over the history
        assert materialize([visits], partition_key="2024-01-10", instance=reopened).success
        assert lines(reopened, visits.key) == [
            expected_visits[0].replace(
                "2024-01-07…2024-01-10 missing",
                "2024-01-07…2024-01-09 missing, 2024-01-10 materialized",
            )
        ]
        assert lines(reopened, regional.key) == [
            "region=eu: 2024-01-01…2024-01-10 missing",
            "region=us: 2024-01-01…2024-01-03 missing, 2024-01-04 materialized, "
            "2024-01-05…2024-01-10 missing",
        ]
        assert (
            reopened.storage.get_partition_reindex_pending(
                [asset_key_to_db(visits.key), asset_key_to_db(regional.key)]
            )
            == set()
        )  # rebuilt once
        # a failure-only history is not listed (no definitions to find its asset): the
        # reindex command rebuilds it
        assert lines(reopened, flaky.key) == ["2024-01-01…2024-01-10 missing"]
        counts = reindex_assets(reopened, GRAPH, [flaky.key, visits.key])
        assert counts == {flaky.key: 1, visits.key: 5}
        assert lines(reopened, flaky.key) == [
            "2024-01-01…2024-01-08 missing, 2024-01-09 failed, 2024-01-10 missing"
        ]
        assert lines(reopened, visits.key)[0].endswith("2024-01-10 materialized")


def test_reindex_replaces_rows_numbered_under_another_definition(instance):
    """Static keys reordered: the stored ordinals now name other keys until reindexed."""
    before = StaticPartitionsDefinition(["a", "b", "c"])
    after = StaticPartitionsDefinition(["c", "a", "b"])

    @asset(name="letters", partitions_def=before)
    def letters_before() -> int:
        return 1

    @asset(name="letters", partitions_def=after)
    def letters_after() -> int:
        return 1

    assert materialize([letters_before], partition_key="a", instance=instance).success
    graph = Definitions(assets=[letters_after]).asset_graph
    status = partition_status(instance, graph, [letters_after.key])[letters_after.key]
    assert status[0].describe() == "c materialized"  # position 0: stale
    reindex_assets(instance, graph, [letters_after.key])
    status = partition_status(instance, graph, [letters_after.key])[letters_after.key]
    assert [r.describe() for r in status] == ["c missing", "a materialized", "b missing"]
