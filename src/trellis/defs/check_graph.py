"""The asset checks of an asset graph: which definition evaluates each check, checked
when the graph is built (each check's asset and inputs exist, no key or op name twice),
and the questions a job builder asks (the checks of some assets, the blocking ones).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from trellis.core.asset_checks import AssetCheckKey
from trellis.core.asset_key import AssetKey
from trellis.core.errors import DuplicateKeyError, InvalidDefinitionError

if TYPE_CHECKING:
    from trellis.defs.asset_graph import AssetGraph


def _describe(owner: Any) -> str:
    fn = owner.op.compute_fn
    where = f"{getattr(fn, '__module__', '?')}.{getattr(fn, '__qualname__', '?')}"
    return f"'{owner.node_name}' (function {where})"


def _unknown_asset(known: Iterable[AssetKey], key: AssetKey) -> str:
    import difflib  # lazily: only errors need it

    names = sorted(k.to_user_string() for k in known)
    close = difflib.get_close_matches(key.to_user_string(), names, n=1)
    return f" Did you mean '{close[0]}'?" if close else ""


def index_checks(graph: AssetGraph) -> None:
    """Fill ``graph.check_specs`` and ``graph.check_owner`` from the ``check_specs`` of
    its asset definitions and from its ``checks_defs``; raise for a check of an unknown
    asset, an input no definition provides, a check key or op name used twice."""
    specs = graph.check_specs
    owners = graph.check_owner
    node_names = {a.node_name: a for a in graph.assets_defs}
    for owner in [*graph.assets_defs, *graph.checks_defs]:
        for key, spec in owner.check_specs_by_key.items():
            other = owners.get(key)
            if other is not None:
                raise DuplicateKeyError(
                    f"Asset check '{key.to_user_string()}' is defined twice: by "
                    f"{_describe(other)} and by {_describe(owner)}."
                )
            owners[key] = owner
            specs[key] = spec
    known = graph.all_keys
    for checks_def in graph.checks_defs:
        clash = node_names.setdefault(checks_def.node_name, checks_def)
        if clash is not checks_def:
            raise DuplicateKeyError(
                f"Two definitions run as the same op '{checks_def.node_name}': "
                f"{_describe(clash)} and {_describe(checks_def)}. Give the check a distinct "
                "name (asset_check(name=...))."
            )
        for key, spec in checks_def.check_specs_by_key.items():
            for needed in (spec.asset_key, *spec.additional_deps):
                if needed not in known:
                    raise InvalidDefinitionError(
                        f"Asset check '{key.to_user_string()}' is for (or depends on) asset "
                        f"'{needed.to_user_string()}', which no definition provides."
                        f"{_unknown_asset(known, needed)} Define it, or declare it with "
                        "AssetSpec if another system makes it."
                    )
        for input_name, upstream in checks_def.keys_by_input_name.items():
            if upstream not in known:
                raise InvalidDefinitionError(
                    f"Asset check '{checks_def.node_name}' reads input '{input_name}' from "
                    f"asset '{upstream.to_user_string()}', which no definition provides."
                    f"{_unknown_asset(known, upstream)}"
                )


def checks_of_assets(graph: AssetGraph, keys: Iterable[AssetKey]) -> set[AssetCheckKey]:
    """The checks of the assets ``keys`` (Dagster's rule for what selecting them selects)."""
    wanted = set(keys)
    return {k for k in graph.check_specs if k.asset_key in wanted}


def check_unknown_checks(graph: AssetGraph, keys: Iterable[AssetCheckKey], job: str) -> None:
    """Raise when a job selects checks that no definition provides."""
    unknown = sorted(k.to_user_string() for k in keys if k not in graph.check_specs)
    if unknown:
        raise InvalidDefinitionError(
            f"Job '{job}' selects asset checks {unknown}, which no definition here provides."
        )
