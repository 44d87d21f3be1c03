"""Schedules: ``ScheduleDefinition`` and ``@schedule``, a job (or asset selection) launched
on the ticks of a cron schedule.

A definition only describes; ``evaluate_tick`` runs its function once for a tick, given a
``ScheduleEvaluationContext`` the caller built (with resources already initialised).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import Enum
from typing import TYPE_CHECKING, Any, TypeAlias
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from trellis.config.run_config import RunConfig, config_dict_from_value
from trellis.core.errors import (
    InvalidDefinitionError,
    InvalidInvocationError,
    ScheduleExecutionError,
)
from trellis.defs.cron import check_cron_schedule
from trellis.defs.evaluation_fn import EvaluationFunction
from trellis.defs.instigator import InstigatorDefinition, check_selection_strings
from trellis.defs.run_request import (
    RunRequest,
    call_user_fn,
    check_required_resources,
    normalize_result,
    takes_context,
)

if TYPE_CHECKING:
    from trellis.defs.asset_job import UnresolvedAssetJobDefinition
    from trellis.defs.asset_selection import CoercibleToAssetSelection
    from trellis.defs.graph import GraphDefinition
    from trellis.defs.job import JobDefinition

    ExecutableDefinition: TypeAlias = JobDefinition | GraphDefinition | UnresolvedAssetJobDefinition
    """What a schedule or sensor can target as a job (``job=``, ``jobs=``, ``target=``)."""

_NAME_RE = re.compile(r"^[A-Za-z0-9_]+$")


class DefaultScheduleStatus(Enum):
    """Whether a schedule runs as soon as its code is loaded (``RUNNING``) or waits to be
    started by hand (``STOPPED``, the default)."""

    RUNNING = "RUNNING"
    STOPPED = "STOPPED"


@dataclass(frozen=True)
class ScheduleEvaluationResult:
    """What one schedule tick produced: the runs to launch, or why it launched none."""

    run_requests: list[RunRequest] = field(default_factory=list)
    skip_message: str | None = None


def check_name(name: object, kind: str) -> str:
    """Return ``name`` if it is a valid definition name (letters, digits, underscores)."""
    if not isinstance(name, str) or not _NAME_RE.match(name):
        raise InvalidDefinitionError(
            f"Invalid {kind} name {name!r}: use only letters, digits and underscores."
        )
    return name


def target_job_name(
    owner: str, job: Any = None, job_name: str | None = None, target: Any = None
) -> str | None:
    """The job name an instigator targets: ``job.name``, ``job_name``, or the name of a
    job-like ``target`` (an object with a string ``name``); None for an asset selection."""
    if job is not None:
        name = getattr(job, "name", None)
        if not isinstance(name, str):
            raise InvalidDefinitionError(f"{owner}: job {job!r} has no name.")
        return name
    if job_name is not None:
        if not isinstance(job_name, str) or not job_name:
            raise InvalidDefinitionError(f"{owner}: job_name must be a string, got {job_name!r}.")
        return job_name
    name = getattr(target, "name", None)
    return name if isinstance(name, str) and not isinstance(target, str) else None


def check_exclusive(owner: str, **values: Any) -> int:
    """Raise when more than one of ``values`` is set; return how many are set (0 or 1)."""
    given = [name for name, value in values.items() if value is not None]
    if len(given) > 1:
        raise InvalidDefinitionError(
            f"{owner} got {', '.join(given)}; pass only one of {', '.join(values)}."
        )
    return len(given)


class ScheduleDefinition(InstigatorDefinition):
    """Launches a job (or an asset selection, via ``target``) on every tick of
    ``cron_schedule``, evaluated in ``execution_timezone`` (default UTC).

    Either give ``execution_fn`` (what ``@schedule`` does), returning run requests or a
    skip, or give a fixed ``run_config`` / ``run_config_fn`` and ``tags``: each tick then
    requests one run with them. ``should_execute(context) -> bool`` can veto a tick.
    """

    def __init__(
        self,
        name: str | None = None,
        cron_schedule: str | Sequence[str] | None = None,
        *,
        job: ExecutableDefinition | None = None,
        job_name: str | None = None,
        run_config: Mapping[str, Any] | RunConfig | None = None,
        run_config_fn: Callable[..., Mapping[str, Any] | RunConfig] | None = None,
        tags: Mapping[str, str] | None = None,
        should_execute: Callable[..., bool] | None = None,
        execution_timezone: str | None = None,
        execution_fn: Callable[..., Any] | None = None,
        description: str | None = None,
        default_status: DefaultScheduleStatus = DefaultScheduleStatus.STOPPED,
        required_resource_keys: Iterable[str] | None = None,
        target: ExecutableDefinition | CoercibleToAssetSelection | None = None,
        metadata: Mapping[str, Any] | None = None,
    ) -> None:
        owner = f"schedule '{name}'" if name else "ScheduleDefinition"
        if not check_exclusive(owner, job=job, job_name=job_name, target=target):
            raise InvalidDefinitionError(f"{owner} targets nothing: pass job, job_name or target.")
        check_selection_strings(owner, target)
        self._job, self._target = job, target
        self._job_name = target_job_name(owner, job, job_name, target)
        if name is None:
            if self._job_name is None:
                raise InvalidDefinitionError(
                    "ScheduleDefinition needs a name when its target is not a job."
                )
            name = f"{self._job_name}_schedule"
        self._name = check_name(name, "schedule")
        owner = f"schedule '{self._name}'"
        if cron_schedule is None:
            raise InvalidDefinitionError(f"{owner} needs a cron_schedule, e.g. '0 0 * * *'.")
        if isinstance(cron_schedule, str):
            check_cron_schedule(cron_schedule, owner)
        else:
            crons = list(cron_schedule)
            if not crons:
                raise InvalidDefinitionError(f"{owner}: cron_schedule is an empty list.")
            for cron in crons:
                check_cron_schedule(cron, owner)
            cron_schedule = crons
        self._cron_schedule = cron_schedule
        check_exclusive(owner, execution_fn=execution_fn, run_config=run_config)
        check_exclusive(owner, execution_fn=execution_fn, run_config_fn=run_config_fn)
        check_exclusive(owner, run_config=run_config, run_config_fn=run_config_fn)
        self._execution_fn = execution_fn
        self._evaluation = (
            EvaluationFunction(execution_fn, owner) if execution_fn is not None else None
        )
        if not required_resource_keys and self._evaluation is not None:
            required_resource_keys = self._evaluation.resource_args
        self._run_config = config_dict_from_value(run_config)  # a dict or a RunConfig
        self._run_config_fn = run_config_fn
        self._run_config_fn_ctx = run_config_fn is not None and takes_context(run_config_fn, owner)
        self._should_execute = should_execute
        self._should_execute_ctx = should_execute is not None and takes_context(
            should_execute, owner
        )
        self._execution_timezone = _check_timezone(owner, execution_timezone)
        self._init_common(
            owner,
            default_status,
            DefaultScheduleStatus,
            description,
            required_resource_keys,
            tags,
            metadata,
        )

    # -- evaluation ---------------------------------------------------------------------

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        """Call the schedule's function directly (for tests) and return what it returns:
        ``my_schedule(build_schedule_context())``; resources by keyword or from the
        context."""
        owner = f"schedule '{self._name}'"
        if self._evaluation is None:
            raise InvalidInvocationError(
                f"{owner} was built without an execution function (with run_config); only "
                "schedules made with @schedule or execution_fn can be called."
            )
        return self._evaluation.call_directly(args, kwargs, owner)

    def evaluate_tick(self, context: Any) -> ScheduleEvaluationResult:
        """Run the schedule for one tick and normalise what it returned.

        Run requests without a ``job_name`` get the schedule's job. User errors are raised
        as ``ScheduleExecutionError`` naming the schedule.
        """
        owner = f"schedule '{self._name}'"
        check_required_resources(context, self._required_resource_keys, owner)
        if self._should_execute is not None:
            ok = call_user_fn(
                self._should_execute,
                self._should_execute_ctx,
                context,
                ScheduleExecutionError,
                owner,
            )
            if not ok:
                return ScheduleEvaluationResult([], f"should_execute of {owner} returned False.")
        if self._evaluation is None:
            run_config: Any = self._run_config
            if self._run_config_fn is not None:
                run_config = call_user_fn(
                    self._run_config_fn,
                    self._run_config_fn_ctx,
                    context,
                    ScheduleExecutionError,
                    owner,
                )
            requests = [RunRequest(run_config=run_config, tags=self._tags)]
            skip = None
        else:
            assert self._evaluation is not None  # with no execution_fn there is a run_config
            result = self._evaluation.call_for_tick(context, ScheduleExecutionError, owner)
            requests, skip, _ = normalize_result(
                result, owner, allow_sensor_result=False, legacy_tags=self._tags
            )
        if self._job_name is not None:
            requests = [
                r if r.job_name is not None else r.with_replaced_attrs(job_name=self._job_name)
                for r in requests
            ]
        if skip is not None:
            return ScheduleEvaluationResult([], skip.skip_message)
        if not requests:
            return ScheduleEvaluationResult([], f"{owner} returned no run requests.")
        return ScheduleEvaluationResult(requests, None)

    # -- attributes ---------------------------------------------------------------------

    @property
    def cron_schedule(self) -> str | list[str]:
        """The cron string (or list of them) whose ticks launch runs."""
        return self._cron_schedule

    @property
    def job_name(self) -> str | None:
        """The name of the targeted job, or None when the target is an asset selection."""
        return self._job_name

    @property
    def job(self) -> Any:
        """The job object passed as ``job``, or None."""
        return self._job

    @property
    def execution_timezone(self) -> str | None:
        """The IANA timezone the cron schedule is read in (None: UTC)."""
        return self._execution_timezone

    def __repr__(self) -> str:
        return f"ScheduleDefinition(name={self._name!r}, cron_schedule={self._cron_schedule!r})"


def _check_timezone(owner: str, timezone: str | None) -> str | None:
    if timezone is None:
        return None
    try:
        ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError, TypeError):
        raise InvalidDefinitionError(
            f"{owner}: unknown execution_timezone {timezone!r}; use an IANA name such as "
            "'America/New_York'."
        ) from None
    return timezone


def schedule(
    cron_schedule: str | Sequence[str],
    *,
    job_name: str | None = None,
    name: str | None = None,
    tags: Mapping[str, str] | None = None,
    should_execute: Callable[..., bool] | None = None,
    execution_timezone: str | None = None,
    description: str | None = None,
    job: ExecutableDefinition | None = None,
    default_status: DefaultScheduleStatus = DefaultScheduleStatus.STOPPED,
    required_resource_keys: Iterable[str] | None = None,
    target: ExecutableDefinition | CoercibleToAssetSelection | None = None,
    metadata: Mapping[str, Any] | None = None,
) -> Callable[[Callable[..., Any]], ScheduleDefinition]:
    """Turn a function into a ``ScheduleDefinition`` named after it.

    The function takes an optional ``context`` (a ``ScheduleEvaluationContext``) and
    returns a ``RunRequest``, a list of them, a ``SkipReason``, or a run-config dict.
    """
    if callable(cron_schedule):
        raise InvalidDefinitionError(
            f"@schedule needs a cron schedule: write @schedule('0 0 * * *', job=...) above "
            f"'{getattr(cron_schedule, '__name__', cron_schedule)}'."
        )

    def decorate(fn: Callable[..., Any]) -> ScheduleDefinition:
        return ScheduleDefinition(
            name=name or fn.__name__,
            cron_schedule=cron_schedule,
            job=job,
            job_name=job_name,
            tags=tags,
            should_execute=should_execute,
            execution_timezone=execution_timezone,
            execution_fn=fn,
            description=description,
            default_status=default_status,
            required_resource_keys=required_resource_keys,
            target=target,
            metadata=metadata,
        )

    return decorate
