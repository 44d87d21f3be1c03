"""The backfills API of ``trellis dev``, in-process: launching a backfill of a selection
or a partitioned job over a range, keys or every partition (cut by the assets' backfill
policies), bad values refused with the field named, the list and one backfill with its
progress by partition state and its runs; cancel and retry-failed with the daemon of
``trellis dev`` running the runs in real processes; the runs list filtered by backfill
and by creation time; cross-site requests refused."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from ui_helpers import BACKFILL_SOURCE, serve_in_process, wait_for


@pytest.fixture
def defs_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The partitioned test definitions (overrides conftest's)."""
    monkeypatch.setenv("TRELLIS_HOME", str(tmp_path / "home"))
    monkeypatch.chdir(tmp_path)
    path = tmp_path / "backfill_defs.py"
    path.write_text(BACKFILL_SOURCE)
    return path


@pytest.fixture
def ui_daemon(defs_file: Path):
    """``(client, state)`` with the daemon of ``trellis dev`` on its thread."""
    yield from serve_in_process(defs_file, with_daemon=True)


def _launch(client, **body):
    response = client.post("/api/backfills", json=body)
    assert response.status_code == 201, response.text
    return response.json()


def _finished(client, backfill_id: str, timeout: float = 90.0):
    seen = {}

    def ended():
        item = seen["last"] = client.get(f"/api/backfills/{backfill_id}").json()
        return item if item["status"] in ("COMPLETED", "FAILED", "CANCELED") else None

    try:
        return wait_for(ended, timeout, f"backfill {backfill_id} ending")
    except AssertionError:
        last = seen.get("last", {})
        runs = [(r["run_id"], r["status"]) for r in last.get("runs", [])]
        raise AssertionError(f"{last.get('status')}, {last.get('counts')}, runs {runs}") from None


def test_launch_a_range_stores_the_plan_the_policy_cuts(ui):
    client, state = ui
    preview = client.post(
        "/api/backfills/preview",
        json={"selection": "rollup", "from": "2024-01-01", "to": "2024-01-09"},
    )
    assert preview.status_code == 200, preview.text
    assert preview.json() == {
        "assets": ["rollup"],
        "num_partitions": 9,
        "first_partition": "2024-01-01",
        "last_partition": "2024-01-09",
        "num_runs": 3,  # multi_run(4): 4 + 4 + 1
        "policy": "BackfillPolicy.multi_run(4)",
    }
    assert state.instance.get_backfills() == []  # a preview stores nothing
    made = _launch(client, selection="rollup", **{"from": "2024-01-01", "to": "2024-01-09"})
    assert made["status"] == "REQUESTED" and made["num_runs_planned"] == 3
    record = state.instance.get_backfill(made["backfill_id"])
    assert [(c.partition_keys[0], c.partition_keys[-1]) for c in record.chunks] == [
        ("2024-01-01", "2024-01-04"),
        ("2024-01-05", "2024-01-08"),
        ("2024-01-09", "2024-01-09"),
    ]
    listed = client.get("/api/backfills").json()
    (item,) = listed["backfills"]
    assert item["backfill_id"] == made["backfill_id"] and item["counts"]["pending"] == 9
    assert item["create_timestamp"] > 0 and item["assets"] == ["rollup"]
    assert listed["daemon"] == {
        "in_process": False,
        "waiting_for": None,
        "backfill_loop_seen": None,
        "backfill_loop_running": False,
    }  # no daemon: the page says the backfill waits for one
    detail = client.get(f"/api/backfills/{made['backfill_id']}").json()
    assert detail["counts"]["pending"] == 9 and detail["total"] == 9 and detail["runs"] == []
    assert detail["ranges"]["pending"] == [
        {"assets": ["rollup"], "start": "2024-01-01", "end": "2024-01-09", "count": 9}
    ]
    assert client.get("/api/backfills", params={"status": "COMPLETED"}).json()["backfills"] == []


def test_keys_all_and_a_partitioned_asset_job(ui):
    client, state = ui
    keys = _launch(client, selection="events", partition_keys=["2024-01-03", "2024-01-05"])
    assert keys["num_partitions"] == 2 and keys["num_runs_planned"] == 2
    typed = _launch(client, selection="events", partition_keys="2024-01-03, 2024-01-04")
    assert typed["num_partitions"] == 2 and typed["first_partition"] == "2024-01-03"
    every = _launch(client, selection="group:daily", all_partitions=True, tags={"team": "a"})
    assert every["num_partitions"] == 10 and every["assets"] == ["events", "rollup"]
    assert every["tags"]["team"] == "a"
    by_job = _launch(client, job="events_job", **{"from": "2024-01-02", "to": "2024-01-03"})
    assert by_job["assets"] == ["events"] and by_job["num_partitions"] == 2
    assert len(state.instance.get_backfills()) == 4


def test_partition_keys_for_the_pickers(ui):
    client, _state = ui
    data = client.get("/api/partitions", params={"selection": "events"}).json()
    assert data["partitioned"] and data["num_keys"] == 10 and not data["truncated"]
    assert data["keys"][0] == "2024-01-01" and data["keys"][-1] == "2024-01-10"
    job = client.get("/api/partitions", params={"job": "events_job"}).json()
    assert job["keys"] == data["keys"] and job["assets"] == ["events"]
    assert client.get("/api/partitions", params={"selection": "lookup"}).json() == {
        "partitioned": False,
        "keys": [],
        "truncated": False,
    }
    ops = client.get("/api/partitions", params={"job": "ops_only"}).json()
    assert ops["keys"] == data["keys"] and ops["assets"] == []  # one key: a run of it
    bad = client.get("/api/partitions", params={"selection": "nope"})
    assert bad.status_code == 400 and "nope" in bad.json()["error"]
    unknown = client.get("/api/partitions", params={"job": "evnts_job"})
    assert unknown.status_code == 400 and "events_job" in unknown.json()["error"]


@pytest.mark.parametrize(
    ("body", "field", "fragment"),
    [
        ({"selection": "evnts", "all_partitions": True}, "selection", "evnts"),
        ({"selection": "lookup", "all_partitions": True}, "selection", "no partitions_def"),
        ({"job": "nope", "all_partitions": True}, "job", "nope"),
        ({"job": "ops_only", "all_partitions": True}, "job", "materializes no asset"),
        (
            {"selection": "events", "job": "events_job", "all_partitions": True},
            "selection",
            "either",
        ),
        ({"all_partitions": True}, "selection", "either"),
        ({"selection": "events", "from": "2024-01-05"}, "to", "'from' and 'to' go together"),
        ({"selection": "events"}, "partition_keys", "one of 'from'/'to', 'partition_keys'"),
        (
            {
                "selection": "events",
                "from": "2024-01-01",
                "to": "2024-01-02",
                "all_partitions": True,
            },
            "partition_keys",
            "one of",
        ),
        (
            {"selection": "events", "from": "2024-01-099", "to": "2024-01-09"},
            "from",
            "Did you mean '2024-01-09'",
        ),
        ({"selection": "events", "from": "2024-01-01", "to": "2025-01-01"}, "to", "2025-01-01"),
        (
            {"selection": "events", "from": "2024-01-09", "to": "2024-01-02"},
            "to",
            "comes after its end",
        ),
        (
            {"selection": "events", "partition_keys": ["2024-01-01", "2024-01-055"]},
            "partition_keys",
            "Did you mean '2024-01-05'",
        ),
        ({"selection": "events", "partition_keys": []}, "partition_keys", "no partition key"),
        ({"selection": "events", "partition_keys": [1, 2]}, "partition_keys", "list of"),
        ({"selection": "events", "all_partitions": "yes"}, "all_partitions", "true or false"),
        ({"selection": "events", "from": 5, "to": "2024-01-02"}, "from", "non-empty string"),
        ({"selection": "events", "all_partitions": True, "tags": {"k": 1}}, "tags", "Tag 'k'"),
    ],
)
def test_bad_launch_values_name_the_field(ui, body, field, fragment):
    client, state = ui
    for path in ("/api/backfills", "/api/backfills/preview"):
        response = client.post(path, json=body)
        assert response.status_code == 400, response.text
        data = response.json()
        assert data["field"] == field, data
        assert data["error"].startswith(f"Body field '{field}': ")
        assert fragment in data["error"], data["error"]
    assert state.instance.get_backfills() == []


@pytest.mark.parametrize(
    ("method", "path", "status", "fragment"),
    [
        ("get", "/api/backfills/zzzzzzzz", 404, "There is no backfill 'zzzzzzzz'"),
        ("get", "/api/backfills/bad%20id", 400, "not a backfill id"),
        ("get", "/api/backfills?status=DONE", 400, "'status' must be one of"),
        ("get", "/api/backfills?limit=0", 400, "between 1 and 500"),
        ("post", "/api/backfills/zzzzzzzz/cancel", 404, "There is no backfill"),
        ("post", "/api/backfills/zzzzzzzz/retry", 404, "There is no backfill"),
        ("get", "/api/runs?created_after=yesterday", 400, "'created_after' must be a time"),
        ("get", "/api/runs?backfill=%3Cscript%3E", 400, "not a backfill id"),
        (
            "get",
            "/api/runs?created_after=2024-05-02&created_before=2024-05-01",
            400,
            "'created_after' must come before 'created_before'",
        ),
    ],
)
def test_bad_paths_and_parameters_are_named(ui, method, path, status, fragment):
    client, _state = ui
    response = client.get(path) if method == "get" else client.post(path, json={})
    assert response.status_code == status, response.text
    assert fragment in response.json()["error"]


def test_cross_site_backfill_requests_are_refused(ui):
    client, state = ui
    body = {"selection": "events", "all_partitions": True}
    evil = {"Origin": "http://evil.example"}
    for path in ("/api/backfills", "/api/backfills/preview"):
        response = client.post(path, json=body, headers=evil)
        assert response.status_code == 403 and "Cross-site" in response.json()["error"]
    assert state.instance.get_backfills() == []
    made = _launch(client, **body)
    for action in ("cancel", "retry"):
        response = client.post(
            f"/api/backfills/{made['backfill_id']}/{action}",
            json={},
            headers={"Sec-Fetch-Site": "cross-site"},
        )
        assert response.status_code == 403
    assert state.instance.get_backfill(made["backfill_id"]).status.value == "REQUESTED"
    form = client.post("/api/backfills", content=b"selection=events", headers=evil)
    assert form.status_code == 403
    plain = client.post(
        "/api/backfills", content=b"selection=events", headers={"Content-Type": "text/plain"}
    )
    assert plain.status_code == 415  # a cross-site form cannot send JSON
    assert len(state.instance.get_backfills()) == 1


def test_cancel_without_a_daemon_then_retry_what_did_not_run(ui):
    client, state = ui
    made = _launch(client, selection="events", **{"from": "2024-01-02", "to": "2024-01-03"})
    backfill_id = made["backfill_id"]
    early = client.post(f"/api/backfills/{backfill_id}/retry", json={})
    assert early.status_code == 409 and "once it has finished" in early.json()["error"]
    canceled = client.post(f"/api/backfills/{backfill_id}/cancel", json={})
    assert canceled.status_code == 200 and canceled.json()["status"] == "CANCELING"
    from trellis.daemon.backfill_loop import BackfillLoop
    from trellis.daemon.code_location import CodeLocation

    BackfillLoop(state.instance, CodeLocation(state.workspace.definitions)).run_iteration(0.0)
    assert client.get(f"/api/backfills/{backfill_id}").json()["status"] == "CANCELED"
    again = client.post(f"/api/backfills/{backfill_id}/cancel", json={})
    assert again.status_code == 409 and "is CANCELED" in again.json()["error"]
    retried = client.post(f"/api/backfills/{backfill_id}/retry", json={})
    assert retried.status_code == 201, retried.text
    child = retried.json()
    assert child["parent_backfill_id"] == backfill_id and child["num_partitions"] == 2
    detail = client.get(f"/api/backfills/{backfill_id}").json()
    assert detail["retried_by"] == [child["backfill_id"]]


def test_the_daemon_runs_a_backfill_its_progress_runs_and_retry_failed(ui_daemon, defs_file):
    client, _state = ui_daemon
    (defs_file.parent / "fail_keys.txt").write_text("2024-01-03\n")
    started = time.time()
    made = _launch(client, selection="events", **{"from": "2024-01-02", "to": "2024-01-04"})
    backfill_id = made["backfill_id"]
    done = _finished(client, backfill_id)
    assert done["status"] == "FAILED"
    assert done["counts"] == {
        "materialized": 2,
        "in_progress": 0,
        "pending": 0,
        "failed": 1,
        "canceled": 0,
    }
    assert done["ranges"]["materialized"] == [
        {"assets": ["events"], "start": "2024-01-02", "end": "2024-01-02", "count": 1},
        {"assets": ["events"], "start": "2024-01-04", "end": "2024-01-04", "count": 1},
    ]
    assert done["ranges"]["failed"] == [
        {"assets": ["events"], "start": "2024-01-03", "end": "2024-01-03", "count": 1}
    ]
    runs = done["runs"]
    assert [r["chunk"] for r in runs] == [0, 1, 2]
    assert [r["tags"]["trellis/partition"] for r in runs] == [
        "2024-01-02",
        "2024-01-03",
        "2024-01-04",
    ]
    assert [r["status"] for r in runs] == ["SUCCESS", "FAILURE", "SUCCESS"]
    # The runs list filtered by backfill shows exactly its runs; by time, those since.
    listed = client.get("/api/runs", params={"backfill": backfill_id}).json()["runs"]
    assert sorted(r["run_id"] for r in listed) == sorted(r["run_id"] for r in runs)
    since = client.get("/api/runs", params={"created_after": started - 1}).json()["runs"]
    assert len(since) == 3
    later = client.get("/api/runs", params={"created_after": time.time() + 5}).json()["runs"]
    assert later == []
    iso_before = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(started - 60))
    assert client.get("/api/runs", params={"created_before": iso_before}).json()["runs"] == []
    # Fixed: retry-failed launches only the failed partition, and it materializes.
    (defs_file.parent / "fail_keys.txt").write_text("")
    retried = client.post(f"/api/backfills/{backfill_id}/retry", json={})
    assert retried.status_code == 201, retried.text
    child = retried.json()
    assert child["first_partition"] == child["last_partition"] == "2024-01-03"
    child_done = _finished(client, child["backfill_id"])
    assert child_done["status"] == "COMPLETED" and child_done["counts"]["materialized"] == 1
    nothing = client.post(f"/api/backfills/{child['backfill_id']}/retry", json={})
    assert nothing.status_code == 409 and "nothing to retry" in nothing.json()["error"]


def test_the_daemon_cancels_a_running_backfill(ui_daemon):
    client, _state = ui_daemon
    made = _launch(client, selection="slow_days", **{"from": "2024-01-01", "to": "2024-01-02"})
    backfill_id = made["backfill_id"]

    def running():
        item = client.get(f"/api/backfills/{backfill_id}").json()
        return item if item["counts"]["in_progress"] else None

    wait_for(running, 60, "a run of the backfill starting")
    response = client.post(f"/api/backfills/{backfill_id}/cancel", json={})
    assert response.status_code == 200 and response.json()["status"] == "CANCELING"
    done = _finished(client, backfill_id)
    assert done["status"] == "CANCELED"
    assert done["counts"]["materialized"] == 0
    assert all(r["status"] in ("CANCELED", "FAILURE") for r in done["runs"])


def test_backfill_changes_are_pushed_on_the_stream(ui):
    _client, state = ui
    from trellis.api.backfill import cancel_backfill, launch_backfill
    from trellis.web.hub import Hub

    hub = Hub(state.instance)  # the app's own hub watches on its thread; this one by hand
    hub.backfill_interval = 0.0  # every look reads the backfills
    hub.poll_once(publish=False)
    messages: list[dict] = []
    hub.publish = messages.append  # type: ignore[method-assign]  # what each stream is sent
    record = launch_backfill(
        state.instance, state.workspace.definitions, ["events"], all_partitions=True
    )
    hub.poll_once()
    assert [m["type"] for m in messages] == ["backfill"]
    assert messages[0]["backfill"]["backfill_id"] == record.backfill_id
    hub.poll_once()
    assert len(messages) == 1  # unchanged: nothing more
    cancel_backfill(state.instance, record.backfill_id)
    hub.poll_once()
    assert messages[-1]["backfill"]["status"] == "CANCELING"
