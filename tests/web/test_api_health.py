"""Staleness and partition health in the assets API: never materialized, fresh, stale
with its cause; partition counts by status from the partition status index."""

from __future__ import annotations

HEALTH_SOURCE = """
from trellis import Definitions, StaticPartitionsDefinition, asset


@asset(code_version="{version}")
def src() -> int:
    return 1


@asset(code_version="1")
def down(src: int) -> int:
    return src + 1


@asset
def untouched() -> int:
    return 0


@asset(partitions_def=StaticPartitionsDefinition(["a", "b", "c", "d"]))
def parts(context) -> int:
    if context.partition_key == "b":
        raise ValueError("b fails")
    return 1


defs = Definitions(assets=[src, down, untouched, parts])
"""


def _load(state, defs_file, version: str):
    defs_file.write_text(HEALTH_SOURCE.replace("{version}", version))
    state.workspace.load()
    assert state.workspace.state.error is None, state.workspace.state.error
    return state.workspace.definitions


def _assets(client) -> dict:
    return {a["key"]: a for a in client.get("/api/assets").json()["assets"]}


def test_staleness_never_fresh_then_stale_with_its_cause(ui, defs_file):
    from trellis import materialize

    client, state = ui
    defs = _load(state, defs_file, "1")
    before = _assets(client)
    assert before["src"]["staleness"] == {"status": "never", "causes": []}
    materialize([defs.get_assets_def("src"), defs.get_assets_def("down")], instance=state.instance)
    fresh = _assets(client)
    assert fresh["src"]["staleness"]["status"] == "fresh"
    assert fresh["down"]["staleness"]["status"] == "fresh"
    assert fresh["untouched"]["staleness"]["status"] == "never"
    _load(state, defs_file, "2")  # the code of src changed: src and down are stale
    stale = _assets(client)
    assert stale["src"]["staleness"]["status"] == "stale"
    [cause] = stale["src"]["staleness"]["causes"]
    assert cause["category"] == "CODE" and "code version" in cause["reason"]
    assert stale["down"]["staleness"]["status"] == "stale"
    assert any("src" in c["text"] for c in stale["down"]["staleness"]["causes"])
    detail = client.get("/api/assets/down").json()
    assert detail["staleness"] == stale["down"]["staleness"]


def test_partitions_health_counts(ui, defs_file):
    from trellis import materialize

    client, state = ui
    defs = _load(state, defs_file, "1")
    assert _assets(client)["parts"]["partition_health"] == {
        "materialized": 0,
        "failed": 0,
        "in_progress": 0,
        "missing": 4,
        "total": 4,
    }
    parts = defs.get_assets_def("parts")
    materialize([parts], instance=state.instance, partition_key="a")
    materialize([parts], instance=state.instance, partition_key="b", raise_on_error=False)
    health = _assets(client)["parts"]["partition_health"]
    assert (health["materialized"], health["failed"], health["missing"]) == (1, 1, 2)
    assert client.get("/api/assets/parts").json()["partition_health"] == health
    assert _assets(client)["src"]["partition_health"] is None
