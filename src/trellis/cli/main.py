"""The ``trellis`` command group: its subcommands, and the translation of Trellis errors
into messages and exit codes (2 for bad input; 1 only for a failed run)."""

from __future__ import annotations

from typing import Any

import click

from trellis.cli.asset_commands import asset_group
from trellis.cli.backfill_commands import backfill_group
from trellis.cli.daemon_commands import daemon_group
from trellis.cli.defs_commands import defs_group
from trellis.cli.dev_command import dev
from trellis.cli.dotenv_file import load_env_file
from trellis.cli.errors import CliError
from trellis.cli.freshness_command import freshness
from trellis.cli.instance_commands import instance_group
from trellis.cli.instigator_commands import schedule_group, sensor_group
from trellis.cli.job_commands import job_group, launch
from trellis.cli.partition_commands import partitions_group
from trellis.cli.run_commands import run_group
from trellis.core.errors import TrellisError


class TrellisGroup(click.Group):
    """A click group that turns any ``TrellisError`` escaping a command into a
    ``CliError`` (message on stderr, exit 2) instead of a Python traceback."""

    def invoke(self, ctx: click.Context) -> Any:
        """Run the command, translating Trellis errors."""
        try:
            return super().invoke(ctx)
        except CliError:
            raise
        except TrellisError as exc:
            raise CliError(str(exc)) from exc


@click.group(cls=TrellisGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="trellis", prog_name="trellis")
def cli() -> None:
    """Trellis: load definitions, run jobs and assets, and inspect recorded runs.

    Code is found with -f FILE, -m MODULE, or pyproject.toml ([tool.trellis], else
    [tool.dagster] or [tool.dg]). A .env file in the working directory is read first
    (variables already in the environment win). Runs are recorded in the instance at
    $TRELLIS_HOME (default ./.trellis).
    Exit codes: 0 success, 1 a run failed, 2 bad usage, config or definitions,
    130 a run canceled by Ctrl-C, 143 a run canceled by SIGTERM.
    """
    load_env_file()


cli.add_command(asset_group)
cli.add_command(job_group)
cli.add_command(defs_group)
cli.add_command(run_group)
cli.add_command(backfill_group)
cli.add_command(instance_group)
cli.add_command(partitions_group)
cli.add_command(daemon_group)
cli.add_command(schedule_group)
cli.add_command(sensor_group)
run_group.add_command(launch)
asset_group.add_command(freshness)
cli.add_command(dev)


def main(argv: list[str] | None = None) -> None:
    """Entry point of the ``trellis`` console script and of ``python -m trellis``."""
    cli.main(args=argv, prog_name="trellis")
