"""``trellis asset list``, ``trellis asset materialize`` and ``trellis asset diagram``."""

from __future__ import annotations

from typing import Any

import click

from trellis.cli.config_files import load_run_config
from trellis.cli.display import make_console, simple_table
from trellis.cli.instance_access import open_instance
from trellis.cli.job_commands import check_diagram_output, diagram_options, emit_diagram
from trellis.cli.launch import run_with_progress
from trellis.cli.loader import load_definitions
from trellis.cli.options import (
    code_options,
    config_option,
    definitions_from,
    partition_option,
    tags_option,
    target_from,
)
from trellis.cli.selection import SELECT_HELP, selected_asset_job


@click.group("asset")
def asset_group() -> None:
    """List, materialize and draw assets."""


def _asset_rows(defs: Any) -> list[tuple[str, str, str, str, str]]:
    graph = defs.asset_graph
    rows = []
    for key in sorted(graph.all_keys):
        producer = graph.producer.get(key)
        spec = producer.specs_by_key[key] if producer is not None else graph.external_specs[key]
        kinds = ", ".join(sorted(getattr(spec, "kinds", ()) or ())) or "-"
        deps = ", ".join(sorted(k.to_user_string() for k in graph.upstream.get(key, ()))) or "-"
        origin = producer.node_name if producer is not None else "(external)"
        rows.append((key.to_user_string(), graph.group_of(key), kinds, deps, origin))
    return rows


@asset_group.command("list")
@code_options
def list_assets(python_file: str | None, module_name: str | None, attribute: str | None) -> None:
    """Every asset: key, group, kinds, upstream dependencies, and the op that makes it."""
    defs = definitions_from(python_file, module_name, attribute)
    rows = _asset_rows(defs)
    title = f"{len(rows)} asset{'' if len(rows) == 1 else 's'}"
    make_console().print(simple_table(title, ("KEY", "GROUP", "KINDS", "DEPS", "OP"), rows))


@asset_group.command("materialize")
@code_options
@click.option(
    "--select",
    "select",
    required=True,
    help=SELECT_HELP,
)
@config_option
@partition_option
@tags_option
@click.pass_context
def materialize(
    ctx: click.Context,
    python_file: str | None,
    module_name: str | None,
    attribute: str | None,
    select: str,
    config_files: tuple[str, ...],
    partition_key: str | None,
    tags_json: dict[str, str],
) -> None:
    """Materialize the selected assets in this process, with live progress.

    Exits 0 when the run succeeds, 1 when it fails, 2 on bad input.
    """
    from trellis.api.execute import execute_job_in_process

    target = target_from(python_file, module_name, attribute)
    defs = load_definitions(target)
    graph = defs.asset_graph
    # The subset is built first: a selection over several partitions definitions is
    # refused before any run starts.
    _subset, keys = selected_asset_job(defs, select, target)
    run_config = load_run_config(config_files)
    job = defs.get_implicit_global_asset_job_def()
    total = len({graph.producer[k].node_name for k in keys})
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
                asset_selection=sorted(keys),
                on_event=on_event,
            )

        label = f"{len(keys)} asset{'' if len(keys) == 1 else 's'}"
        code = run_with_progress(
            console, start, title=label, total_steps=total, config_files=config_files
        )
    ctx.exit(code)


@asset_group.command("diagram")
@code_options
@click.option(
    "--select",
    "select",
    required=True,
    help=SELECT_HELP,
)
@config_option
@diagram_options
def diagram(
    python_file: str | None,
    module_name: str | None,
    attribute: str | None,
    select: str,
    config_files: tuple[str, ...],
    fmt: str,
    output: str | None,
) -> None:
    """The static call diagram of materializing the selected assets (the implicit asset
    job's subset, as ``asset materialize`` runs it). Runs no user code.

    Mermaid on standard output; with -o FILE.svg a standalone SVG file instead.
    """
    check_diagram_output(output)
    target = target_from(python_file, module_name, attribute)
    job, _keys = selected_asset_job(load_definitions(target), select, target)
    emit_diagram(job, load_run_config(config_files), fmt, output)
