"""The ``run_queue`` loop: starts QUEUED runs, higher priority first and oldest first
within a priority, while fewer than ``max_concurrent_runs`` runs are in progress
(STARTING, STARTED or CANCELING) and no tag concurrency limit the run falls under is
full (a run held back by a limit lets the runs behind it go). Each run is claimed in
the instance (QUEUED -> STARTING, once across processes) and handed to the
``RunLauncher``.

When the daemon starts, runs left STARTING by a daemon that died mid-launch are
launched again: the launched process takes a run only if it is still STARTING, so each
runs once whether or not the first launch got through. A launched process that exits
before taking its run fails the run, with the end of its output.
"""

from __future__ import annotations

import logging
from collections import Counter
from pathlib import Path
from typing import Any

from trellis.core.run import Run, RunStatus
from trellis.daemon.launcher import LaunchExit, RunLauncher
from trellis.daemon.loop import DaemonLoop
from trellis.daemon.user_code import error_text
from trellis.instance.daemon_config import DaemonSettings, TagConcurrencyLimit

log = logging.getLogger("trellis.daemon.run_queue")

IN_PROGRESS = (RunStatus.STARTING, RunStatus.STARTED, RunStatus.CANCELING)


def _applies(limit: TagConcurrencyLimit, run: Run) -> str | None:
    """The bucket of ``limit`` that ``run`` counts in, or None when it does not."""
    value = run.tags.get(limit.key)
    if value is None or (limit.value is not None and value != limit.value):
        return None
    return value if limit.per_unique_value else ""


class _Slots:
    """What is in progress, against the queue's limits."""

    def __init__(self, settings: DaemonSettings, in_progress: list[Run]) -> None:
        self.settings = settings
        self.total = len(in_progress)
        self.used: Counter[tuple[int, str]] = Counter()
        for run in in_progress:
            self.take(run, count_total=False)

    def full(self) -> bool:
        limit = self.settings.max_concurrent_runs
        return 0 <= limit <= self.total

    def blocked(self, run: Run) -> bool:
        for index, limit in enumerate(self.settings.tag_concurrency_limits):
            bucket = _applies(limit, run)
            if bucket is not None and self.used[(index, bucket)] >= limit.limit:
                return True
        return False

    def take(self, run: Run, count_total: bool = True) -> None:
        if count_total:
            self.total += 1
        for index, limit in enumerate(self.settings.tag_concurrency_limits):
            bucket = _applies(limit, run)
            if bucket is not None:
                self.used[(index, bucket)] += 1


def _tail(path: str | None, lines: int = 15) -> str:
    if not path:
        return ""
    try:
        text = Path(path).read_text(errors="replace")
    except OSError:
        return ""
    return "\n".join(text.rstrip().splitlines()[-lines:])


class RunQueueLoop(DaemonLoop):
    """Starts queued runs within the limits (see the module docstring)."""

    name = "run_queue"

    def __init__(self, instance: Any, settings: DaemonSettings, launcher: RunLauncher) -> None:
        super().__init__(settings.dequeue_interval_seconds)
        self.instance = instance
        self.settings = settings
        self.launcher = launcher
        self.launched = 0

    def recover(self) -> list[str]:
        """Launch again the runs a previous daemon left STARTING (see the module
        docstring); their ids."""
        self.launcher.prepare(self.instance)
        stuck = self.instance.get_runs(statuses=[RunStatus.STARTING])
        for run in stuck:
            log.info("Launching run %s again: a previous daemon left it STARTING.", run.run_id)
            self._launch(run)
        return [run.run_id for run in stuck]

    def run_iteration(self, now: float) -> None:
        """Reap ended launches, then start what the limits allow."""
        self.last_run = now
        for ended in self.launcher.poll():
            self._reap(ended)
        queued = self.instance.get_queued_run_ids()  # ids only: bodies read as needed
        if queued:
            slots = _Slots(self.settings, self.instance.get_runs(statuses=IN_PROGRESS))
            for run_id in queued:
                if slots.full():
                    break
                run = self.instance.get_run(run_id)
                if run is None or run.status is not RunStatus.QUEUED or slots.blocked(run):
                    continue
                claimed = self.instance.claim_queued_run(run.run_id)
                if claimed is None:
                    continue
                slots.take(claimed)
                self._launch(claimed)
        self.info = {"queued": len(queued), "launched": self.launched}

    def _launch(self, run: Run) -> None:
        try:
            self.launcher.launch_run(run, self.instance)
            self.launched += 1
        except Exception as exc:
            message = f"The run launcher could not start run {run.run_id}: {error_text(exc)}"
            log.error(message)
            self.instance.fail_unlaunched_run(run.run_id, message)

    def _reap(self, ended: LaunchExit) -> None:
        if ended.exit_code == 0:
            return
        run = self.instance.get_run(ended.run_id)
        if run is None or run.status is not RunStatus.STARTING:
            return
        tail = _tail(ended.log_file)
        message = (
            f"The process launched for run {ended.run_id} exited with code "
            f"{ended.exit_code} before starting the run."
            + (f" Its last output ({ended.log_file}):\n{tail}" if tail else "")
        )
        self.instance.fail_unlaunched_run(ended.run_id, message)

    def close(self) -> None:
        """Let go of the launcher (launched runs go on)."""
        self.launcher.dispose()
