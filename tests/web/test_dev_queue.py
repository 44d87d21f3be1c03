"""Runs launched from the UI of ``trellis dev`` enter the run queue while its daemon
runs: created QUEUED (a ``RUN_ENQUEUED`` event) with the workspace's code location,
then launched by the daemon in a process of their own; without the daemon
(``--no-daemon``) the UI starts the run's process directly."""

from __future__ import annotations

import os

from ui_helpers import wait_for_run

from trellis.core.events import EventType
from trellis.core.run import CODE_LOCATION_TAG, PARTITION_TAG, PID_TAG


def _client_with_daemon(defs_file):
    from starlette.testclient import TestClient

    from trellis.cli.code_target import CodeTarget
    from trellis.instance.instance import Instance
    from trellis.web.app import build_state, create_app
    from trellis.web.dev_daemon import DevDaemon
    from trellis.web.workspace import Workspace

    workspace = Workspace(CodeTarget(file=defs_file))
    workspace.load()
    instance = Instance.get()
    state = build_state(workspace, instance, hub_interval=0.05)
    state.daemon = DevDaemon(instance, workspace, state.launcher)
    app = create_app(state, watch=False)
    return TestClient(app, base_url="http://127.0.0.1:3000"), state


def _types(instance, run_id: str) -> list[EventType]:
    return [e.event_type for e in instance.all_logs(run_id)]


def test_ui_launches_go_through_the_run_queue_while_the_daemon_runs(defs_file):
    client, state = _client_with_daemon(defs_file)
    with client:
        selection = client.post(
            "/api/launch",
            json={"selection": "numbers or scaled", "tags": {"team": "bi"}},
        )
        assert selection.status_code == 201, selection.text
        job = client.post(
            "/api/launch",
            json={
                "job": "numbers_job",
                "run_config": {"ops": {"scaled": {"config": {"factor": 5}}}},
            },
        )
        assert job.status_code == 201, job.text
        runs = {}
        for response in (selection, job):
            run_id = response.json()["run_id"]
            runs[run_id] = wait_for_run(state.instance, run_id)
        for run_id, run in runs.items():
            assert run.status.value == "SUCCESS", state.instance.all_logs(run_id)
            types = _types(state.instance, run_id)
            assert types.index(EventType.RUN_ENQUEUED) < types.index(EventType.RUN_STARTING)
            assert CODE_LOCATION_TAG in run.tags
            assert run.tags[PID_TAG] != str(os.getpid())  # its own process
        selected, whole = runs[selection.json()["run_id"]], runs[job.json()["run_id"]]
        assert selected.tags["team"] == "bi"
        assert sorted(str(k) for k in selected.asset_selection) == ["numbers", "scaled"]
        assert whole.job_name == "numbers_job"
        assert whole.run_config == {"ops": {"scaled": {"config": {"factor": 5}}}}
        # The stand-in launch is never reported as a child that died without its run.
        assert state.launcher.finished_without_run(state.instance) == []
    assert state.launcher.enqueue is None  # the daemon stopped: launches go direct again


def test_without_the_daemon_the_ui_starts_the_runs_process_itself(ui):
    client, state = ui
    response = client.post("/api/launch", json={"selection": "numbers"})
    run_id = response.json()["run_id"]
    run = wait_for_run(state.instance, run_id)
    assert run.status.value == "SUCCESS"
    assert EventType.RUN_ENQUEUED not in _types(state.instance, run_id)
    assert PARTITION_TAG not in run.tags
    state.launcher.wait_all()
