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
) -> ScheduleDefinition | UnresolvedPartitionedAssetScheduleDefinition:
    """A schedule for a partitioned job. Time-window partitions: it ticks when a partition
    ends (the definition's cron, in its timezone; ``minute_of_hour``, ``hour_of_day``,
    ``day_of_week`` and ``day_of_month`` move the tick later within the cadence) and runs
    the newest partition that has ended by the tick. Static partitions: it ticks on
    ``cron_schedule`` and runs every partition. A ``define_asset_job`` job without a
    ``partitions_def`` takes its assets' one, so its schedule is made when ``Definitions``
    resolves the job (an ``UnresolvedPartitionedAssetScheduleDefinition`` until then)."""
    options: dict[str, Any] = {
        "description": description,
        "name": name,
        "minute_of_hour": minute_of_hour,
        "hour_of_day": hour_of_day,
        "day_of_week": day_of_week,
        "day_of_month": day_of_month,
        "default_status": default_status,
        "tags": tags,
        "cron_schedule": cron_schedule,
        "execution_timezone": execution_timezone,
    }
    partitions_def = getattr(job, "partitions_def", None)
    if partitions_def is None and _is_unresolved_asset_job(job):
        # As in Dagster: the job's partitions come from its assets, known once
        # Definitions resolves it; the schedule is made then.
        return UnresolvedPartitionedAssetScheduleDefinition(job, options)
    return _schedule_for(job, partitions_def, **options)


def _is_unresolved_asset_job(job: Any) -> bool:
    from trellis.defs.asset_job import UnresolvedAssetJobDefinition

    return isinstance(job, UnresolvedAssetJobDefinition)


class UnresolvedPartitionedAssetScheduleDefinition:
    """The schedule ``build_schedule_from_partitioned_job`` returns for a
    ``define_asset_job`` job without its own ``partitions_def``: its cadence follows the
    partitions of the job's assets, so ``Definitions`` makes the schedule when it resolves
    the job (``defs.get_schedule_def(name)`` returns that ``ScheduleDefinition``)."""

    def __init__(self, job: Any, options: Mapping[str, Any]) -> None:
        self.job = job
        self.name: str = options.get("name") or f"{job.name}_schedule"
        self._options = dict(options, name=self.name)

    def resolve(self, partitions_def: Any) -> ScheduleDefinition:
        """The schedule, given the partitions definition the job resolved to."""
        return _schedule_for(self.job, partitions_def, **self._options)

    def __repr__(self) -> str:
        return f"<UnresolvedPartitionedAssetScheduleDefinition {self.name} of job {self.job.name}>"


def _schedule_for(
    job: Any,
    partitions_def: Any,
    description: str | None,
    name: str | None,
    minute_of_hour: int | None,
    hour_of_day: int | None,
    day_of_week: int | None,
    day_of_month: int | None,
    default_status: DefaultScheduleStatus,
    tags: Mapping[str, str] | None,
    cron_schedule: str | None,
    execution_timezone: str | None,
) -> ScheduleDefinition:
    """The schedule of ``build_schedule_from_partitioned_job`` for ``partitions_def``."""
    owner = f"build_schedule_from_partitioned_job(job '{getattr(job, 'name', job)}')"
    if partitions_def is None:
        raise InvalidDefinitionError(
            f"{owner}: the job has no partitions_def (partition its assets, give "
            "define_asset_job a partitions_def=, or the @job one)."
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
