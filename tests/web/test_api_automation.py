"""The automation API: schedules and sensors with their ticks, turning them on and off
(same-origin only), automation evaluations, the run queue and concurrency pools."""

from __future__ import annotations

from trellis.core.run import Run, RunStatus

ORIGIN = {"Origin": "http://127.0.0.1:3000"}


def _tick_sensors(state) -> None:
    """One round of the daemon's sensor loop over the UI's definitions, in-process."""
    from trellis.daemon.code_location import CodeLocation
    from trellis.daemon.daemon import TrellisDaemon
    from trellis.daemon.sensor_loop import SensorLoop

    instance = state.instance
    location = CodeLocation(state.workspace.definitions)
    loop = SensorLoop(instance, location, instance.settings.daemon)
    daemon = TrellisDaemon(instance, location, loops=[loop])
    daemon.step(every_loop=True)


def test_schedules_and_sensors_start_stopped_with_their_next_tick_unknown(ui):
    client, _ = ui
    body = client.get("/api/automation").json()
    [schedule] = body["schedules"]
    assert schedule["name"] == "hourly_numbers" and schedule["cron"] == "0 * * * *"
    assert schedule["status"] == "STOPPED" and schedule["from_default"]
    assert schedule["next_tick"] is None and schedule["ticks"] == []
    names = {s["name"]: s for s in body["sensors"]}
    assert names["numbers_sensor"]["status"] == "STOPPED"
    assert names["numbers_sensor"]["interval_seconds"] == 30
    # `total` has an automation condition: the default automation sensor is listed
    assert names["default_automation_condition_sensor"]["status"] == "STOPPED"


def test_toggling_a_sensor_then_its_ticks_show_the_skip_reason(ui):
    client, state = ui
    on = client.post(
        "/api/automation/numbers_sensor/status", json={"running": True}, headers=ORIGIN
    )
    assert on.status_code == 200 and on.json()["status"] == "RUNNING"
    assert not on.json()["from_default"] and on.json()["next_tick"] is not None
    _tick_sensors(state)
    sensor = next(
        s for s in client.get("/api/automation").json()["sensors"] if s["name"] == "numbers_sensor"
    )
    [tick] = sensor["ticks"]
    assert tick["status"] == "SKIPPED"
    assert tick["skip_reason"] == "no new files <script>window.__xss = 4</script>"
    assert sensor["next_tick"] >= tick["timestamp"] + 30 - 1
    ticks = client.get("/api/automation/numbers_sensor/ticks?limit=5").json()["ticks"]
    assert [t["tick_id"] for t in ticks] == [tick["tick_id"]]
    off = client.post("/api/automation/numbers_sensor/status", json={"running": False})
    assert off.json()["status"] == "STOPPED"


def test_a_schedule_that_runs_has_its_next_cron_tick(ui):
    client, _ = ui
    body = client.post("/api/automation/hourly_numbers/status", json={"running": True}).json()
    assert body["status"] == "RUNNING"
    assert body["next_tick"] % 3600 == 0


def test_automation_evaluations_are_listed_per_asset(ui):
    client, state = ui
    before = client.get("/api/automation").json()["evaluations"]
    assert [(e["key"], e["evaluation_id"]) for e in before] == [("total", None)]
    client.post(
        "/api/automation/default_automation_condition_sensor/status", json={"running": True}
    )
    _tick_sensors(state)  # the default automation sensor evaluates `total`
    [evaluation] = client.get("/api/automation").json()["evaluations"]
    assert evaluation["key"] == "total" and evaluation["num_requested"] == 0
    assert isinstance(evaluation["tree"], dict) and evaluation["tree"]


def test_run_queue_and_pools(ui):
    client, state = ui
    instance = state.instance
    instance.submit_run(
        Run(job_name="numbers_job", run_id="queued-run-1", status=RunStatus.NOT_STARTED)
    )
    instance.set_concurrency_limit("warehouse", 2)
    assert instance.claim_concurrency_slot("warehouse", "queued-run-1", "numbers").granted
    body = client.get("/api/automation").json()
    assert [r["run_id"] for r in body["queue"]] == ["queued-run-1"]
    [pool] = body["pools"]
    assert (pool["pool"], pool["limit"], pool["in_use"], pool["free"]) == ("warehouse", 2, 1, 1)
    assert pool["slots"] == [{"run_id": "queued-run-1", "step_key": "numbers"}]


def test_toggle_requests_are_checked(ui):
    client, _ = ui
    cross = client.post(
        "/api/automation/numbers_sensor/status",
        json={"running": True},
        headers={"Origin": "http://evil.example"},
    )
    assert cross.status_code == 403
    assert client.get("/api/automation").json()["sensors"][-1]["status"] in ("STOPPED", "RUNNING")
    missing = client.post("/api/automation/nope/status", json={"running": True})
    assert missing.status_code == 404 and "nope" in missing.json()["error"]
    bad = client.post("/api/automation/numbers_sensor/status", json={"running": "yes"})
    assert bad.status_code == 400 and "'running'" in bad.json()["error"]
    assert client.get("/api/automation/a%20b/ticks").status_code == 400
