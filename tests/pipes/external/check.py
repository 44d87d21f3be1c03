"""An external process for an asset check step: reports the check's result."""

import os

from trellis_pipes import open_dagster_pipes

with open_dagster_pipes() as pipes:
    pipes.report_asset_check(
        check_name="orders_checked",
        passed=True,
        severity="WARN",
        asset_key="orders",
        metadata={"checked_by_pid": os.getpid()},
    )
