"""``--select``: a selection string (Dagster's syntax, ``key:a or group:b``, or the older
``*a+`` and ``a,b`` forms; see ``trellis.defs.selection_grammar``) checked against
the loaded assets, and the implicit asset job's subset that materializes it."""

from __future__ import annotations

from typing import Any

from trellis.cli.errors import CliError
from trellis.cli.loader import CodeTarget

SELECT_HELP = (
    "The assets: Dagster's selection syntax ('key:orders+', 'group:sales and not kind:dbt', "
    "'tag:tier=gold', 'roots(*)') or the older form ('*', 'a,b/c', '+key', 'key*')."
)


def code_location_names(target: CodeTarget) -> tuple[str, ...]:
    """The names ``code_location:`` accepts for the loaded code: the module (``-m``), or
    the file with and without its extension (``-f``)."""
    if target.file is not None:
        return (target.file.name, target.file.stem)
    return (target.module,) if target.module else ()


def parse_selection(
    text: str, asset_graph: Any, code_locations: tuple[str, ...] | None = None
) -> Any:
    """An ``AssetSelection`` for ``text``, checked against ``asset_graph``: a string that
    does not parse, and unknown keys and groups, raise ``CliError`` (exit 2)."""
    from trellis.core.errors import InvalidDefinitionError
    from trellis.defs.selection_grammar import SelectionSyntaxError
    from trellis.defs.selection_syntax import selection_from_string

    try:
        selection = selection_from_string(text, code_locations=code_locations or ())
        selection.resolve(asset_graph)
    except SelectionSyntaxError as exc:
        raise CliError(exc.describe("--select")) from None
    except InvalidDefinitionError as exc:
        raise CliError(f"{exc} (in --select '{text}')") from None
    return selection


def selected_keys(
    text: str, asset_graph: Any, code_locations: tuple[str, ...] | None = None
) -> set[Any]:
    """The materializable assets ``text`` selects; ``CliError`` when there are none."""
    keys = parse_selection(text, asset_graph, code_locations).resolve(asset_graph)
    keys &= asset_graph.materializable_keys
    if not keys:
        raise CliError(f"--select '{text}' selects no asset that can be materialized here.")
    return set(keys)


def selected_asset_job(defs: Any, text: str, target: CodeTarget) -> tuple[Any, set[Any]]:
    """The implicit asset job's subset for ``--select text`` and the keys it selects.
    A selection that mixes partitions definitions is a ``CliError`` naming the assets of
    each (one run materializes one partitions definition, as in Dagster)."""
    from trellis.defs.asset_job import subset_asset_job
    from trellis.defs.asset_job_partitions import MixedPartitionsError

    keys = selected_keys(text, defs.asset_graph, code_location_names(target))
    try:
        job = subset_asset_job(defs.get_implicit_global_asset_job_def(), keys)
    except MixedPartitionsError as exc:
        raise CliError(exc.describe(f"--select '{text}'")) from None
    return job, keys
