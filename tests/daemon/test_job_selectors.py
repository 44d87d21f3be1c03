"""``JobSelector``, ``RepositorySelector`` and ``CodeLocationSelector`` in a run status
sensor's ``monitored_jobs``: runs are matched by job name and by the code location they
were loaded from (their ``trellis/code_location`` tag: a file's name with or without
``.py``, or a module's name)."""

from __future__ import annotations

import json

import pytest

from trellis import (
    CodeLocationSelector,
    JobSelector,
    RepositorySelector,
    RunStatus,
    SkipReason,
    build_sensor_context,
    job,
    op,
    run_failure_sensor,
    run_status_sensor,
)
from trellis.core.errors import InvalidDefinitionError
from trellis.core.run import CODE_LOCATION_TAG
from trellis.instance.instance import Instance


@op
def fine() -> None:
    pass


@op
def broken() -> None:
    raise RuntimeError("broken on purpose")


@job
def nightly():
    fine()


@job
def hourly():
    fine()


@job
def flaky():
    broken()


def _at(file: str | None = None, module: str | None = None) -> dict[str, str]:
    data = {"file": file} if file else {"module": module}
    return {CODE_LOCATION_TAG: json.dumps(data, sort_keys=True)}


@pytest.fixture
def instance(tmp_path):
    with Instance.from_config(tmp_path / "home", None) as inst:
        yield inst


def _reported(sensor, instance: Instance, runs) -> list[str]:
    """The runs ``runs()`` made that the sensor reports on the tick after (its first tick
    only sets the cursor)."""
    cursor = sensor.evaluate_tick(build_sensor_context(instance=instance)).cursor
    made = runs()
    result = sensor.evaluate_tick(build_sensor_context(instance=instance, cursor=cursor))
    seen = (result.skip_message or "").replace(";", " ").split()
    return [name for name, run_id in made if run_id in seen]


def _run(instance: Instance, job_def, tags: dict[str, str]) -> str:
    result = job_def.execute_in_process(instance=instance, tags=tags, raise_on_error=False)
    return str(result.run_id)


def test_a_job_selector_matches_the_job_in_its_code_location_only(instance):
    @run_status_sensor(
        RunStatus.SUCCESS,
        monitored_jobs=[JobSelector(location_name="etl", job_name="nightly")],
    )
    def watch(context):
        return SkipReason(context.dagster_run.run_id)

    def runs():
        return [
            ("etl nightly", _run(instance, nightly, _at(file="/code/etl.py"))),
            ("etl hourly", _run(instance, hourly, _at(file="/code/etl.py"))),
            ("other nightly", _run(instance, nightly, _at(file="/code/other.py"))),
            ("no location nightly", _run(instance, nightly, {})),
        ]

    assert _reported(watch, instance, runs) == ["etl nightly"]


def test_a_job_selector_without_a_location_matches_the_job_anywhere(instance):
    @run_status_sensor(RunStatus.SUCCESS, monitored_jobs=[JobSelector(job_name="nightly")])
    def watch(context):
        return SkipReason(context.dagster_run.run_id)

    def runs():
        return [
            ("file", _run(instance, nightly, _at(file="/code/etl.py"))),
            ("module", _run(instance, nightly, _at(module="pkg.defs"))),
            ("no location", _run(instance, nightly, {})),
            ("other job", _run(instance, hourly, {})),
        ]

    assert _reported(watch, instance, runs) == ["file", "module", "no location"]


def test_code_location_and_repository_selectors_match_every_job_there(instance):
    @run_failure_sensor(monitored_jobs=[CodeLocationSelector("pkg.defs")])
    def by_location(context):
        return SkipReason(context.dagster_run.run_id)

    @run_failure_sensor(
        monitored_jobs=[
            RepositorySelector(location_name="etl.py", repository_name="__repository__")
        ]
    )
    def by_repository(context):
        return SkipReason(context.dagster_run.run_id)

    def runs():
        return [
            ("pkg", _run(instance, flaky, _at(module="pkg.defs"))),
            ("etl", _run(instance, flaky, _at(file="/code/etl.py"))),
            ("elsewhere", _run(instance, flaky, _at(module="other"))),
            ("pkg success", _run(instance, nightly, _at(module="pkg.defs"))),
        ]

    assert _reported(by_location, instance, runs) == ["pkg"]
    assert _reported(by_repository, instance, runs) == ["etl"]


def test_jobs_names_and_selectors_mix_in_monitored_jobs(instance):
    @run_status_sensor(
        RunStatus.SUCCESS,
        monitored_jobs=[hourly, JobSelector(location_name="etl", job_name="nightly")],
    )
    def watch(context):
        return SkipReason(context.dagster_run.run_id)

    assert watch.monitored_job_names == ["hourly", "nightly"]

    def runs():
        return [
            ("hourly", _run(instance, hourly, {})),
            ("etl nightly", _run(instance, nightly, _at(file="etl.py"))),
            ("nightly", _run(instance, nightly, {})),
        ]

    assert _reported(watch, instance, runs) == ["hourly", "etl nightly"]


def test_bad_selectors_and_monitored_jobs_are_definition_errors():
    with pytest.raises(InvalidDefinitionError, match="JobSelector: job_name must be a non-empty"):
        JobSelector(location_name="etl")
    with pytest.raises(InvalidDefinitionError, match="CodeLocationSelector: location_name"):
        CodeLocationSelector("")
    with pytest.raises(InvalidDefinitionError, match="monitored_jobs holds 42, which is neither"):

        @run_failure_sensor(monitored_jobs=[42])
        def bad(context):
            pass
