"""Partition health in the assets API for multi-dimensional and dynamic partitions: the
counts come from the partition status index as for static and time-window ones."""

from __future__ import annotations

SOURCE = """
from trellis import (
    DailyPartitionsDefinition,
    Definitions,
    DynamicPartitionsDefinition,
    MultiPartitionsDefinition,
    StaticPartitionsDefinition,
    asset,
)

days = DailyPartitionsDefinition(start_date="2024-01-01", end_date="2024-01-08")
regions = StaticPartitionsDefinition(["eu", "us"])


@asset(partitions_def=MultiPartitionsDefinition({"date": days, "region": regions}))
def regional(context) -> int:
    if context.partition_key.keys_by_dimension["region"] == "us":
        raise ValueError("us is down")
    return 1


@asset(partitions_def=DynamicPartitionsDefinition(name="uploads"))
def uploads(context) -> int:
    return 1


defs = Definitions(assets=[regional, uploads])
"""


def _health(client) -> dict:
    return {a["key"]: a["partition_health"] for a in client.get("/api/assets").json()["assets"]}


def test_multi_and_dynamic_assets_have_health_counts(ui, defs_file):
    from trellis import MultiPartitionKey, materialize

    client, state = ui
    defs_file.write_text(SOURCE)
    state.workspace.load()
    assert state.workspace.state.error is None, state.workspace.state.error
    defs = state.workspace.definitions
    zero = {"materialized": 0, "failed": 0, "in_progress": 0}
    assert _health(client) == {
        "regional": {**zero, "missing": 14, "total": 14},
        "uploads": {**zero, "missing": 0, "total": 0},  # no keys added yet
    }
    regional, uploads = defs.get_assets_def("regional"), defs.get_assets_def("uploads")
    for region in ("eu", "us"):
        key = MultiPartitionKey({"date": "2024-01-03", "region": region})
        materialize([regional], partition_key=key, instance=state.instance, raise_on_error=False)
    state.instance.add_dynamic_partitions("uploads", ["a", "b", "c"])
    materialize([uploads], partition_key="b", instance=state.instance)
    state.instance.delete_dynamic_partition("uploads", "c")
    health = _health(client)
    assert health["regional"] == {
        **zero,
        "materialized": 1,
        "failed": 1,
        "missing": 12,
        "total": 14,
    }
    assert health["uploads"] == {**zero, "materialized": 1, "missing": 1, "total": 2}
    assert client.get("/api/assets/uploads").json()["partition_health"] == health["uploads"]
