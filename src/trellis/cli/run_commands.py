"""``trellis run list | show | logs | trace | reexecute | delete``."""

from __future__ import annotations

import sys
import time
from typing import Any

import click

from trellis.cli.check_display import run_checks_table
from trellis.cli.display import (
    fields_table,
    hooks_table,
    make_console,
    mapped_table,
    materializations_table,
    run_fields,
    runs_table,
    steps_table,
)
from trellis.cli.errors import EXIT_BAD_INPUT, CliError
from trellis.cli.help_text import examples
from trellis.cli.instance_access import open_instance, resolve_run
from trellis.cli.launch import config_sources, run_with_progress
from trellis.cli.options import (
    code_options,
    config_option,
    new_run_id_option,
    parse_age,
    tags_option,
    target_from,
)
from trellis.cli.step_summary import hook_runs, run_errors, summarize_mapped, summarize_steps
from trellis.core.events import EventType
from trellis.core.run import RunStatus

_STATUS_CHOICE = click.Choice([s.value for s in RunStatus], case_sensitive=False)


@click.group("run")
def run_group() -> None:
    """Inspect, re-execute and delete recorded runs."""


@run_group.command(
    "list",
    epilog=examples(
        "trellis run list",
        "trellis run list --status FAILURE --job sales_job --limit 10",
        "trellis run list --tag dagster/backfill=qwertyui",
    ),
)
@click.option("--status", "statuses", multiple=True, type=_STATUS_CHOICE, help="Repeatable.")
@click.option("--job", "job_name", help="Only runs of this job.")
@click.option("--tag", "tag_pairs", multiple=True, help="Only runs with tag KEY=VALUE; repeatable.")
@click.option(
    "--limit",
    default=25,
    show_default=True,
    type=click.IntRange(min=0),
    help="At most this many runs, newest first (0: all).",
)
def list_runs(
    statuses: tuple[str, ...], job_name: str | None, tag_pairs: tuple[str, ...], limit: int
) -> None:
    """Recorded runs, newest first."""
    status_filter = [RunStatus(s.upper()) for s in statuses] or None
    tags: dict[str, str] = {}
    for pair in tag_pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise click.BadParameter(f"'{pair}' is not KEY=VALUE.", param_hint="'--tag'")
        tags[key] = value
    with open_instance() as instance:
        runs = instance.get_runs(
            statuses=status_filter, job_name=job_name, tags=tags or None, limit=limit or None
        )
    make_console().print(runs_table(runs))


@run_group.command("show", epilog=examples("trellis run show 4df62152"))
@click.argument("run_id")
def show_run(run_id: str) -> None:
    """A run's fields, its steps (status, attempts, duration), materializations, hooks and
    asset check evaluations.

    RUN_ID may be a unique prefix of the id.
    """
    console = make_console()
    with open_instance() as instance:
        run = resolve_run(instance, run_id)
        events = instance.all_logs(run.run_id)
    console.print(fields_table(run_fields(run)))
    steps = summarize_steps(events, run_finished=run.is_finished)
    console.print(steps_table(steps))
    mapped = summarize_mapped(steps)
    if mapped:  # nodes run once per item of a dynamic output
        console.print(mapped_table(mapped))
    console.print(materializations_table(events))
    if any(e.event_type is EventType.ASSET_OBSERVATION for e in events):
        console.print(materializations_table(events, "Observations", observations=True))
    hooks = hook_runs(events)
    if hooks:
        console.print(hooks_table(hooks))
    checks = run_checks_table(events)
    if checks is not None:
        console.print(checks)
    for where, text in run_errors(events):
        console.print(f"\nError in {where}:", style="red", markup=False)
        console.print(text, markup=False, highlight=False)


@run_group.command(
    "logs",
    epilog=examples("trellis run logs 4df62152", "trellis run logs 4df62152 --follow"),
)
@click.argument("run_id")
@click.option("--follow", "-F", is_flag=True, help="Keep printing new events until the run ends.")
@click.option("--poll-interval", default=0.5, hidden=True, type=float)
def run_logs(run_id: str, follow: bool, poll_interval: float) -> None:
    """Print a run's events, one line each (failures with their traceback)."""
    from trellis.views.console import ConsoleLogger

    logger = ConsoleLogger(stream=sys.stdout)
    with open_instance() as instance:
        run = resolve_run(instance, run_id)
        cursor = -1
        try:
            while True:
                finished = instance.get_run(run.run_id).is_finished if follow else True
                for record in instance.get_records(run.run_id, after_cursor=cursor):
                    click.echo(logger.format(record.event))
                    cursor = record.storage_id
                if finished:
                    break
                time.sleep(poll_interval)
        except KeyboardInterrupt:
            pass


@run_group.command(
    "trace",
    epilog=examples(
        "trellis run trace 4df62152 --step revenue_by_region",
        "trellis run trace 4df62152 --only-errors",
        "trellis run trace 4df62152 --format mermaid",
    ),
)
@click.argument("run_id")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "json", "mermaid"]),
    default="text",
    show_default=True,
    help="A terminal tree, JSON (documented schema) or a Mermaid sequence diagram.",
)
@click.option("--step", "step", help="Only this step (key or op name).")
@click.option("--only-errors", is_flag=True, help="Only failures, retries and their ancestors.")
@click.option("--depth", type=click.IntRange(min=0), help="At most N levels below the run.")
def run_trace(
    run_id: str, fmt: str, step: str | None, only_errors: bool, depth: int | None
) -> None:
    """A run's trace: contexts created, resource and IO manager calls, logs, retries and
    failures, each with its start offset, duration, process and thread.

    RUN_ID may be a unique prefix of the id.
    """
    from trellis.views.trace import build_trace
    from trellis.views.trace_render import render_trace

    with open_instance() as instance:
        run = resolve_run(instance, run_id)
        events = instance.all_logs(run.run_id)
    tree = build_trace(events, run)
    click.echo(render_trace(tree, fmt, step=step, only_errors=only_errors, depth=depth), nl=False)


REEXECUTE_EXAMPLES = """\b
Examples:
  trellis run reexecute 4df62152                  # the code the run was started from
  trellis run reexecute 4df62152 --from-failure
  trellis run reexecute 4df62152 --step revenue_by_region
  trellis run reexecute 4df62152 -f definitions.py -c fixed.yaml
"""


def _reexecution_target(
    parent: Any, python_file: str | None, module_name: str | None, attribute: str | None
) -> Any:
    """-f/-m when given, else the code location the run recorded, else pyproject.toml."""
    from dataclasses import replace

    from trellis.cli.code_target import CodeTarget
    from trellis.core.run import CODE_LOCATION_TAG

    recorded = parent.tags.get(CODE_LOCATION_TAG)
    if python_file or module_name or not recorded:
        return target_from(python_file, module_name, attribute)
    target = CodeTarget.from_tag(recorded, parent.run_id)
    return replace(target, attribute=attribute) if attribute else target


@run_group.command("reexecute", epilog=REEXECUTE_EXAMPLES)
@click.argument("run_id")
@code_options
@click.option("--from-failure", is_flag=True, help="Only the failed and skipped steps.")
@click.option("--step", "steps", multiple=True, help="A step key to run again (repeatable).")
@config_option
@tags_option
@new_run_id_option
@click.pass_context
def reexecute(
    ctx: click.Context,
    run_id: str,
    python_file: str | None,
    module_name: str | None,
    attribute: str | None,
    from_failure: bool,
    steps: tuple[str, ...],
    config_files: tuple[str, ...],
    config_json: str | None,
    tags_json: dict[str, str],
    new_run_id: str | None,
) -> None:
    """Run a recorded run again as a new run that records its parent: all of it, only what
    failed (--from-failure), or the chosen steps (--step).

    The code is loaded from -f/-m when given, else from where the run's own code was
    loaded (recorded on runs started by `trellis job execute` / `asset materialize`).
    Exits 0 when the new run succeeds, 1 when it fails, 2 on bad input.
    """
    from trellis.api.reexecution import reexecute_run
    from trellis.cli.config_files import load_run_config
    from trellis.cli.job_commands import find_job_for_run
    from trellis.cli.loader import load_definitions

    if from_failure and steps:
        raise CliError("Pass --from-failure or --step, not both.")
    run_config = load_run_config(config_files, config_json)
    with open_instance() as instance:
        parent = resolve_run(instance, run_id)
        defs = load_definitions(_reexecution_target(parent, python_file, module_name, attribute))
        job = find_job_for_run(defs, parent.job_name)

        def start(on_event: Any) -> Any:
            return reexecute_run(
                job,
                parent.run_id,
                instance=instance,
                from_failure=from_failure,
                step_selection=list(steps) or None,
                run_config=run_config,
                tags=tags_json or None,
                raise_on_error=False,
                on_event=on_event,
                run_id=new_run_id,
            )

        title = f"re-execute {parent.run_id[:8]}"
        code = run_with_progress(
            console=make_console(),
            start=start,
            title=title,
            total_steps=None,
            config_files=config_sources(config_files, config_json),
        )
    ctx.exit(code)


@run_group.command(
    "delete",
    epilog=examples("trellis run delete 4df62152", "trellis run delete --older-than 30d"),
)
@click.argument("run_id", required=False)
@click.option(
    "--older-than",
    "older_than",
    help="Delete every finished run older than this age (30d, 12h, 90m, 2w).",
)
@click.pass_context
def delete(ctx: click.Context, run_id: str | None, older_than: str | None) -> None:
    """Delete one run (and its events), or every run older than an age."""
    if bool(run_id) == bool(older_than):
        raise click.UsageError("Give a RUN_ID or --older-than AGE (one of them).")
    with open_instance() as instance:
        if older_than:
            seconds = parse_age(older_than)
            count = instance.delete_runs_older_than(seconds)
            click.echo(f"Deleted {count} run{'' if count == 1 else 's'} older than {older_than}.")
            return
        assert run_id is not None  # exactly one of RUN_ID and --older-than (checked above)
        run = resolve_run(instance, run_id)
        if not run.is_finished:
            click.echo(f"Run {run.run_id} is {run.status}; it cannot be deleted yet.", err=True)
            ctx.exit(EXIT_BAD_INPUT)
        instance.delete_run(run.run_id)
    click.echo(f"Deleted run {run.run_id}.")


@run_group.command("cancel", epilog=examples("trellis run cancel 4df62152"))
@click.argument("run_id")
@click.pass_context
def cancel(ctx: click.Context, run_id: str) -> None:
    """Ask a running run to stop: no new steps start, running ones are terminated,
    resources are torn down, and the run ends CANCELED.

    Asking again while the run is being canceled is not an error (exit 0); a run that
    has ended exits 2. A run whose process died while it was being canceled is found
    (by the look this command takes) and ended CANCELED.
    """
    with open_instance() as instance:
        run = resolve_run(instance, run_id)
        was_canceling = run.status is RunStatus.CANCELING
        if not instance.request_cancel(run.run_id):
            click.echo(
                f"Run {run.run_id} is {run.status}; only a running run can be canceled.", err=True
            )
            ctx.exit(EXIT_BAD_INPUT)
    if was_canceling:
        click.echo(f"Cancellation of run {run.run_id} was already requested.")
    else:
        click.echo(f"Cancellation of run {run.run_id} requested.")
