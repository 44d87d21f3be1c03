"""The run queue loop: priority then age, max_concurrent_runs, tag concurrency limits
(a value, any value, each value), a launcher that fails, runs left STARTING launched
again; and the run_queue section of trellis.yaml."""

from __future__ import annotations

import pytest
from daemon_helpers import RecordingLauncher

from trellis.core.errors import InvalidConfigError
from trellis.core.run import Run, RunStatus
from trellis.daemon.queue_loop import RunQueueLoop
from trellis.instance.daemon_config import DaemonSettings, TagConcurrencyLimit
from trellis.instance.instance import Instance


@pytest.fixture(params=["memory", "sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def instance(request, tmp_path):
    if request.param == "memory":
        made = Instance.ephemeral()
    elif request.param == "sqlite":
        made = Instance.from_config(tmp_path / "home", {})
    else:
        url = request.getfixturevalue("pg_url")
        made = Instance.from_config(tmp_path / "home", {"storage": {"postgres": {"url": url}}})
    yield made
    made.dispose()


def _submit(instance, run_id, created, **tags):
    run = Run(run_id, "job", tags=tags)
    run.create_time = created
    return instance.submit_run(run)


def _finish(instance, run_id):
    run = instance.get_run(run_id)
    run.status = RunStatus.SUCCESS
    instance.update_run(run)


def test_runs_start_by_priority_then_age_within_max_concurrent_runs(instance):
    for n, priority in enumerate(["0", "0", "9", "0", "-3"]):
        _submit(instance, f"r{n}", 100.0 + n, **{"trellis/priority": priority})
    launcher = RecordingLauncher()
    loop = RunQueueLoop(instance, DaemonSettings(max_concurrent_runs=2), launcher)
    loop.run_iteration(0)
    assert launcher.launched == ["r2", "r0"]
    loop.run_iteration(1)
    assert launcher.launched == ["r2", "r0"]  # two in progress: the limit
    _finish(instance, "r2")
    loop.run_iteration(2)
    assert launcher.launched == ["r2", "r0", "r1"]
    _finish(instance, "r0")
    _finish(instance, "r1")
    loop.run_iteration(3)
    assert launcher.launched == ["r2", "r0", "r1", "r3", "r4"]
    assert [r.status for r in instance.get_runs(statuses=[RunStatus.QUEUED])] == []


def test_the_queue_order_is_read_without_the_runs_bodies_in_the_same_order(instance):
    _submit(instance, "plain-old", 100.0)
    _submit(instance, "dagster-high", 104.0, **{"dagster/priority": "5"})
    _submit(instance, "trellis-wins", 103.0, **{"trellis/priority": "1", "dagster/priority": "9"})
    _submit(instance, "not-a-number", 99.0, **{"trellis/priority": "high"})
    _submit(instance, "low", 98.0, **{"trellis/priority": "-2"})
    _submit(instance, "started", 97.0)
    instance.claim_queued_run("started")
    expected = ["dagster-high", "trellis-wins", "not-a-number", "plain-old", "low"]
    assert [r.run_id for r in instance.get_queued_runs()] == expected
    assert instance.get_queued_run_ids() == expected


def test_tag_concurrency_limits_hold_back_runs_and_let_others_pass(instance):
    limits = (
        TagConcurrencyLimit("database", 1, value="redshift"),
        TagConcurrencyLimit("team", 1, per_unique_value=True),
        TagConcurrencyLimit("heavy", 1),
    )
    _submit(instance, "a", 1, database="redshift")
    _submit(instance, "b", 2, database="redshift")  # held: redshift is full
    _submit(instance, "c", 3, database="postgres")  # another value: not limited
    _submit(instance, "d", 4, team="x")
    _submit(instance, "e", 5, team="x")  # held: one per team value
    _submit(instance, "f", 6, team="y")
    _submit(instance, "g", 7, heavy="1")
    _submit(instance, "h", 8, heavy="2")  # held: any value of heavy counts
    launcher = RecordingLauncher()
    settings = DaemonSettings(max_concurrent_runs=-1, tag_concurrency_limits=limits)
    loop = RunQueueLoop(instance, settings, launcher)
    loop.run_iteration(0)
    assert launcher.launched == ["a", "c", "d", "f", "g"]
    _finish(instance, "a")
    _finish(instance, "g")
    loop.run_iteration(1)
    assert launcher.launched[5:] == ["b", "h"]


class _FailingLauncher(RecordingLauncher):
    def launch_run(self, run, instance):
        raise OSError("no more processes")


def test_a_launch_that_fails_fails_the_run_with_the_reason(instance):
    _submit(instance, "a", 1)
    RunQueueLoop(instance, DaemonSettings(), _FailingLauncher()).run_iteration(0)
    run = instance.get_run("a")
    assert run.status is RunStatus.FAILURE
    failure = instance.all_logs("a")[-1]
    assert "no more processes" in failure.message


def test_runs_left_starting_are_launched_again_on_recovery(instance):
    _submit(instance, "a", 1)
    _submit(instance, "b", 2)
    assert instance.claim_queued_run("a") is not None  # a daemon died after this
    launcher = RecordingLauncher()
    loop = RunQueueLoop(instance, DaemonSettings(), launcher)
    assert loop.recover() == ["a"]
    loop.run_iteration(0)
    assert launcher.launched == ["a", "b"]


def test_the_run_queue_section_of_trellis_yaml(tmp_path):
    config = {
        "run_queue": {
            "max_concurrent_runs": 4,
            "tag_concurrency_limits": [
                {"key": "database", "value": "redshift", "limit": 2},
                {"key": "team", "value": {"applyLimitPerUniqueValue": True}, "limit": 1},
            ],
        },
        "scheduler": {"max_catchup_runs": 3},
        "retention": {"sensor": {"purge_after_days": 1}, "schedule": {"purge_after_days": -1}},
    }
    instance = Instance.from_config(tmp_path / "home", config)
    settings = instance.settings.daemon
    assert settings.max_concurrent_runs == 4
    assert settings.tag_concurrency_limits == (
        TagConcurrencyLimit("database", 2, value="redshift"),
        TagConcurrencyLimit("team", 1, per_unique_value=True),
    )
    assert settings.max_catchup_runs == 3
    assert settings.sensor_tick_retention_seconds == 86400
    assert settings.schedule_tick_retention_seconds is None
    instance.dispose()
    bad = {
        "run_queue": {
            "max_concurrent_runs": "four",
            "tag_concurrency_limits": [{"key": "team", "value": {"perValue": 1}, "limit": 1}],
        }
    }
    with pytest.raises(InvalidConfigError) as info:
        Instance.from_config(tmp_path / "other", bad)
    assert "root:run_queue:max_concurrent_runs" in str(info.value)
    bad = {"run_queue": {"tag_concurrency_limits": [{"key": "t", "value": 3, "limit": -1}]}}
    with pytest.raises(InvalidConfigError) as info:
        Instance.from_config(tmp_path / "third", bad)
    text = str(info.value)
    assert "tag_concurrency_limits[0]: value must be a string" in text
    assert "limit must be 0 or more, got -1" in text
    with pytest.raises(InvalidConfigError, match="max_catchup_runs must be 1 or more"):
        Instance.from_config(tmp_path / "fourth", {"scheduler": {"max_catchup_runs": 0}})
