"""Run status sensors: ``@run_status_sensor``, ``@run_failure_sensor`` and
``RunStatusSensorDefinition``, sensors whose function is called once for each run that
reached a status (SUCCESS, FAILURE, ...) since the previous tick.

The definition is a ``SensorDefinition`` whose evaluation function is Trellis's: at each
tick it reads, through ``context.instance``, the runs of the watched status whose
status changed after the cursor (``monitored_jobs`` only, when given: jobs, job names and
``JobSelector`` / ``RepositorySelector`` / ``CodeLocationSelector``), calls the user's
function with a ``RunStatusSensorContext`` per run, oldest first, and moves the cursor
(JSON: the time of the newest change handled and the runs at that time). Its first tick
only sets the cursor: runs that ended before the sensor started are not reported, as in
Dagster. Runs it requests go to ``request_job`` / ``request_jobs``.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from typing import Any

from trellis.core.errors import InvalidDefinitionError, SensorExecutionError
from trellis.core.events import EventType
from trellis.core.run import RunStatus
from trellis.defs.run_request import (
    RunRequest,
    SensorResult,
    SkipReason,
    call_user_fn,
    takes_context,
)
from trellis.defs.selectors import SELECTORS, JobSelector
from trellis.defs.sensor import DefaultSensorStatus, SensorDefinition

_EVENT_OF_STATUS = {
    RunStatus.QUEUED: EventType.RUN_ENQUEUED,
    RunStatus.STARTING: EventType.RUN_STARTING,
    RunStatus.STARTED: EventType.RUN_START,
    RunStatus.SUCCESS: EventType.RUN_SUCCESS,
    RunStatus.FAILURE: EventType.RUN_FAILURE,
    RunStatus.CANCELING: EventType.RUN_CANCELING,
    RunStatus.CANCELED: EventType.RUN_CANCELED,
}
_RUNS_PER_TICK = 1000  # the newest runs of the status read per tick


def _status_time(run: Any, status: RunStatus) -> float:
    """When ``run`` reached ``status`` (for the cursor)."""
    if status.is_finished and run.end_time is not None:
        return float(run.end_time)
    if status is RunStatus.STARTED and run.start_time is not None:
        return float(run.start_time)
    return float(run.create_time)


def _monitored(owner: str, jobs: Sequence[Any] | None) -> list[str | Any] | None:
    """``monitored_jobs`` as job names and selectors (``JobSelector``,
    ``RepositorySelector``, ``CodeLocationSelector``); None: every job."""
    if jobs is None:
        return None
    if isinstance(jobs, str) or not isinstance(jobs, Sequence):
        raise InvalidDefinitionError(f"{owner}: monitored_jobs must be a list, got {jobs!r}.")
    found: list[str | Any] = []
    for job in jobs:
        if isinstance(job, SELECTORS):
            found.append(job)
            continue
        name = job if isinstance(job, str) else getattr(job, "name", None)
        if not isinstance(name, str):
            raise InvalidDefinitionError(
                f"{owner}: monitored_jobs holds {job!r}, which is neither a job nor a "
                "JobSelector, RepositorySelector or CodeLocationSelector."
            )
        found.append(name)
    return found


def _is_monitored(run: Any, monitored: list[str | Any]) -> bool:
    return any(
        run.job_name == entry if isinstance(entry, str) else entry.matches(run)
        for entry in monitored
    )


class RunStatusSensorDefinition(SensorDefinition):
    """Calls ``run_status_sensor_fn(context)`` for each run that reached ``run_status``
    since the previous tick (see the module docstring)."""

    def __init__(
        self,
        name: str,
        run_status: RunStatus,
        run_status_sensor_fn: Callable[..., Any],
        minimum_interval_seconds: int | None = None,
        description: str | None = None,
        monitored_jobs: Sequence[Any] | None = None,
        monitor_all_code_locations: bool | None = None,
        default_status: DefaultSensorStatus = DefaultSensorStatus.STOPPED,
        request_job: Any = None,
        request_jobs: Sequence[Any] | None = None,
        tags: dict[str, str] | None = None,
        metadata: dict[str, Any] | None = None,
        required_resource_keys: Sequence[str] | None = None,
        _failure: bool = False,
    ) -> None:
        owner = f"run status sensor '{name}'"
        if not isinstance(run_status, RunStatus):
            try:
                run_status = RunStatus(str(getattr(run_status, "value", run_status)))
            except ValueError:
                raise InvalidDefinitionError(
                    f"{owner}: run_status must be a RunStatus, got {run_status!r}."
                ) from None
        if request_job is not None and request_jobs is not None:
            raise InvalidDefinitionError(f"{owner}: pass request_job or request_jobs, not both.")
        self._run_status = run_status
        self._monitored = _monitored(owner, monitored_jobs)
        self._monitor_all = bool(monitor_all_code_locations)
        self._user_fn = run_status_sensor_fn
        self._user_takes_context = takes_context(run_status_sensor_fn, owner)
        self._failure = _failure
        jobs = [request_job] if request_job is not None else list(request_jobs or [])
        super().__init__(
            name,
            evaluation_fn=self._evaluate,
            minimum_interval_seconds=minimum_interval_seconds,
            description=description,
            jobs=jobs or None,
            default_status=default_status,
            required_resource_keys=required_resource_keys,
            tags=tags,
            metadata=metadata,
        )

    @property
    def run_status(self) -> RunStatus:
        """The status whose runs the sensor reports."""
        return self._run_status

    @property
    def monitored_job_names(self) -> list[str] | None:
        """The names of the jobs it watches (None: every job); selectors of code
        locations are in ``monitored_jobs``."""
        if self._monitored is None:
            return None
        return [
            e if isinstance(e, str) else e.job_name
            for e in self._monitored
            if isinstance(e, str | JobSelector)
        ]

    @property
    def monitored_jobs(self) -> list[Any] | None:
        """What it watches: job names and selectors (None: every job)."""
        return list(self._monitored) if self._monitored is not None else None

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        """Call the user's function directly (tests): ``my_sensor(context)`` with a
        context from ``build_run_status_sensor_context``."""
        context = args[0] if args else kwargs.get("context")
        if self._failure and context is not None and hasattr(context, "for_run_failure"):
            context = context.for_run_failure()
        return self._user_fn(context) if self._user_takes_context else self._user_fn()

    # -- a tick --------------------------------------------------------------------------
    def _evaluate(self, context: Any) -> Any:
        from trellis.contexts.run_status_sensor import RunStatusSensorContext

        instance = context.instance
        status = self._run_status
        owner = f"sensor '{self.name}'"
        runs = instance.get_runs(statuses=[status], limit=_RUNS_PER_TICK)
        if self._monitored is not None:
            runs = [r for r in runs if _is_monitored(r, self._monitored)]
        changes = sorted(((_status_time(r, status), r.run_id), r) for r in runs)
        if context.cursor is None:  # the first tick: from now on
            newest = changes[-1][0][0] if changes else 0.0
            ids = [key[1] for key, _ in changes if key[0] == newest]
            return SensorResult(skip_reason="Watching from now on.", cursor=_cursor(newest, ids))
        seen_time, seen_ids = _read_cursor(context.cursor)
        requests: list[RunRequest] = []
        skips: list[str] = []
        cursor_time, cursor_ids = seen_time, list(seen_ids)
        for (changed, run_id), run in changes:
            if changed < seen_time or (changed == seen_time and run_id in seen_ids):
                continue
            found = instance.all_logs(run_id, of_type=_EVENT_OF_STATUS[status])
            event = found[-1] if found else None
            run_context = RunStatusSensorContext(
                self.name,
                run,
                event,
                instance,
                context.resources,
                context.log,
                repository_def=context.repository_def,
            )
            if self._failure:
                run_context = run_context.for_run_failure()
            result = call_user_fn(
                self._user_fn, self._user_takes_context, run_context, SensorExecutionError, owner
            )
            items = result if isinstance(result, list) else [result]
            for item in items:
                if isinstance(item, RunRequest):
                    requests.append(item)
                elif isinstance(item, SkipReason):
                    skips.append(item.skip_message or "")
            if changed > cursor_time:
                cursor_time, cursor_ids = changed, []
            cursor_ids.append(run_id)
        cursor = _cursor(cursor_time, cursor_ids)
        if requests:
            return SensorResult(requests, cursor=cursor)
        reason = "; ".join(s for s in skips if s) or f"No run reached {status.value}."
        return SensorResult(skip_reason=reason, cursor=cursor)


def _cursor(timestamp: float, run_ids: list[str]) -> str:
    return json.dumps({"time": timestamp, "run_ids": sorted(run_ids)}, separators=(",", ":"))


def _read_cursor(text: str) -> tuple[float, list[str]]:
    try:
        data = json.loads(text)
        return float(data["time"]), list(data.get("run_ids") or [])
    except (ValueError, KeyError, TypeError):
        raise SensorExecutionError(
            f"The cursor {text!r} of a run status sensor is not one it wrote; reset it with "
            "trellis sensor cursor NAME --delete."
        ) from None


def _from_decorator(
    fn: Callable[..., Any],
    run_status: RunStatus,
    failure: bool,
    name: str | None,
    monitored_jobs: Sequence[Any] | None,
    job_selection: Sequence[Any] | None,
    monitor_all: bool | None,
    **rest: Any,
) -> RunStatusSensorDefinition:
    """The definition a decorator builds (``job_selection`` and
    ``monitor_all_repositories`` are Dagster's older spellings)."""
    return RunStatusSensorDefinition(
        name=name or fn.__name__,
        run_status=run_status,
        run_status_sensor_fn=fn,
        monitored_jobs=monitored_jobs if monitored_jobs is not None else job_selection,
        monitor_all_code_locations=monitor_all,
        _failure=failure,
        **rest,
    )


def run_status_sensor(
    run_status: RunStatus,
    name: str | None = None,
    minimum_interval_seconds: int | None = None,
    description: str | None = None,
    monitored_jobs: Sequence[Any] | None = None,
    job_selection: Sequence[Any] | None = None,
    monitor_all_code_locations: bool | None = None,
    default_status: DefaultSensorStatus = DefaultSensorStatus.STOPPED,
    request_job: Any = None,
    request_jobs: Sequence[Any] | None = None,
    monitor_all_repositories: bool | None = None,
    tags: dict[str, str] | None = None,
    metadata: dict[str, Any] | None = None,
    required_resource_keys: Sequence[str] | None = None,
) -> Callable[[Callable[..., Any]], RunStatusSensorDefinition]:
    """Turn a function into a sensor called once per run that reached ``run_status``
    (of ``monitored_jobs`` only, when given); it may return ``RunRequest``s for
    ``request_job`` / ``request_jobs``, a ``SkipReason`` or None."""
    rest = {
        "minimum_interval_seconds": minimum_interval_seconds,
        "description": description,
        "default_status": default_status,
        "request_job": request_job,
        "request_jobs": request_jobs,
        "tags": tags,
        "metadata": metadata,
        "required_resource_keys": required_resource_keys,
    }
    monitor_all = monitor_all_code_locations or monitor_all_repositories
    return lambda fn: _from_decorator(
        fn, run_status, False, name, monitored_jobs, job_selection, monitor_all, **rest
    )


def run_failure_sensor(
    name: Callable[..., Any] | str | None = None,
    minimum_interval_seconds: int | None = None,
    description: str | None = None,
    monitored_jobs: Sequence[Any] | None = None,
    job_selection: Sequence[Any] | None = None,
    monitor_all_code_locations: bool | None = None,
    default_status: DefaultSensorStatus = DefaultSensorStatus.STOPPED,
    request_job: Any = None,
    request_jobs: Sequence[Any] | None = None,
    monitor_all_repositories: bool | None = None,
    tags: dict[str, str] | None = None,
    metadata: dict[str, Any] | None = None,
    required_resource_keys: Sequence[str] | None = None,
) -> Any:
    """Turn a function into a sensor called once per failed run, with a
    ``RunFailureSensorContext``; usable bare (``@run_failure_sensor``) or with
    arguments."""
    rest = {
        "minimum_interval_seconds": minimum_interval_seconds,
        "description": description,
        "default_status": default_status,
        "request_job": request_job,
        "request_jobs": request_jobs,
        "tags": tags,
        "metadata": metadata,
        "required_resource_keys": required_resource_keys,
    }
    monitor_all = monitor_all_code_locations or monitor_all_repositories
    given = name if isinstance(name, str) else None

    def decorate(fn: Callable[..., Any]) -> RunStatusSensorDefinition:
        return _from_decorator(
            fn, RunStatus.FAILURE, True, given, monitored_jobs, job_selection, monitor_all, **rest
        )

    return decorate(name) if callable(name) else decorate
