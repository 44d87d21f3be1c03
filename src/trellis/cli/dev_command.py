"""``trellis dev``: the web UI over the loaded definitions and the instance. The web
stack (``trellis.web``, Starlette, uvicorn) is imported only when the command runs."""

from __future__ import annotations

import click

from trellis.cli.help_text import examples
from trellis.cli.instance_access import open_instance
from trellis.cli.options import code_options, target_from

LOCAL_HOST = "127.0.0.1"


@click.command(
    "dev",
    epilog=examples(
        "trellis dev -f definitions.py",
        "trellis dev -m my_project.definitions --port 3001",
        "trellis dev            # code from pyproject.toml",
    ),
)
@code_options
@click.option(
    "--host",
    default=None,
    help=f"The address to listen on (default {LOCAL_HOST}: this machine only).",
)
@click.option("--port", "-p", default=3000, show_default=True, type=click.IntRange(0, 65535))
@click.option(
    "--no-daemon",
    is_flag=True,
    help="Do not run schedules, sensors and the run queue in this process.",
)
def dev(
    python_file: str | None,
    module_name: str | None,
    attribute: str | None,
    host: str | None,
    port: int,
    no_daemon: bool,
) -> None:
    """Serve the web UI: the asset graph and catalog, runs with their live event log,
    Gantt chart and trace, automation, and a launchpad. Runs launched from the UI execute
    in their own process. The daemon's loops (schedules, sensors, the run queue) run in
    this process, as under 'trellis daemon'. The definitions reload when their files
    change.

    It listens on 127.0.0.1 unless --host is given; it has no authentication.
    """
    target = target_from(python_file, module_name, attribute)
    if host is not None and host not in (LOCAL_HOST, "localhost", "::1"):
        click.secho(
            f"Warning: listening on {host}. The Trellis UI has no authentication: anyone who "
            "can reach this address can see your runs and launch jobs.",
            fg="yellow",
            err=True,
        )
    from trellis.web.server import serve

    with open_instance() as instance:
        serve(target, instance, host or LOCAL_HOST, port, echo=click.echo, daemon=not no_daemon)
