"""An external process for a multi-asset step: reports each asset by key, one without
metadata, and the result of an asset check."""

from trellis_pipes import open_dagster_pipes

with open_dagster_pipes() as pipes:
    first, second = pipes.asset_keys
    pipes.report_asset_materialization(asset_key=first, metadata={"part": 1})
    pipes.report_asset_materialization(asset_key=second)
    pipes.report_asset_check(
        check_name="no_negative_amounts", passed=False, asset_key=first, metadata={"bad": 1}
    )
