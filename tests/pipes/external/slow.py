"""An external process that works until it is interrupted: it leaves
``started-<pid>`` in the directory named by its ``marks`` extra, then waits; on SIGINT
(KeyboardInterrupt) it leaves ``interrupted-<pid>`` and exits."""

import os
import time
from pathlib import Path

from trellis_pipes import open_dagster_pipes

with open_dagster_pipes() as pipes:
    marks = Path(pipes.get_extra("marks"))
    (marks / f"started-{os.getpid()}").touch()
    pipes.log.info("waiting to be interrupted")
    try:
        time.sleep(float(pipes.extras.get("seconds", 30)))
    except KeyboardInterrupt:
        (marks / f"interrupted-{os.getpid()}").touch()
        raise
    (marks / f"finished-{os.getpid()}").touch()
