"""The asset graph past the collapse threshold (``/api/asset-graph``: one node per group,
aggregated edges, expanded groups and selections drawn asset by asset) and an asset's
automation evaluations (``/api/asset-evaluations/KEY``), with what the hub pushes about
ticks and evaluations."""

from __future__ import annotations

from collections import Counter

from trellis.core.asset_key import AssetKey
from trellis.web.asset_graph import COLLAPSE_AT

ORIGIN = {"Origin": "http://127.0.0.1:3000"}


def _edges(body):
    return {(e["from"], e["to"]): e["count"] for e in body["edges"]}


def test_a_small_graph_is_drawn_whole_inside_its_code_location(ui):
    client, _ = ui
    assets = client.get("/api/assets").json()
    assert assets["location"] == "ui_defs" and assets["collapse_at"] == COLLAPSE_AT
    body = client.get("/api/asset-graph").json()
    assert not body["collapsed"] and body["location"] == "ui_defs"
    keys = sorted(n["key"] for n in body["nodes"])
    assert keys == ["broken", "numbers", "scaled", "slow", "total"]
    assert _edges(body) == {
        ("asset:numbers", "asset:scaled"): 1,
        ("asset:scaled", "asset:total"): 1,
    }


def test_past_the_threshold_each_group_is_one_node_with_its_count(many_ui):
    client, state = many_ui
    body = client.get("/api/asset-graph").json()
    assert body["collapsed"]
    assert [(n["kind"], n["group"], n["count"], n["layer"]) for n in body["nodes"]] == [
        ("group", f"g{i}", 400, i) for i in range(4)
    ]
    # Each group's first row depends on the last row of the group before: 100 assets,
    # two upstream each but the row's last (its second would be in its own row).
    assert _edges(body) == {(f"group:g{i}", f"group:g{i + 1}"): 199 for i in range(3)}
    graph = state.workspace.definitions.asset_graph
    assert sum(n["count"] for n in body["nodes"]) == len(graph.all_keys) > COLLAPSE_AT


def test_an_expanded_group_is_drawn_asset_by_asset(many_ui):
    client, _ = many_ui
    body = client.get("/api/asset-graph?expand=g1").json()
    kinds = Counter((n["kind"], n["group"]) for n in body["nodes"])
    assert kinds == {
        ("asset", "g1"): 400,
        ("group", "g0"): 1,
        ("group", "g2"): 1,
        ("group", "g3"): 1,
    }
    edges = _edges(body)
    # g0 feeds g1's first row (two edges each, one for the row's last); g1's last row
    # feeds g2.
    assert edges[("group:g0", "asset:a00400")] == 2 and edges[("group:g0", "asset:a00499")] == 1
    assert edges[("asset:a00700", "group:g2")] == 1 and edges[("asset:a00701", "group:g2")] == 2
    assert edges[("asset:a00500", "asset:a00600")] == 1
    layers = {n["id"]: n["layer"] for n in body["nodes"]}
    assert layers["group:g0"] < layers["asset:a00400"] < layers["asset:a00799"] < layers["group:g2"]


def test_a_small_selection_is_drawn_asset_by_asset_a_large_one_collapsed(many_ui):
    client, _ = many_ui
    body = client.get("/api/asset-graph", params={"select": "a00410 or a00411"}).json()
    assets = sorted(n["key"] for n in body["nodes"] if n["kind"] == "asset")
    assert assets == ["a00410", "a00411"]
    counts = {n["group"]: n["count"] for n in body["nodes"] if n["kind"] == "group"}
    assert counts == {"g0": 400, "g1": 398, "g2": 400, "g3": 400}
    edges = _edges(body)
    assert edges[("group:g0", "asset:a00410")] == 2  # a00310 and a00311, in g0's node
    assert edges[("asset:a00410", "group:g1")] == 2  # to a00509 and a00510
    assert edges[("asset:a00411", "group:g1")] == 2
    whole = client.get("/api/asset-graph", params={"select": "*"}).json()
    assert whole["collapsed"] and all(n["kind"] == "group" for n in whole["nodes"])


def test_unknown_groups_and_bad_selections_are_refused(many_ui):
    client, _ = many_ui
    unknown = client.get("/api/asset-graph?expand=g9")
    assert unknown.status_code == 400
    assert "expand: No group named 'g9'" in unknown.json()["error"]
    assert "g1" in unknown.json()["error"]
    bad = client.get("/api/asset-graph", params={"select": "key:("})
    assert bad.status_code == 400 and bad.json()["error"]


def _evaluate(state, clock, cursor):
    from trellis.automation.loop import AutomationLoop

    defs = state.workspace.definitions
    return AutomationLoop().run_once(state.instance, defs, clock, cursor)


def test_an_assets_evaluations_are_listed_newest_first_as_trees(ui):
    from trellis import materialize

    client, state = ui
    empty = client.get("/api/asset-evaluations/total").json()
    assert empty == {"key": "total", "has_condition": True, "evaluations": []}
    first = _evaluate(state, 1_700_000_000.0, None)
    defs = state.workspace.definitions
    materialize(
        [defs.get_assets_def("numbers"), defs.get_assets_def("scaled")], instance=state.instance
    )
    _evaluate(state, 1_700_000_060.0, first.cursor)
    body = client.get("/api/asset-evaluations/total").json()
    newest, oldest = body["evaluations"]
    assert newest["evaluation_id"] > oldest["evaluation_id"]
    assert newest["timestamp"] == 1_700_000_060.0 and newest["num_requested"] == 1
    assert oldest["num_requested"] == 0
    assert (newest["tree"]["title"], newest["tree"]["true"]) == ("eager (AND)", True)
    assert oldest["tree"]["true"] is False
    titles = [child["title"] for child in newest["tree"]["children"]]
    assert "in_latest_time_window" in titles
    # The same builder as `trellis asset automation`: its text lines come from this tree.
    from trellis.views.automation_tree import render_evaluation

    [record] = state.instance.get_automation_evaluations(AssetKey("total"), limit=1)
    assert render_evaluation(record)[1] == "✓ eager (AND)"
    older = client.get(
        "/api/asset-evaluations/total", params={"before": newest["evaluation_id"]}
    ).json()
    assert [e["evaluation_id"] for e in older["evaluations"]] == [oldest["evaluation_id"]]
    listed = client.get("/api/automation").json()["evaluations"]
    assert [(e["key"], e["evaluation_id"]) for e in listed] == [("total", newest["evaluation_id"])]


def test_evaluations_of_unknown_assets_and_bad_limits_are_refused(ui):
    client, _ = ui
    missing = client.get("/api/asset-evaluations/nope")
    assert missing.status_code == 404 and "'nope'" in missing.json()["error"]
    assert client.get("/api/asset-evaluations/total?limit=0").status_code == 400
    plain = client.get("/api/asset-evaluations/numbers").json()
    assert plain["has_condition"] is False and plain["evaluations"] == []


def test_the_hub_pushes_ticks_as_they_end_and_new_evaluations(ui):
    from test_api_automation import _tick_sensors

    from trellis.web.automation_watch import AutomationWatch

    client, state = ui
    watch = AutomationWatch(state.instance)
    assert watch.poll(publish=False) == []
    client.post("/api/automation/numbers_sensor/status", json={"running": True}, headers=ORIGIN)
    _tick_sensors(state)
    [message] = watch.poll()
    assert message["type"] == "tick" and message["name"] == "numbers_sensor"
    assert message["tick"]["status"] == "SKIPPED"
    assert message["tick"]["skip_reason"].startswith("no new files")
    assert watch.poll() == []  # nothing new
    _evaluate(state, 1_700_000_000.0, None)
    [pushed] = watch.poll()
    newest = state.instance.get_max_automation_evaluation_id()
    assert pushed == {"type": "evaluation", "evaluation_id": newest}
