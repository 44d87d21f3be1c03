"""The ``run_retries`` loop: failed runs due a retry (``run_retries`` in ``trellis.yaml``,
``dagster/max_retries`` and the other retry tags; ``plan_run_retry`` decides) get their
retry run *enqueued* (``enqueue_run_retry``), so the run queue's limits apply and the
retry runs in a launched process, never in the daemon's.

Idempotent across restarts: the retry's id is derived from the failed run's, so a daemon
killed after enqueuing a retry (and before tagging the failed run) finds it on restart
and only completes the failed run's ``dagster/auto_retry_run_id`` tag.

Each round looks at the runs that failed among those created in the last
``lookback_seconds`` (7 days by default); a run decided once (retried, or not to be
retried) is not looked at again by this daemon.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from trellis.core.run import RunStatus
from trellis.daemon.code_location import CodeLocation
from trellis.daemon.loop import DaemonLoop

log = logging.getLogger("trellis.daemon.run_retries")

DEFAULT_RETRY_INTERVAL = 1.0
DEFAULT_LOOKBACK_SECONDS = 7 * 86400.0


class RunRetryLoop(DaemonLoop):
    """Enqueues the retries of failed runs (see the module docstring); ``on_runs`` is
    called when it enqueued some (the daemon wakes its run queue)."""

    name = "run_retries"

    def __init__(
        self,
        instance: Any,
        location: CodeLocation,
        *,
        interval: float = DEFAULT_RETRY_INTERVAL,
        lookback_seconds: float = DEFAULT_LOOKBACK_SECONDS,
        on_runs: Callable[[], None] | None = None,
    ) -> None:
        super().__init__(interval)
        self.instance = instance
        self.location = location
        self.lookback_seconds = lookback_seconds
        self.on_runs = on_runs
        self.enqueued = 0
        self._decided: set[str] = set()

    def run_iteration(self, now: float) -> None:
        """Enqueue the retries of the failed runs that are due one."""
        from trellis.api.run_retries import enqueue_run_retry, mark_retried, plan_run_retry

        self.last_run = now
        if not self.instance.settings.run_retries.enabled:
            self.info = {"enabled": False}
            return
        failed = self.instance.get_runs(
            statuses=[RunStatus.FAILURE], created_after=now - self.lookback_seconds
        )
        made = 0
        for run in reversed(failed):  # oldest first
            if run.run_id in self._decided:
                continue
            decision = plan_run_retry(self.instance, run)
            if decision.retry:
                retry = enqueue_run_retry(
                    self.instance, decision, code_location_tag=self.location.tag
                )
                if retry is not None:
                    made += 1
                    log.info(decision.reason)
            elif self.instance.get_run(decision.retry_run_id) is not None:
                # enqueued before a restart, the failed run not tagged yet
                mark_retried(self.instance, run.run_id, decision.retry_run_id)
            self._decided.add(run.run_id)
        self.enqueued += made
        self.info = {"enabled": True, "enqueued": self.enqueued}
        if made and self.on_runs is not None:
            self.on_runs()
