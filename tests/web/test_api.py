"""The JSON API of ``trellis dev``, in-process: what the pages read and the actions they
take, with runs launched in real child processes."""

from __future__ import annotations

import pytest
from ui_helpers import wait_for_run

from trellis import materialize


def _launch(client, **body):
    response = client.post("/api/launch", json=body)
    assert response.status_code == 201, response.text
    return response.json()["run_id"]


def test_assets_list_definitions_layout_and_status(ui):
    client, _state = ui
    data = client.get("/api/assets").json()
    by_key = {a["key"]: a for a in data["assets"]}
    assert data["groups"] == ["marts", "other", "raw"]
    numbers = by_key["numbers"]
    assert numbers["kinds"] == ["csv"] and numbers["owners"] == ["data@example.com"]
    assert numbers["description"] == "Some numbers." and numbers["group"] == "raw"
    assert by_key["scaled"]["deps"] == ["numbers"] and by_key["numbers"]["downstream"] == ["scaled"]
    # The layered layout: a column per longest path.
    assert [by_key[k]["layer"] for k in ("numbers", "scaled", "total")] == [0, 1, 2]
    assert {a["status"] for a in data["assets"]} == {"never"}
    assert numbers["latest_materialization"] is None


def test_launch_a_job_then_assets_runs_and_events_show_it(ui):
    client, state = ui
    run_id = _launch(client, job="numbers_job", config_yaml="", tags={"team": "data"})
    # The launch answered once the child recorded the run: it is listed at once.
    assert run_id in [r["run_id"] for r in client.get("/api/runs").json()["runs"]]
    run = wait_for_run(state.instance, run_id)
    assert run.status.value == "SUCCESS" and run.tags["team"] == "data"
    assets = {a["key"]: a for a in client.get("/api/assets").json()["assets"]}
    assert assets["total"]["status"] == "materialized"
    assert assets["total"]["latest_materialization"]["run_id"] == run_id
    detail = client.get("/api/assets/numbers").json()
    (mat,) = detail["materializations"]
    labels = {e["label"]: e for e in mat["data"]["materialization"]["metadata"]}
    assert labels["rows"]["value"] == 3
    assert labels["note"]["value"] == "<img src=x onerror=window.__xss=2>"  # data, as given
    events = client.get(f"/api/runs/{run_id}/events").json()["events"]
    assert events[0]["type"] == "RUN_START" and events[-1]["type"] == "RUN_SUCCESS"
    ids = [e["storage_id"] for e in events]
    assert ids == sorted(ids)
    by_step = client.get(f"/api/runs/{run_id}/events", params={"step": "scaled"}).json()
    assert by_step["events"] and {e["step_key"] for e in by_step["events"]} == {"scaled"}
    infos = client.get(f"/api/runs/{run_id}/events", params={"level": "INFO"}).json()["events"]
    assert infos and all(e["level"] in ("INFO", "WARNING", "ERROR") for e in infos)
    assert any("<script>" in e["message"] for e in infos)
    typed = client.get(
        f"/api/runs/{run_id}/events", params=[("type", "STEP_START"), ("type", "STEP_SUCCESS")]
    ).json()["events"]
    assert len(typed) == 6 and {e["type"] for e in typed} == {"STEP_START", "STEP_SUCCESS"}
    after = client.get(f"/api/runs/{run_id}/events", params={"after": ids[-2]}).json()
    assert [e["storage_id"] for e in after["events"]] == [ids[-1]]
    first = client.get(f"/api/runs/{run_id}/events", params={"limit": 2}).json()["events"]
    assert [e["storage_id"] for e in first] == ids[:2]
    page = client.get(f"/api/runs/{run_id}/events", params={"step": "total", "limit": 1})
    (only,) = page.json()["events"]
    assert only["step_key"] == "total" and only["type"] == "STEP_START"
    trace = client.get(f"/api/runs/{run_id}/trace").json()
    assert trace["kind"] == "run"
    steps = [n["label"] for n in _walk(trace) if n["kind"] == "step"]
    assert any("scaled" in label for label in steps)


def _walk(node):
    yield node
    for child in node["children"]:
        yield from _walk(child)


def test_launch_an_asset_selection_with_config(ui):
    client, state = ui
    run_id = _launch(
        client,
        selection="key:numbers+ and not group:other",
        config_yaml="ops:\n  scaled:\n    config:\n      factor: 5\n",
    )
    run = wait_for_run(state.instance, run_id)
    assert run.status.value == "SUCCESS"
    assert sorted(run.asset_selection) == ["numbers", "scaled", "total"]
    value = state.instance.get_latest_materialization_event("total")
    assert value is not None and value.run_id == run_id


def test_invalid_launches_are_refused_with_paths(ui):
    client, state = ui
    response = client.post(
        "/api/launch/validate",
        json={"job": "numbers_job", "config_yaml": "ops: {scaled: {config: {factor: x}}}"},
    )
    assert response.status_code == 422
    (error,) = response.json()["errors"]
    assert error["path"] == "root:ops:scaled:config:factor" and "Int" in error["message"]
    bad_yaml = client.post("/api/launch", json={"job": "numbers_job", "config_yaml": "ops: ["})
    assert bad_yaml.status_code == 422 and "not valid YAML (line 1" in bad_yaml.json()["message"]
    unknown = client.post("/api/launch", json={"job": "numbers_jbo"})
    assert unknown.status_code == 422 and "numbers_job" in unknown.json()["message"]
    selection = client.post("/api/launch", json={"selection": "group:nope"})
    assert selection.status_code == 422 and "nope" in selection.json()["message"]
    both = client.post("/api/launch", json={"job": "numbers_job", "selection": "*"})
    assert both.status_code == 422
    tags = client.post("/api/launch", json={"job": "numbers_job", "tags": {"trellis/x": "1"}})
    assert tags.status_code == 422 and "set by Trellis" in tags.json()["message"]
    ok = client.post("/api/launch/validate", json={"job": "numbers_job"})
    assert ok.json() == {"ok": True}
    assert state.instance.get_runs() == []  # nothing was launched


def test_scaffold_has_the_defaults(ui):
    client, _state = ui
    scaffold = client.get("/api/scaffold", params={"job": "numbers_job"}).json()
    assert "factor: 2" in scaffold["yaml"]
    assert client.get("/api/scaffold", params={"job": "nope"}).status_code == 404
    selection = client.get("/api/scaffold", params={"selection": "total"}).json()
    assert selection["yaml"] == ""


def test_runs_filters_and_keyset_pagination(ui):
    client, state = ui
    from ui_helpers import SOURCE  # noqa: F401 - the module defines the assets below

    defs = state.workspace.definitions
    ok, failed = [], []
    for i in range(7):
        assets = [defs.get_assets_def("numbers")] if i % 3 else [defs.get_assets_def("broken")]
        result = materialize(
            assets, instance=state.instance, tags={"batch": str(i % 2)}, raise_on_error=False
        )
        (ok if result.success else failed).append(result.run_id)
    seen, cursor = [], None
    while True:
        params = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        page = client.get("/api/runs", params=params).json()
        seen += [r["run_id"] for r in page["runs"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    newest_first = [r.run_id for r in state.instance.get_runs()]
    assert seen == newest_first and len(seen) == 7
    failures = client.get("/api/runs", params={"status": "FAILURE"}).json()["runs"]
    assert sorted(r["run_id"] for r in failures) == sorted(failed)
    tagged = client.get("/api/runs", params={"tag": "batch=1"}).json()["runs"]
    assert len(tagged) == 3 and all(r["tags"]["batch"] == "1" for r in tagged)
    assert client.get("/api/runs", params={"job": "nope"}).json()["runs"] == []


def test_reexecute_and_cancel(ui):
    client, state = ui
    parent = wait_for_run(state.instance, _launch(client, selection="broken"))
    assert parent.status.value == "FAILURE"
    assert client.post(f"/api/runs/{parent.run_id}/cancel").status_code == 409
    response = client.post(f"/api/runs/{parent.run_id}/reexecute", json={"mode": "from_failure"})
    assert response.status_code == 201
    child = wait_for_run(state.instance, response.json()["run_id"])
    assert child.parent_run_id == parent.run_id and child.status.value == "FAILURE"
    bad = client.post(f"/api/runs/{parent.run_id}/reexecute", json={"mode": "sideways"})
    assert bad.status_code == 400
    steps = client.post(
        f"/api/runs/{parent.run_id}/reexecute", json={"mode": "selected", "steps": ["nope"]}
    )
    assert steps.status_code == 400 and "nope" in steps.json()["error"]
    slow = _launch(client, selection="slow")
    assert client.post(f"/api/runs/{slow}/cancel").json()["status"] == "CANCELING"
    assert wait_for_run(state.instance, slow).status.value == "CANCELED"


def test_a_child_that_fails_before_its_run_is_reported(ui, defs_file):
    client, _state = ui
    defs_file.write_text("raise RuntimeError('edited into a broken state')\n")
    response = client.post("/api/launch", json={"job": "numbers_job"})  # defs still loaded
    assert response.status_code == 422
    assert "edited into a broken state" in response.json()["log"]


def test_diagram_json_and_svg(ui):
    client, _state = ui
    diagram = client.get("/api/jobs/numbers_job/diagram").json()
    assert [s["key"] for s in diagram["steps"]] == ["numbers", "scaled", "total"]
    svg = client.get("/api/jobs/numbers_job/diagram.svg")
    assert svg.headers["content-type"].startswith("image/svg+xml")
    assert svg.text.count("<rect") == 3
    assert client.get("/api/jobs/nope/diagram").status_code == 404


@pytest.mark.parametrize(
    ("path", "status", "fragment"),
    [
        ("/api/runs?limit=abc", 400, "'limit' must be an integer"),
        ("/api/runs?limit=100000", 400, "between 1 and 500"),
        ("/api/runs?status=BOGUS", 400, "'status' must be one of"),
        ("/api/runs?tag=novalue", 400, "KEY=VALUE"),
        ("/api/runs?cursor=yesterday", 400, "not a cursor"),
        ("/api/runs/bad%20id", 400, "not a run id"),
        ("/api/runs/..%2F..%2Fetc", 404, "No API route"),
        ("/api/runs/0123456789abcdef", 404, "No run"),
        ("/api/assets/..%2F..%2Fpyproject.toml", 404, "No asset"),
        ("/api/assets/select?q=key:(", 400, "selection"),
        ("/api/stream?run_id=%3Cscript%3E", 400, "not a run id"),
        ("/api/nothing", 404, "No API route"),
    ],
)
def test_bad_request_values_are_named(ui, path, status, fragment):
    client, _state = ui
    response = client.get(path)
    assert response.status_code == status, response.text
    assert fragment in response.json()["error"]


def test_static_paths_do_not_leave_the_package(ui):
    client, _state = ui
    assert client.get("/static/../../cli/main.py").status_code == 404
    assert client.get("/static/%2e%2e/app.py").status_code == 404
    assert client.get("/static/js/main.js").status_code == 200


def test_cross_site_state_changes_are_refused(ui):
    client, state = ui
    body = {"job": "numbers_job"}
    evil = client.post("/api/launch", json=body, headers={"Origin": "http://evil.example"})
    assert evil.status_code == 403 and "Cross-site" in evil.json()["error"]
    fetch_site = client.post(
        "/api/launch/validate", json=body, headers={"Sec-Fetch-Site": "cross-site"}
    )
    assert fetch_site.status_code == 403
    same = client.post(
        "/api/launch/validate", json=body, headers={"Origin": "http://127.0.0.1:3000"}
    )
    assert same.status_code == 200
    form = client.post(
        "/api/launch", content=b"job=numbers_job", headers={"Content-Type": "text/plain"}
    )
    assert form.status_code == 415  # a cross-site form cannot send JSON
    assert state.instance.get_runs() == []


def test_security_headers_forbid_inline_scripts(ui):
    client, _state = ui
    page = client.get("/runs/anything")
    assert page.status_code == 200 and "<main" in page.text
    csp = page.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp
    assert page.headers["x-content-type-options"] == "nosniff"


def test_openapi_documents_every_route(ui):
    client, _state = ui
    from starlette.routing import Route

    document = client.get("/api/openapi.json").json()
    assert document["openapi"].startswith("3.")
    served = {
        r.path.replace("{key:path}", "{key}")
        for r in client.app.routes
        if isinstance(r, Route) and r.path.startswith("/api/")
    }
    assert served == set(document["paths"])


def test_workspace_reports_jobs_and_reload(ui, defs_file):
    client, state = ui
    workspace = client.get("/api/workspace").json()
    assert workspace["error"] is None and workspace["asset_count"] == 5
    assert [j["name"] for j in workspace["jobs"]] == ["numbers_job"]
    defs_file.write_text(defs_file.read_text() + "\ndef (:\n")
    assert state.workspace.changed_files() == [str(defs_file.resolve())]
    state.workspace.load()
    broken = client.get("/api/workspace").json()
    assert "SyntaxError" in broken["error"] and broken["generation"] == workspace["generation"] + 1
    assert client.get("/api/assets").status_code == 200  # the previous definitions stay
