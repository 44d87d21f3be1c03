"""``trellis asset backfill`` (store a backfill for the daemon to launch) and ``trellis
backfill list | show | cancel | retry``."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import click

from trellis.cli.asset_commands import asset_group
from trellis.cli.display import make_console, simple_table
from trellis.cli.help_text import examples
from trellis.cli.instance_access import open_instance
from trellis.cli.options import code_options, tags_option, target_from
from trellis.cli.selection import SELECT_HELP, code_location_names, selected_keys

BACKFILL_EXAMPLES = """\\b
Examples:
  trellis asset backfill --select daily_sales --from 2024-01-01 --to 2024-06-30
  trellis asset backfill --select 'daily_sales+' --partitions 2024-01-05,2024-01-09
  trellis asset backfill -f definitions.py --select 'group:sales' --all
"""


def _when(timestamp: float | None) -> str:
    if timestamp is None:
        return "-"
    return datetime.fromtimestamp(timestamp, UTC).strftime("%Y-%m-%d %H:%M:%S")


def _counts(record: Any) -> str:
    order = ("materialized", "in_progress", "pending", "failed", "canceled")
    return ", ".join(f"{record.counts[k]} {k}" for k in order if record.counts.get(k))


@asset_group.command("backfill", epilog=BACKFILL_EXAMPLES)
@code_options
@click.option("--select", "select", required=True, help=SELECT_HELP)
@click.option("--from", "start", help="The first partition key of the range.")
@click.option("--to", "end", help="The last partition key of the range (included).")
@click.option("--partitions", "keys", help="Partition keys, separated by commas.")
@click.option("--all", "all_partitions", is_flag=True, help="Every partition.")
@tags_option
def backfill(
    python_file: str | None,
    module_name: str | None,
    attribute: str | None,
    select: str,
    start: str | None,
    end: str | None,
    keys: str | None,
    all_partitions: bool,
    tags_json: dict[str, str],
) -> None:
    """Backfill partitions of the selected assets: the backfill is stored in the
    instance and the daemon (`trellis daemon`) launches its runs through the run queue,
    in dependency order, as the assets' BackfillPolicy splits them. Prints its id.

    Give a range (--from A --to B), keys (--partitions K1,K2) or --all. Exits 2 on
    bad input (unknown keys, a range out of order, assets without partitions).
    """
    from trellis.api.backfill import choose_backfill_partitions, launch_backfill
    from trellis.cli.loader import load_definitions
    from trellis.core.run import CODE_LOCATION_TAG

    key_list = keys.split(",") if keys is not None else None
    choice = choose_backfill_partitions(start, end, key_list, all_partitions)
    target = target_from(python_file, module_name, attribute)
    defs = load_definitions(target)
    selected = sorted(selected_keys(select, defs.asset_graph, code_location_names(target)))
    with open_instance() as instance:
        record = launch_backfill(
            instance,
            defs,
            selected,
            **choice.as_kwargs(),
            tags={**tags_json, CODE_LOCATION_TAG: target.to_tag()},
        )
    click.echo(
        f"Backfill {record.backfill_id} requested: {len(record.partition_keys)} partition(s) of "
        f"{', '.join(record.asset_selection)} in {len(record.chunks)} run(s) "
        f"({record.policy_text}). The daemon launches them (`trellis daemon`)."
    )


@click.group("backfill")
def backfill_group() -> None:
    """List, show, cancel and retry backfills."""


@backfill_group.command("list", epilog=examples("trellis backfill list --limit 20"))
@click.option("--limit", type=int, default=50, show_default=True, help="How many, newest first.")
def list_backfills(limit: int) -> None:
    """The backfills of the instance, newest first."""
    with open_instance() as instance:
        records = instance.get_backfills(limit=limit)
    if not records:
        click.echo("No backfills.")
        return
    rows = [
        (
            r.backfill_id,
            r.status.value,
            ", ".join(r.asset_selection),
            len(r.partition_keys),
            _counts(r),
            _when(r.create_timestamp),
        )
        for r in records
    ]
    columns = ("ID", "Status", "Assets", "Partitions", "Progress", "Created (UTC)")
    make_console().print(simple_table("Backfills", columns, rows))


@backfill_group.command("show", epilog=examples("trellis backfill show qwertyui"))
@click.argument("backfill_id")
def show(backfill_id: str) -> None:
    """One backfill: its status, assets, partitions, policy, counts and runs."""
    from trellis.api.backfill import get_backfill_or_raise

    with open_instance() as instance:
        record = get_backfill_or_raise(instance, backfill_id)
    keys = record.partition_keys
    shown = keys[0] if len(keys) == 1 else f"{keys[0]} ... {keys[-1]}"
    lines = [
        f"Backfill {record.backfill_id}: {record.status.value}",
        f"  assets:      {', '.join(record.asset_selection)}",
        f"  partitions:  {len(keys)} ({shown})",
        f"  policy:      {record.policy_text}, {len(record.chunks)} run(s) planned",
        f"  progress:    {_counts(record) or '-'}",
        f"  created:     {_when(record.create_timestamp)} UTC",
        f"  ended:       {_when(record.end_timestamp)}",
    ]
    if record.parent_backfill_id:
        lines.append(f"  retry of:    {record.parent_backfill_id}")
    lines.append(f"  runs ({len(record.launched)}):")
    lines += [f"    {run_id}" for run_id in record.run_ids]
    click.echo("\n".join(lines))


@backfill_group.command("cancel", epilog=examples("trellis backfill cancel qwertyui"))
@click.argument("backfill_id")
def cancel(backfill_id: str) -> None:
    """Stop a backfill: the daemon launches none of its runs any more, cancels those
    queued and asks those running to stop; then it is CANCELED."""
    from trellis.api.backfill import cancel_backfill

    with open_instance() as instance:
        cancel_backfill(instance, backfill_id)
    click.echo(f"Cancellation of backfill {backfill_id} requested.")


@backfill_group.command("retry", epilog=examples("trellis backfill retry qwertyui"))
@code_options
@click.argument("backfill_id")
def retry(
    python_file: str | None, module_name: str | None, attribute: str | None, backfill_id: str
) -> None:
    """A new backfill of the partitions a finished backfill did not materialize (its
    failed, canceled and never-launched runs), linked to it."""
    from trellis.api.backfill import retry_backfill
    from trellis.cli.loader import load_definitions
    from trellis.core.run import CODE_LOCATION_TAG

    target = target_from(python_file, module_name, attribute)
    defs = load_definitions(target)
    with open_instance() as instance:
        tags = {CODE_LOCATION_TAG: target.to_tag()}
        record = retry_backfill(instance, defs, backfill_id, tags=tags)
    click.echo(
        f"Backfill {record.backfill_id} requested: the {len(record.partition_keys)} "
        f"partition(s) backfill {backfill_id} did not materialize."
    )
