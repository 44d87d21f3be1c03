"""``trellis instance info``, ``trellis instance migrate`` and ``trellis instance
concurrency`` (``concurrency_commands.py``)."""

from __future__ import annotations

import click

from trellis.cli.concurrency_commands import concurrency_group
from trellis.cli.display import fields_table, make_console
from trellis.cli.help_text import examples
from trellis.cli.instance_access import open_instance


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


instance_group.add_command(concurrency_group)
