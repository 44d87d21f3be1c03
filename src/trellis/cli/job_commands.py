"""``trellis job list`` and ``trellis job execute``."""

from __future__ import annotations

from typing import Any

import click

from trellis.cli.config_files import load_run_config
from trellis.cli.display import make_console, simple_table
from trellis.cli.errors import CliError
from trellis.cli.instance_access import open_instance
from trellis.cli.launch import run_with_progress
from trellis.cli.options import (
    code_options,
    config_option,
    definitions_from,
    partition_option,
    tags_option,
)
from trellis.cli.suggest import unknown_name_message


@click.group("job")
def job_group() -> None:
    """List and execute jobs."""


def user_jobs(defs: Any) -> dict[str, Any]:
    """The jobs a user defined, by name (the implicit asset job is left out)."""
    from trellis.definitions.asset_job import IMPLICIT_ASSET_JOB_NAME

    return {j.name: j for j in defs.jobs if j.name != IMPLICIT_ASSET_JOB_NAME}


def find_job(defs: Any, name: str | None) -> Any:
    """The job called ``name`` (or the only job when no name is given); an unknown name is
    a ``CliError`` with did-you-mean suggestions."""
    jobs = user_jobs(defs)
    if name is None:
        if len(jobs) == 1:
            return next(iter(jobs.values()))
        listing = ", ".join(sorted(jobs)) or "none"
        raise CliError(f"Choose a job with -j/--job. Jobs: {listing}.")
    if name in jobs:
        return jobs[name]
    raise CliError(unknown_name_message("job", name, jobs))


def find_job_for_run(defs: Any, job_name: str) -> Any:
    """The job a recorded run ran (the implicit asset job for ``asset materialize`` runs);
    ``CliError`` when the loaded definitions no longer have it."""
    from trellis.definitions.asset_job import IMPLICIT_ASSET_JOB_NAME

    if job_name == IMPLICIT_ASSET_JOB_NAME:
        return defs.get_implicit_global_asset_job_def()
    jobs = user_jobs(defs)
    if job_name in jobs:
        return jobs[job_name]
    raise CliError(
        "The run's job is not in the loaded definitions. "
        + unknown_name_message("job", job_name, jobs)
    )


@job_group.command("list")
@code_options
def list_jobs(python_file: str | None, module_name: str | None, attribute: str | None) -> None:
    """Every job: name, kind (assets or ops), number of steps, partitions, description."""
    defs = definitions_from(python_file, module_name, attribute)
    rows = []
    for name, job in sorted(user_jobs(defs).items()):
        kind = "assets" if job.asset_graph is not None else "ops"
        partitions = type(job.partitions_def).__name__ if job.partitions_def else "-"
        description = (job.description or "").strip().splitlines()
        rows.append(
            (name, kind, len(job.flat_nodes), partitions, description[0] if description else "-")
        )
    title = f"{len(rows)} job{'' if len(rows) == 1 else 's'}"
    columns = ("NAME", "KIND", "STEPS", "PARTITIONS", "DESCRIPTION")
    make_console().print(simple_table(title, columns, rows))


@job_group.command("execute")
@code_options
@click.option("-j", "--job", "job_name", help="The job to run (optional when there is one).")
@config_option
@tags_option
@partition_option
@click.pass_context
def execute(
    ctx: click.Context,
    python_file: str | None,
    module_name: str | None,
    attribute: str | None,
    job_name: str | None,
    config_files: tuple[str, ...],
    tags_json: dict[str, str],
    partition_key: str | None,
) -> None:
    """Run a job in this process, with live progress and a summary table.

    Exits 0 when the run succeeds, 1 when it fails, 2 on bad input.
    """
    from trellis.execution.api import execute_job_in_process

    defs = definitions_from(python_file, module_name, attribute)
    job = find_job(defs, job_name)
    run_config = load_run_config(config_files)
    console = make_console()
    with open_instance() as instance:

        def start(on_event: Any) -> Any:
            return execute_job_in_process(
                job,
                run_config=run_config,
                instance=instance,
                partition_key=partition_key,
                raise_on_error=False,
                tags=tags_json,
                on_event=on_event,
            )

        code = run_with_progress(
            console,
            start,
            title=job.name,
            total_steps=len(job.flat_nodes),
            config_files=config_files,
        )
    ctx.exit(code)
