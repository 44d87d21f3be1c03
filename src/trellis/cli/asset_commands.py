"""``trellis asset list | materialize | observe | check | diagram | wipe | automation``
(``trellis asset freshness`` is in ``freshness_command.py``)."""

from __future__ import annotations

from typing import Any

import click

from trellis.cli.config_files import load_run_config
from trellis.cli.display import make_console, simple_table
from trellis.cli.errors import CliError
from trellis.cli.instance_access import open_instance
from trellis.cli.job_commands import check_diagram_output, diagram_options, emit_diagram
from trellis.cli.launch import config_sources, run_with_progress
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
from trellis.cli.partition_choice import choose_partitions, selection_partitions_def
from trellis.cli.selection import SELECT_HELP, code_location_names, selected_asset_job
from trellis.core.run import CODE_LOCATION_TAG

LIST_EXAMPLES = """\\b
Examples:
  trellis asset list -f definitions.py
  trellis asset list -m my_project.definitions
  trellis asset list          # code from pyproject.toml
"""

MATERIALIZE_EXAMPLES = """\\b
Examples:
  trellis asset materialize -f definitions.py --select '*'
  trellis asset materialize --select 'orders,revenue'
  trellis asset materialize --select 'orders+'          # orders and what is downstream
  trellis asset materialize --select 'group:sales' -c prod.yaml
  trellis asset materialize --select 'group:sales and not kind:dbt'
  trellis asset materialize --select daily_visits --partition 2024-01-05
  trellis asset materialize --select daily_visits --partition-range 2024-01-01...2024-01-07
  trellis asset materialize --select orders --config-json '{"ops": {"orders": {"config": {}}}}'
"""

CHECK_EXAMPLES = """\\b
Examples:
  trellis asset check -f definitions.py --select orders
  trellis asset check --select 'group:sales'      # every check of those assets
  trellis asset check --select '*'
"""

OBSERVE_EXAMPLES = """\\b
Examples:
  trellis asset observe -f definitions.py --select raw_orders
  trellis asset observe --select '*'     # every observable source asset
"""

DIAGRAM_EXAMPLES = """\\b
Examples:
  trellis asset diagram -f definitions.py --select '*'
  trellis asset diagram --select '+revenue' -o revenue.svg
"""

WIPE_EXAMPLES = """\\b
Examples:
  trellis asset wipe orders              # asks you to type DELETE
  trellis asset wipe warehouse/orders revenue --yes
  trellis asset wipe --all --yes
"""


@click.group("asset")
def asset_group() -> None:
    """List, materialize, check, draw and wipe assets; show their automation evaluations."""


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


@asset_group.command("list", epilog=LIST_EXAMPLES)
@code_options
def list_assets(python_file: str | None, module_name: str | None, attribute: str | None) -> None:
    """Every asset: key, group, kinds, upstream dependencies, the op that makes it, and
    its status from the events in the instance: never materialized, fresh, or stale
    (with the cause: a new code version, an upstream's new data version, a stale
    upstream), its data version; external assets are observed or never observed. With
    asset checks, the status of each check from its latest evaluation (passed, failed,
    warned, or never run). With freshness policies, each asset's freshness state (PASS,
    WARN, FAIL, UNKNOWN; see ``trellis asset freshness``)."""
    from trellis.cli.asset_status import status_columns

    defs = definitions_from(python_file, module_name, attribute)
    graph = defs.asset_graph
    keys = sorted(graph.all_keys)
    rows: list[tuple[Any, ...]] = list(_asset_rows(defs))
    columns: tuple[str, ...] = ("KEY", "GROUP", "KINDS", "DEPS", "OP")
    with open_instance() as instance:
        statuses = status_columns(graph, instance)
        rows = [(*row, *statuses[key]) for row, key in zip(rows, keys, strict=True)]
        columns = (*columns, "STATUS", "DATA VERSION", "CAUSE")
        if graph.check_specs:
            from trellis.cli.check_display import check_status_by_asset, checks_cell

            by_asset = check_status_by_asset(graph, instance)
            rows = [
                (*row, checks_cell(by_asset.get(key, [])))
                for row, key in zip(rows, keys, strict=True)
            ]
            columns = (*columns, "CHECKS")
        from trellis.instance.freshness import freshness_by_key

        fresh = freshness_by_key(instance, graph)
        if fresh:
            from trellis.cli.freshness_command import freshness_cells

            cells = freshness_cells(fresh, keys)
            rows = [(*row, cell) for row, cell in zip(rows, cells, strict=True)]
            columns = (*columns, "FRESHNESS")
    title = f"{len(rows)} asset{'' if len(rows) == 1 else 's'}"
    make_console().print(simple_table(title, columns, rows))


@asset_group.command("materialize", epilog=MATERIALIZE_EXAMPLES)
@code_options
@click.option("--select", "select", required=True, help=SELECT_HELP)
@config_option
@partition_option
@tags_option
@run_id_option
@click.pass_context
def materialize(
    ctx: click.Context,
    python_file: str | None,
    module_name: str | None,
    attribute: str | None,
    select: str,
    config_files: tuple[str, ...],
    config_json: str | None,
    partition_key: str | None,
    partition_range: str | None,
    tags_json: dict[str, str],
    run_id: str | None,
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
    subset, keys = selected_asset_job(defs, select, target)
    partitions_def = selection_partitions_def(graph, keys)
    partitioned = sorted(k.to_user_string() for k in keys if graph.producer[k].partitions_def)
    what = (
        f"Asset '{partitioned[0]}' (selected by --select '{select}')"
        if partitioned
        else f"The selection '{select}'"
    )
    partitions = choose_partitions(partitions_def, what, partition_key, partition_range)
    run_config = load_run_config(config_files, config_json)
    tags = {**tags_json, **partitions.tags, CODE_LOCATION_TAG: target.to_tag()}
    job = defs.get_implicit_global_asset_job_def()
    total = len(subset.flat_nodes)  # the assets' steps and their checks' steps
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
                asset_selection=sorted(keys),
                on_event=on_event,
                run_id=run_id,
            )

        label = f"{len(keys)} asset{'' if len(keys) == 1 else 's'}"
        sources = config_sources(config_files, config_json)
        code = run_with_progress(
            console, start, title=label, total_steps=total, config_files=sources
        )
    ctx.exit(code)


@asset_group.command("observe", epilog=OBSERVE_EXAMPLES)
@code_options
@click.option("--select", "select", required=True, help=SELECT_HELP)
@config_option
@tags_option
@click.pass_context
def observe(
    ctx: click.Context,
    python_file: str | None,
    module_name: str | None,
    attribute: str | None,
    select: str,
    config_files: tuple[str, ...],
    config_json: str | None,
    tags_json: dict[str, str],
) -> None:
    """Observe the selected observable source assets: run their observe functions and
    record each data version (an ASSET_OBSERVATION event). Assets downstream of one
    whose version changed become stale in `trellis asset list`.

    Exits 0 when the run succeeds, 1 when it fails, 2 on bad input.
    """
    from trellis.cli.selection import parse_selection

    target = target_from(python_file, module_name, attribute)
    defs = load_definitions(target)
    graph = defs.asset_graph
    if select.strip() == "*":  # every observable source asset
        keys = sorted(graph.observable_keys)
    else:
        chosen = parse_selection(select, graph, code_location_names(target))
        keys = sorted(chosen.resolve(graph) & graph.observable_keys)
    if not keys:
        known = sorted(k.to_user_string() for k in graph.observable_keys)
        raise CliError(
            f"--select '{select}' selects no observable source asset"
            + (f"; these can be observed: {', '.join(known)}." if known else "; there are none.")
        )
    label = f"{len(keys)} observable asset{'' if len(keys) == 1 else 's'}"
    code = _run_implicit_job(
        defs,
        target,
        make_console(),
        label,
        len(keys),
        config_files,
        config_json,
        tags_json,
        asset_selection=keys,
    )
    ctx.exit(code)


@asset_group.command("check", epilog=CHECK_EXAMPLES)
@code_options
@click.option("--select", "select", required=True, help=SELECT_HELP)
@config_option
@tags_option
@click.pass_context
def check(
    ctx: click.Context,
    python_file: str | None,
    module_name: str | None,
    attribute: str | None,
    select: str,
    config_files: tuple[str, ...],
    config_json: str | None,
    tags_json: dict[str, str],
) -> None:
    """Evaluate the asset checks of the selected assets, without materializing them: each
    check runs against its asset's latest stored materialization (loaded through the
    asset's IO manager when the check reads it).

    Exits 0 when the run succeeds, 1 when it fails (a check raised, or a blocking check
    failed), 2 on bad input. A check that fails without blocking is reported, and the run
    still succeeds.
    """
    from trellis.cli.selection import parse_selection

    target = target_from(python_file, module_name, attribute)
    defs = load_definitions(target)
    graph = defs.asset_graph
    assets = parse_selection(select, graph, code_location_names(target)).resolve(graph)
    selected = sorted(k for k in graph.check_specs if k.asset_key in assets)
    if not selected:
        raise CliError(f"--select '{select}' selects no asset that has asset checks.")
    # A check in the check_specs of an asset that cannot be subset runs only with it.
    checks = [k for k in selected if _runs_alone(graph.check_owner[k])]
    console = make_console()
    left_out = sorted({k.asset_key.to_user_string() for k in selected if k not in checks})
    if left_out:
        note = (
            f"The checks of {', '.join(left_out)} run in the step that materializes it "
            "(check_specs), so they run with `trellis asset materialize`, not alone."
        )
        if not checks:
            raise CliError(note)
        console.print(note, style="yellow", markup=False)
    steps = {graph.check_owner[k].node_name for k in checks}
    label = f"{len(checks)} asset check{'' if len(checks) == 1 else 's'}"
    code = _run_implicit_job(
        defs,
        target,
        console,
        label,
        len(steps),
        config_files,
        config_json,
        tags_json,
        asset_selection=[],
        asset_check_selection=checks,
    )
    ctx.exit(code)


def _run_implicit_job(
    defs: Any,
    target: Any,
    console: Any,
    label: str,
    total_steps: int,
    config_files: tuple[str, ...],
    config_json: str | None,
    tags_json: dict[str, str],
    **selection: Any,
) -> int:
    """Run a subset of the implicit asset job (``selection``: ``asset_selection`` and
    ``asset_check_selection``) in this process with live progress; its exit code."""
    from trellis.api.execute import execute_job_in_process

    run_config = load_run_config(config_files, config_json)
    tags = {**tags_json, CODE_LOCATION_TAG: target.to_tag()}
    job = defs.get_implicit_global_asset_job_def()
    with open_instance() as instance:

        def start(on_event: Any) -> Any:
            return execute_job_in_process(
                job,
                run_config=run_config,
                instance=instance,
                raise_on_error=False,
                tags=tags,
                on_event=on_event,
                **selection,
            )

        sources = config_sources(config_files, config_json)
        code: int = run_with_progress(
            console, start, title=label, total_steps=total_steps, config_files=sources
        )
    return code


def _runs_alone(owner: Any) -> bool:
    """Whether a check's definition can run it without materializing anything: an
    ``@asset_check``, or a multi-asset that can be subset."""
    from trellis.defs.asset import AssetsDefinition

    return not isinstance(owner, AssetsDefinition) or owner.can_subset


@asset_group.command("diagram", epilog=DIAGRAM_EXAMPLES)
@code_options
@click.option("--select", "select", required=True, help=SELECT_HELP)
@config_option
@diagram_options
def diagram(
    python_file: str | None,
    module_name: str | None,
    attribute: str | None,
    select: str,
    config_files: tuple[str, ...],
    config_json: str | None,
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
    emit_diagram(job, load_run_config(config_files, config_json), fmt, output)


def parse_key(text: str) -> Any:
    """An asset key given on the command line: 'a/b', or a JSON list of parts."""
    import json

    from trellis.core.asset_key import AssetKey

    if text.startswith("["):
        try:
            parts = json.loads(text)
        except json.JSONDecodeError:
            parts = None
        if not isinstance(parts, list) or not all(isinstance(p, str) for p in parts):
            raise click.BadParameter(f"{text!r} is not a JSON list of strings.")
        return AssetKey(parts)
    return AssetKey.from_user_string(text)


@asset_group.command("wipe", epilog=WIPE_EXAMPLES)
@click.argument("keys", nargs=-1)
@click.option("--all", "wipe_all", is_flag=True, help="Wipe the history of every asset.")
@click.option("--yes", "--noprompt", "yes", is_flag=True, help="Do not ask for confirmation.")
def wipe(keys: tuple[str, ...], wipe_all: bool, yes: bool) -> None:
    """Delete the materialization history of assets from the instance (cannot be undone).

    KEYS are asset keys as 'a/b' (or a JSON list, '["a", "b"]'). The assets leave the
    asset index, and their stored values are no longer found through it; runs and their
    event logs stay (delete runs with `trellis run delete`). Needs no code.
    """
    if wipe_all == bool(keys):
        raise click.UsageError("Give asset KEYS or --all (one of them).")
    with open_instance() as instance:
        known = instance.get_asset_keys()
        if wipe_all:
            targets = known
        else:
            from trellis.cli.suggest import did_you_mean

            targets = [parse_key(k) for k in keys]
            unknown = [t for t in targets if t not in known]
            if unknown:
                names = [k.to_user_string() for k in known]
                first = unknown[0].to_user_string()
                raise CliError(
                    f"Asset '{first}' has no materialization history in this instance."
                    f"{did_you_mean(first, names)}"
                )
        if not targets:
            click.echo("No asset has a materialization history; nothing to wipe.")
            return
        listing = ", ".join(k.to_user_string() for k in targets)
        if not yes:
            answer = click.prompt(
                f"Wipe the materialization history of {len(targets)} asset(s) ({listing})? "
                "Type DELETE to confirm",
                default="",
                show_default=False,
            )
            if answer != "DELETE":
                click.echo("Nothing wiped.")
                return
        wiped = instance.wipe_assets(targets)
    click.echo(f"Wiped the materialization history of {len(wiped)} asset(s): {listing}.")


AUTOMATION_EXAMPLES = """\\b
Examples:
  trellis asset automation orders                # the latest evaluation, as a tree
  trellis asset automation warehouse/orders --history 5
  trellis asset automation orders --json
"""


@asset_group.command("automation", epilog=AUTOMATION_EXAMPLES)
@click.argument("key")
@click.option(
    "--history",
    "history",
    type=click.IntRange(min=1),
    default=1,
    show_default=True,
    help="How many of the latest recorded evaluations to show, newest first.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the records as JSON lines.")
def automation(key: str, history: int, as_json: bool) -> None:
    """The latest automation evaluations of an asset: its condition tree, which parts
    were true (for a partitioned asset, for which partitions) and what was requested.

    KEY is an asset key as 'a/b' (or a JSON list). An evaluation identical to the one
    before it is not recorded again, so the latest record is the current state since
    its time. Needs no code.
    """
    import json

    from trellis.views.automation_tree import render_evaluation

    asset_key = parse_key(key)
    with open_instance() as instance:
        records = instance.get_automation_evaluations(asset_key, limit=history)
    if not records:
        click.echo(
            f"No automation evaluation of '{asset_key.to_user_string()}' is recorded in this "
            "instance (the daemon records them when an automation sensor evaluates it)."
        )
        return
    for i, record in enumerate(records):
        if as_json:
            click.echo(
                json.dumps(
                    {
                        "asset_key": record.asset_key.to_user_string(),
                        "evaluation_id": record.evaluation_id,
                        "timestamp": record.timestamp,
                        "num_requested": record.num_requested,
                        **record.body,
                    }
                )
            )
            continue
        if i:
            click.echo("")
        click.echo("\n".join(render_evaluation(record)))
