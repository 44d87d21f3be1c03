"""An external process that writes its messages in numbered chunks to the orchestrator's
directory (``PipesDirectoryMessageWriter``), a few chunks apart, and prints to its
stdout (which the test redirects to a log file)."""

import sys
import time

from trellis_pipes import PipesDirectoryMessageWriter, open_dagster_pipes

interval = float(sys.argv[1]) if len(sys.argv) > 1 else 0.05
with open_dagster_pipes(message_writer=PipesDirectoryMessageWriter(interval=interval)) as pipes:
    print(f"stdout: starting {pipes.run_id}", flush=True)
    pipes.log.info("first chunk")
    time.sleep(interval * 4)
    pipes.log.warning("second chunk")
    time.sleep(interval * 4)
    print("stdout: done", flush=True)
    pipes.report_asset_materialization(metadata={"rows": 7}, data_version="chunked-1")
