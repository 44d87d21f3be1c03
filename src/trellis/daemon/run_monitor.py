"""The ``run_monitoring`` loop: ends the runs whose process died, and the launched runs
that never started.

- **Dead runs.** A run in progress (STARTED, or CANCELING) whose process is gone (its
  pid, where that is certain) or whose heartbeat stopped for longer than
  ``run_monitoring: heartbeat_timeout`` is ended with ``RUN_FAILURE`` (``RUN_CANCELED``
  when it was being canceled), the reason, pid and host recorded on the event
  (``Instance.mark_dead_runs_failed``, ``instance/liveness.py``). The pool slots its steps
  held go back to their pools, and its place in the run queue's ``max_concurrent_runs``
  is freed: the queue is woken to start the next run.
- **Runs stuck STARTING.** A run the queue claimed whose launched process has not taken
  it after ``run_monitoring: start_timeout_seconds`` (180 by default) is *failed*, with a
  message saying so, not launched again: a launch that did not start in that time (a
  worker that cannot import the code, a cluster without room) would most likely not
  start the second time either, and a relaunch loop would hide it. A process that takes
  it later finds it ended and runs nothing (``begin_launched_run`` is conditional). The
  run-retry loop may then retry it like any failed run. (Runs left STARTING by a daemon
  that died mid-launch are launched again when the daemon restarts: that is the queue's
  ``recover``, before this timeout counts.) The time is counted from when this daemon
  first saw the run STARTING.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from trellis.core.run import RunStatus
from trellis.daemon.loop import DaemonLoop

log = logging.getLogger("trellis.daemon.run_monitoring")

DEFAULT_MONITOR_INTERVAL = 1.0


class RunMonitorLoop(DaemonLoop):
    """Fails dead runs and runs stuck STARTING (see the module docstring); ``on_freed`` is
    called when it ended some (the daemon wakes its run queue)."""

    name = "run_monitoring"

    def __init__(
        self,
        instance: Any,
        *,
        interval: float = DEFAULT_MONITOR_INTERVAL,
        start_timeout: float | None = None,
        on_freed: Callable[[], None] | None = None,
    ) -> None:
        super().__init__(interval)
        self.instance = instance
        self.start_timeout = (
            instance.settings.start_timeout if start_timeout is None else start_timeout
        )
        self.on_freed = on_freed
        self.failed_dead = 0
        self.failed_starting = 0
        self._starting_since: dict[str, float] = {}

    def run_iteration(self, now: float) -> None:
        """End the dead runs, then the runs STARTING for longer than the timeout."""
        self.last_run = now
        ended = len(self.instance.mark_dead_runs_failed())
        self.failed_dead += ended
        starting = self.instance.get_runs(statuses=[RunStatus.STARTING])
        seen = {run.run_id for run in starting}
        self._starting_since = {k: v for k, v in self._starting_since.items() if k in seen}
        for run in starting:
            since = self._starting_since.setdefault(run.run_id, now)
            if now - since <= self.start_timeout:
                continue
            message = (
                f"Run {run.run_id} of '{run.job_name}' was marked failed: it was launched but "
                f"its process did not start it within {self.start_timeout:g} s "
                "(run_monitoring: start_timeout_seconds)."
            )
            if self.instance.fail_unlaunched_run(run.run_id, message):
                log.warning(message)
                self.failed_starting += 1
                ended += 1
            self._starting_since.pop(run.run_id, None)
        self.info = {"failed_dead": self.failed_dead, "failed_starting": self.failed_starting}
        if ended and self.on_freed is not None:
            self.on_freed()
