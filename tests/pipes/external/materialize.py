"""An external process as a Dagster Pipes user writes one, importing ``trellis_pipes``:
logs at several levels, sends back everything its context says (so the tests can check
the context round trip), reports its asset materialized with metadata and a data
version, and sends a custom message."""

import os

from trellis_pipes import PipesContext, open_dagster_pipes


def context_facts(pipes: PipesContext) -> dict:
    facts = {
        "run_id": pipes.run_id,
        "job_name": pipes.job_name,
        "retry_number": pipes.retry_number,
        "is_asset_step": pipes.is_asset_step,
        "extras": dict(pipes.extras),
        "is_partition_step": pipes.is_partition_step,
    }
    if pipes.is_asset_step:
        facts["asset_keys"] = list(pipes.asset_keys)
        facts["code_version_by_asset_key"] = dict(pipes.code_version_by_asset_key)
    if pipes.is_partition_step:
        facts["partition_key"] = pipes.partition_key
        facts["partition_key_range"] = dict(pipes.partition_key_range)
        facts["partition_time_window"] = pipes.partition_time_window
    return facts


def main() -> None:
    with open_dagster_pipes() as pipes:
        assert PipesContext.get() is pipes
        pipes.log.debug("debug detail")
        pipes.log.info(f"computing {pipes.asset_key} in process {os.getpid()}")
        pipes.log.warning("1 row had a negative amount")
        print("a line on stdout", flush=True)
        rows = int(pipes.get_extra("rows")) if "rows" in pipes.extras else 3
        pipes.report_asset_materialization(
            metadata={
                "rows": rows,
                "external_pid": os.getpid(),
                "parent_pid": os.getppid(),
                "context": context_facts(pipes),
                "dashboard": {"raw_value": "https://example.com/orders", "type": "url"},
                "ratio": {"raw_value": 0.5, "type": "float"},
            },
            data_version=f"rows-{rows}",
        )
        pipes.report_custom_message({"rows": rows})


if __name__ == "__main__":
    main()
