"""``TrellisDaemon``: the process that runs the scheduler, sensors, backfill, run queue, run
retries and run monitoring loops against one instance (``trellis daemon -f defs.py``).

- **One daemon per instance.** It holds a lease in the instance (``daemon_leases``),
  renewed every third of its length; a second daemon finds it held, says so and waits
  until the lease is released or expires (the first daemon stopped or died); a holder
  whose process is certainly dead (same host and PID namespace, pid gone) is taken over
  at once.
- **Loops, each with its own interval**, run one after the other on one thread: the
  daemon asks each loop when it is next due and sleeps exactly until the earliest, on a
  ``threading.Event`` that ``wake()`` sets (a sensor ticking every second ticks every
  second; a daemon with nothing to do sleeps). Runs queued by a tick wake the run queue
  at once; so do runs enqueued, and runs ended, by other processes
  (``instance.listen_for_run_queue``: a named pipe on SQLite, ``LISTEN`` on PostgreSQL),
  and a launched run's process ending.
- **Heartbeats**: each loop's latest round, with what it says about itself, stored in
  the instance at most every ``heartbeat_interval`` seconds (``trellis daemon status``).
- **A failing loop does not stop the others**: its error goes to the log and to its
  heartbeat, and it is tried again when next due.
- **Tick retention**: finished ticks older than ``retention:`` in ``trellis.yaml`` are
  deleted once an hour.
- **The clock is injectable** (``clock.py``): tests drive ``step(now)`` by hand.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable
from typing import Any

from trellis.daemon.backfill_loop import BackfillLoop
from trellis.daemon.clock import Clock, SystemClock
from trellis.daemon.code_location import CodeLocation
from trellis.daemon.code_reload import DEFAULT_RELOAD_INTERVAL, CodeReloader
from trellis.daemon.launcher import RunLauncher
from trellis.daemon.launchers import choose_launcher
from trellis.daemon.loop import DaemonLoop
from trellis.daemon.queue_loop import RunQueueLoop
from trellis.daemon.retry_loop import RunRetryLoop
from trellis.daemon.run_monitor import RunMonitorLoop
from trellis.daemon.scheduler import SchedulerLoop
from trellis.daemon.sensor_loop import SensorLoop
from trellis.daemon.user_code import error_text
from trellis.instance.daemon_config import DaemonSettings
from trellis.instance.daemon_records import DaemonHeartbeat, DaemonLease, InstigatorType
from trellis.instance.queue_wakeup import Listening

log = logging.getLogger("trellis.daemon")

DEFAULT_LEASE_SECONDS = 30.0
DEFAULT_HEARTBEAT_INTERVAL = 5.0
RETENTION_INTERVAL = 3600.0
_MAX_SLEEP = 60.0


def _namespace_digest() -> str:
    """A short digest of this process's PID namespace and boot ("-" where unknown)."""
    import hashlib

    from trellis.instance.liveness import this_pid_namespace

    namespace = this_pid_namespace()
    return hashlib.sha1(namespace.encode()).hexdigest()[:8] if namespace else "-"


def new_daemon_id() -> str:
    """An id for this daemon process: host, pid, PID namespace digest, a random part."""
    from trellis.core.run import new_run_id
    from trellis.instance.liveness import this_host

    return f"{this_host()}:{os.getpid()}:{_namespace_digest()}:{new_run_id()[:6]}"


def holder_is_dead(owner: str) -> bool:
    """Whether the daemon ``owner`` (an id from ``new_daemon_id``) is certainly dead: it
    ran on this host, in this PID namespace, and its pid is gone."""
    from trellis.instance.liveness import process_is_alive, this_host

    parts = owner.split(":")
    if len(parts) != 4 or not parts[1].isdigit():
        return False
    host, pid, digest, _ = parts
    if host != this_host() or digest == "-" or digest != _namespace_digest():
        return False
    return not process_is_alive(int(pid))


class TrellisDaemon:
    """Runs the daemon loops of one code location against one instance (see the module
    docstring). ``loops`` replaces the default six (scheduler, sensors, backfill,
    run_queue, run_retries, run_monitoring). Without ``launcher``, the one
    ``trellis.yaml`` names (``run_launcher``), else the default (``launchers.py``)."""

    def __init__(
        self,
        instance: Any,
        location: CodeLocation,
        *,
        clock: Clock | None = None,
        launcher: RunLauncher | None = None,
        settings: DaemonSettings | None = None,
        loops: list[DaemonLoop] | None = None,
        daemon_id: str | None = None,
        lease_seconds: float = DEFAULT_LEASE_SECONDS,
        heartbeat_interval: float = DEFAULT_HEARTBEAT_INTERVAL,
    ) -> None:
        self.instance = instance
        self.location = location
        self.clock = clock or SystemClock()
        self.settings = settings or instance.settings.daemon
        self.daemon_id = daemon_id or new_daemon_id()
        self.lease_seconds = lease_seconds
        self.heartbeat_interval = heartbeat_interval
        self.queue: RunQueueLoop | None = None
        if loops is None:
            if launcher is None:
                launcher = choose_launcher(instance, location.tag)
            launcher.on_exit = self.wake  # a run's process ended: its place is free
            self.queue = RunQueueLoop(instance, self.settings, launcher)
            loops = [
                SchedulerLoop(instance, location, self.settings, on_runs=self.wake),
                SensorLoop(instance, location, self.settings, on_runs=self.wake),
                BackfillLoop(instance, location, on_runs=self.wake),
                self.queue,
                RunRetryLoop(instance, location, on_runs=self.wake),
                RunMonitorLoop(instance, on_freed=self.wake),
            ]
        self.loops = loops
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._queue_now = False
        self._beats: dict[str, float] = {}
        self._lease_renew_at = 0.0
        self._next_prune = 0.0
        self.holds_lease = False
        self._listening: Listening | None = None
        self.reloader: CodeReloader | None = None
        self._code_changed = False

    # -- control
    def reload_on_change(
        self, interval: float = DEFAULT_RELOAD_INTERVAL, report: Callable[[str], None] | None = None
    ) -> CodeReloader:
        """Reload the code location when its files change (``trellis daemon --reload``):
        looked at every ``interval`` seconds, reloaded between rounds (``code_reload.py``)."""
        self.reloader = CodeReloader(self.location, self._wake.set, interval, report)
        return self.reloader

    def code_changed(self) -> None:
        """The caller swapped ``location.definitions`` (``trellis dev``'s reload): the
        launcher drops the old code between two rounds, and the loops look again."""
        self._code_changed = True
        self.wake()

    def _reload_if_changed(self) -> None:
        launcher = self.queue.launcher if self.queue is not None else None
        try:
            reloaded = self.reloader is not None and self.reloader.reload_if_changed(
                launcher, self.instance
            )
            if self._code_changed:
                self._code_changed = False
                if launcher is not None:
                    launcher.code_changed(self.instance)
                reloaded = True
            if reloaded:
                self.wake()  # new schedules and sensors: recompute what is due
        except Exception as exc:  # a launcher that could not restart: the loops go on
            log.error("After reloading the code:\n%s", error_text(exc))

    def wake(self) -> None:
        """Run the run queue now and recompute when the loops are due (a tick queued
        runs, or a caller changed something)."""
        self._queue_now = True
        self._wake.set()

    def stop(self) -> None:
        """Ask ``run`` to return after the current round."""
        self._stop.set()
        self._wake.set()

    # -- the lease -----------------------------------------------------------------------
    def try_lease(self, now: float | None = None) -> tuple[bool, DaemonLease]:
        """Take or renew the daemon lease; whether this daemon holds it."""
        now = self.clock.now() if now is None else now
        ok, lease = self.instance.acquire_daemon_lease(self.daemon_id, self.lease_seconds, now)
        self.holds_lease = ok
        if ok:
            self._lease_renew_at = now + self.lease_seconds / 3
        return ok, lease

    def wait_for_lease(self, on_waiting: Callable[[DaemonLease], None] | None = None) -> bool:
        """Block until this daemon holds the lease (False: stopped while waiting). The
        first refusal is reported through ``on_waiting`` with the holder's lease."""
        told = False
        while not self._stop.is_set():
            ok, lease = self.try_lease()
            if ok:
                return True
            if holder_is_dead(lease.owner):
                # Its process is gone: take over as if the lease had expired (atomic: a
                # lease renewed or taken by another daemon meanwhile expires later).
                ok, _ = self.try_lease(lease.expires)
                if ok:
                    log.info("Took over the lease of the dead daemon %s.", lease.owner)
                    self.try_lease()
                    return True
                continue
            if not told and on_waiting is not None:
                on_waiting(lease)
                told = True
            wait = min(max(lease.expires - self.clock.now(), 0.05), self.lease_seconds / 3)
            self._stop.wait(wait)
        return False

    # -- rounds --------------------------------------------------------------------------
    def step(self, now: float | None = None, *, every_loop: bool = False) -> None:
        """Run the loops that are due at ``now`` (all of them with ``every_loop``), then
        write their heartbeats and prune old ticks when those are due."""
        now = self.clock.now() if now is None else now
        queue_now, self._queue_now = self._queue_now, False
        for loop in self.loops:
            due = every_loop or loop.next_due(now) <= now
            if loop is self.queue and (queue_now or self._queue_now):
                due = True
                self._queue_now = False
            if not due:
                continue
            try:
                loop.run_iteration(now)
                loop.info.pop("error", None)
            except Exception as exc:
                loop.last_run = now
                loop.info["error"] = error_text(exc)
                log.error("The %s loop failed:\n%s", loop.name, loop.info["error"])
                self._beats.pop(loop.name, None)  # report the error at once
            self._heartbeat(loop, now)
        if now >= self._next_prune:
            self._next_prune = now + RETENTION_INTERVAL
            self.prune(now)

    def run_once(self, now: float | None = None) -> None:
        """One round of every loop (``trellis daemon --once``), after launching again the
        runs a previous daemon left STARTING."""
        if self.queue is not None:
            self.queue.recover()
        self.step(now, every_loop=True)

    def _heartbeat(self, loop: DaemonLoop, now: float) -> None:
        last = self._beats.get(loop.name)
        if last is not None and now < last + self.heartbeat_interval:
            return
        self._beats[loop.name] = now
        beat = DaemonHeartbeat(loop.name, self.daemon_id, now, dict(loop.info))
        self.instance.record_daemon_heartbeat(beat)

    def prune(self, now: float) -> int:
        """Delete the finished ticks older than the retention settings; how many."""
        removed = 0
        for kind, seconds in (
            (InstigatorType.SCHEDULE, self.settings.schedule_tick_retention_seconds),
            (InstigatorType.SENSOR, self.settings.sensor_tick_retention_seconds),
        ):
            if seconds is not None:
                removed += self.instance.prune_ticks(seconds, now, instigator_type=kind)
        return removed

    def next_wake(self, now: float) -> float:
        """When the earliest loop is next due (or the lease must be renewed)."""
        due = min([loop.next_due(now) for loop in self.loops] + [self._lease_renew_at])
        return min(due, now + _MAX_SLEEP)

    def run(self, on_waiting: Callable[[DaemonLease], None] | None = None) -> None:
        """Hold the lease and run the loops until ``stop()`` (see the module docstring)."""
        if not self.wait_for_lease(on_waiting):
            return
        try:
            if self.queue is not None:
                self.queue.recover()
                # Runs enqueued and runs ended by other processes wake the queue at once.
                self._listening = self.instance.listen_for_run_queue(self.wake)
            if self.reloader is not None:
                self.reloader.start()
            while not self._stop.is_set():
                self._reload_if_changed()
                now = self.clock.now()
                if now >= self._lease_renew_at:
                    ok, lease = self.try_lease(now)
                    if not ok:
                        raise RuntimeError(
                            f"Daemon {self.daemon_id} lost its lease to {lease.owner} (it did "
                            "not renew it in time); stopping so that one daemon runs."
                        )
                self.step(now)
                self._wake.clear()
                wait = self.next_wake(self.clock.now()) - self.clock.now()
                reload_due = self.reloader is not None and self.reloader.pending
                if wait > 0 and not self._queue_now and not reload_due:
                    self._wake.wait(wait)
        finally:
            self.close()

    def close(self) -> None:
        """Close the loops (the launcher's spare worker exits; launched runs go on) and
        give the lease up."""
        if self.reloader is not None:
            self.reloader.stop()
        listening, self._listening = self._listening, None
        if listening is not None:
            listening.close()
        for loop in self.loops:
            loop.close()
        if self.holds_lease:
            self.instance.release_daemon_lease(self.daemon_id)
            self.holds_lease = False
