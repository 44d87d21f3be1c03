"""What a schedule or sensor evaluation returns (``RunRequest``, ``SkipReason``,
``SensorResult``), and the shared plumbing that calls an evaluation function and
normalises whatever it returned into a list of run requests or a skip.
"""

from __future__ import annotations

import contextlib
import inspect
import warnings
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import Any

from trellis.config.run_config import RunConfig, config_dict_from_value
from trellis.core.asset_checks import AssetCheckEvaluation, AssetCheckKey
from trellis.core.asset_key import AssetKey
from trellis.core.errors import (
    InvalidDefinitionError,
    InvalidInvocationError,
    InvariantViolationError,
    TrellisError,
    UserCodeExecutionError,
)
from trellis.core.outputs import AssetMaterialization, AssetObservation


def _check_opt_str(owner: str, name: str, value: object) -> str | None:
    if value is not None and not isinstance(value, str):
        raise InvalidInvocationError(f"{owner}: {name} must be a string or None, got {value!r}.")
    return value


def check_tags(
    owner: str,
    tags: Mapping[str, str] | None,
    error: type[Exception] = InvalidInvocationError,
) -> dict[str, str]:
    """``tags`` as a new dict; raise ``error`` naming ``owner`` unless every key and value
    is a string."""
    if tags is None:
        return {}
    if not isinstance(tags, Mapping):
        raise error(f"{owner}: tags must be a dict of strings, got {tags!r}.")
    for key, value in tags.items():
        if not isinstance(key, str) or not isinstance(value, str):
            raise error(f"{owner}: tag {key!r}: {value!r} is not a string to string pair.")
    return dict(tags)


class RunRequest:
    """A request, made by a schedule or sensor tick, to launch one run.

    ``run_key`` deduplicates: a run key already launched by the same sensor or schedule is
    not launched again. ``job_name`` picks the target when the instigator has several (a
    schedule fills in its own job). ``partition_key`` asks for one partition.
    ``asset_check_keys`` names the asset checks the run evaluates (with no
    ``asset_selection``: those checks alone, against the assets' stored materializations).
    """

    __slots__ = (
        "asset_check_keys",
        "asset_selection",
        "job_name",
        "partition_key",
        "run_config",
        "run_key",
        "tags",
    )

    def __init__(
        self,
        run_key: str | None = None,
        run_config: Mapping[str, Any] | RunConfig | None = None,
        tags: Mapping[str, str] | None = None,
        job_name: str | None = None,
        asset_selection: Sequence[AssetKey | str | Sequence[str]] | None = None,
        partition_key: str | None = None,
        asset_check_keys: Sequence[AssetCheckKey] | None = None,
    ) -> None:
        self.run_key = _check_opt_str("RunRequest", "run_key", run_key)
        # A dict is copied; a RunConfig becomes its dict (as in Dagster).
        self.run_config: dict[str, Any] = config_dict_from_value(run_config)
        self.tags = check_tags("RunRequest", tags)
        self.job_name = _check_opt_str("RunRequest", "job_name", job_name)
        keys: list[AssetKey] | None = None
        if asset_selection is not None:
            if isinstance(asset_selection, (str, AssetKey)):
                raise InvalidInvocationError(
                    f"RunRequest: asset_selection must be a list of asset keys, got "
                    f"{asset_selection!r}; write [{asset_selection!r}]."
                )
            keys = [AssetKey.from_coercible(key) for key in asset_selection]
        self.asset_selection = keys
        self.partition_key = _check_opt_str("RunRequest", "partition_key", partition_key)
        self.asset_check_keys = _check_keys(asset_check_keys)

    def with_replaced_attrs(self, **kwargs: Any) -> RunRequest:
        """A copy with the given fields replaced."""
        fields = {name: getattr(self, name) for name in self.__slots__}
        unknown = set(kwargs) - set(fields)
        if unknown:
            raise InvalidInvocationError(f"RunRequest has no field(s) {sorted(unknown)}.")
        return RunRequest(**{**fields, **kwargs})

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, RunRequest):
            return NotImplemented
        return all(getattr(self, name) == getattr(other, name) for name in self.__slots__)

    __hash__ = None  # type: ignore[assignment]  # holds dicts

    def __repr__(self) -> str:
        shown = [
            f"{name}={getattr(self, name)!r}"
            for name in ("run_key", "job_name", "partition_key", "run_config", "tags")
            if getattr(self, name) not in (None, {})
        ]
        if self.asset_selection is not None:
            shown.append(f"asset_selection={self.asset_selection!r}")
        if self.asset_check_keys is not None:
            shown.append(f"asset_check_keys={self.asset_check_keys!r}")
        return f"RunRequest({', '.join(shown)})"


def _check_keys(keys: Any) -> list[AssetCheckKey] | None:
    """``RunRequest(asset_check_keys=...)``: a list of ``AssetCheckKey``s (or their
    ``asset:check`` strings)."""
    if keys is None:
        return None
    if isinstance(keys, (str, AssetCheckKey)) or not isinstance(keys, Iterable):
        raise InvalidInvocationError(
            f"RunRequest: asset_check_keys must be a list of AssetCheckKeys, got {keys!r}."
        )
    found: list[AssetCheckKey] = []
    for key in keys:
        if isinstance(key, str):
            key = AssetCheckKey.from_user_string(key)
        if not isinstance(key, AssetCheckKey):
            raise InvalidInvocationError(
                f"RunRequest: asset_check_keys holds {key!r}, not an AssetCheckKey."
            )
        found.append(key)
    return found


class SkipReason:
    """Returned by a schedule or sensor to say it launches nothing this tick, and why."""

    __slots__ = ("skip_message",)

    def __init__(self, skip_message: str | None = None) -> None:
        self.skip_message = _check_opt_str("SkipReason", "skip_message", skip_message)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, SkipReason):
            return NotImplemented
        return self.skip_message == other.skip_message

    def __hash__(self) -> int:
        return hash(("SkipReason", self.skip_message))

    def __repr__(self) -> str:
        return f"SkipReason({self.skip_message!r})"


class SensorResult:
    """Everything one sensor tick produced: run requests *or* a skip reason, plus the
    cursor to keep for the next tick (instead of ``context.update_cursor``), the
    dynamic partitions to add or delete (``AddDynamicPartitionsRequest``,
    ``DeleteDynamicPartitionsRequest``), applied before the tick's runs are launched,
    and asset events (``AssetMaterialization``, ``AssetObservation``,
    ``AssetCheckEvaluation``) the daemon records outside any run."""

    __slots__ = (
        "asset_events",
        "cursor",
        "dynamic_partitions_requests",
        "run_requests",
        "skip_reason",
    )

    def __init__(
        self,
        run_requests: Sequence[RunRequest] | None = None,
        skip_reason: SkipReason | str | None = None,
        cursor: str | None = None,
        dynamic_partitions_requests: Sequence[Any] | None = None,
        asset_events: Sequence[Any] | None = None,
    ) -> None:
        requests = list(run_requests or [])
        for request in requests:
            if not isinstance(request, RunRequest):
                raise InvalidInvocationError(
                    f"SensorResult: run_requests must hold RunRequest objects, got {request!r}."
                )
        if isinstance(skip_reason, str):
            skip_reason = SkipReason(skip_reason)
        elif skip_reason is not None and not isinstance(skip_reason, SkipReason):
            raise InvalidInvocationError(
                f"SensorResult: skip_reason must be a SkipReason or a string, got {skip_reason!r}."
            )
        if requests and skip_reason is not None:
            raise InvariantViolationError(
                "SensorResult got both run_requests and a skip_reason; a tick either "
                "requests runs or skips."
            )
        self.run_requests = requests
        self.skip_reason = skip_reason
        from trellis.defs.dynamic_partitions import (
            AddDynamicPartitionsRequest,
            DeleteDynamicPartitionsRequest,
        )

        partition_requests = list(dynamic_partitions_requests or [])
        for request in partition_requests:
            if not isinstance(
                request, (AddDynamicPartitionsRequest, DeleteDynamicPartitionsRequest)
            ):
                raise InvalidInvocationError(
                    "SensorResult: dynamic_partitions_requests must hold "
                    "AddDynamicPartitionsRequest or DeleteDynamicPartitionsRequest objects, "
                    f"got {request!r}."
                )
        self.dynamic_partitions_requests = partition_requests
        self.asset_events = _checked_asset_events(asset_events)
        self.cursor = _check_opt_str("SensorResult", "cursor", cursor)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, SensorResult):
            return NotImplemented
        return all(getattr(self, name) == getattr(other, name) for name in self.__slots__)

    __hash__ = None  # type: ignore[assignment]  # holds lists

    def __repr__(self) -> str:
        return (
            f"SensorResult(run_requests={self.run_requests!r}, "
            f"skip_reason={self.skip_reason!r}, cursor={self.cursor!r})"
        )


# ---------------------------------------------------------------------------------------
# Calling an evaluation function and normalising its result (shared by schedules and
# sensors).


def takes_context(fn: Callable[..., Any], owner: str) -> bool:
    """Whether ``fn`` takes the evaluation context: its first positional parameter, if any.

    Raises ``InvalidDefinitionError`` when ``fn`` requires more than that one parameter
    (resources are read from ``context.resources``, not passed as parameters).
    """
    params = list(inspect.signature(fn).parameters.values())
    positional = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
    has_context = bool(params) and params[0].kind in (*positional, params[0].VAR_POSITIONAL)
    required = [
        p
        for p in (params[1:] if has_context else params)
        if p.default is p.empty and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)
    ]
    if required:
        names = ", ".join(p.name for p in required)
        raise InvalidDefinitionError(
            f"The function of {owner} requires the parameter(s) {names}; it may take only "
            "the context (read resources from context.resources)."
        )
    return has_context


def call_user_fn(
    fn: Callable[..., Any],
    with_context: bool,
    context: Any,
    error_cls: type[UserCodeExecutionError],
    owner: str,
) -> Any:
    """Call ``fn`` (with ``context`` when it takes one) and drain a returned generator.

    An exception from user code is raised again as ``error_cls`` naming ``owner``, with the
    user's exception as ``__cause__``; Trellis's own errors pass through unchanged.
    """
    try:
        result = fn(context) if with_context else fn()
        if isinstance(result, Iterator):
            result = list(result)
    except TrellisError:
        raise
    except Exception as exc:
        raise error_cls(
            f"Error in the evaluation function of {owner}: {type(exc).__name__}: {exc}",
            user_exception=exc,
        ) from exc
    return result


def check_required_resources(context: Any, keys: Iterable[str], owner: str) -> None:
    """Raise ``InvalidDefinitionError`` when ``context.resources`` lacks a key ``owner``
    declared in ``required_resource_keys``."""
    keys = sorted(keys)
    if not keys:
        return
    resources = getattr(context, "resources", None)
    missing = [key for key in keys if resources is None or key not in resources]
    if missing:
        available = ", ".join(sorted(resources or [])) or "none"
        raise InvalidDefinitionError(
            f"{owner} requires the resource(s) {', '.join(missing)}, which its evaluation "
            f"context does not provide (available: {available})."
        )


def normalize_result(
    result: Any, owner: str, *, allow_sensor_result: bool, legacy_tags: Mapping[str, str] | None
) -> tuple[list[RunRequest], SkipReason | None, SensorResult | None]:
    """Turn what an evaluation function returned into ``(run_requests, skip_reason,
    sensor_result)``.

    Accepted: None, a ``RunRequest``, a ``SkipReason``, a list (or drained generator) of
    those, a ``SensorResult`` on its own (sensors), or a run-config dict (schedules, the
    legacy form: one run with that config and ``legacy_tags``). Returning both run requests
    and a skip reason, or anything else, raises ``InvariantViolationError`` naming ``owner``.
    """
    if isinstance(result, list) and len(result) == 1 and isinstance(result[0], SensorResult):
        result = result[0]  # a generator that yielded only a SensorResult
    if isinstance(result, SensorResult):
        if not allow_sensor_result:
            raise InvariantViolationError(f"{owner} returned a SensorResult; schedules cannot.")
        return list(result.run_requests), result.skip_reason, result
    if isinstance(result, (Mapping, RunConfig)) and legacy_tags is not None:
        return [RunRequest(run_config=result, tags=legacy_tags)], None, None
    items = result if isinstance(result, (list, tuple)) else [result]
    requests: list[RunRequest] = []
    skips: list[SkipReason] = []
    for item in items:
        if isinstance(item, RunRequest):
            requests.append(item)
        elif isinstance(item, SkipReason):
            skips.append(item)
        elif isinstance(item, SensorResult) and allow_sensor_result:
            raise InvariantViolationError(
                f"{owner} returned a SensorResult together with other values; a SensorResult "
                "must be returned on its own."
            )
        elif item is not None:
            expected = "RunRequest, a list of them, SkipReason" + (
                ", SensorResult" if allow_sensor_result else ", a run config dict"
            )
            raise InvariantViolationError(
                f"{owner} returned {item!r} ({type(item).__name__}); expected a {expected} or None."
            )
    if len(skips) > 1:
        raise InvariantViolationError(f"{owner} returned {len(skips)} SkipReasons; expected one.")
    if skips and requests:
        raise InvariantViolationError(
            f"{owner} returned both a SkipReason and {len(requests)} RunRequest(s); a tick "
            "either requests runs or skips."
        )
    return requests, (skips[0] if skips else None), None


def result_with_cursor(result: Any, owner: str, cursor: str | None) -> SensorResult:
    """What the function of a sensor that keeps its own cursor (an asset or multi-asset
    sensor) returned, as a ``SensorResult`` carrying ``cursor`` (the one its wrapper
    computed); a returned ``SensorResult``'s dynamic partition requests and asset events
    are kept, and one that sets a cursor is refused, as in Dagster."""
    requests, skip, sensor_result = normalize_result(
        result, owner, allow_sensor_result=True, legacy_tags=None
    )
    if sensor_result is not None and sensor_result.cursor is not None:
        raise InvariantViolationError(
            f"{owner} returned SensorResult(cursor=...), but its cursor is kept for it "
            "(an asset sensor's is the newest materialization seen; a multi-asset sensor "
            "moves its own with context.advance_cursor or context.advance_all_cursors)."
        )
    return SensorResult(
        requests,
        skip_reason=None if requests else skip,
        cursor=cursor,
        dynamic_partitions_requests=(
            sensor_result.dynamic_partitions_requests if sensor_result is not None else None
        ),
        asset_events=sensor_result.asset_events if sensor_result is not None else None,
    )


def _checked_asset_events(events: Sequence[Any] | None) -> list[Any]:
    """``SensorResult(asset_events=...)``, checked: materializations, observations and
    asset check evaluations."""
    checked = list(events or [])
    for event in checked:
        if not isinstance(event, (AssetMaterialization, AssetObservation, AssetCheckEvaluation)):
            raise InvalidInvocationError(
                "SensorResult: asset_events must hold AssetMaterialization, AssetObservation "
                f"or AssetCheckEvaluation objects, got {event!r}."
            )
    return checked


SensorReturnTypesUnion = RunRequest | SkipReason | SensorResult | list[RunRequest] | None
"""What a sensor's function may return (for annotations): a ``RunRequest``, a list of
them, a ``SkipReason``, a ``SensorResult`` or None (it may also yield requests)."""


class PartitionRunRequests:
    """``run_request_for_partition`` for jobs (``JobDefinition`` and
    ``define_asset_job``'s jobs): Dagster's deprecated way to write
    ``RunRequest(partition_key=...)``, kept for the projects and examples that use it."""

    name: str
    partitions_def: Any

    def run_request_for_partition(
        self,
        partition_key: str,
        run_key: str | None = None,
        tags: Mapping[str, str] | None = None,
        asset_selection: Sequence[Any] | None = None,
        run_config: Mapping[str, Any] | None = None,
        current_time: Any = None,
        dynamic_partitions_store: Any = None,
    ) -> RunRequest:
        """A ``RunRequest`` for partition ``partition_key`` of this job (which must
        exist). Deprecated in Dagster: write ``RunRequest(partition_key=...)``."""
        warnings.warn(
            "run_request_for_partition is deprecated (as in Dagster); write "
            "RunRequest(partition_key=...) instead.",
            DeprecationWarning,
            stacklevel=2,
        )
        owner = f"Job '{self.name}'"
        if self.partitions_def is None:
            raise InvalidInvocationError(
                f"{owner} is not partitioned (or its partitions are only known once "
                "Definitions resolves it): run_request_for_partition needs partitions_def; "
                "write RunRequest(partition_key=...)."
            )
        from trellis.defs.dynamic_partitions import using_dynamic_partitions_store

        scope = (
            using_dynamic_partitions_store(dynamic_partitions_store)
            if dynamic_partitions_store is not None
            else contextlib.nullcontext()
        )
        with scope:
            exists = self.partitions_def.has_partition_key(partition_key, current_time)
        if not exists:
            raise InvalidInvocationError(
                f"{owner} has no partition {partition_key!r} (run_request_for_partition)."
            )
        return RunRequest(
            run_key=run_key,
            run_config=run_config,
            tags=tags,
            job_name=self.name,
            asset_selection=asset_selection,
            partition_key=partition_key,
        )
