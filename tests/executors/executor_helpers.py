"""What the executor tests read out of a run: the standard step events, each step's
sequence of them, where each step started, and the files ``suite_jobs`` leaves behind."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from trellis import EventType

STEP_EVENTS = frozenset(
    {
        EventType.STEP_START,
        EventType.STEP_RESTARTED,
        EventType.LOADED_INPUT,
        EventType.STEP_OUTPUT,
        EventType.HANDLED_OUTPUT,
        EventType.ASSET_MATERIALIZATION,
        EventType.LOG_MESSAGE,
        EventType.STEP_SUCCESS,
        EventType.STEP_FAILURE,
        EventType.STEP_UP_FOR_RETRY,
    }
)
"""The events of one step attempt, in the order a step emits them."""


def types_by_step(
    events: Iterable, kinds: Iterable[EventType] | None = STEP_EVENTS
) -> dict[str, list[EventType]]:
    """Each step's events of ``kinds`` (``None``: every event with a step key), in the
    order they arrived."""
    wanted = frozenset(EventType if kinds is None else kinds)
    by_step: dict[str, list[EventType]] = {}
    for event in events:
        if event.step_key is not None and event.event_type in wanted:
            by_step.setdefault(event.step_key, []).append(event.event_type)
    return by_step


def events_of(result, event_type: EventType, step_key: str | None = None) -> list:
    """The run's events of one type (of one step, when given)."""
    return [
        e
        for e in result.all_events
        if e.event_type is event_type and (step_key is None or e.step_key == step_key)
    ]


def step_pids(result) -> dict[str, int]:
    """The process each step started in (its first ``STEP_START``)."""
    pids: dict[str, int] = {}
    for event in events_of(result, EventType.STEP_START):
        pids.setdefault(event.step_key, event.pid)
    return pids


def marked_pids(directory: Path, name: str) -> list[int]:
    """The pids in the ``<name>-<pid>-<id>`` files ``suite_jobs`` left in ``directory``
    (one per time the thing named happened), sorted."""
    return sorted(int(p.name[len(name) + 1 :].split("-")[0]) for p in directory.glob(f"{name}-*"))


def tokens(directory: Path, name: str) -> list[str]:
    """The ``<pid>-<id>`` parts of the ``<name>-<pid>-<id>`` files in ``directory``, sorted
    (the tracked resource's set-ups and teardowns)."""
    return sorted(p.name[len(name) + 1 :] for p in directory.glob(f"{name}-*"))
