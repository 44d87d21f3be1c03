"""Sensors: ``SensorDefinition`` and ``@sensor``, a function polled every
``minimum_interval_seconds`` that decides whether to launch runs, keeping a cursor
between ticks.

A definition only describes; ``evaluate_tick`` runs its function once for a tick, given a
``SensorEvaluationContext`` the caller built (with resources already initialised).
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterable, Mapping, Sequence
from contextvars import ContextVar
from dataclasses import dataclass, field
from enum import Enum
from typing import TYPE_CHECKING, Any, cast, overload

from trellis.core.errors import (
    InvalidDefinitionError,
    InvariantViolationError,
    SensorExecutionError,
)
from trellis.defs.evaluation_fn import EvaluationFunction
from trellis.defs.instigator import InstigatorDefinition, check_selection_strings
from trellis.defs.run_request import (
    RunRequest,
    check_required_resources,
    normalize_result,
)
from trellis.defs.schedule import check_exclusive, check_name, target_job_name

if TYPE_CHECKING:
    from trellis.defs.asset_selection import CoercibleToAssetSelection
    from trellis.defs.schedule import ExecutableDefinition

DEFAULT_MINIMUM_INTERVAL_SECONDS = 30

TICK_TIME: ContextVar[float | None] = ContextVar("trellis_sensor_tick_time", default=None)
"""The time of the tick the daemon is evaluating (its clock), set while a sensor's function
runs: what sensors that reason about time (``build_sensor_for_freshness_checks``) take as
now; None outside the daemon (they use the system clock)."""


class DefaultSensorStatus(Enum):
    """Whether a sensor runs as soon as its code is loaded (``RUNNING``) or waits to be
    started by hand (``STOPPED``, the default)."""

    RUNNING = "RUNNING"
    STOPPED = "STOPPED"


@dataclass(frozen=True)
class SensorEvaluationResult:
    """What one sensor tick produced: the runs to launch or why it launched none, the
    cursor to keep for the next tick (``cursor_updated`` says whether the tick changed it),
    the dynamic partition requests it applied, and the asset events for the daemon to
    record."""

    run_requests: list[RunRequest] = field(default_factory=list)
    skip_message: str | None = None
    cursor: str | None = None
    cursor_updated: bool = False
    dynamic_partitions_requests: list[Any] = field(default_factory=list)
    asset_events: list[Any] = field(default_factory=list)


class SensorDefinition(InstigatorDefinition):
    """Polls ``evaluation_fn`` at most every ``minimum_interval_seconds`` (default 30); each
    tick returns run requests or a skip, and may move a cursor kept between ticks.

    Target one job (``job`` / ``job_name``), several (``jobs``: each run request then names
    its job), an ``asset_selection``, or a ``target``; or nothing, when run requests name
    their own job.
    """

    def __init__(
        self,
        name: str | None = None,
        *,
        evaluation_fn: Callable[..., Any] | None = None,
        job_name: str | None = None,
        minimum_interval_seconds: int | None = None,
        description: str | None = None,
        job: ExecutableDefinition | None = None,
        jobs: Sequence[ExecutableDefinition] | None = None,
        default_status: DefaultSensorStatus = DefaultSensorStatus.STOPPED,
        asset_selection: CoercibleToAssetSelection | None = None,
        required_resource_keys: Iterable[str] | None = None,
        tags: Mapping[str, str] | None = None,
        metadata: Mapping[str, Any] | None = None,
        target: ExecutableDefinition | CoercibleToAssetSelection | None = None,
    ) -> None:
        if evaluation_fn is None or not callable(evaluation_fn):
            raise InvalidDefinitionError(
                f"SensorDefinition {name!r} needs an evaluation_fn (a function)."
            )
        self._name = check_name(name or getattr(evaluation_fn, "__name__", None), "sensor")
        owner = f"sensor '{self._name}'"
        check_exclusive(
            owner,
            job=job,
            jobs=jobs,
            job_name=job_name,
            asset_selection=asset_selection,
            target=target,
        )
        self._jobs = list(jobs) if jobs is not None else ([job] if job is not None else [])
        if jobs is not None and not self._jobs:
            raise InvalidDefinitionError(f"{owner}: jobs is an empty list.")
        if self._jobs:
            self._job_names = [target_job_name(owner, job=j) or "" for j in self._jobs]
        else:
            single = target_job_name(owner, job_name=job_name, target=target)
            self._job_names = [single] if single else []
        check_selection_strings(owner, asset_selection)
        check_selection_strings(owner, target)
        self._asset_selection, self._target = asset_selection, target
        self._evaluation_fn = evaluation_fn
        self._evaluation = EvaluationFunction(evaluation_fn, owner)
        if not required_resource_keys:
            required_resource_keys = self._evaluation.resource_args
        interval = (
            DEFAULT_MINIMUM_INTERVAL_SECONDS
            if minimum_interval_seconds is None
            else minimum_interval_seconds
        )
        if not isinstance(interval, int) or isinstance(interval, bool) or interval <= 0:
            raise InvalidDefinitionError(
                f"{owner}: minimum_interval_seconds must be a positive integer, "
                f"got {minimum_interval_seconds!r}."
            )
        self._minimum_interval_seconds = interval
        self._init_common(
            owner,
            default_status,
            DefaultSensorStatus,
            description,
            required_resource_keys,
            tags,
            metadata,
        )

    # -- evaluation ---------------------------------------------------------------------

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        """Call the sensor's function directly (for tests) and return what it returns:
        ``my_sensor(build_sensor_context(cursor="3"))``; resources by keyword or from the
        context."""
        return self._evaluation.call_directly(args, kwargs, f"sensor '{self._name}'")

    def evaluate_tick(self, context: Any) -> SensorEvaluationResult:
        """Run the sensor for one tick and normalise what it returned.

        The cursor is the one from ``SensorResult(cursor=...)`` or ``context.update_cursor``
        (setting both is an error), else the context's unchanged cursor. Run requests
        without a ``job_name`` get the sensor's job when it has exactly one. User errors
        are raised as ``SensorExecutionError`` naming the sensor.
        """
        owner = f"sensor '{self._name}'"
        check_required_resources(context, self._required_resource_keys, owner)
        result = self._evaluation.call_for_tick(context, SensorExecutionError, owner)
        requests, skip, sensor_result = normalize_result(
            result, owner, allow_sensor_result=True, legacy_tags=None
        )
        context_updated = bool(getattr(context, "cursor_updated", False))
        cursor = getattr(context, "cursor", None)
        if sensor_result is not None and sensor_result.cursor is not None:
            if context_updated:
                raise InvariantViolationError(
                    f"{owner} both called context.update_cursor() and returned "
                    "SensorResult(cursor=...); set the cursor one way only."
                )
            cursor, context_updated = sensor_result.cursor, True
        partition_requests = (
            sensor_result.dynamic_partitions_requests if sensor_result is not None else []
        )
        if partition_requests:
            # Applied before the tick's runs launch, so that they may name the new keys.
            instance = getattr(context, "instance_if_any", None)
            if instance is not None:
                from trellis.defs.dynamic_partitions import apply_dynamic_partitions_requests

                apply_dynamic_partitions_requests(instance, partition_requests)
        requests = [self._resolve_job(request, owner) for request in requests]
        if skip is not None:
            message = skip.skip_message
        elif not requests and sensor_result is not None and sensor_result.asset_events:
            message = f"{owner} reported {len(sensor_result.asset_events)} asset event(s)."
        elif not requests:
            message = f"{owner} returned no run requests."
        else:
            message = None
        return SensorEvaluationResult(
            requests,
            message,
            cursor,
            context_updated,
            list(partition_requests),
            list(sensor_result.asset_events) if sensor_result is not None else [],
        )

    def _resolve_job(self, request: RunRequest, owner: str) -> RunRequest:
        names = self._job_names
        if request.job_name is not None:
            if names and request.job_name not in names:
                raise InvariantViolationError(
                    f"{owner} returned a RunRequest for job '{request.job_name}', which it does "
                    f"not target (it targets: {', '.join(names)})."
                )
            return request
        if len(names) == 1:
            return request.with_replaced_attrs(job_name=names[0])
        if len(names) > 1:
            raise InvariantViolationError(
                f"{owner} targets several jobs ({', '.join(names)}); each RunRequest it "
                "returns must set job_name."
            )
        if (
            self._asset_selection is None
            and self._target is None
            and not request.asset_selection
            and not request.asset_check_keys
        ):
            raise InvariantViolationError(
                f"{owner} returned a RunRequest but targets no job: pass job, jobs, job_name, "
                "asset_selection or target to the sensor, or set RunRequest.job_name."
            )
        return request

    # -- attributes ---------------------------------------------------------------------

    @property
    def job_name(self) -> str | None:
        """The targeted job's name when the sensor targets exactly one job, else None."""
        return self._job_names[0] if len(self._job_names) == 1 else None

    @property
    def job_names(self) -> list[str]:
        """The names of every job the sensor targets."""
        return list(self._job_names)

    @property
    def jobs(self) -> list[Any]:
        """The job objects passed as ``job`` or ``jobs``."""
        return list(self._jobs)

    @property
    def asset_selection(self) -> Any:
        """The ``asset_selection`` as given, or None."""
        return self._asset_selection

    @property
    def minimum_interval_seconds(self) -> int:
        """The least time between two ticks."""
        return self._minimum_interval_seconds

    def __repr__(self) -> str:
        return f"SensorDefinition(name={self._name!r})"


@overload
def sensor(job_name: Callable[..., Any]) -> SensorDefinition: ...
@overload
def sensor(
    job_name: str | None = None,
    *,
    name: str | None = None,
    minimum_interval_seconds: int | None = None,
    description: str | None = None,
    job: ExecutableDefinition | None = None,
    jobs: Sequence[ExecutableDefinition] | None = None,
    default_status: DefaultSensorStatus = DefaultSensorStatus.STOPPED,
    asset_selection: CoercibleToAssetSelection | None = None,
    required_resource_keys: Iterable[str] | None = None,
    tags: Mapping[str, str] | None = None,
    metadata: Mapping[str, Any] | None = None,
    target: ExecutableDefinition | CoercibleToAssetSelection | None = None,
) -> Callable[[Callable[..., Any]], SensorDefinition]: ...


def sensor(
    job_name: str | Callable[..., Any] | None = None,
    *,
    name: str | None = None,
    minimum_interval_seconds: int | None = None,
    description: str | None = None,
    job: ExecutableDefinition | None = None,
    jobs: Sequence[ExecutableDefinition] | None = None,
    default_status: DefaultSensorStatus = DefaultSensorStatus.STOPPED,
    asset_selection: CoercibleToAssetSelection | None = None,
    required_resource_keys: Iterable[str] | None = None,
    tags: Mapping[str, str] | None = None,
    metadata: Mapping[str, Any] | None = None,
    target: ExecutableDefinition | CoercibleToAssetSelection | None = None,
) -> SensorDefinition | Callable[[Callable[..., Any]], SensorDefinition]:
    """Turn a function into a ``SensorDefinition`` named after it; usable bare (``@sensor``)
    or with arguments (``@sensor(job=my_job)``).

    The function takes an optional ``context`` (a ``SensorEvaluationContext``) and returns
    or yields ``RunRequest``s, a ``SkipReason``, a ``SensorResult``, or None.
    """
    if inspect.isfunction(job_name):  # bare @sensor
        return SensorDefinition(evaluation_fn=job_name)
    # A str or None; SensorDefinition rejects anything else (a callable that is no function).
    single_job_name = cast("str | None", job_name)

    def decorate(fn: Callable[..., Any]) -> SensorDefinition:
        return SensorDefinition(
            name=name or fn.__name__,
            evaluation_fn=fn,
            job_name=single_job_name,
            minimum_interval_seconds=minimum_interval_seconds,
            description=description,
            job=job,
            jobs=jobs,
            default_status=default_status,
            asset_selection=asset_selection,
            required_resource_keys=required_resource_keys,
            tags=tags,
            metadata=metadata,
            target=target,
        )

    return decorate
