"""The overview API: the last day's runs, what fails now, what is stale."""

from __future__ import annotations

from ui_helpers import wait_for_run

ORIGIN = {"Origin": "http://127.0.0.1:3000"}


def test_overview_lists_recent_runs_and_what_fails(ui):
    client, state = ui
    empty = client.get("/api/overview").json()
    assert empty["runs"] == [] and empty["failing"]["assets"] == []
    assert empty["counts"]["never"] == empty["counts"]["assets"] == 5
    ok = client.post("/api/launch", json={"selection": "numbers"}, headers=ORIGIN).json()
    wait_for_run(state.instance, ok["run_id"])
    bad = client.post("/api/launch", json={"selection": "broken"}, headers=ORIGIN).json()
    wait_for_run(state.instance, bad["run_id"])
    body = client.get("/api/overview?hours=1").json()
    assert [r["run_id"] for r in body["runs"]] == [ok["run_id"], bad["run_id"]]  # oldest first
    assert body["since"] == body["now"] - 3600
    assert [a["key"] for a in body["failing"]["assets"]] == ["broken"]
    assert [r["run_id"] for r in body["failing"]["jobs"]] == [bad["run_id"]]
    assert body["counts"]["fresh"] == 1 and body["stale"] == []
    assert client.get("/api/overview?hours=0").status_code == 400
