"""``build_schedule_from_partitioned_job``: a schedule that runs a partitioned job's
newest partition on the cadence of its time-window partitions (or every partition of a
static partitions definition, on a cron given explicitly)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from trellis.core.errors import InvalidDefinitionError
from trellis.defs.run_request import RunRequest, SkipReason
from trellis.defs.schedule import DefaultScheduleStatus, ScheduleDefinition


def _cron_with(
    cron: str, minute: int | None, hour: int | None, day_of_week: int | None, day: int | None
) -> str:
    """``cron`` with the given fields put in (minute, hour, day of month, day of week)."""
    fields = cron.split()
    if len(fields) != 5:
        return cron
    for index, value in ((0, minute), (1, hour), (2, day), (4, day_of_week)):
        if value is not None:
            fields[index] = str(value)
    return " ".join(fields)


def build_schedule_from_partitioned_job(
    job: Any,
    description: str | None = None,
    name: str | None = None,
    minute_of_hour: int | None = None,
    hour_of_day: int | None = None,
    day_of_week: int | None = None,
    day_of_month: int | None = None,
    default_status: DefaultScheduleStatus = DefaultScheduleStatus.STOPPED,
    tags: Mapping[str, str] | None = None,
    cron_schedule: str | None = None,
    execution_timezone: str | None = None,
) -> ScheduleDefinition:
    """A schedule for a partitioned job. Time-window partitions: it ticks when a partition
    ends (the definition's cron, in its timezone; ``minute_of_hour``, ``hour_of_day``,
    ``day_of_week`` and ``day_of_month`` move the tick later within the cadence) and runs
    the newest partition that has ended by the tick. Static partitions: it ticks on
    ``cron_schedule`` and runs every partition."""
    partitions_def = getattr(job, "partitions_def", None)
    owner = f"build_schedule_from_partitioned_job(job '{getattr(job, 'name', job)}')"
    if partitions_def is None:
        raise InvalidDefinitionError(
            f"{owner}: the job has no partitions_def (give define_asset_job a "
            "partitions_def=, or the @job one)."
        )
    run_tags = dict(tags or {})
    if hasattr(partitions_def, "time_window_for_partition_key"):
        if cron_schedule is not None:
            raise InvalidDefinitionError(
                f"{owner}: cron_schedule is for static partitions; a time-window job's "
                "schedule follows its partitions (use minute_of_hour, hour_of_day, ...)."
            )
        cron = _cron_with(
            partitions_def.cron_schedule, minute_of_hour, hour_of_day, day_of_week, day_of_month
        )

        def newest(context: Any) -> Any:
            when = context.scheduled_execution_time
            key = partitions_def.get_last_partition_key(current_time=when)
            if key is None:
                return SkipReason(f"No partition of {partitions_def!r} has ended by {when}.")
            return RunRequest(partition_key=key, tags=run_tags)

        return ScheduleDefinition(
            name=name,
            cron_schedule=cron,
            job=job,
            execution_fn=newest,
            execution_timezone=execution_timezone or partitions_def.timezone,
            description=description,
            default_status=default_status,
        )
    if hasattr(partitions_def, "partition_dimension_names") or cron_schedule is None:
        raise InvalidDefinitionError(
            f"{owner}: {partitions_def!r} has no time windows to follow; give static "
            "partitions a cron_schedule= (each tick runs every partition)."
        )

    def every(context: Any) -> Any:
        keys = partitions_def.get_partition_keys()
        return [RunRequest(partition_key=k, run_key=k, tags=run_tags) for k in keys]

    return ScheduleDefinition(
        name=name,
        cron_schedule=cron_schedule,
        job=job,
        execution_fn=every,
        execution_timezone=execution_timezone,
        description=description,
        default_status=default_status,
    )
