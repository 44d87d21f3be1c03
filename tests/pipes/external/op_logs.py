"""An external process launched by an op (not an asset): logs, and reports what its
context says about assets."""

from trellis_pipes import DagsterPipesError, open_dagster_pipes

with open_dagster_pipes() as pipes:
    pipes.log.info(f"running for job {pipes.job_name}")
    try:
        pipes.report_asset_materialization()
    except DagsterPipesError as exc:
        refused = str(exc)
    pipes.report_custom_message({"is_asset_step": pipes.is_asset_step, "refused": refused})
