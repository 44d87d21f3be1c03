"""``trellis instance concurrency set|get|list|delete``: the limits of concurrency pools
(Dagster's ``dagster instance concurrency`` commands)."""

from __future__ import annotations

from typing import Any

import click
from rich.table import Table

from trellis.cli.display import cell, format_time, make_console
from trellis.cli.help_text import examples
from trellis.cli.instance_access import open_instance


def _limit_text(pool: Any) -> str:
    if pool.limit is None:
        return "unlimited"
    return f"{pool.limit} (default)" if pool.from_default else str(pool.limit)


def _pools_table(pools: list[Any]) -> Table:
    table = Table(title="Concurrency pools", title_justify="left")
    for name in ("POOL", "LIMIT", "IN USE", "FREE", "WAITING"):
        table.add_column(name, justify="left" if name == "POOL" else "right")
    for pool in pools:
        free = "-" if pool.free is None else pool.free
        row = (pool.pool, _limit_text(pool), pool.in_use, free, len(pool.waiting))
        table.add_row(*map(cell, row))
    return table


def _slots_table(pool: Any) -> Table:
    table = Table(title=f"Steps of pool '{pool.pool}'", title_justify="left")
    for name in ("RUN", "STEP", "STATE", "SINCE"):
        table.add_column(name)
    for rows, state in ((pool.slots, "holds a slot"), (pool.waiting, "waiting")):
        for row in rows:
            since = format_time(row.claimed_at)
            table.add_row(*map(cell, (row.run_id, row.step_key, state, since)))
    return table


@click.group("concurrency")
def concurrency_group() -> None:
    """Limit how many steps of a pool (@op(pool=...), @asset(pool=...)) run at once
    across every run of the instance."""


@concurrency_group.command("set", epilog=examples("trellis instance concurrency set database 2"))
@click.argument("pool")
@click.argument("limit", type=click.IntRange(min=0))
def set_limit(pool: str, limit: int) -> None:
    """Allow at most LIMIT steps of POOL at once (0 holds them until it is raised)."""
    with open_instance() as instance:
        instance.set_concurrency_limit(pool, limit)
    click.echo(f"Set the limit of concurrency pool '{pool}' to {limit}.")


@concurrency_group.command("get", epilog=examples("trellis instance concurrency get database"))
@click.argument("pool")
def get_limit(pool: str) -> None:
    """POOL's limit (its own or the default of trellis.yaml), the slots in use and the
    steps waiting, longest first."""
    with open_instance() as instance:
        found = instance.get_concurrency_limit(pool)
    console = make_console()
    console.print(_pools_table([found]))
    if found.slots or found.waiting:
        console.print(_slots_table(found))


@concurrency_group.command("list", epilog=examples("trellis instance concurrency list"))
def list_limits() -> None:
    """Every pool with a limit set, a slot in use or a step waiting."""
    with open_instance() as instance:
        pools = instance.get_concurrency_limits()
        default = instance.default_pool_limit
    console = make_console()
    if pools:
        console.print(_pools_table(pools))
    else:
        console.print("No concurrency pool has a limit, a slot in use or a step waiting.")
    where = "unlimited" if default is None else str(default)
    console.print(
        f"Pools without a limit of their own: {where} (concurrency: pools: "
        "default_limit in trellis.yaml)."
    )


@concurrency_group.command(
    "delete", epilog=examples("trellis instance concurrency delete database")
)
@click.argument("pool")
def delete_limit(pool: str) -> None:
    """Remove POOL's limit (it takes the default limit again)."""
    with open_instance() as instance:
        existed = instance.delete_concurrency_limit(pool)
    if existed:
        click.echo(f"Removed the limit of concurrency pool '{pool}'.")
    else:
        click.echo(f"Concurrency pool '{pool}' had no limit of its own; nothing to remove.")
