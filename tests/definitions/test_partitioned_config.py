"""Partitioned config for op jobs, as Dagster's docs use it: ``@job(config=...)`` with a
``@daily_partitioned_config`` (the function gets the day's window), a
``@static_partitioned_config`` (it gets the key), tags per partition, run config given at
launch merged over the partition's, schedules from the partitioned job, a run from the
command line in a real process; and what goes wrong: no partition, an unknown key, a
config function that raises or returns something else, partitions that disagree."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from datetime import UTC, datetime
from pathlib import Path

import pytest

from trellis import (
    DailyPartitionsDefinition,
    DynamicPartitionsDefinition,
    Instance,
    Partition,
    PartitionedConfig,
    StaticPartitionsDefinition,
    build_schedule_context,
    build_schedule_from_partitioned_job,
    daily_partitioned_config,
    hourly_partitioned_config,
    job,
    monthly_partitioned_config,
    op,
    partition_loading_context,
    partitioned_config,
    static_partitioned_config,
    weekly_partitioned_config,
)
from trellis.core.errors import (
    InvalidDefinitionError,
    InvalidInvocationError,
    UnknownPartitionError,
    UserCodeExecutionError,
)


@op(config_schema={"date": str, "end": str})
def process_day(context) -> str:
    return f"{context.op_config['date']}..{context.op_config['end']}"


def _day_tags(start: datetime, end: datetime) -> dict[str, str]:
    return {"weekday": start.strftime("%A")}


@daily_partitioned_config(start_date="2024-01-01", tags_for_partition_fn=_day_tags)
def day_config(start: datetime, end: datetime) -> dict:
    return {"ops": {"process_day": {"config": {"date": start.isoformat(), "end": end.isoformat()}}}}


@job(config=day_config)
def daily_job():
    process_day()


def test_a_daily_partitioned_config_gives_each_run_its_days_window_and_tags():
    assert isinstance(daily_job.partitions_def, DailyPartitionsDefinition)
    assert daily_job.partitions_def is day_config.partitions_def
    result = daily_job.execute_in_process(partition_key="2024-03-02")
    assert result.success
    assert result.output_for_node("process_day") == (
        "2024-03-02T00:00:00+00:00..2024-03-03T00:00:00+00:00"
    )
    assert result.run.tags["weekday"] == "Saturday"
    assert result.run.tags["trellis/partition"] == "2024-03-02"
    # The decorated function can still be called directly, as in Dagster's tests.
    start = datetime(2024, 3, 2, tzinfo=UTC)
    assert day_config(start, start)["ops"]["process_day"]["config"]["date"].startswith("2024")
    assert day_config.get_run_config_for_partition_key("2024-01-05") == {
        "ops": {
            "process_day": {
                "config": {
                    "date": "2024-01-05T00:00:00+00:00",
                    "end": "2024-01-06T00:00:00+00:00",
                }
            }
        }
    }


def test_run_config_given_at_launch_is_merged_over_the_partitions():
    result = daily_job.execute_in_process(
        partition_key="2024-03-02",
        run_config={"ops": {"process_day": {"config": {"end": "overridden"}}}},
    )
    assert result.output_for_node("process_day") == "2024-03-02T00:00:00+00:00..overridden"


def test_a_job_with_a_partitioned_config_needs_a_partition_and_a_key_it_has():
    with pytest.raises(InvalidInvocationError, match=r"daily_job.*partitioned config"):
        daily_job.execute_in_process()
    with pytest.raises(UnknownPartitionError, match="2023-12-31"):
        daily_job.execute_in_process(partition_key="2023-12-31")


REGIONS = ["eu-west", "us-east"]


@static_partitioned_config(
    partition_keys=REGIONS, tags_for_partition_key_fn=lambda key: {"region": key}
)
def region_config(partition_key: str) -> dict:
    return {"ops": {"load_region": {"config": {"region": partition_key}}}}


@op(config_schema={"region": str})
def load_region(context) -> str:
    return context.op_config["region"]


@job(config=region_config)
def regional_job():
    load_region()


def test_a_static_partitioned_config_gets_the_key_and_unknown_keys_are_suggested():
    assert regional_job.partitions_def.get_partition_keys() == REGIONS
    result = regional_job.execute_in_process(partition_key="us-east")
    assert result.output_for_node("load_region") == "us-east"
    assert result.run.tags["region"] == "us-east"
    with pytest.raises(UnknownPartitionError, match="us-east"):
        regional_job.execute_in_process(partition_key="us-eats")


def test_partitioned_config_over_any_definition_and_the_legacy_partition_function():
    colors = StaticPartitionsDefinition(["red", "blue"])

    @partitioned_config(partitions_def=colors)
    def by_key(partition_key: str) -> dict:
        return {"ops": {"load_region": {"config": {"region": partition_key.upper()}}}}

    @job(config=by_key)
    def colored():
        load_region()

    assert colored.execute_in_process(partition_key="red").output_for_node("load_region") == "RED"

    legacy = PartitionedConfig(
        colors,
        run_config_for_partition_fn=lambda p: {
            "ops": {"load_region": {"config": {"region": f"{p.name}:{p.value}"}}}
        },
        tags_for_partition_fn=lambda p: {"legacy": p.name},
    )

    @job(config=legacy)
    def old_style():
        load_region()

    result = old_style.execute_in_process(partition_key="blue")
    assert result.output_for_node("load_region") == "blue:blue"
    assert result.run.tags["legacy"] == "blue"
    assert Partition("x") == Partition("x", name="x") and Partition(3).name == "3"


def test_each_time_window_decorator_makes_its_own_partitions():
    @hourly_partitioned_config(start_date="2024-01-01-00:00", minute_offset=15)
    def hourly(start, end):
        return {}

    @weekly_partitioned_config(start_date="2024-01-07", day_offset=1)
    def weekly(start, end):
        return {}

    @monthly_partitioned_config(start_date="2024-01-01", timezone="Europe/Paris")
    def monthly(start, end):
        return {"start": start.isoformat(), "end": end.isoformat()}

    now = datetime(2024, 3, 10, 12, tzinfo=UTC)
    assert hourly.get_partition_keys(now)[0] == "2024-01-01-00:15"
    assert weekly.get_partition_keys(now)[0] == "2024-01-08"  # the first Monday
    assert monthly.get_run_config_for_partition_key("2024-02-01") == {
        "start": "2024-02-01T00:00:00+01:00",
        "end": "2024-03-01T00:00:00+01:00",
    }


def test_a_schedule_from_the_partitioned_job_runs_the_day_that_ended():
    schedule = build_schedule_from_partitioned_job(daily_job)
    assert schedule.cron_schedule == "0 0 * * *"
    context = build_schedule_context(scheduled_execution_time=datetime(2024, 3, 5, tzinfo=UTC))
    [request] = schedule.evaluate_tick(context).run_requests
    assert request.partition_key == "2024-03-04"


def test_config_functions_that_fail_are_reported_with_their_name_and_partition():
    keys = StaticPartitionsDefinition(["a", "b"])

    @partitioned_config(partitions_def=keys)
    def broken(partition_key: str) -> dict:
        raise KeyError("no such table")

    @job(config=broken)
    def uses_broken():
        load_region()

    with pytest.raises(UserCodeExecutionError, match=r"'broken'.*'b'.*KeyError"):
        uses_broken.execute_in_process(partition_key="b")

    @partitioned_config(partitions_def=keys)
    def not_a_dict(partition_key: str):
        return ["ops"]

    @job(config=not_a_dict)
    def uses_list():
        load_region()

    with pytest.raises(InvalidDefinitionError, match=r"'not_a_dict' returned list"):
        uses_list.execute_in_process(partition_key="a")

    bad_tags = PartitionedConfig(
        keys, run_config_for_partition_key_fn=lambda k: {}, tags_for_partition_key_fn=lambda k: 3
    )
    with pytest.raises(InvalidDefinitionError, match="dict of strings to strings"):
        bad_tags.get_tags_for_partition_key("a")


def test_definitions_that_disagree_are_refused_when_defined():
    with pytest.raises(InvalidDefinitionError, match="not the partitions of its partitioned"):

        @job(config=region_config, partitions_def=StaticPartitionsDefinition(["x"]))
        def mismatched():
            load_region()

    with pytest.raises(InvalidDefinitionError, match="exactly one of"):
        PartitionedConfig(StaticPartitionsDefinition(["x"]))


def test_partition_loading_context_sets_the_time_and_the_dynamic_store(tmp_path):
    daily = DailyPartitionsDefinition(start_date="2024-01-01")
    with partition_loading_context(effective_dt=datetime(2024, 1, 4, 6, tzinfo=UTC)) as ctx:
        assert daily.get_partition_keys() == ["2024-01-01", "2024-01-02", "2024-01-03"]
        assert ctx.effective_dt == datetime(2024, 1, 4, 6, tzinfo=UTC)
    assert len(daily.get_partition_keys()) > 3  # the clock again outside the block

    instance = Instance.from_config(tmp_path / "home", {})
    instance.add_dynamic_partitions("files", ["a.csv", "b.csv"])
    files = DynamicPartitionsDefinition(name="files")
    with partition_loading_context(dynamic_partitions_store=instance):
        assert files.get_partition_keys() == ["a.csv", "b.csv"]
    with pytest.raises(InvalidInvocationError, match="timezone-aware"):
        with partition_loading_context(effective_dt=datetime(2024, 1, 4)):
            pass


DEFS = """
from datetime import datetime
from trellis import Definitions, daily_partitioned_config, job, op

@op(config_schema={"date": str})
def write_day(context) -> None:
    with open(OUT, "w") as f:
        f.write(context.op_config["date"])

@daily_partitioned_config(start_date="2024-01-01")
def day_config(start: datetime, end: datetime) -> dict:
    return {"ops": {"write_day": {"config": {"date": start.strftime("%Y-%m-%d")}}}}

@job(config=day_config)
def daily_job():
    write_day()

defs = Definitions(jobs=[daily_job])
"""


def test_the_command_line_runs_a_partition_of_the_job_in_its_own_process(tmp_path):
    out = tmp_path / "day.txt"
    defs = tmp_path / "defs.py"
    defs.write_text(textwrap.dedent(DEFS).replace("OUT", json.dumps(str(out))))
    env = {**os.environ, "TRELLIS_HOME": str(tmp_path / "home")}
    command = ["job", "execute", "-f", str(defs), "-j", "daily_job", "--partition", "2024-02-29"]
    done = subprocess.run(
        [sys.executable, "-m", "trellis", *command],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert Path(out).read_text() == "2024-02-29"
