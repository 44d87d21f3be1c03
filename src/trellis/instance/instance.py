"""``Instance``: where runs and their events are kept, and where outputs are stored."""

from __future__ import annotations

import atexit
import shutil
import tempfile
from pathlib import Path

from trellis.core.asset_key import AssetKey
from trellis.core.events import Event
from trellis.core.run import Run
from trellis.instance.storage import (
    RUN_STATUS_BY_EVENT,
    EventLogStorage,
    InMemoryEventLogStorage,
    InMemoryRunStorage,
    RunStorage,
)


class Instance:
    """One object over run storage, event-log storage and the local storage directory.

    ``Instance.ephemeral()`` keeps everything in memory (what ``execute_in_process`` and
    ``materialize`` use when no instance is given).
    """

    def __init__(
        self,
        run_storage: RunStorage,
        event_storage: EventLogStorage,
        root_dir: str | Path | None = None,
        is_ephemeral: bool = False,
    ) -> None:
        self.run_storage = run_storage
        self.event_storage = event_storage
        self._root_dir = Path(root_dir) if root_dir is not None else None
        self.is_ephemeral = is_ephemeral

    @classmethod
    def ephemeral(cls) -> Instance:
        """An in-memory instance; its storage directory is a temporary one, removed at exit."""
        return cls(InMemoryRunStorage(), InMemoryEventLogStorage(), None, is_ephemeral=True)

    @property
    def root_directory(self) -> Path:
        """The instance's home directory (a temporary one for ephemeral instances)."""
        if self._root_dir is None:
            self._root_dir = Path(tempfile.mkdtemp(prefix="trellis-instance-"))
            atexit.register(shutil.rmtree, self._root_dir, True)
        return self._root_dir

    def storage_directory(self) -> Path:
        """Where the filesystem IO manager keeps outputs by default."""
        return self.root_directory / "storage"

    # -- runs --------------------------------------------------------------------------
    def add_run(self, run: Run) -> Run:
        """Record a new run."""
        self.run_storage.add_run(run)
        return run

    def get_run(self, run_id: str) -> Run | None:
        """One run, or None."""
        return self.run_storage.get_run(run_id)

    def get_runs(self, limit: int | None = None) -> list[Run]:
        """Runs, newest first."""
        return self.run_storage.get_runs(limit)

    # -- events ------------------------------------------------------------------------
    def handle_new_events(self, events: list[Event], run: Run) -> None:
        """Store a batch of a run's events, in order, updating the run's status."""
        self.event_storage.store_events(events)
        changed = False
        for event in events:
            status = RUN_STATUS_BY_EVENT.get(event.event_type)
            if status is not None:
                run.status = status
                if status.is_finished:
                    run.end_time = event.timestamp
                else:
                    run.start_time = event.timestamp
                changed = True
        if changed:
            self.run_storage.update_run(run)

    def all_logs(self, run_id: str) -> list[Event]:
        """Every event of a run, in order."""
        return self.event_storage.get_events(run_id)

    def get_latest_materialization_event(self, key: AssetKey) -> Event | None:
        """The newest materialization of an asset."""
        return self.event_storage.latest_materialization(key)

    def __repr__(self) -> str:
        kind = "ephemeral" if self.is_ephemeral else str(self._root_dir)
        return f"<Instance {kind}>"
