"""The daemon of ``trellis dev``: ``TrellisDaemon``'s loops (scheduler, sensors, backfills,
the run queue, run retries and run monitoring) on a background thread of the server's
process, over the workspace's definitions.

A thread, not a child process: the definitions are already loaded here (a child would
import the user's code a second time and hold a second interpreter's memory), and a
reload swaps the definitions the loops read (``CodeLocation.definitions``) at once. The
loops never execute runs in this process: the run queue launches each run as its own
process (without the warm spare worker ``trellis daemon`` keeps: one process is the
point), and user code of sensors and schedules runs under the daemon's timeout. The
daemon holds the instance's lease like ``trellis daemon``: if one already runs on this
instance, this thread waits for it (and says so) rather than ticking twice.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

log = logging.getLogger("trellis.dev")


class DevDaemon:
    """``TrellisDaemon`` on a thread, following the workspace's reloads."""

    def __init__(self, instance: Any, workspace: Any) -> None:
        from trellis.daemon.code_location import CodeLocation
        from trellis.daemon.daemon import TrellisDaemon
        from trellis.daemon.launcher import SubprocessRunLauncher

        definitions = workspace.definitions
        self.location = CodeLocation(definitions, getattr(definitions, "code_pointer", None))
        # No warm spare worker: it would be a second interpreter waiting all the time
        # beside the UI; a queued run starts a fresh process, as UI launches do.
        launcher = SubprocessRunLauncher(standby=False)
        self.daemon = TrellisDaemon(instance, self.location, launcher=launcher)
        self.waiting_for: str | None = None
        self._thread: threading.Thread | None = None
        workspace.on_reload(self._reloaded)

    def _reloaded(self, load: Any) -> None:
        if load.definitions is None:
            return
        self.location.definitions = load.definitions
        self.location.pointer = getattr(load.definitions, "code_pointer", None)
        self.daemon.wake()

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
        the loops find no schedules or sensors until a load succeeds)."""
        self._thread = threading.Thread(target=self._run, name="trellis-dev-daemon", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        """Stop the loops and wait for the thread (the lease is given up)."""
        self.daemon.stop()
        if self._thread is not None:
            self._thread.join(timeout)
