"""``trellis partitions add|delete|list NAME``: the keys of a dynamic partitions definition,
kept in the instance (NAME must be the name of a ``DynamicPartitionsDefinition`` of the
loaded definitions); and ``trellis asset partitions KEY``: an asset's partition status as
ranges."""

from __future__ import annotations

from typing import Any

import click

from trellis.cli.asset_commands import asset_group, parse_key
from trellis.cli.errors import CliError
from trellis.cli.help_text import examples
from trellis.cli.instance_access import open_instance
from trellis.cli.options import code_options, definitions_from


@click.group("partitions")
def partitions_group() -> None:
    """Add, delete and list the keys of dynamic partitions definitions."""


def dynamic_partitions_names(defs: Any) -> list[str]:
    """The names of the dynamic partitions definitions the assets and jobs of ``defs``
    use (dimensions of multi-dimensional ones too)."""
    from trellis.defs.dynamic_partitions import DynamicPartitionsDefinition

    found: set[str] = set()
    candidates = [a.partitions_def for a in defs.asset_graph.assets_defs]
    candidates += [s.partitions_def for s in defs.asset_graph.external_specs.values()]
    candidates += [job.partitions_def for job in defs.jobs]
    for pdef in candidates:
        dims = getattr(pdef, "partitions_defs", None)
        for part in [d.partitions_def for d in dims] if dims else [pdef]:
            if isinstance(part, DynamicPartitionsDefinition):
                found.add(part.name)
    return sorted(found)


def _checked_name(defs: Any, name: str) -> str:
    names = dynamic_partitions_names(defs)
    if name in names:
        return name
    import difflib  # lazily: only this path needs it

    close = difflib.get_close_matches(name, names, n=1)
    hint = f" Did you mean '{close[0]}'?" if close else ""
    known = ", ".join(names) if names else "none"
    raise CliError(
        f"No dynamic partitions definition is named '{name}'.{hint} "
        f"Dynamic partitions definitions here: {known}."
    )


@partitions_group.command(
    "add", epilog=examples("trellis partitions add files 2024-06-01.csv 2024-06-02.csv")
)
@code_options
@click.argument("name")
@click.argument("keys", nargs=-1, required=True)
def add(
    python_file: str | None,
    module_name: str | None,
    attribute: str | None,
    name: str,
    keys: tuple[str, ...],
) -> None:
    """Add KEYS to the dynamic partitions definition NAME (keys already there stay)."""
    name = _checked_name(definitions_from(python_file, module_name, attribute), name)
    with open_instance() as instance:
        before = set(instance.get_dynamic_partitions(name))
        instance.add_dynamic_partitions(name, list(keys))
    added = [k for k in dict.fromkeys(keys) if k not in before]
    click.echo(f"Added {len(added)} partition{'' if len(added) == 1 else 's'} to '{name}'.")


@partitions_group.command("delete", epilog=examples("trellis partitions delete files old.csv"))
@code_options
@click.argument("name")
@click.argument("keys", nargs=-1, required=True)
def delete(
    python_file: str | None,
    module_name: str | None,
    attribute: str | None,
    name: str,
    keys: tuple[str, ...],
) -> None:
    """Delete KEYS from the dynamic partitions definition NAME."""
    name = _checked_name(definitions_from(python_file, module_name, attribute), name)
    with open_instance() as instance:
        stored = set(instance.get_dynamic_partitions(name))
        unknown = [k for k in keys if k not in stored]
        if unknown:
            raise CliError(
                f"'{name}' has no partition {', '.join(repr(k) for k in unknown)}; "
                f"see trellis partitions list {name}."
            )
        for key in keys:
            instance.delete_dynamic_partition(name, key)
    click.echo(f"Deleted {len(keys)} partition{'' if len(keys) == 1 else 's'} from '{name}'.")


@partitions_group.command("list", epilog=examples("trellis partitions list files"))
@code_options
@click.argument("name")
def list_keys(
    python_file: str | None, module_name: str | None, attribute: str | None, name: str
) -> None:
    """List the keys of the dynamic partitions definition NAME, one a line, in the order
    added."""
    name = _checked_name(definitions_from(python_file, module_name, attribute), name)
    with open_instance() as instance:
        keys = instance.get_dynamic_partitions(name)
    for key in keys:
        click.echo(key)


@asset_group.command(
    "partitions",
    epilog=examples(
        "trellis asset partitions daily_sales",
        "trellis asset partitions daily_sales --json",
        "trellis asset partitions regional_sales --partition '2024-01-05|eu'",
    ),
)
@code_options
@click.argument("key")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON line per range.")
@click.option("--partition", "partition_key", help="Print the status of this partition only.")
def asset_partitions(
    python_file: str | None,
    module_name: str | None,
    attribute: str | None,
    key: str,
    as_json: bool,
    partition_key: str | None,
) -> None:
    """The status of every partition of an asset, as ranges: materialized, failed, in
    progress, missing (read from the instance's partition status index, not its events).
    A multi-dimensional asset prints one line per key of one dimension, with ranges
    along the other (its time dimension, when it has one).

    KEY is an asset key as 'a/b' (or a JSON list).
    """
    import json

    from trellis.core.errors import InvariantViolationError
    from trellis.views.partition_status import describe_by_group, partition_status

    defs = definitions_from(python_file, module_name, attribute)
    asset_key = parse_key(key)
    graph = defs.asset_graph
    if asset_key not in graph.upstream:
        import difflib  # lazily: only this path needs it

        names = sorted(k.to_user_string() for k in graph.upstream)
        close = difflib.get_close_matches(asset_key.to_user_string(), names, n=1)
        hint = f" Did you mean '{close[0]}'?" if close else ""
        raise CliError(f"No asset '{asset_key.to_user_string()}' is defined here.{hint}")
    with open_instance() as instance:
        try:
            if partition_key is not None:
                pdef = graph.partitions_def_for(asset_key)
                if pdef is not None:
                    pdef.validate_partition_key(partition_key)  # did you mean ...?
            ranges = partition_status(instance, graph, [asset_key], defs=defs)[asset_key]
        except InvariantViolationError as exc:
            raise CliError(str(exc)) from exc
        if partition_key is not None:
            ranges = [_one_partition(ranges, partition_key, instance, graph, asset_key)]
    if as_json:
        for r in ranges:
            click.echo(json.dumps(r._asdict()))
        return
    lines = describe_by_group(ranges)
    click.echo("\n".join(lines) if lines else _no_partitions(graph, asset_key))


def _one_partition(ranges: Any, partition_key: str, instance: Any, graph: Any, key: Any) -> Any:
    """The status of one (valid) partition, from the ranges of its asset."""
    from trellis.views.partition_status import status_of_partition

    return status_of_partition(ranges, partition_key, instance, graph.partitions_def_for(key))


def _no_partitions(graph: Any, key: Any) -> str:
    from trellis.defs.dynamic_partitions import DynamicPartitionsDefinition

    pdef = graph.partitions_def_for(key)
    names = [d.partitions_def for d in getattr(pdef, "partitions_defs", [])] or [pdef]
    dynamic = [d.name for d in names if isinstance(d, DynamicPartitionsDefinition)]
    if dynamic:
        return (
            f"No partitions (yet): the dynamic partitions definition '{dynamic[0]}' has no "
            f"keys; add some with `trellis partitions add {dynamic[0]} KEY`."
        )
    return "No partitions (yet)."
