"""``trellis job list``, ``trellis job execute`` and ``trellis job diagram``."""

from __future__ import annotations

from typing import Any

import click

from trellis.cli.config_files import load_run_config
from trellis.cli.display import make_console, simple_table
from trellis.cli.errors import CliError
from trellis.cli.help_text import examples
from trellis.cli.instance_access import open_instance
from trellis.cli.launch import config_error, config_sources, run_with_progress
from trellis.cli.loader import load_definitions
from trellis.cli.options import (
    code_options,
    config_option,
    definitions_from,
    partition_option,
    run_id_option,
    tags_option,
    target_from,
)
from trellis.cli.partition_choice import choose_partitions
from trellis.cli.suggest import unknown_name_message
from trellis.core.run import CODE_LOCATION_TAG

LIST_EXAMPLES = """\b
Examples:
  trellis job list -f definitions.py
  trellis job list -m my_project.definitions
  trellis job list     # code from pyproject.toml: [tool.trellis], [tool.dagster] or [tool.dg]
"""

EXECUTE_EXAMPLES = """\b
Examples:
  trellis job execute -f definitions.py -j sales_job
  trellis job execute -m my_project.definitions -j sales_job -c prod.yaml -c local.yaml
  trellis job execute -j sales_job --config-json '{"ops": {"load": {"config": {"limit": 10}}}}'
  trellis job execute -j daily_job --partition 2024-01-05
  trellis job execute -j daily_job --partition-range 2024-01-01...2024-01-07
  trellis job execute -j sales_job --tags '{"team": "data"}'
"""

DIAGRAM_EXAMPLES = """\b
Examples:
  trellis job diagram -f definitions.py -j sales_job
  trellis job diagram -j sales_job --format sequence
  trellis job diagram -j sales_job -o sales.svg
"""


@click.group("job")
def job_group() -> None:
    """List, execute and draw jobs."""


def user_jobs(defs: Any) -> dict[str, Any]:
    """The jobs a user defined, by name (the implicit asset job is left out)."""
    from trellis.defs.asset_job import IMPLICIT_ASSET_JOB_NAME

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
    from trellis.defs.asset_job import IMPLICIT_ASSET_JOB_NAME

    if job_name == IMPLICIT_ASSET_JOB_NAME:
        return defs.get_implicit_global_asset_job_def()
    jobs = user_jobs(defs)
    if job_name in jobs:
        return jobs[job_name]
    raise CliError(
        "The run's job is not in the loaded definitions. "
        + unknown_name_message("job", job_name, jobs)
    )


@job_group.command("list", epilog=LIST_EXAMPLES)
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


def _job_run(
    code: tuple[str | None, str | None, str | None],
    job_name: str | None,
    config_files: tuple[str, ...],
    config_json: str | None,
    tags_json: dict[str, str],
    partition: tuple[str | None, str | None],
) -> tuple[Any, Any, dict[str, Any] | None, dict[str, str]]:
    """What ``job execute`` and ``run launch`` read from their options: the job, the
    partitions chosen, the run config and the run's tags (the code location's among
    them)."""
    target = target_from(*code)
    job = find_job(load_definitions(target), job_name)
    partitions = choose_partitions(job.partitions_def, f"Job '{job.name}'", *partition)
    run_config = load_run_config(config_files, config_json)
    tags = {**tags_json, **partitions.tags, CODE_LOCATION_TAG: target.to_tag()}
    return job, partitions, run_config, tags


@job_group.command("execute", epilog=EXECUTE_EXAMPLES)
@code_options
@click.option("-j", "--job", "job_name", help="The job to run (optional when there is one).")
@config_option
@tags_option
@partition_option
@run_id_option
@click.pass_context
def execute(
    ctx: click.Context,
    python_file: str | None,
    module_name: str | None,
    attribute: str | None,
    job_name: str | None,
    config_files: tuple[str, ...],
    config_json: str | None,
    tags_json: dict[str, str],
    partition_key: str | None,
    partition_range: str | None,
    run_id: str | None,
) -> None:
    """Run a job in this process, with live progress and a summary table.

    Exits 0 when the run succeeds, 1 when it fails, 2 on bad input.
    """
    from trellis.api.execute import execute_job_in_process

    job, partitions, run_config, tags = _job_run(
        (python_file, module_name, attribute),
        job_name,
        config_files,
        config_json,
        tags_json,
        (partition_key, partition_range),
    )
    console = make_console()
    with open_instance() as instance:

        def start(on_event: Any) -> Any:
            return execute_job_in_process(
                job,
                run_config=run_config,
                instance=instance,
                partition_key=partitions.partition_key,
                raise_on_error=False,
                tags=tags,
                on_event=on_event,
                run_id=run_id,
            )

        code = run_with_progress(
            console,
            start,
            title=job.name,
            total_steps=len(job.flat_nodes),
            config_files=config_sources(config_files, config_json),
        )
    ctx.exit(code)


def diagram_options(fn: Any) -> Any:
    """``--format flowchart|sequence`` and ``-o FILE.svg`` of the ``diagram`` commands."""
    fn = click.option(
        "-o",
        "--output",
        "output",
        type=click.Path(dir_okay=False),
        help="Write a standalone SVG to this file (must end in .svg) instead of Mermaid.",
    )(fn)
    return click.option(
        "--format",
        "fmt",
        type=click.Choice(["flowchart", "sequence"]),
        default="flowchart",
        show_default=True,
        help="A Mermaid flowchart of the steps or a sequence diagram of the calls.",
    )(fn)


def check_diagram_output(output: str | None) -> None:
    """A usage error (exit 2) when ``-o`` does not name an ``.svg`` file."""
    if output is not None and not output.lower().endswith(".svg"):
        raise click.BadParameter(
            f"'{output}' must end in .svg (Mermaid goes to standard output).",
            param_hint="'-o' / '--output'",
        )


def emit_diagram(job: Any, run_config: Any, fmt: str, output: str | None) -> None:
    """Build the job's call diagram; print Mermaid, or write the SVG to ``output``."""
    from pathlib import Path

    from trellis.views.diagram import build_diagram, render_diagram

    diagram = build_diagram(job, run_config)
    if output is None:
        click.echo(render_diagram(diagram, fmt), nl=False)
        return
    Path(output).write_text(render_diagram(diagram, "svg"), encoding="utf-8")
    click.echo(f"Wrote {output} ({len(diagram.steps)} steps).", err=True)


@job_group.command("diagram", epilog=DIAGRAM_EXAMPLES)
@code_options
@click.option("-j", "--job", "job_name", help="The job to draw (optional when there is one).")
@config_option
@diagram_options
def diagram(
    python_file: str | None,
    module_name: str | None,
    attribute: str | None,
    job_name: str | None,
    config_files: tuple[str, ...],
    config_json: str | None,
    fmt: str,
    output: str | None,
) -> None:
    """The static call diagram of a job: steps in plan order, their inputs, outputs, IO
    managers, resources and the contexts each call receives. Runs no user code.

    Mermaid on standard output; with -o FILE.svg a standalone SVG file instead.
    """
    check_diagram_output(output)
    defs = definitions_from(python_file, module_name, attribute)
    job = find_job(defs, job_name)
    emit_diagram(job, load_run_config(config_files, config_json), fmt, output)


@click.command(
    "launch",
    epilog=examples(
        "trellis run launch -f defs.py -j daily_job",
        'trellis run launch -f defs.py -j daily_job -c prod.yaml --tags \'{"team": "bi"}\'',
    ),
)
@code_options
@click.option("-j", "--job", "job_name", help="The job to run (optional when there is one).")
@config_option
@tags_option
@partition_option
def launch(
    python_file: str | None,
    module_name: str | None,
    attribute: str | None,
    job_name: str | None,
    config_files: tuple[str, ...],
    config_json: str | None,
    tags_json: dict[str, str],
    partition_key: str | None,
    partition_range: str | None,
) -> None:
    """Put a run of a job in the run queue (status QUEUED); the daemon starts it within
    the queue's limits. The run config is checked now."""
    from trellis.core.errors import InvalidConfigError
    from trellis.core.run import Run, new_run_id
    from trellis.plan.plan import build_execution_plan

    job, _, run_config, tags = _job_run(
        (python_file, module_name, attribute),
        job_name,
        config_files,
        config_json,
        tags_json,
        (partition_key, partition_range),
    )
    try:
        build_execution_plan(job, run_config)
    except InvalidConfigError as exc:
        raise config_error(exc, config_sources(config_files, config_json)) from exc
    with open_instance() as instance:
        run = instance.submit_run(Run(new_run_id(), job.name, run_config=run_config, tags=tags))
    make_console().print(
        f"Queued run {run.run_id} of '{job.name}'. The daemon (trellis daemon) starts it; "
        f"see: trellis run list --status queued"
    )
