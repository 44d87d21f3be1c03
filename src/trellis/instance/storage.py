"""The storage seams of an instance, with their in-memory implementations."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterable

from trellis.core.asset_key import AssetKey
from trellis.core.events import Event, EventType
from trellis.core.run import Run, RunStatus

RUN_STATUS_BY_EVENT = {
    EventType.RUN_START: RunStatus.STARTED,
    EventType.RUN_SUCCESS: RunStatus.SUCCESS,
    EventType.RUN_FAILURE: RunStatus.FAILURE,
    EventType.RUN_CANCELED: RunStatus.CANCELED,
}


class RunStorage(ABC):
    """Keeps run records."""

    @abstractmethod
    def add_run(self, run: Run) -> None:
        """Store a new run."""

    @abstractmethod
    def update_run(self, run: Run) -> None:
        """Store a run's changed status and times."""

    @abstractmethod
    def get_run(self, run_id: str) -> Run | None:
        """One run, or None."""

    @abstractmethod
    def get_runs(self, limit: int | None = None) -> list[Run]:
        """Runs, newest first."""


class EventLogStorage(ABC):
    """Keeps the ordered event stream of every run."""

    @abstractmethod
    def store_events(self, events: Iterable[Event]) -> None:
        """Append events, in order."""

    @abstractmethod
    def get_events(self, run_id: str, after: int = -1) -> list[Event]:
        """A run's events after index ``after`` (for live tailing)."""

    @abstractmethod
    def latest_materialization(self, key: AssetKey) -> Event | None:
        """The newest materialization event of an asset."""


class InMemoryRunStorage(RunStorage):
    """Runs in a dict, for ephemeral instances and tests."""

    def __init__(self) -> None:
        self._runs: dict[str, Run] = {}

    def add_run(self, run: Run) -> None:
        """Store a new run."""
        self._runs[run.run_id] = run

    def update_run(self, run: Run) -> None:
        """Runs are kept by reference: nothing to do."""
        self._runs[run.run_id] = run

    def get_run(self, run_id: str) -> Run | None:
        """One run, or None."""
        return self._runs.get(run_id)

    def get_runs(self, limit: int | None = None) -> list[Run]:
        """Runs, newest first."""
        runs = sorted(self._runs.values(), key=lambda r: r.create_time, reverse=True)
        return runs[:limit] if limit is not None else runs


class InMemoryEventLogStorage(EventLogStorage):
    """Event lists per run, for ephemeral instances and tests."""

    def __init__(self) -> None:
        self._events: dict[str, list[Event]] = {}
        self._latest: dict[AssetKey, Event] = {}

    def store_events(self, events: Iterable[Event]) -> None:
        """Append events, in order."""
        for event in events:
            self._events.setdefault(event.run_id, []).append(event)
            if event.event_type is EventType.ASSET_MATERIALIZATION and event.asset_key:
                self._latest[event.asset_key] = event

    def get_events(self, run_id: str, after: int = -1) -> list[Event]:
        """A run's events after index ``after``."""
        return self._events.get(run_id, [])[after + 1 :]

    def latest_materialization(self, key: AssetKey) -> Event | None:
        """The newest materialization event of an asset."""
        return self._latest.get(key)
