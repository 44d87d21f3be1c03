"""A real daemon process for the crash tests, stopped on purpose at the worst moment:
``python crash_daemon.py MODE DEFS_FILE PAUSED_FILE``. It runs ``TrellisDaemon`` on
``$TRELLIS_HOME`` with the default launcher (forked on Linux); at the moment MODE names it
writes PAUSED_FILE and sleeps, for the test to SIGKILL it there.

- ``after-runs-created``: a tick's runs are queued, its outcome not recorded yet.
- ``mid-launch``: the queue has launched two runs and claimed a third (STARTING), not
  launched yet.
- ``backfill-mid-launch``: the backfill loop has queued 20 runs of a backfill, its
  cursor (the stored record) not updated yet.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

from trellis.daemon import ticks
from trellis.daemon.code_location import CodeLocation
from trellis.daemon.daemon import TrellisDaemon
from trellis.daemon.fork_launcher import ForkRunLauncher
from trellis.daemon.launcher import SubprocessRunLauncher
from trellis.execution.remote.code_pointer import CodePointer
from trellis.instance.instance import Instance


def _pause(paused: str) -> None:
    Path(paused).write_text("paused")
    time.sleep(600)


def main() -> None:
    mode, defs_file, paused = sys.argv[1:4]
    if mode == "after-runs-created":
        ticks.finish_tick = lambda *args, **kwargs: _pause(paused)
    elif mode == "mid-launch":
        launches = []

        def pausing(real):
            def launch(self, run, instance):
                launches.append(run.run_id)
                if len(launches) == 3:
                    _pause(paused)
                real(self, run, instance)

            return launch

        for cls in (SubprocessRunLauncher, ForkRunLauncher):
            cls.launch_run = pausing(cls.launch_run)
    elif mode == "backfill-mid-launch":
        from trellis.instance.backfills import BACKFILL_TAG
        from trellis.instance.run_queue import RunQueueMixin

        submitted = []
        real_submit = RunQueueMixin.submit_run

        def submit(self, run):
            result = real_submit(self, run)
            if BACKFILL_TAG in run.tags:
                submitted.append(run.run_id)
                if len(submitted) == 20:
                    _pause(paused)
            return result

        RunQueueMixin.submit_run = submit
    instance = Instance.get()
    location = CodeLocation.load(CodePointer(file=defs_file, attribute="defs"))
    TrellisDaemon(instance, location).run()


if __name__ == "__main__":
    main()
