"""A user's run coordinator (``run_coordinator: {module, class, config}`` naming a
``QueuedRunCoordinator`` subclass, as in Dagster): every submitted run goes through its
``submit_run``, which may tag the run or refuse it; the queue keys of its config still
set the queue's limits; a class that cannot be built is reported with the file."""

from __future__ import annotations

import time

import pytest
import yaml
from daemon_helpers import DEFS_FILE, cli_output, home_with_user_module

from trellis import QueuedRunCoordinator, SubmitRunContext
from trellis.core.errors import InstanceError
from trellis.core.run import Run, RunStatus, new_run_id
from trellis.instance.instance import Instance

COORDINATORS = """
    from trellis import QueuedRunCoordinator, SubmitRunContext

    class TaggingCoordinator(QueuedRunCoordinator):
        '''Tags each run with its team, and refuses runs of the retired job.'''

        def __init__(self, team, retired="fragile", **queue):
            super().__init__(**queue)
            self.team = team
            self.retired = retired

        def submit_run(self, context: SubmitRunContext):
            run = context.dagster_run
            if run.job_name == self.retired:
                raise ValueError(f"{run.job_name} is retired")
            self._instance.add_run_tags(run.run_id, {"team": self.team})
            return super().submit_run(context)

    class NotACoordinator:
        pass
"""


@pytest.fixture
def home(tmp_path, monkeypatch):
    return home_with_user_module(tmp_path, monkeypatch, "my_coordinators", COORDINATORS)


def _configure(home, section) -> str:
    path = home / "trellis.yaml"
    path.write_text(yaml.safe_dump({"run_coordinator": section}))
    return str(path)


_cli = cli_output


TAGGING = {
    "module": "my_coordinators",
    "class": "TaggingCoordinator",
    "config": {"team": "data", "max_concurrent_runs": 3},
}


def test_a_users_coordinator_tags_each_run_and_the_daemon_runs_it(home):
    _configure(home, TAGGING)
    _cli("run", "launch", "-f", DEFS_FILE, "--job", "work")
    with Instance.get() as instance:
        assert instance.settings.daemon.max_concurrent_runs == 3  # the queue keys count
        [run] = instance.get_runs()
        assert run.status is RunStatus.QUEUED and run.tags["team"] == "data"
        assert isinstance(instance.run_coordinator, QueuedRunCoordinator)
        assert instance.run_coordinator.max_concurrent_runs == 3
    _cli("daemon", "-f", DEFS_FILE, "--once")
    with Instance.get() as instance:
        deadline = time.monotonic() + 60
        while instance.get_run(run.run_id).status is not RunStatus.SUCCESS:
            assert time.monotonic() < deadline, instance.get_run(run.run_id)
            time.sleep(0.1)
        assert instance.get_run(run.run_id).tags["team"] == "data"


def test_a_refused_run_is_kept_as_a_failure_with_the_reason(home):
    _configure(home, TAGGING)
    with Instance.get() as instance:
        run = Run(new_run_id(), "fragile")
        with pytest.raises(ValueError, match="fragile is retired"):
            instance.submit_run(run)
        stored = instance.get_run(run.run_id)
        assert stored is not None and stored.status is RunStatus.FAILURE
        [failure] = instance.all_logs(run.run_id)[-1:]
        assert "TaggingCoordinator refused run" in failure.message
        assert "fragile is retired" in failure.message


def test_the_coordinator_gets_a_dagster_shaped_context(home):
    seen: list[SubmitRunContext] = []

    class Recording(QueuedRunCoordinator):
        def submit_run(self, context):
            seen.append(context)
            return super().submit_run(context)

    with Instance.from_config(home, None) as instance:
        coordinator = Recording(max_concurrent_runs=2)
        coordinator.register_instance(instance)
        run = Run(new_run_id(), "work")
        instance.add_run(run)
        queued = coordinator.submit_run(SubmitRunContext(run))
        assert queued.status is RunStatus.QUEUED
        assert seen[0].dagster_run is run and seen[0].run is run and seen[0].workspace is None
        with pytest.raises(InstanceError, match="not NOT_STARTED"):
            instance.enqueue_stored_run(run.run_id)
        with pytest.raises(InstanceError, match="Run tags must be strings"):
            instance.add_run_tags(run.run_id, {"n": 1})  # type: ignore[dict-item]


@pytest.mark.parametrize(
    ("section", "expected"),
    [
        ({"module": "no_such_module_here", "class": "X"}, "cannot import module"),
        ({"module": "my_coordinators", "class": "Missing"}, "has no class 'Missing'"),
        (
            {"module": "my_coordinators", "class": "NotACoordinator"},
            "is not a RunCoordinator subclass",
        ),
        (
            {"module": "my_coordinators", "class": "TaggingCoordinator"},
            "TaggingCoordinator(**config) failed: TypeError",
        ),
    ],
)
def test_a_coordinator_that_cannot_be_built_is_reported_with_the_file(home, section, expected):
    path = _configure(home, section)
    with Instance.get() as instance:
        with pytest.raises(InstanceError) as raised:
            instance.submit_run(Run(new_run_id(), "work"))
        assert f"run_coordinator in {path}: " in str(raised.value)
        assert expected in str(raised.value)
        assert instance.get_runs() == []  # nothing was stored half-way
    out = _cli("run", "launch", "-f", DEFS_FILE, "--job", "work", code=2)
    assert expected in " ".join(out.split())
