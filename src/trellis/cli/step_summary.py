"""A run's steps and materializations, read from its event stream."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from trellis.core.events import Event, EventType
from trellis.core.metadata import metadata_display
from trellis.defs.dynamic_scope import parse_step_key


@dataclass
class StepSummary:
    """One step of a run: its last status, attempts, duration, materializations, error."""

    step_key: str
    status: str = "NOT_STARTED"
    attempts: int = 0
    start_time: float | None = None
    end_time: float | None = None
    duration_ms: float | None = None
    materializations: list[str] = field(default_factory=list)
    error: str | None = None
    pool: str | None = None  # the concurrency pool it waited for a slot of
    pool_wait: float = 0.0  # seconds it waited for slots, over its attempts
    _waiting_since: float | None = None

    @property
    def pool_text(self) -> str:
        """The pool and how long the step waited for a slot of it ("-": no wait)."""
        if self.pool is None:
            return "-"
        if self._waiting_since is not None and self.status == "WAITING":
            return f"{self.pool} (waiting)"
        return f"{self.pool} (waited {self.pool_wait:.2f}s)"

    @property
    def duration_seconds(self) -> float | None:
        """The step's duration: the engine's own measure, else end minus start."""
        if self.duration_ms is not None:
            return self.duration_ms / 1000.0
        if self.start_time is not None and self.end_time is not None:
            return max(0.0, self.end_time - self.start_time)
        return None


def _asset_label(event: Event) -> str:
    key = event.asset_key.to_user_string() if event.asset_key is not None else "?"
    return f"{key} [{event.partition}]" if event.partition else key


def _root_message(error: Any) -> str:
    """The message of the innermost cause: the user's own exception, not the wrapper."""
    while getattr(error, "cause", None) is not None:
        error = error.cause
    return str(error.message)


def _note_pool_wait(step: StepSummary, event: Event) -> None:
    """A step began waiting for a slot of a concurrency pool, or got one."""
    step.pool = event.data.pool  # type: ignore[union-attr]
    if event.data.waiting:  # type: ignore[union-attr]
        step._waiting_since = event.timestamp
        if step.status in ("NOT_STARTED", "UP_FOR_RETRY"):
            step.status = "WAITING"
    elif step._waiting_since is not None:
        step.pool_wait += max(0.0, event.timestamp - step._waiting_since)
        step._waiting_since = None


def summarize_steps(events: Iterable[Event], run_finished: bool = False) -> list[StepSummary]:
    """Each step that appears in ``events``, in order of first appearance. Steps still
    running when a finished run ended are marked ``INTERRUPTED``."""
    steps: dict[str, StepSummary] = {}
    for event in events:
        if event.step_key is None:
            continue
        step = steps.setdefault(event.step_key, StepSummary(event.step_key))
        kind = event.event_type
        if kind in (EventType.STEP_START, EventType.STEP_RESTARTED):
            step.status = "RUNNING"
            step.attempts += 1
            if step.start_time is None:
                step.start_time = event.timestamp
        elif kind is EventType.STEP_UP_FOR_RETRY:
            step.status = "UP_FOR_RETRY"
        elif kind is EventType.STEP_SUCCESS:
            step.status = "SUCCESS"
            step.end_time = event.timestamp
            step.duration_ms = getattr(event.data, "duration_ms", None)
        elif kind is EventType.STEP_FAILURE:
            step.status = "FAILURE"
            step.end_time = event.timestamp
            error = event.error
            step.error = _root_message(error) if error is not None else event.message
        elif kind is EventType.STEP_SKIPPED:
            step.status = "SKIPPED"
        elif kind is EventType.ASSET_MATERIALIZATION:
            step.materializations.append(_asset_label(event))
        elif kind is EventType.ENGINE_EVENT and getattr(event.data, "pool", None):
            _note_pool_wait(step, event)
    if run_finished:
        for step in steps.values():
            if step.status in ("RUNNING", "UP_FOR_RETRY", "WAITING"):
                step.status = "INTERRUPTED"
    return list(steps.values())


@dataclass
class HookRun:
    """One hook after one step attempt: the step, the hook, what happened (``COMPLETED``,
    ``SKIPPED`` or ``ERRORED``), how long it took, and why it was skipped or what it
    raised."""

    step_key: str
    hook_name: str
    result: str
    duration_ms: float | None = None
    detail: str = ""


_HOOK_RESULTS = {
    EventType.HOOK_COMPLETED: "COMPLETED",
    EventType.HOOK_SKIPPED: "SKIPPED",
    EventType.HOOK_ERRORED: "ERRORED",
}


def hook_runs(events: Iterable[Event]) -> list[HookRun]:
    """The hooks that ran (or were skipped) after each step, in order."""
    found: list[HookRun] = []
    for event in events:
        result = _HOOK_RESULTS.get(event.event_type)
        if result is None:
            continue
        data = event.data
        detail = getattr(data, "reason", "") or ""
        error = event.error
        if error is not None:
            detail = _root_message(error)
        found.append(
            HookRun(
                event.step_key or "-",
                getattr(data, "hook_name", "?"),
                result,
                getattr(data, "duration_ms", None),
                detail,
            )
        )
    return found


@dataclass
class MappedNodeSummary:
    """The steps of one node mapped over a dynamic output (``op[k]``): how many ended
    each way, and their mapping keys in the order they appear."""

    node: str
    keys: list[str] = field(default_factory=list)
    statuses: dict[str, int] = field(default_factory=dict)


def summarize_mapped(steps: Iterable[StepSummary]) -> list[MappedNodeSummary]:
    """One entry per node that ran per item of a dynamic output (``node[?]``: none was
    made), in order of first appearance."""
    nodes: dict[str, MappedNodeSummary] = {}
    for step in steps:
        handle, keys = parse_step_key(step.step_key)
        if not keys:
            continue
        summary = nodes.setdefault(handle, MappedNodeSummary(handle))
        summary.keys.append(",".join(keys))
        summary.statuses[step.status] = summary.statuses.get(step.status, 0) + 1
    return list(nodes.values())


def run_end_reason(events: Iterable[Event]) -> str | None:
    """Why a run did not succeed, in one line: the message of its ``RUN_FAILURE`` or
    ``RUN_CANCELED`` event (a resource that failed to initialise, the failed steps, a
    cancellation); None for a run that succeeded or has not ended."""
    reason = None
    for event in events:
        if event.event_type in (EventType.RUN_FAILURE, EventType.RUN_CANCELED):
            reason = event.message
        elif event.event_type is EventType.RUN_SUCCESS:
            reason = None
    if not reason:
        return None
    lines = reason.strip().splitlines()
    return lines[0] if lines else None


def materialization_events(events: Iterable[Event]) -> list[Event]:
    """The ``ASSET_MATERIALIZATION`` events, in order."""
    return [e for e in events if e.event_type is EventType.ASSET_MATERIALIZATION]


def metadata_text(metadata: dict[str, Any], limit: int = 6) -> str:
    """``key=value`` pairs of an event's metadata, on one line."""
    items = [f"{k}={metadata_display(v)}" for k, v in list(metadata.items())[:limit]]
    if len(metadata) > limit:
        items.append("...")
    return ", ".join(items)


def run_errors(events: Iterable[Event]) -> list[tuple[str, str]]:
    """``(where, full error text)`` of each failure event that carries an error."""
    found: list[tuple[str, str]] = []
    for event in events:
        error = event.error
        if error is not None and event.event_type in (
            EventType.STEP_FAILURE,
            EventType.RESOURCE_INIT_FAILURE,
            EventType.ENGINE_EVENT,
            EventType.RUN_FAILURE,
            EventType.HOOK_ERRORED,
        ):
            where = event.step_key or event.job_name
            if event.event_type is EventType.HOOK_ERRORED:
                where = f"hook '{getattr(event.data, 'hook_name', '?')}' of {where}"
            found.append((where, error.to_string().rstrip()))
    return found
