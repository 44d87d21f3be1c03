"""The daemon of ``trellis dev``: ``TrellisDaemon``'s loops (scheduler, sensors, backfills,
the run queue, run retries and run monitoring) on a background thread of the server's
process, over the workspace's definitions.

A thread, not a child process: the definitions are already loaded here (a child would
import the user's code a second time and hold a second interpreter's memory), and a
reload swaps the definitions the loops read (``CodeLocation.definitions``) at once (the
launcher is told between two rounds). The loops never execute runs in this process: the
run queue launches each run as its own process (the subprocess launcher without the warm
spare worker, or the zygote, that ``trellis daemon`` keeps: one process is the point),
and user code of sensors and schedules runs under the daemon's timeout. The daemon holds
the instance's lease like ``trellis daemon``: if one already runs on this instance, this
thread waits for it (and says so) rather than ticking twice.

Runs launched from the UI go through the run queue too (``Launcher.enqueue``): created
QUEUED here, with the workspace's code location, and the daemon woken at once.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

log = logging.getLogger("trellis.dev")


class DevDaemon:
    """``TrellisDaemon`` on a thread, following the workspace's reloads."""

    def __init__(self, instance: Any, workspace: Any, ui_launcher: Any = None) -> None:
        from trellis.daemon.code_location import CodeLocation
        from trellis.daemon.daemon import TrellisDaemon
        from trellis.daemon.launcher import SubprocessRunLauncher

        definitions = workspace.definitions
        self.instance = instance
        self.workspace = workspace
        self.location = CodeLocation(definitions, getattr(definitions, "code_pointer", None))
        # No warm spare worker or zygote: it would be a second interpreter waiting all
        # the time beside the UI; a queued run starts a fresh process.
        launcher = SubprocessRunLauncher(standby=False)
        self.daemon = TrellisDaemon(instance, self.location, launcher=launcher)
        self.waiting_for: str | None = None
        self._thread: threading.Thread | None = None
        self.ui_launcher = ui_launcher
        workspace.on_reload(self._reloaded)

    def _reloaded(self, load: Any) -> None:
        if load.definitions is None or load.error is not None:
            return  # a failed load keeps the definitions (and the zygote) it had
        self.location.definitions = load.definitions
        self.location.pointer = getattr(load.definitions, "code_pointer", None)
        self.daemon.code_changed()

    def enqueue(self, checked: Any, run_id: str) -> bool:
        """Put a UI launch (a ``CheckedLaunch``) in the run queue as run ``run_id``;
        False when it cannot be (definitions not loaded from a file or module)."""
        from trellis.cli.selection import selected_asset_job
        from trellis.core.run import CODE_LOCATION_TAG, PARTITION_TAG, Run

        if self.location.tag is None or self.location.definitions is None:
            return False
        tags = dict(checked.tags)
        tags[CODE_LOCATION_TAG] = self.location.tag
        if checked.partition is not None:
            tags[PARTITION_TAG] = checked.partition
        selection = None
        if checked.kind == "assets":
            _, keys = selected_asset_job(
                self.location.definitions, checked.selection, self.workspace.target
            )
            selection = sorted(keys, key=str)
        run = Run(
            run_id,
            checked.job_name,
            run_config=checked.run_config,
            tags=tags,
            asset_selection=selection,
        )
        self.instance.submit_run(run)
        self.daemon.wake()
        return True

    def _run(self) -> None:
        def waiting(lease: Any) -> None:
            self.waiting_for = lease.owner
            log.warning("Another daemon (%s) holds this instance; waiting.", lease.owner)

        try:
            self.daemon.run(on_waiting=waiting)
        except Exception:
            log.exception("The daemon of trellis dev stopped")

    def start(self) -> None:
        """Run the loops on a daemon thread (an empty workspace: nothing to run yet,
        the loops find no schedules or sensors until a load succeeds); UI launches go
        through the queue from now on."""
        if self.ui_launcher is not None:
            self.ui_launcher.enqueue = self.enqueue
        self._thread = threading.Thread(target=self._run, name="trellis-dev-daemon", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        """Stop the loops and wait for the thread (the lease is given up)."""
        if self.ui_launcher is not None:
            self.ui_launcher.enqueue = None
        self.daemon.stop()
        if self._thread is not None:
            self._thread.join(timeout)
