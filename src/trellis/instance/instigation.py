"""``InstigationMixin``: the part of ``Instance`` the daemon and the ``trellis schedule`` /
``trellis sensor`` / ``trellis daemon`` commands use: the state of each schedule and
sensor, their ticks, the run keys they launched, the daemon's heartbeats and its lease.

Storage keeps the records (``trellis.instance.daemon_records``); these methods are the
same on every back end.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import TYPE_CHECKING

from trellis.instance.daemon_records import (
    DaemonHeartbeat,
    DaemonLease,
    InstigatorState,
    InstigatorStatus,
    InstigatorTick,
    InstigatorType,
    TickStatus,
)

if TYPE_CHECKING:
    from trellis.instance.storage import InstanceStorage

DAEMON_LEASE = "daemon"
"""The name of the lease a daemon holds while it runs against the instance."""


class InstigationMixin:
    """Instigator state, ticks, run keys, heartbeats and the daemon lease of an instance."""

    storage: InstanceStorage

    # -- instigator state --------------------------------------------------------------
    def get_instigator_state(self, name: str) -> InstigatorState | None:
        """The stored state of the schedule or sensor ``name`` (None: never started or
        stopped; its ``default_status`` decides)."""
        return self.storage.get_instigator_state(name)

    def get_instigator_states(self) -> list[InstigatorState]:
        """Every stored instigator state, by name."""
        return self.storage.get_instigator_states()

    def set_instigator_status(
        self,
        name: str,
        instigator_type: InstigatorType,
        status: InstigatorStatus,
        now: float | None = None,
    ) -> InstigatorState:
        """Turn a schedule or sensor on or off (``trellis schedule start``): its cursor
        is kept; starting it records the start time (a schedule ticks from then on)."""
        now = time.time() if now is None else now
        stored = self.storage.get_instigator_state(name)
        current = stored or InstigatorState(name, instigator_type, InstigatorStatus.STOPPED)
        started = status is InstigatorStatus.RUNNING and (
            stored is None or stored.status is not InstigatorStatus.RUNNING
        )
        state = current.with_changes(
            instigator_type=instigator_type,
            status=status,
            start_timestamp=now if started else current.start_timestamp,
            update_timestamp=now,
        )
        self.storage.set_instigator_state(state)
        return state

    def set_instigator_cursor(
        self, name: str, instigator_type: InstigatorType, cursor: str | None
    ) -> InstigatorState:
        """Set a sensor's cursor by hand (``trellis sensor cursor --set``); its status is
        kept (STOPPED when it has no state yet)."""
        current = self.storage.get_instigator_state(name) or InstigatorState(
            name, instigator_type, InstigatorStatus.STOPPED
        )
        state = current.with_changes(cursor=cursor, update_timestamp=time.time())
        self.storage.set_instigator_state(state)
        return state

    def set_instigator_state(self, state: InstigatorState) -> None:
        """Store ``state`` as it is (the daemon does, when it moves a cursor)."""
        self.storage.set_instigator_state(state)

    # -- ticks -------------------------------------------------------------------------
    def create_tick(self, tick: InstigatorTick) -> InstigatorTick:
        """Store a new tick (usually STARTED); returned with its ``tick_id``."""
        return self.storage.create_tick(tick)

    def update_tick(self, tick: InstigatorTick, state: InstigatorState | None = None) -> None:
        """Store a tick's outcome, and the instigator's new ``state`` in the same
        transaction."""
        self.storage.update_tick(tick, state)

    def get_ticks(
        self,
        name: str,
        limit: int | None = None,
        statuses: Sequence[TickStatus] | None = None,
        before_id: int | None = None,
    ) -> list[InstigatorTick]:
        """The ticks of a schedule or sensor, newest first (``trellis schedule logs``)."""
        return self.storage.get_ticks(name, limit, statuses, before_id)

    def prune_ticks(
        self,
        older_than_seconds: float,
        now: float | None = None,
        instigator_type: InstigatorType | None = None,
    ) -> int:
        """Tick retention: delete the finished ticks older than ``older_than_seconds``
        (of schedules or of sensors only, with ``instigator_type``; a tick still STARTED
        is kept: a restarted daemon resumes it); how many."""
        now = time.time() if now is None else now
        finished = (TickStatus.SUCCESS, TickStatus.SKIPPED, TickStatus.FAILURE)
        return self.storage.delete_ticks_before(now - older_than_seconds, finished, instigator_type)

    # -- run keys ----------------------------------------------------------------------
    def add_run_key(self, name: str, run_key: str, run_id: str, timestamp: float) -> str:
        """Reserve ``run_key`` for the instigator ``name`` as ``run_id``; the run id the
        key belongs to (another one when it was launched before: do not launch again)."""
        return self.storage.add_run_key(name, run_key, run_id, timestamp)

    def get_run_keys(self, name: str, run_keys: Sequence[str]) -> dict[str, str]:
        """The run id of each of ``run_keys`` the instigator ``name`` has launched."""
        return self.storage.get_run_keys(name, run_keys)

    # -- the daemon --------------------------------------------------------------------
    def record_daemon_heartbeat(self, heartbeat: DaemonHeartbeat) -> None:
        """Store a daemon loop's latest heartbeat."""
        self.storage.record_daemon_heartbeat(heartbeat)

    def get_daemon_heartbeats(self) -> list[DaemonHeartbeat]:
        """The latest heartbeat of every daemon loop (``trellis daemon status``)."""
        return self.storage.get_daemon_heartbeats()

    def acquire_daemon_lease(
        self, owner: str, duration: float, now: float | None = None
    ) -> tuple[bool, DaemonLease]:
        """Take or renew the instance's daemon lease for ``owner`` for ``duration``
        seconds; whether ``owner`` holds it, and the lease as it stands."""
        now = time.time() if now is None else now
        return self.storage.acquire_daemon_lease(DAEMON_LEASE, owner, now, duration)

    def get_daemon_lease(self) -> DaemonLease | None:
        """The instance's daemon lease as stored (``trellis daemon status``): its holder,
        when it expires, since when it is held; None when no daemon holds it."""
        return self.storage.get_daemon_lease(DAEMON_LEASE)

    def release_daemon_lease(self, owner: str) -> None:
        """Give up the daemon lease (a daemon that stops cleanly)."""
        self.storage.release_daemon_lease(DAEMON_LEASE, owner)
