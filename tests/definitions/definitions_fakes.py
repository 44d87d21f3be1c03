"""Stand-ins the schedule and sensor tests share: a job (all a schedule or sensor reads of
one is its name), a tick, and a schedule evaluation context at that tick."""

from datetime import UTC, datetime

from trellis.contexts.schedule import ScheduleEvaluationContext


class FakeJob:
    """Stands in for a job definition: all a schedule or sensor reads is ``name``."""

    def __init__(self, name: str) -> None:
        self.name = name


JOB = FakeJob("etl_job")
OTHER = FakeJob("other_job")
TICK = datetime(2024, 5, 1, 6, 0, tzinfo=UTC)


def schedule_context(**kwargs) -> ScheduleEvaluationContext:
    kwargs.setdefault("scheduled_execution_time", TICK)
    return ScheduleEvaluationContext(**kwargs)
