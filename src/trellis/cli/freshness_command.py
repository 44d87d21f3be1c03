"""``trellis asset freshness [KEY...]``: the freshness state (PASS, WARN, FAIL, UNKNOWN) of
the assets that have a freshness policy (``trellis.instance.freshness``); and the
FRESHNESS cell of ``trellis asset list``."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import click

from trellis.cli.display import make_console, simple_table
from trellis.cli.errors import CliError
from trellis.cli.instance_access import open_instance
from trellis.cli.options import code_options, definitions_from

FRESHNESS_EXAMPLES = """\\b
Examples:
  trellis asset freshness -f definitions.py        # every asset with a policy
  trellis asset freshness orders warehouse/revenue
  trellis asset freshness --json
"""


def freshness_cells(results: dict[Any, Any], keys: list[Any]) -> list[str]:
    """The FRESHNESS column of ``trellis asset list`` for ``keys`` ("-": no policy)."""
    return [results[k].state.value if k in results else "-" for k in keys]


def _when(ts: float | None) -> str:
    if ts is None:
        return "never"
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


@click.command("freshness", epilog=FRESHNESS_EXAMPLES)
@click.argument("keys", nargs=-1)
@code_options
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object per asset.")
def freshness(
    keys: tuple[str, ...],
    python_file: str | None,
    module_name: str | None,
    attribute: str | None,
    as_json: bool,
) -> None:
    """The freshness of assets with a freshness policy, from their latest update in the
    instance: PASS, WARN (older than the warn window), FAIL, or UNKNOWN (never updated).

    KEY is an asset key as 'a/b' (or a JSON list); without keys, every asset that has a
    policy. Exits with status 2 when an asset named has no policy or is not defined.
    """
    import json

    from trellis.cli.asset_commands import parse_key
    from trellis.instance.freshness import freshness_by_key, get_freshness

    defs = definitions_from(python_file, module_name, attribute)
    graph = defs.asset_graph
    wanted = [parse_key(k) for k in keys]
    unknown = [k.to_user_string() for k in wanted if k not in graph.all_keys]
    if unknown:
        raise CliError(f"No asset {', '.join(map(repr, unknown))} in these definitions.")
    with open_instance() as instance:
        if wanted:
            found = {k: get_freshness(instance, graph, k) for k in wanted}
            missing = [k.to_user_string() for k, r in found.items() if r is None]
            if missing:
                raise CliError(
                    f"{', '.join(map(repr, missing))} {'has' if len(missing) == 1 else 'have'} "
                    "no freshness policy (give freshness_policy= on @asset or AssetSpec, or "
                    "use apply_freshness_policy)."
                )
            results = [r for r in found.values() if r is not None]
        else:
            results = list(freshness_by_key(instance, graph).values())
    if as_json:
        for result in results:
            click.echo(json.dumps(result.to_dict()))
        return
    if not results:
        click.echo("No asset has a freshness policy.")
        return
    rows = [
        (
            r.key.to_user_string(),
            r.state.value,
            r.policy.describe(),
            _when(r.last_updated_timestamp),
            r.reason,
        )
        for r in results
    ]
    title = f"Freshness of {len(rows)} asset{'' if len(rows) == 1 else 's'}"
    columns = ("KEY", "STATE", "POLICY", "LAST UPDATED", "WHY")
    make_console().print(simple_table(title, columns, rows))
