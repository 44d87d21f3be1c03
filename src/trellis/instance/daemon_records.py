"""What the daemon keeps in the instance, as every back end shares it: the state of each
schedule and sensor (``InstigatorState``: on or off, its cursor), its ticks
(``InstigatorTick``), the run keys it has launched, the daemon's heartbeats, and the
lease that lets one daemon at a time run against an instance; plus the in-memory store
of ``InMemoryStorage``.

Times are seconds since the epoch (UTC floats). A tick's variable part (run ids, run
keys, skip reason, error, cursor) is stored as one JSON body (``tick_body`` /
``tick_from_row``), so the SQL tables keep only what queries filter on.
"""

from __future__ import annotations

import itertools
import json
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import Any


class InstigatorType(StrEnum):
    """What kind of instigator a state or tick belongs to."""

    SCHEDULE = "SCHEDULE"
    SENSOR = "SENSOR"


class InstigatorStatus(StrEnum):
    """Whether a schedule or sensor is on (``RUNNING``) or off (``STOPPED``). Without a
    stored state, the definition's ``default_status`` decides."""

    RUNNING = "RUNNING"
    STOPPED = "STOPPED"


class TickStatus(StrEnum):
    """Where a tick is: being evaluated (``STARTED``), done with runs requested
    (``SUCCESS``), done with none (``SKIPPED``), or failed in user code (``FAILURE``)."""

    STARTED = "STARTED"
    SUCCESS = "SUCCESS"
    SKIPPED = "SKIPPED"
    FAILURE = "FAILURE"


@dataclass(frozen=True)
class InstigatorState:
    """A schedule's or sensor's stored state: on or off, its cursor (a sensor's string;
    a schedule's is the timestamp of the last tick it handled), when it was last started
    and when the state last changed."""

    name: str
    instigator_type: InstigatorType
    status: InstigatorStatus
    cursor: str | None = None
    start_timestamp: float | None = None
    update_timestamp: float = 0.0

    def with_changes(self, **changes: Any) -> InstigatorState:
        """A copy with ``changes`` applied."""
        return replace(self, **changes)


@dataclass(frozen=True)
class InstigatorTick:
    """One evaluation of a schedule or sensor: its status, its time (the scheduled time
    of a schedule's tick, the evaluation time of a sensor's), when it ended, the runs it
    created and their run keys, why it skipped, the error (with traceback) of a failed
    one, and the cursor it left. ``tick_id`` is None until the tick is stored."""

    instigator_name: str
    instigator_type: InstigatorType
    status: TickStatus
    timestamp: float
    tick_id: int | None = None
    end_timestamp: float | None = None
    run_ids: tuple[str, ...] = ()
    run_keys: tuple[str, ...] = ()
    skip_reason: str | None = None
    error: str | None = None
    cursor: str | None = None

    def with_changes(self, **changes: Any) -> InstigatorTick:
        """A copy with ``changes`` applied (``run_ids`` and ``run_keys`` as tuples)."""
        for name in ("run_ids", "run_keys"):
            if name in changes:
                changes[name] = tuple(changes[name])
        return replace(self, **changes)


@dataclass(frozen=True)
class DaemonHeartbeat:
    """The latest sign of life of one daemon loop: which loop, which daemon process
    (``daemon_id``), when, and what it last said (``info``: e.g. its last error)."""

    daemon_type: str
    daemon_id: str
    timestamp: float
    info: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class DaemonLease:
    """Who holds the instance's daemon lease and until when (a daemon renews it while
    it runs; another may take it once it has expired)."""

    owner: str
    expires: float
    acquired: float


_dumps = json.JSONEncoder(separators=(",", ":")).encode


def tick_body(tick: InstigatorTick) -> str:
    """The JSON body of a stored tick (its variable part)."""
    return _dumps(
        {
            "run_ids": list(tick.run_ids),
            "run_keys": list(tick.run_keys),
            "skip_reason": tick.skip_reason,
            "error": tick.error,
            "cursor": tick.cursor,
        }
    )


def tick_from_row(
    tick_id: int,
    name: str,
    kind: str,
    status: str,
    timestamp: float,
    end_timestamp: float | None,
    body: str,
) -> InstigatorTick:
    """A tick from its stored columns and body."""
    data = json.loads(body)
    return InstigatorTick(
        instigator_name=name,
        instigator_type=InstigatorType(kind),
        status=TickStatus(status),
        timestamp=timestamp,
        tick_id=int(tick_id),
        end_timestamp=end_timestamp,
        run_ids=tuple(data.get("run_ids") or ()),
        run_keys=tuple(data.get("run_keys") or ()),
        skip_reason=data.get("skip_reason"),
        error=data.get("error"),
        cursor=data.get("cursor"),
    )


def heartbeat_info(info: dict[str, Any]) -> str:
    """The stored form of a heartbeat's ``info``."""
    return _dumps(info)


class DaemonRecordsMixin:
    """In-memory keeping of the daemon's records, for ``InMemoryStorage``."""

    _daemon_lock: threading.Lock
    _instigators: dict[str, InstigatorState]
    _ticks: dict[int, InstigatorTick]
    _tick_ids: itertools.count[int]
    _run_keys: dict[tuple[str, str], str]
    _daemon_heartbeats: dict[str, DaemonHeartbeat]
    _leases: dict[str, DaemonLease]

    def _daemon_init(self) -> None:
        self._daemon_lock = threading.Lock()
        self._instigators = {}
        self._ticks = {}
        self._tick_ids = itertools.count(1)
        self._run_keys = {}
        self._daemon_heartbeats = {}
        self._leases = {}

    # -- instigator state ----------------------------------------------------------------
    def get_instigator_state(self, name: str) -> InstigatorState | None:
        """The stored state of the schedule or sensor ``name``."""
        with self._daemon_lock:
            return self._instigators.get(name)

    def get_instigator_states(self) -> list[InstigatorState]:
        """Every stored state, by name."""
        with self._daemon_lock:
            return [self._instigators[name] for name in sorted(self._instigators)]

    def set_instigator_state(self, state: InstigatorState) -> None:
        """Store ``state`` (replacing the one of that name)."""
        with self._daemon_lock:
            self._instigators[state.name] = state

    # -- ticks -----------------------------------------------------------------------------
    def create_tick(self, tick: InstigatorTick) -> InstigatorTick:
        """Store a new tick; it comes back with its ``tick_id``."""
        with self._daemon_lock:
            stored = tick.with_changes(tick_id=next(self._tick_ids))
            self._ticks[stored.tick_id] = stored  # type: ignore[index]
            return stored

    def update_tick(self, tick: InstigatorTick, state: InstigatorState | None = None) -> None:
        """Store a tick's new status and body, and ``state`` with it (at once)."""
        assert tick.tick_id is not None, "update_tick needs a stored tick"
        with self._daemon_lock:
            self._ticks[tick.tick_id] = tick
            if state is not None:
                self._instigators[state.name] = state

    def get_ticks(
        self,
        name: str,
        limit: int | None = None,
        statuses: Sequence[TickStatus] | None = None,
        before_id: int | None = None,
    ) -> list[InstigatorTick]:
        """The ticks of ``name``, newest first."""
        with self._daemon_lock:
            ticks = [
                t
                for t in self._ticks.values()
                if t.instigator_name == name
                and (statuses is None or t.status in statuses)
                and (before_id is None or (t.tick_id or 0) < before_id)
            ]
        ticks.sort(key=lambda t: t.tick_id or 0, reverse=True)
        return ticks[:limit] if limit is not None else ticks

    def delete_ticks_before(
        self,
        cutoff: float,
        statuses: Sequence[TickStatus] | None = None,
        instigator_type: InstigatorType | None = None,
    ) -> int:
        """Delete the ticks older than ``cutoff`` (of ``statuses``, of
        ``instigator_type``); how many."""
        with self._daemon_lock:
            doomed = [
                tick_id
                for tick_id, t in self._ticks.items()
                if t.timestamp < cutoff
                and (statuses is None or t.status in statuses)
                and (instigator_type is None or t.instigator_type is instigator_type)
            ]
            for tick_id in doomed:
                del self._ticks[tick_id]
        return len(doomed)

    # -- run keys --------------------------------------------------------------------------
    def add_run_key(self, name: str, run_key: str, run_id: str, timestamp: float) -> str:
        """Record that ``name`` launches ``run_key`` as ``run_id``, unless the key is already
        recorded; the run id stored for the key either way."""
        with self._daemon_lock:
            return self._run_keys.setdefault((name, run_key), run_id)

    def get_run_keys(self, name: str, run_keys: Sequence[str]) -> dict[str, str]:
        """The run id stored for each of ``run_keys`` that ``name`` has launched."""
        with self._daemon_lock:
            found = {key: self._run_keys.get((name, key)) for key in run_keys}
        return {key: run_id for key, run_id in found.items() if run_id is not None}

    # -- the daemon ------------------------------------------------------------------------
    def record_daemon_heartbeat(self, heartbeat: DaemonHeartbeat) -> None:
        """Store a loop's latest heartbeat (replacing its previous one)."""
        with self._daemon_lock:
            self._daemon_heartbeats[heartbeat.daemon_type] = heartbeat

    def get_daemon_heartbeats(self) -> list[DaemonHeartbeat]:
        """The latest heartbeat of every loop, by loop name."""
        with self._daemon_lock:
            return [self._daemon_heartbeats[k] for k in sorted(self._daemon_heartbeats)]

    def acquire_daemon_lease(
        self, name: str, owner: str, now: float, duration: float
    ) -> tuple[bool, DaemonLease]:
        """Take or renew the lease ``name`` for ``owner`` until ``now + duration`` if it is
        free, expired or already ``owner``'s; whether it was, and the lease as it stands."""
        with self._daemon_lock:
            current = self._leases.get(name)
            if current is None or current.owner == owner or current.expires <= now:
                acquired = current.acquired if current and current.owner == owner else now
                self._leases[name] = DaemonLease(owner, now + duration, acquired)
                return True, self._leases[name]
            return False, current

    def get_daemon_lease(self, name: str) -> DaemonLease | None:
        """The lease as stored, or None."""
        with self._daemon_lock:
            return self._leases.get(name)

    def release_daemon_lease(self, name: str, owner: str) -> None:
        """Give the lease up if ``owner`` holds it."""
        with self._daemon_lock:
            current = self._leases.get(name)
            if current is not None and current.owner == owner:
                del self._leases[name]
