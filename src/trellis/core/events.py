"""The run's event stream: ``EventType`` and ``Event``.

Everything a run does is an ``Event``: run start, resource init, step start, loaded
input, step output, materialization, handled output, step success or failure, log
lines, run end. Storage persists the stream, the console prints it, the result reads it.
Events are small immutable records, cheap to build on the hot path.
"""

from __future__ import annotations

import logging
import os
import threading
import time
import traceback
from enum import StrEnum
from typing import TYPE_CHECKING, Any, NamedTuple

from trellis.core.asset_key import AssetKey

if TYPE_CHECKING:
    from trellis.core.event_payloads import EventPayload


class EventType(StrEnum):
    """The kinds of events a run emits, in Dagster's vocabulary."""

    RUN_ENQUEUED = "RUN_ENQUEUED"
    RUN_STARTING = "RUN_STARTING"
    RUN_START = "RUN_START"
    RUN_SUCCESS = "RUN_SUCCESS"
    RUN_FAILURE = "RUN_FAILURE"
    RUN_CANCELING = "RUN_CANCELING"
    RUN_CANCELED = "RUN_CANCELED"
    ENGINE_EVENT = "ENGINE_EVENT"
    RESOURCE_INIT_STARTED = "RESOURCE_INIT_STARTED"
    RESOURCE_INIT_SUCCESS = "RESOURCE_INIT_SUCCESS"
    RESOURCE_INIT_FAILURE = "RESOURCE_INIT_FAILURE"
    RESOURCE_TEARDOWN = "RESOURCE_TEARDOWN"
    RESOURCE_TEARDOWN_FAILURE = "RESOURCE_TEARDOWN_FAILURE"
    STEP_START = "STEP_START"
    STEP_RESTARTED = "STEP_RESTARTED"
    LOADED_INPUT = "LOADED_INPUT"
    STEP_OUTPUT = "STEP_OUTPUT"
    ASSET_MATERIALIZATION = "ASSET_MATERIALIZATION"
    ASSET_OBSERVATION = "ASSET_OBSERVATION"
    ASSET_CHECK_EVALUATION_PLANNED = "ASSET_CHECK_EVALUATION_PLANNED"
    ASSET_CHECK_EVALUATION = "ASSET_CHECK_EVALUATION"
    HANDLED_OUTPUT = "HANDLED_OUTPUT"
    STEP_SUCCESS = "STEP_SUCCESS"
    STEP_FAILURE = "STEP_FAILURE"
    STEP_SKIPPED = "STEP_SKIPPED"
    STEP_UP_FOR_RETRY = "STEP_UP_FOR_RETRY"
    LOG_MESSAGE = "LOG_MESSAGE"
    HOOK_COMPLETED = "HOOK_COMPLETED"
    HOOK_SKIPPED = "HOOK_SKIPPED"
    HOOK_ERRORED = "HOOK_ERRORED"

    def __str__(self) -> str:
        return self.value


RUN_END_EVENTS = frozenset({EventType.RUN_SUCCESS, EventType.RUN_FAILURE, EventType.RUN_CANCELED})
STEP_END_EVENTS = frozenset(
    {EventType.STEP_SUCCESS, EventType.STEP_FAILURE, EventType.STEP_SKIPPED}
)

_PID = os.getpid()


def _current_pid() -> int:
    return _PID


def _refresh_pid() -> None:  # after fork, the child has its own pid
    global _PID
    _PID = os.getpid()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_refresh_pid)


class ErrorInfo:
    """A picklable description of an exception: class name, message, traceback, cause."""

    __slots__ = ("cause", "cls_name", "message", "stack")

    def __init__(
        self, message: str, stack: list[str], cls_name: str | None, cause: ErrorInfo | None = None
    ) -> None:
        self.message = message
        self.stack = stack
        self.cls_name = cls_name
        self.cause = cause

    @classmethod
    def from_exception(cls, exc: BaseException) -> ErrorInfo:
        """Capture ``exc`` with its traceback and its chain of causes."""
        cause = exc.__cause__ or (None if exc.__suppress_context__ else exc.__context__)
        return cls(
            message="".join(traceback.format_exception_only(type(exc), exc)).strip(),
            stack=traceback.format_tb(exc.__traceback__),
            cls_name=type(exc).__name__,
            cause=cls.from_exception(cause) if cause is not None else None,
        )

    def to_string(self) -> str:
        """The message, traceback and causes, as a traceback reads."""
        text = self.message + "\n" + "".join(self.stack)
        if self.cause is not None:
            text += "\nThe above was caused by:\n" + self.cause.to_string()
        return text

    def __repr__(self) -> str:
        return f"ErrorInfo({self.message!r})"


class NoData(NamedTuple):
    """The payload of events that carry nothing beyond their message (``RUN_ENQUEUED``,
    ``RUN_STARTING``, ``RUN_START``,
    ``RUN_SUCCESS``, ``RUN_CANCELING``, ``RUN_CANCELED``, ``LOG_MESSAGE``); the other
    payloads are in ``trellis.core.event_payloads``."""


def _default_payload(event_type: EventType) -> EventPayload:
    """The payload of an event built without one: its type's payload with every default
    (the constructors of ``trellis.core.event_factory`` always pass one)."""
    from trellis.core.event_payloads import PAYLOAD_TYPES

    return PAYLOAD_TYPES[event_type]()


class Event:
    """One entry of a run's event stream.

    ``data`` is the event's typed payload, one class per event type
    (``trellis.core.event_payloads``; for example ``StepFailureData.error``,
    ``HandledOutputData.duration_ms``). Events are built by ``trellis.core.event_factory``.
    """

    __slots__ = (
        "asset_key",
        "data",
        "event_type",
        "job_name",
        "level",
        "message",
        "partition",
        "pid",
        "run_id",
        "step_key",
        "thread",
        "timestamp",
    )

    def __init__(
        self,
        event_type: EventType,
        run_id: str,
        job_name: str,
        step_key: str | None = None,
        message: str = "",
        level: int = logging.DEBUG,
        data: EventPayload | None = None,
        asset_key: AssetKey | None = None,
        partition: str | None = None,
        timestamp: float | None = None,
    ) -> None:
        self.event_type = event_type
        self.run_id = run_id
        self.job_name = job_name
        self.step_key = step_key
        self.message = message
        self.level = level
        self.data: EventPayload = data if data is not None else _default_payload(event_type)
        self.asset_key = asset_key
        self.partition = partition
        self.timestamp = time.time() if timestamp is None else timestamp
        self.pid = _PID
        self.thread = threading.get_ident()

    # -- Dagster-style accessors -------------------------------------------------------
    @property
    def event_type_value(self) -> str:
        """The event type as a string."""
        return self.event_type.value

    @property
    def is_step_success(self) -> bool:
        """True for ``STEP_SUCCESS``."""
        return self.event_type is EventType.STEP_SUCCESS

    @property
    def is_step_failure(self) -> bool:
        """True for ``STEP_FAILURE``."""
        return self.event_type is EventType.STEP_FAILURE

    @property
    def is_step_skipped(self) -> bool:
        """True for ``STEP_SKIPPED``."""
        return self.event_type is EventType.STEP_SKIPPED

    @property
    def is_successful_output(self) -> bool:
        """True for ``STEP_OUTPUT``."""
        return self.event_type is EventType.STEP_OUTPUT

    @property
    def is_handled_output(self) -> bool:
        """True for ``HANDLED_OUTPUT``."""
        return self.event_type is EventType.HANDLED_OUTPUT

    @property
    def is_step_materialization(self) -> bool:
        """True for ``ASSET_MATERIALIZATION``."""
        return self.event_type is EventType.ASSET_MATERIALIZATION

    @property
    def is_failure(self) -> bool:
        """True for step and run failures."""
        return self.event_type in (EventType.STEP_FAILURE, EventType.RUN_FAILURE)

    @property
    def event_specific_data(self) -> EventPayload:
        """The typed payload (Dagster's name for ``data``)."""
        return self.data

    @property
    def error(self) -> ErrorInfo | None:
        """The error of a failure event, if any."""
        return getattr(self.data, "error", None)

    @property
    def materialization(self) -> Any:
        """The ``AssetMaterialization`` of a materialization event."""
        return getattr(self.data, "materialization", None)

    @property
    def asset_materialization(self) -> Any:
        """The ``AssetMaterialization`` of a materialization event (Dagster's name)."""
        return getattr(self.data, "materialization", None)

    @property
    def asset_observation(self) -> Any:
        """The ``AssetObservation`` of an observation event."""
        return getattr(self.data, "observation", None)

    @property
    def tags(self) -> Any:
        """The tags of an asset materialization or observation (its data version and
        provenance, ``dagster/data_version`` ...); empty for other events."""
        recorded = self.asset_materialization or self.asset_observation
        return (recorded.tags if recorded is not None else None) or {}

    @property
    def metadata(self) -> Any:
        """The event's metadata (materializations, observations, outputs, handled outputs,
        failures); empty for the others."""
        return getattr(self.data, "metadata", None) or {}

    # -- the EventLogEntry view (an ``Event`` is Dagster's ``EventLogEntry`` and its
    # ``DagsterEvent`` at once; a user's log line, ``LOG_MESSAGE``, has no DagsterEvent) --
    @property
    def is_dagster_event(self) -> bool:
        """Whether the entry carries a ``DagsterEvent`` (every event but a log line)."""
        return self.event_type is not EventType.LOG_MESSAGE

    @property
    def dagster_event(self) -> Event | None:
        """The entry's ``DagsterEvent`` (the event itself), None for a log line."""
        return self if self.is_dagster_event else None

    @property
    def dagster_event_type(self) -> EventType | None:
        """The ``DagsterEventType``, None for a log line."""
        return self.event_type if self.is_dagster_event else None

    def get_dagster_event(self) -> Event:
        """The entry's ``DagsterEvent``; a log line has none and raises."""
        if not self.is_dagster_event:
            from trellis.core.errors import InvariantViolationError

            raise InvariantViolationError(
                f"This EventLogEntry is a log line ({self.message[:60]!r}), not a DagsterEvent: "
                "check is_dagster_event first."
            )
        return self

    @property
    def user_message(self) -> str:
        """The entry's message."""
        return self.message

    @property
    def error_info(self) -> ErrorInfo | None:
        """The error of a failure event, if any (Dagster's name)."""
        return self.error

    @property
    def node_name(self) -> str | None:
        """The op or asset-op name of a step event: the last part of the step key."""
        return self.step_key.rsplit(".", 1)[-1] if self.step_key else None

    def __repr__(self) -> str:
        where = f" {self.step_key}" if self.step_key else ""
        return f"<Event {self.event_type.value}{where}: {self.message[:60]!r}>"
