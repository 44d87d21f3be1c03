"""The typed payload of each event type: what ``Event.data`` holds.

One small immutable class per kind of event (a ``NamedTuple``: built as cheaply as a dict,
read by attribute, and with named fields a type checker knows). ``PAYLOAD_TYPES`` maps each
``EventType`` to its class; the events are built by the functions of
``trellis.core.event_factory`` (one per type), and ``payload_to_dict`` /
``payload_from_dict`` are the one serialization of a payload (storage and workers send it
as JSON through ``trellis.core.serialization``).

Every field has a default, so ``PAYLOAD_TYPES[t]()`` is the payload of an event built
without one, and events stored by an older version (whose JSON lacks a newer field) still
load; fields a newer version stored and this one does not know are dropped on load.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, NamedTuple

from trellis.core.asset_checks import AssetCheckEvaluation, AssetCheckKey
from trellis.core.events import ErrorInfo, EventType, NoData  # NoData: the default, on Event
from trellis.core.outputs import AssetMaterialization, AssetObservation

# Metadata as events carry it: names to ``MetadataValue``s (typed loosely here, since
# stored events from older versions may hold plain values).
Metadata = Mapping[str, Any]
_NO_METADATA: Mapping[str, Any] = {}


class RunFailureData(NamedTuple):
    """``RUN_FAILURE``: why the run failed when that is more than its message (a dead
    process found by the liveness check: its ``pid`` and ``host``)."""

    reason: str | None = None
    pid: int | None = None
    host: str | None = None


class EngineEventData(NamedTuple):
    """``ENGINE_EVENT``: a notice from the engine; ``error`` when it reports one; ``pool``
    when a step waits for (``waiting``) or got a slot of that concurrency pool."""

    error: ErrorInfo | None = None
    pool: str | None = None
    waiting: bool = False


class ResourceInitStartedData(NamedTuple):
    """``RESOURCE_INIT_STARTED``: the resource keys about to be built."""

    keys: list[str] = []


class ResourceInitSuccessData(NamedTuple):
    """``RESOURCE_INIT_SUCCESS``: how long each resource took to build, in ms."""

    timings_ms: dict[str, float] = {}


class ResourceErrorData(NamedTuple):
    """``RESOURCE_INIT_FAILURE`` and ``RESOURCE_TEARDOWN_FAILURE``: the error raised."""

    error: ErrorInfo | None = None


class ResourceTeardownData(NamedTuple):
    """``RESOURCE_TEARDOWN``: the keys torn down (in teardown order) and how long it took."""

    keys: list[str] = []
    duration_ms: float | None = None


class StepStartData(NamedTuple):
    """``STEP_START`` and ``STEP_RESTARTED``: the attempt (0 for the first) and the name
    of the context class the function receives."""

    retry_number: int = 0
    context_type: str | None = None


class LoadedInputData(NamedTuple):
    """``LOADED_INPUT``: which input, through which manager, from which upstream output
    (None for an asset outside the run or an input manager; ``upstream_mapping_key`` for
    one item of a dynamic output), the metadata added while loading, and the duration."""

    input_name: str = ""
    manager_key: str | None = None
    upstream_step_key: str | None = None
    upstream_output_name: str | None = None
    metadata: Metadata = _NO_METADATA
    duration_ms: float | None = None
    upstream_mapping_key: str | None = None


class StepOutputData(NamedTuple):
    """``STEP_OUTPUT``: the output the function produced, with its metadata
    (``mapping_key``: the item of a dynamic output, in the order yielded)."""

    output_name: str = ""
    metadata: Metadata = _NO_METADATA
    mapping_key: str | None = None


class AssetMaterializationData(NamedTuple):
    """``ASSET_MATERIALIZATION``: the materialization (key, metadata, partition)."""

    materialization: AssetMaterialization | None = None

    @property
    def metadata(self) -> Metadata:
        """The materialization's metadata."""
        return self.materialization.metadata if self.materialization else _NO_METADATA


class AssetObservationData(NamedTuple):
    """``ASSET_OBSERVATION``: the observation (key, metadata, partition)."""

    observation: AssetObservation | None = None

    @property
    def asset_observation(self) -> AssetObservation | None:
        """The observation (Dagster's name for the field)."""
        return self.observation

    @property
    def metadata(self) -> Metadata:
        """The observation's metadata."""
        return self.observation.metadata if self.observation else _NO_METADATA


class AssetCheckEvaluationData(NamedTuple):
    """``ASSET_CHECK_EVALUATION``: the outcome of one asset check (``evaluation``: the
    asset, the check's name, passed, severity, metadata, description, whether it was
    blocking, and the materialization it evaluated)."""

    evaluation: AssetCheckEvaluation | None = None

    @property
    def metadata(self) -> Metadata:
        """The evaluation's metadata."""
        return self.evaluation.metadata if self.evaluation else _NO_METADATA

    @property
    def asset_check_key(self) -> AssetCheckKey | None:
        """The key of the check evaluated."""
        return self.evaluation.asset_check_key if self.evaluation else None

    @property
    def passed(self) -> bool | None:
        """Whether the check passed."""
        return self.evaluation.passed if self.evaluation else None


class AssetCheckEvaluationPlannedData(NamedTuple):
    """``ASSET_CHECK_EVALUATION_PLANNED``: a check the run is to evaluate, and the step
    that will (emitted after ``RUN_START``, one per selected check)."""

    asset_key: Any = None
    check_name: str = ""
    step_key: str | None = None

    @property
    def asset_check_key(self) -> AssetCheckKey | None:
        """The key of the planned check."""
        return AssetCheckKey(self.asset_key, self.check_name) if self.asset_key else None


class HandledOutputData(NamedTuple):
    """``HANDLED_OUTPUT``: the output stored (``mapping_key``: which item of a dynamic
    output), by which IO manager, the metadata the manager added, and how long
    ``handle_output`` took."""

    output_name: str = ""
    manager_key: str = ""
    metadata: Metadata = _NO_METADATA
    duration_ms: float | None = None
    mapping_key: str | None = None


class StepSuccessData(NamedTuple):
    """``STEP_SUCCESS``: the attempt's duration in ms."""

    duration_ms: float | None = None


class StepFailureData(NamedTuple):
    """``STEP_FAILURE``: the error; where it came from (``USER_CODE_ERROR``,
    ``FRAMEWORK_ERROR``, ``UNEXPECTED_ERROR``); the duration; the ``Failure``'s metadata;
    ``reason`` ("canceled" for a step terminated by a cancel); ``crashed`` (and the
    worker's ``exit_code``) when the process running it died."""

    error: ErrorInfo | None = None
    error_source: str | None = None
    duration_ms: float | None = None
    metadata: Metadata = _NO_METADATA
    reason: str | None = None
    crashed: bool = False
    exit_code: int | None = None

    @property
    def user_failure_data(self) -> UserFailureData | None:
        """What a ``Failure`` raised by user code said (its description and metadata, as
        Dagster's ``StepFailureData.user_failure_data``), or None for another error."""
        error = self.error
        while error is not None and error.cls_name != "Failure":
            error = error.cause
        if error is None:
            return None
        description = error.message.split(": ", 1)[-1] if ": " in error.message else None
        return UserFailureData(description, self.metadata)


class UserFailureData(NamedTuple):
    """The description and metadata of a ``Failure`` raised by user code."""

    description: str | None = None
    metadata: Metadata = _NO_METADATA


class StepUpForRetryData(NamedTuple):
    """``STEP_UP_FOR_RETRY``: the error, the wait before the next attempt, the attempt
    that failed; ``crashed`` (and ``exit_code``) when its process died."""

    error: ErrorInfo | None = None
    seconds_to_wait: float = 0.0
    retry_number: int = 0
    crashed: bool = False
    exit_code: int | None = None


class StepSkippedData(NamedTuple):
    """``STEP_SKIPPED``: why the step could not run."""

    reason: str = ""


class HookCompletedData(NamedTuple):
    """``HOOK_COMPLETED``: which hook ran after the step, and how long it took (ms)."""

    hook_name: str = ""
    duration_ms: float | None = None


class HookSkippedData(NamedTuple):
    """``HOOK_SKIPPED``: which hook did not run, and why (a success hook of a step that
    failed, a hook of an attempt that will be retried)."""

    hook_name: str = ""
    reason: str = ""


class HookErroredData(NamedTuple):
    """``HOOK_ERRORED``: which hook raised, its error, and how long it ran (ms). The step's
    own result is not changed by it."""

    hook_name: str = ""
    error: ErrorInfo | None = None
    duration_ms: float | None = None


EventPayload = (
    NoData
    | RunFailureData
    | EngineEventData
    | ResourceInitStartedData
    | ResourceInitSuccessData
    | ResourceErrorData
    | ResourceTeardownData
    | StepStartData
    | LoadedInputData
    | StepOutputData
    | AssetMaterializationData
    | AssetObservationData
    | AssetCheckEvaluationData
    | AssetCheckEvaluationPlannedData
    | HandledOutputData
    | StepSuccessData
    | StepFailureData
    | StepUpForRetryData
    | StepSkippedData
    | HookCompletedData
    | HookSkippedData
    | HookErroredData
)

PAYLOAD_TYPES: dict[EventType, type[EventPayload]] = {
    EventType.RUN_ENQUEUED: NoData,
    EventType.RUN_STARTING: NoData,
    EventType.RUN_START: NoData,
    EventType.RUN_SUCCESS: NoData,
    EventType.RUN_FAILURE: RunFailureData,
    EventType.RUN_CANCELING: NoData,
    EventType.RUN_CANCELED: NoData,
    EventType.ENGINE_EVENT: EngineEventData,
    EventType.RESOURCE_INIT_STARTED: ResourceInitStartedData,
    EventType.RESOURCE_INIT_SUCCESS: ResourceInitSuccessData,
    EventType.RESOURCE_INIT_FAILURE: ResourceErrorData,
    EventType.RESOURCE_TEARDOWN: ResourceTeardownData,
    EventType.RESOURCE_TEARDOWN_FAILURE: ResourceErrorData,
    EventType.STEP_START: StepStartData,
    EventType.STEP_RESTARTED: StepStartData,
    EventType.LOADED_INPUT: LoadedInputData,
    EventType.STEP_OUTPUT: StepOutputData,
    EventType.ASSET_MATERIALIZATION: AssetMaterializationData,
    EventType.ASSET_OBSERVATION: AssetObservationData,
    EventType.ASSET_CHECK_EVALUATION_PLANNED: AssetCheckEvaluationPlannedData,
    EventType.ASSET_CHECK_EVALUATION: AssetCheckEvaluationData,
    EventType.HANDLED_OUTPUT: HandledOutputData,
    EventType.STEP_SUCCESS: StepSuccessData,
    EventType.STEP_FAILURE: StepFailureData,
    EventType.STEP_SKIPPED: StepSkippedData,
    EventType.STEP_UP_FOR_RETRY: StepUpForRetryData,
    EventType.LOG_MESSAGE: NoData,
    EventType.HOOK_COMPLETED: HookCompletedData,
    EventType.HOOK_SKIPPED: HookSkippedData,
    EventType.HOOK_ERRORED: HookErroredData,
}


def payload_to_dict(payload: EventPayload) -> dict[str, Any]:
    """The payload's fields by name (values as they are; ``to_jsonable`` makes them JSON)."""
    return payload._asdict()


def payload_from_dict(event_type: EventType, fields: Mapping[str, Any]) -> EventPayload:
    """The payload of an ``event_type`` event from its fields by name (the inverse of
    ``payload_to_dict``). Unknown fields are dropped and missing ones take their defaults,
    so events stored by other versions load."""
    cls = PAYLOAD_TYPES[event_type]
    known = cls._fields
    return cls(**{k: v for k, v in fields.items() if k in known})
