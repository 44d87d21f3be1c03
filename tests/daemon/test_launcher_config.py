"""``run_coordinator:`` and ``run_launcher:`` in ``trellis.yaml`` (Dagster's shapes),
``trellis daemon --launcher`` over them, and the default launcher; bad values are
refused with the file and the key named."""

from __future__ import annotations

import sys
import textwrap
import time

import pytest
import yaml
from daemon_helpers import DEFS_FILE, cli_output, home_with_user_module

from trellis.core.errors import InstanceError, InvalidConfigError
from trellis.core.run import Run, RunStatus, new_run_id
from trellis.daemon.code_location import pointer_tag
from trellis.daemon.fork_launcher import ForkRunLauncher
from trellis.daemon.launcher import SubprocessRunLauncher
from trellis.daemon.launchers import choose_launcher
from trellis.execution.remote.code_pointer import CodePointer
from trellis.instance.instance import Instance

MY_LAUNCHER = """
    from pathlib import Path

    from trellis.daemon.launcher import SubprocessRunLauncher

    class MarkingLauncher(SubprocessRunLauncher):
        '''The subprocess launcher that leaves a file per launch in ``marks``.'''

        def __init__(self, marks: str, standby: bool = True) -> None:
            super().__init__(standby=standby)
            self.marks = Path(marks)

        def launch_run(self, run, instance):
            (self.marks / run.run_id).write_text("launched")
            super().launch_run(run, instance)

    class NotALauncher:
        pass
"""


@pytest.fixture
def home(tmp_path, monkeypatch):
    return home_with_user_module(tmp_path, monkeypatch, "my_launchers", MY_LAUNCHER)


def _configure(home, config) -> str:
    path = home / "trellis.yaml"
    path.write_text(yaml.safe_dump(config))
    return str(path)


_cli = cli_output


def test_dagster_queued_run_coordinator_sets_the_run_queue(home):
    _configure(
        home,
        {
            "run_coordinator": {
                "module": "dagster.core.run_coordinator",
                "class": "QueuedRunCoordinator",
                "config": {
                    "max_concurrent_runs": 3,
                    "tag_concurrency_limits": [
                        {"key": "team", "value": {"applyLimitPerUniqueValue": True}, "limit": 1}
                    ],
                    "dequeue_interval_seconds": 2,
                    "dequeue_use_threads": True,  # Dagster's, accepted and unused
                    "dequeue_num_workers": 4,
                },
            }
        },
    )
    with Instance.get() as instance:
        settings = instance.settings.daemon
    assert settings.max_concurrent_runs == 3
    assert settings.dequeue_interval_seconds == 2
    (limit,) = settings.tag_concurrency_limits
    assert limit.key == "team" and limit.limit == 1 and limit.per_unique_value


def test_dagster_default_run_coordinator_means_no_limit(home):
    _configure(home, {"run_coordinator": {"class": "DefaultRunCoordinator"}})
    with Instance.get() as instance:
        assert instance.settings.daemon.max_concurrent_runs == -1


@pytest.mark.parametrize(
    ("config", "expected"),
    [
        (
            {
                "run_coordinator": {"class": "QueuedRunCoordinator"},
                "run_queue": {"max_concurrent_runs": 2},
            },
            "run_queue and run_coordinator both configure the run queue",
        ),
        (
            {"run_coordinator": {"class": "SleepyCoordinator"}},
            "run_coordinator: class 'SleepyCoordinator' is not one Trellis offers",
        ),
        (
            {
                "run_coordinator": {
                    "class": "QueuedRunCoordinator",
                    "config": {"dequeue_interval_seconds": 0},
                }
            },
            "run_coordinator: config: dequeue_interval_seconds must be positive, got 0",
        ),
        (
            {
                "run_coordinator": {
                    "class": "QueuedRunCoordinator",
                    "config": {"max_concurent_runs": 2},
                }
            },
            "max_concurent_runs",
        ),
        (
            {
                "run_coordinator": {
                    "class": "DefaultRunCoordinator",
                    "config": {"max_concurrent_runs": 2},
                }
            },
            "DefaultRunCoordinator takes no config",
        ),
        (
            {"run_launcher": {"module": "dagster_k8s", "class": "K8sRunLauncher"}},
            "run_launcher: Dagster's K8sRunLauncher is not offered by Trellis",
        ),
        (
            {"run_launcher": {"class": "MarkingLauncher"}},
            "run_launcher: class 'MarkingLauncher' is not a Trellis launcher",
        ),
        (
            {"run_launcher": {"class": "DaskRunLauncher", "config": {"adress": "tcp://x:1"}}},
            "run_launcher: DaskRunLauncher does not take adress",
        ),
    ],
)
def test_bad_sections_are_refused_naming_the_file_and_key(home, config, expected):
    path = _configure(home, config)
    with pytest.raises(InvalidConfigError) as raised:
        Instance.get()
    assert expected in str(raised.value)
    assert path in str(raised.value)
    out = _cli("daemon", "-f", DEFS_FILE, "--once", code=2)  # the command says the same
    assert path in out and expected in " ".join(out.split())


@pytest.mark.parametrize(
    ("section", "expected"),
    [
        (
            {"module": "no_such_module_here", "class": "X"},
            "cannot import module 'no_such_module_here'",
        ),
        (
            {"module": "my_launchers", "class": "Missing"},
            "module 'my_launchers' has no class 'Missing'",
        ),
        ({"module": "my_launchers", "class": "NotALauncher"}, "is not a RunLauncher subclass"),
        (
            {"module": "my_launchers", "class": "MarkingLauncher", "config": {"mark": "x"}},
            "MarkingLauncher(**config) failed: TypeError",
        ),
    ],
)
def test_a_users_launcher_that_cannot_be_built_is_reported(home, section, expected):
    path = _configure(home, {"run_launcher": section})
    with Instance.get() as instance, pytest.raises(InstanceError) as raised:
        choose_launcher(instance, None)
    assert f"run_launcher in {path}: " in str(raised.value) and expected in str(raised.value)


def _queue_one(instance) -> str:
    tag = pointer_tag(CodePointer(file=DEFS_FILE, attribute="defs"))
    return instance.submit_run(
        Run(new_run_id(), "work", tags={"trellis/code_location": tag})
    ).run_id


def _wait_success(instance, run_id: str) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if instance.get_run(run_id).status is RunStatus.SUCCESS:
            return
        time.sleep(0.1)
    raise AssertionError(f"run {run_id} did not succeed")


def test_a_users_launcher_by_module_and_class_launches_the_daemons_runs(home, tmp_path):
    marks = tmp_path / "marks"
    marks.mkdir()
    _configure(
        home,
        {
            "run_launcher": {
                "module": "my_launchers",
                "class": "MarkingLauncher",
                "config": {"marks": str(marks), "standby": False},
            }
        },
    )
    with Instance.get() as instance:
        run_id = _queue_one(instance)
        _cli("daemon", "-f", DEFS_FILE, "--once")
        _wait_success(instance, run_id)
    assert (marks / run_id).read_text() == "launched"

    # --launcher overrides the file.
    with Instance.get() as instance:
        run_id = _queue_one(instance)
        _cli("daemon", "-f", DEFS_FILE, "--once", "--launcher", "subprocess")
        _wait_success(instance, run_id)
    assert not (marks / run_id).exists()


def test_trellis_launchers_by_class_name_and_the_default(home):
    tag = pointer_tag(CodePointer(file=DEFS_FILE, attribute="defs"))
    with Instance.get() as instance:
        default = choose_launcher(instance, tag)
    if sys.platform.startswith("linux"):
        assert isinstance(default, ForkRunLauncher) and default.code_location_tag == tag
    else:
        assert isinstance(default, SubprocessRunLauncher)
    _configure(
        home, {"run_launcher": {"class": "SubprocessRunLauncher", "config": {"standby": False}}}
    )
    with Instance.get() as instance:
        chosen = choose_launcher(instance, tag)
        overridden = choose_launcher(instance, tag, "fork")
    assert isinstance(chosen, SubprocessRunLauncher) and chosen.standby is False
    assert isinstance(overridden, ForkRunLauncher)
    _configure(home, {"run_launcher": {"module": "dagster", "class": "DefaultRunLauncher"}})
    with Instance.get() as instance:
        assert type(choose_launcher(instance, tag)) is type(default)


PARENT_PID_DEFS = """
    import os
    from pathlib import Path

    from trellis import Definitions, job, op

    @op
    def parent(context) -> None:
        Path(os.environ["DAEMON_TEST_OUT"], context.run_id).write_text(str(os.getppid()))

    @job
    def report_parent():
        parent()

    defs = Definitions(jobs=[report_parent])
"""


@pytest.mark.skipif(not hasattr(__import__("os"), "fork"), reason="the fork launcher needs os.fork")
def test_the_fork_launcher_forks_every_run_from_one_warm_zygote(home, tmp_path):
    """Launch after launch reuses the zygote (a new one per run would cost an interpreter
    start and the code's import each time, the cost the launcher exists to avoid)."""
    defs = tmp_path / "parent_defs.py"
    defs.write_text(textwrap.dedent(PARENT_PID_DEFS))
    tag = pointer_tag(CodePointer(file=str(defs), attribute="defs"))
    out = tmp_path / "out"
    launcher = ForkRunLauncher(code_location_tag=tag)
    with Instance.get() as instance:
        try:
            launcher.prepare(instance)
            run_ids = []
            for _ in range(3):
                run = Run(new_run_id(), "report_parent", tags={"trellis/code_location": tag})
                run_id = instance.submit_run(run).run_id
                claimed = instance.claim_queued_run(run_id)
                assert claimed is not None
                launcher.launch_run(claimed, instance)
                _wait_success(instance, run_id)
                run_ids.append(run_id)
        finally:
            launcher.dispose()
    parents = {(out / run_id).read_text() for run_id in run_ids}
    assert len(parents) == 1, f"the runs came from {len(parents)} zygotes: {parents}"
