"""``Heartbeat``: the thread that tells other processes a run's process is alive.

While this process executes runs of a persistent instance, a daemon thread writes the
time to each of those runs' rows (``InstanceStorage.record_heartbeat``) every
``interval`` seconds; dead-run detection (``liveness.py``) reads it where a pid cannot be
checked with certainty. The instance starts beating for a run when it stores the run's
``RUN_START`` and stops when it stores its end. The thread exits when no run is left, and
a failed write (the database down, the disk full) is tried again at the next beat.
"""

from __future__ import annotations

import logging
import os
import threading
import time
import weakref
from typing import Any

log = logging.getLogger("trellis.instance")

_heartbeats: weakref.WeakSet[Heartbeat] = weakref.WeakSet()


class Heartbeat:
    """Writes the heartbeat of the runs this process executes, from one daemon thread."""

    def __init__(self, storage: Any, interval: float) -> None:
        self.storage = storage
        self.interval = interval
        self._run_ids: set[str] = set()
        self._wake = threading.Condition()
        self._thread: threading.Thread | None = None
        _heartbeats.add(self)

    def add(self, run_id: str) -> None:
        """Start beating for ``run_id`` (the first beat at once)."""
        with self._wake:
            self._run_ids.add(run_id)
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(
                    target=self._beat, name="trellis-heartbeat", daemon=True
                )
                self._thread.start()
            else:
                self._wake.notify()

    def remove(self, run_id: str) -> None:
        """Stop beating for ``run_id`` (its end is stored)."""
        with self._wake:
            self._run_ids.discard(run_id)
            if not self._run_ids:
                self._wake.notify()

    def stop(self, timeout: float = 5.0) -> None:
        """Stop beating for every run, and wait (at most ``timeout`` seconds) for a beat
        being written to finish, so that nothing writes to the instance afterwards."""
        with self._wake:
            self._run_ids.clear()
            self._wake.notify()
            thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout)

    @property
    def run_ids(self) -> frozenset[str]:
        """The runs beating now."""
        with self._wake:
            return frozenset(self._run_ids)

    def _beat(self) -> None:
        while True:
            with self._wake:
                run_ids = sorted(self._run_ids)
                if not run_ids:
                    self._thread = None
                    return
            try:
                self.storage.record_heartbeat(run_ids, time.time())
            except Exception as exc:  # the next beat tries again
                log.warning("Could not write the heartbeat of runs %s: %s", run_ids, exc)
            with self._wake:
                if self._run_ids:
                    self._wake.wait(self.interval)

    def _after_fork(self) -> None:
        """In a forked child: the parent's runs are not this process's, and its thread
        does not exist here."""
        self._run_ids = set()
        self._wake = threading.Condition()
        self._thread = None


def _after_fork_in_child() -> None:
    for heartbeat in list(_heartbeats):
        heartbeat._after_fork()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)
