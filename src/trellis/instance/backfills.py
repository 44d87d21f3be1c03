"""Backfill records: what a backfill asked for (assets and partitions), how it splits
them into runs (its plan), which of those runs it has launched (its cursor), its status
and its counts per partition state; and the in-memory keeping of them.

Every back end stores a record the same way: its id, status and timestamps in columns,
the rest as JSON (table ``backfills``). The daemon's ``backfill`` loop
(``trellis.daemon.backfill_loop``) moves records along; ``trellis.api.backfill`` makes
them.
"""

from __future__ import annotations

import copy
import enum
import json
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

BACKFILL_TAG = "dagster/backfill"
"""A run tag: the id of the backfill that launched the run (Dagster's name)."""
BACKFILL_CHUNK_TAG = "trellis/backfill_chunk"
"""A run tag: which run of its backfill's plan the run is (its index)."""

_dumps = json.JSONEncoder(separators=(",", ":")).encode


class BackfillStatus(enum.Enum):
    """Where a backfill is: launching runs (REQUESTED), ended with every partition
    materialized (COMPLETED) or with some not (FAILED), or being canceled."""

    REQUESTED = "REQUESTED"
    COMPLETED = "COMPLETED"
    FAILED = "FAILED"
    CANCELING = "CANCELING"
    CANCELED = "CANCELED"

    @property
    def is_finished(self) -> bool:
        """Whether the backfill will launch and cancel nothing more."""
        return self in (BackfillStatus.COMPLETED, BackfillStatus.FAILED, BackfillStatus.CANCELED)


@dataclass
class BackfillChunk:
    """One run of a backfill's plan: assets (user strings) over partition keys, run
    after the chunks ``after`` (by index) have succeeded."""

    asset_keys: list[str]
    partition_keys: list[str]
    after: list[int] = field(default_factory=list)
    range_run: bool = False

    def to_dict(self) -> dict[str, Any]:
        """The JSON form."""
        return {
            "assets": self.asset_keys,
            "keys": self.partition_keys,
            "after": self.after,
            "range": self.range_run,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> BackfillChunk:
        """The inverse of ``to_dict``."""
        return cls(list(data["assets"]), list(data["keys"]), list(data["after"]), data["range"])


@dataclass
class BackfillRecord:
    """A stored backfill (see the module docstring). ``launched`` maps the index of each
    chunk whose run was created to that run's id: the cursor of what was launched.
    ``counts`` holds the partitions (asset partitions) per state: ``pending``,
    ``in_progress``, ``materialized``, ``failed``, ``canceled``."""

    backfill_id: str
    status: BackfillStatus
    asset_selection: list[str]
    partition_keys: list[str]
    chunks: list[BackfillChunk]
    max_partitions_per_run: int | None = 1
    job_name: str = "__ASSET_JOB"
    launched: dict[int, str] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=dict)
    tags: dict[str, str] = field(default_factory=dict)
    parent_backfill_id: str | None = None
    error: str | None = None
    create_timestamp: float = field(default_factory=time.time)
    update_timestamp: float = field(default_factory=time.time)
    end_timestamp: float | None = None

    @property
    def run_ids(self) -> list[str]:
        """The ids of the runs the backfill made, in the order of its plan."""
        return [self.launched[i] for i in sorted(self.launched)]

    @property
    def policy_text(self) -> str:
        """The backfill policy the plan follows, as written in Python."""
        if self.max_partitions_per_run is None:
            return "BackfillPolicy.single_run()"
        return f"BackfillPolicy.multi_run({self.max_partitions_per_run})"

    def body(self) -> dict[str, Any]:
        """Everything but the id, status and timestamps, as JSON data."""
        return {
            "asset_selection": self.asset_selection,
            "partition_keys": self.partition_keys,
            "chunks": [c.to_dict() for c in self.chunks],
            "max_partitions_per_run": self.max_partitions_per_run,
            "job_name": self.job_name,
            "launched": {str(k): v for k, v in self.launched.items()},
            "counts": self.counts,
            "tags": self.tags,
            "parent_backfill_id": self.parent_backfill_id,
            "error": self.error,
            "end_timestamp": self.end_timestamp,
        }

    def body_text(self) -> str:
        """``body()`` as compact JSON."""
        return _dumps(self.body())

    @classmethod
    def from_row(
        cls, backfill_id: str, status: str, created: float, updated: float, body: str
    ) -> BackfillRecord:
        """A record from its stored columns."""
        data = json.loads(body)
        return cls(
            backfill_id,
            BackfillStatus(status),
            list(data["asset_selection"]),
            list(data["partition_keys"]),
            [BackfillChunk.from_dict(c) for c in data["chunks"]],
            data["max_partitions_per_run"],
            data["job_name"],
            {int(k): v for k, v in data["launched"].items()},
            dict(data["counts"]),
            dict(data["tags"]),
            data["parent_backfill_id"],
            data["error"],
            created,
            updated,
            data["end_timestamp"],
        )


_STATE_OF_RUN = {"SUCCESS": "materialized", "FAILURE": "failed", "CANCELED": "canceled"}
PARTITION_STATES = ("materialized", "in_progress", "pending", "failed", "canceled")
"""The states a backfill's asset partitions are counted in, in the order pages show them."""


def chunk_states(record: BackfillRecord, runs: Mapping[str, Any]) -> list[str]:
    """Per run of ``record``'s plan: ``ready``, ``waiting``, ``blocked`` (a run it waits
    for did not succeed), or the state of its run in ``runs`` (by id): ``in_progress``,
    ``materialized``, ``failed``, ``canceled``."""
    states: list[str] = []
    for index, chunk in enumerate(record.chunks):
        run = runs.get(record.launched.get(index, ""))
        if run is not None:
            states.append(_STATE_OF_RUN.get(str(run.status.value), "in_progress"))
            continue
        before = [states[i] for i in chunk.after]  # the plan lists predecessors first
        if any(s in ("failed", "canceled", "blocked") for s in before):
            states.append("blocked")
        elif all(s == "materialized" for s in before):
            states.append("ready")
        else:
            states.append("waiting")
    return states


def partition_state(chunk_state: str) -> str:
    """The state (one of ``PARTITION_STATES``) of the asset partitions of a run of the
    plan in ``chunk_state`` (not launched yet: ``pending``)."""
    return "pending" if chunk_state in ("ready", "waiting", "blocked") else chunk_state


class InMemoryBackfillsMixin:
    """In-memory keeping of backfill records, for ``InMemoryStorage`` (copies in and
    out, as a database would)."""

    _backfill_lock: threading.Lock
    _backfills: dict[str, BackfillRecord]

    def _backfills_init(self) -> None:
        self._backfill_lock = threading.Lock()
        self._backfills = {}

    def add_backfill(self, record: BackfillRecord) -> None:
        """Store a new record (its id must be new)."""
        with self._backfill_lock:
            if record.backfill_id in self._backfills:
                raise ValueError(f"backfill {record.backfill_id} is already stored")
            self._backfills[record.backfill_id] = copy.deepcopy(record)

    def update_backfill(self, record: BackfillRecord) -> None:
        """Replace the stored record of the same id."""
        with self._backfill_lock:
            self._backfills[record.backfill_id] = copy.deepcopy(record)

    def get_backfill(self, backfill_id: str) -> BackfillRecord | None:
        """The record, or None."""
        with self._backfill_lock:
            found = self._backfills.get(backfill_id)
            return copy.deepcopy(found) if found is not None else None

    def get_backfills(
        self, statuses: Sequence[BackfillStatus] | None = None, limit: int | None = None
    ) -> list[BackfillRecord]:
        """Records (of the given statuses), newest first."""
        with self._backfill_lock:
            found = [
                copy.deepcopy(r)
                for r in self._backfills.values()
                if statuses is None or r.status in statuses
            ]
        found.sort(key=lambda r: r.create_timestamp, reverse=True)
        return found[:limit] if limit is not None else found

    def get_backfill_stamps(self, limit: int) -> list[tuple[str, str, float]]:
        """``(id, status, update_timestamp)`` of the newest ``limit`` records."""
        with self._backfill_lock:
            records = sorted(self._backfills.values(), key=lambda r: -r.create_timestamp)
            return [(r.backfill_id, r.status.value, r.update_timestamp) for r in records[:limit]]


class InstanceBackfillsMixin:
    """The backfill records of an ``Instance`` (``trellis.api.backfill`` makes them, the
    daemon's ``backfill`` loop moves them along)."""

    storage: Any

    def add_backfill(self, record: BackfillRecord) -> None:
        """Store a new backfill record."""
        self.storage.add_backfill(record)

    def update_backfill(self, record: BackfillRecord) -> None:
        """Replace the stored record of the same id."""
        self.storage.update_backfill(record)

    def get_backfill(self, backfill_id: str) -> BackfillRecord | None:
        """The backfill ``backfill_id``, or None."""
        return self.storage.get_backfill(backfill_id)  # type: ignore[no-any-return]

    def get_backfills(
        self, statuses: Sequence[BackfillStatus] | None = None, limit: int | None = None
    ) -> list[BackfillRecord]:
        """Backfills (of the given statuses), newest first."""
        return self.storage.get_backfills(statuses, limit)  # type: ignore[no-any-return]

    def get_backfill_stamps(self, limit: int) -> list[tuple[str, str, float]]:
        """``(backfill_id, status, update_timestamp)`` of the newest ``limit`` backfills,
        without reading their plans: what changed, cheaply."""
        return self.storage.get_backfill_stamps(limit)  # type: ignore[no-any-return]
