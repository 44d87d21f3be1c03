"""An external process that reports an asset its step does not make."""

from trellis_pipes import open_dagster_pipes

with open_dagster_pipes() as pipes:
    pipes.report_asset_materialization(asset_key="somebody_elses_asset")
