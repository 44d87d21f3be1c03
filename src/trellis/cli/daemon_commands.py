"""``trellis daemon -f defs.py [--once]`` runs the schedules, sensors, declarative
automation and the run queue of a code location; ``trellis daemon status`` shows the
heartbeat of each loop (which daemon process, how long ago, what it last said)."""

from __future__ import annotations

import signal
import time
from typing import Any

import click

from trellis.cli.display import format_time, make_console, simple_table, status_text
from trellis.cli.errors import CliError
from trellis.cli.help_text import examples
from trellis.cli.instance_access import open_instance
from trellis.cli.options import code_options, definitions_from

STALE_AFTER_SECONDS = 30.0  # a loop silent for longer is shown as not running

DAEMON_EXAMPLES = examples(
    "trellis daemon -f defs.py",
    "trellis daemon -f defs.py --once",
    "trellis daemon -f defs.py --reload",
    "trellis daemon -f defs.py --launcher fork",
    "trellis daemon -f defs.py --launcher dask --dask-address tcp://127.0.0.1:8786",
    "trellis daemon status",
)


def _location(python_file: str | None, module_name: str | None, attribute: str | None) -> Any:
    from trellis.daemon.code_location import CodeLocation

    defs = definitions_from(python_file, module_name, attribute)
    return CodeLocation(defs, getattr(defs, "code_pointer", None))


@click.group("daemon", invoke_without_command=True, epilog=DAEMON_EXAMPLES)
@code_options
@click.option("--once", is_flag=True, help="One round of every loop, then exit.")
@click.option(
    "--launcher",
    type=click.Choice(["fork", "subprocess", "dask"]),
    default=None,
    help="How queued runs are launched: forked from a warm process that has imported the "
    "code (the default on Linux), a new Python process each (with one started ahead; the "
    "default elsewhere), or as a task on a Dask cluster. Overrides trellis.yaml's "
    "run_launcher.",
)
@click.option(
    "--reload",
    "reload_code",
    is_flag=True,
    help="Reload the code location when its source files change (between two rounds of "
    "the loops; a file that does not load keeps the last good definitions).",
)
@click.option(
    "--dask-address",
    default=None,
    metavar="ADDR",
    help="With --launcher dask: the scheduler address (tcp://host:port); without it the "
    "daemon starts a LocalCluster.",
)
@click.pass_context
def daemon_group(
    ctx: click.Context,
    python_file: str | None,
    module_name: str | None,
    attribute: str | None,
    once: bool,
    launcher: str | None,
    reload_code: bool,
    dask_address: str | None,
) -> None:
    """Run schedules, sensors, declarative automation and the run queue.

    One daemon runs per instance: a second one says which daemon holds the instance and
    waits for it to stop. Ctrl-C or SIGTERM stops the daemon; runs it launched go on.
    """
    if ctx.invoked_subcommand is not None:
        return
    if dask_address is not None and launcher != "dask":
        raise click.UsageError("--dask-address is for --launcher dask.")
    if reload_code and once:
        raise click.UsageError("--reload is for a daemon that keeps running, not --once.")
    from trellis.daemon.daemon import TrellisDaemon
    from trellis.daemon.launchers import choose_launcher

    location = _location(python_file, module_name, attribute)
    console = make_console()
    with open_instance() as instance:
        run_launcher = choose_launcher(instance, location.tag, launcher, dask_address)
        daemon = TrellisDaemon(instance, location, launcher=run_launcher)
        if once:
            ok, lease = daemon.try_lease()
            if not ok:
                raise CliError(
                    f"Another daemon ({lease.owner}) runs on this instance until "
                    f"{format_time(lease.expires)}; stop it first."
                )
            try:
                daemon.run_once()
            finally:
                daemon.close()
            _print_round(console, instance, location)
            return

        def stop(signum: int, frame: Any) -> None:
            daemon.stop()

        if reload_code:
            daemon.reload_on_change(report=lambda text: click.echo(text, err=True))

        signal.signal(signal.SIGTERM, stop)
        signal.signal(signal.SIGINT, stop)

        def waiting(lease: Any) -> None:
            click.echo(  # one line, never wrapped: scripts and logs read it
                f"Another daemon ({lease.owner}) holds this instance until "
                f"{format_time(lease.expires)}; waiting for it to stop.",
            )

        console.print(
            f"Trellis daemon {daemon.daemon_id}: {len(location.schedules)} schedule(s), "
            f"{len(location.sensors)} sensor(s), instance {instance.root_directory}."
        )
        daemon.run(on_waiting=waiting)
        console.print("Daemon stopped.")


def _print_round(console: Any, instance: Any, location: Any) -> None:
    rows = []
    for item in [*location.schedules, *location.sensors]:
        latest = instance.get_ticks(item.name, limit=1)
        if latest:
            tick = latest[0]
            rows.append(
                (
                    item.name,
                    status_text(tick.status.value),
                    len(tick.run_ids),
                    tick.skip_reason or "-",
                )
            )
    console.print(simple_table("Ticks", ("NAME", "STATUS", "RUNS", "SKIP REASON"), rows))
    queued = instance.get_queued_runs()
    console.print(f"{len(queued)} run(s) still queued.")


@daemon_group.command("status", epilog=examples("trellis daemon status"))
def status() -> None:
    """Who holds the daemon lease, and the heartbeat of each daemon loop: RUNNING when
    it beat in the last 30 s."""
    now = time.time()
    with open_instance() as instance:
        beats = instance.get_daemon_heartbeats()
        lease = instance.get_daemon_lease()
    console = make_console()
    if lease is None:
        console.print("Daemon lease: free (no daemon holds this instance).")
    elif lease.expires <= now:
        console.print(
            f"Daemon lease: expired {format_time(lease.expires)} (last held by {lease.owner})."
        )
    else:
        console.print(
            f"Daemon lease: held by {lease.owner} since {format_time(lease.acquired)}, "
            f"until {format_time(lease.expires)} unless renewed."
        )
    rows = []
    for beat in beats:
        age = now - beat.timestamp
        state = "RUNNING" if age <= STALE_AFTER_SECONDS else "NOT RUNNING"
        info = ", ".join(f"{k}={v}" for k, v in beat.info.items() if k != "error")
        if "error" in beat.info:
            info = f"error: {str(beat.info['error']).strip().splitlines()[-1]}"
        rows.append(
            (beat.daemon_type, status_text(state), f"{age:.0f} s ago", beat.daemon_id, info)
        )
    if not rows:
        console.print("No daemon has run on this instance (start one: trellis daemon -f defs.py).")
        return
    columns = ("LOOP", "STATUS", "LAST HEARTBEAT", "DAEMON", "INFO")
    console.print(simple_table("Daemon loops", columns, rows))
