"""An external process that reports where and how it was started: its working directory,
two environment variables, and the partition its step covers (when it has one)."""

import os

from trellis_pipes import open_dagster_pipes

with open_dagster_pipes() as pipes:
    facts = {
        "cwd": os.getcwd(),
        "region": os.environ.get("ORDERS_REGION"),
        "client_variable": os.environ.get("FROM_CLIENT"),
        "is_partition_step": pipes.is_partition_step,
    }
    if pipes.is_partition_step:
        facts["partition_key_range"] = dict(pipes.partition_key_range)
        facts["partition_time_window"] = pipes.partition_time_window
        try:
            facts["partition_key"] = pipes.partition_key
        except Exception as exc:  # a range: no single key
            facts["partition_key_error"] = str(exc)
    pipes.report_custom_message(facts)
