"""``trellis instance info``, ``trellis instance migrate``, ``trellis instance
reindex-partitions`` and ``trellis instance concurrency`` (``concurrency_commands.py``)."""

from __future__ import annotations

import click

from trellis.cli.concurrency_commands import concurrency_group
from trellis.cli.display import fields_table, make_console
from trellis.cli.errors import CliError
from trellis.cli.help_text import examples
from trellis.cli.instance_access import open_instance
from trellis.cli.options import code_options, definitions_from


@click.group("instance")
def instance_group() -> None:
    """Inspect and upgrade the instance ($TRELLIS_HOME)."""


@instance_group.command(
    "info",
    epilog=examples("trellis instance info", "TRELLIS_HOME=/srv/trellis trellis instance info"),
)
def info() -> None:
    """Where the instance keeps its data, its schema revision, and how much it holds."""
    with open_instance() as instance:
        details = instance.info()
    fields = {k.replace("_", " "): "-" if v is None else v for k, v in details.items()}
    make_console().print(fields_table(fields))


@instance_group.command("migrate", epilog=examples("trellis instance migrate"))
def migrate() -> None:
    """Upgrade the database schema to the newest revision (safe to run again)."""
    with open_instance() as instance:
        outcome = instance.migrate()
    before, after = outcome.get("from_revision"), outcome.get("to_revision")
    if outcome.get("upgraded"):
        click.echo(f"Upgraded the schema from {before or 'empty'} to {after}.")
    else:
        click.echo(f"The schema is up to date (revision {after}).")


@instance_group.command(
    "reindex-partitions",
    epilog=examples(
        "trellis instance reindex-partitions -f defs.py",
        "trellis instance reindex-partitions -f defs.py daily_sales",
    ),
)
@code_options
@click.argument("keys", nargs=-1)
def reindex_partitions(
    python_file: str | None, module_name: str | None, attribute: str | None, keys: tuple[str, ...]
) -> None:
    """Rebuild the partition status index of partitioned assets (KEYS, as 'a/b'; all of
    them when none is given) from their stored events.

    Needed after a static partitions list changed order, or for failures stored before
    the index existed; a database upgraded from before it rebuilds its materialized
    assets by itself on their first read. Refused while runs are in progress: what they
    store in between would be lost.
    """
    from trellis.cli.asset_commands import parse_key
    from trellis.views.partition_reindex import live_runs, reindex_assets, reindexable_assets

    defs = definitions_from(python_file, module_name, attribute)
    graph = defs.asset_graph
    known = reindexable_assets(graph)
    chosen = [parse_key(k) for k in keys] or known
    unknown = [k.to_user_string() for k in chosen if k not in known]
    if unknown:
        names = ", ".join(k.to_user_string() for k in known) or "none"
        raise CliError(
            f"Not a partitioned asset of these definitions: {', '.join(unknown)}. "
            f"Partitioned assets here: {names}."
        )
    with open_instance() as instance:
        running = live_runs(instance)
        if running:
            raise CliError(
                f"{len(running)} run(s) in progress ({', '.join(running[:5])}): wait for them "
                "to end (or cancel them) before rebuilding the partition status index."
            )
        counts = reindex_assets(instance, graph, chosen)
    for key, n in counts.items():
        click.echo(f"{key.to_user_string()}: {n} range(s)")
    click.echo(f"Rebuilt the partition status of {len(counts)} asset(s).")


instance_group.add_command(concurrency_group)
