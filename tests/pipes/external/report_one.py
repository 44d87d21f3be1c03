"""An external process that reports one asset of a multi-asset step, the one named by its
first argument, with the message writer its second argument names (``default`` or
``directory``)."""

import sys

from trellis_pipes import PipesDirectoryMessageWriter, open_dagster_pipes

asset_key, writer = sys.argv[1], sys.argv[2]
message_writer = PipesDirectoryMessageWriter(interval=0.05) if writer == "directory" else None
with open_dagster_pipes(message_writer=message_writer) as pipes:
    pipes.log.info(f"{asset_key} through the {writer} writer")
    pipes.report_asset_materialization(asset_key=asset_key, metadata={"writer": writer})
