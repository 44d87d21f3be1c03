"""Upstream asset names that do not match a key exactly, resolved as Dagster resolves them.

An asset's parameter ``orders`` names the upstream key ``orders``. When no asset has that
key, but the project prefixes its keys (``@asset(key_prefix="shop")``,
``load_assets_from_modules(..., key_prefix=...)``), Dagster resolves the name to the one
asset *in the same group* whose key ends in ``orders`` (``shop/orders``), or else to the one
asset whose ``dagster/table_name`` metadata is ``orders``. Trellis follows the same two
rules, so projects that rely on them load unchanged; anything else stays unresolved and is
reported by the asset graph with a did-you-mean.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

from trellis.core.asset_key import AssetKey
from trellis.core.errors import InvalidDefinitionError
from trellis.defs.asset import AssetsDefinition
from trellis.defs.asset_spec import AssetSpec

TABLE_NAME_METADATA = "dagster/table_name"


def resolve_dependency_names(
    assets_defs: Sequence[AssetsDefinition], specs: Sequence[AssetSpec] = ()
) -> list[AssetsDefinition]:
    """``assets_defs`` with each upstream key that names no asset replaced by the asset it
    resolves to (same group and name, else the same table name); the definitions that need
    no replacement are returned as they are."""
    known = {k for a in assets_defs for k in a.keys_by_output_name.values()}
    known.update(spec.key for spec in specs)
    unresolved = [
        a for a in assets_defs if any(d not in known for k in a.keys for d in a.deps_for(k))
    ]
    if not unresolved:  # the common case: every name is a key
        return list(assets_defs)
    by_group_and_name: dict[tuple[str, str], list[AssetKey]] = defaultdict(list)
    by_table_name: dict[str, list[AssetKey]] = defaultdict(list)
    for assets_def in assets_defs:
        for key, spec in assets_def.specs_by_key.items():
            by_group_and_name[(spec.group_name or "default", key.path[-1])].append(key)
            table = spec.metadata.get(TABLE_NAME_METADATA)
            if table is not None:
                by_table_name[str(getattr(table, "value", table))].append(key)
    replaced: dict[int, AssetsDefinition] = {}
    for assets_def in unresolved:
        replacements: dict[AssetKey, AssetKey] = {}
        for key, spec in assets_def.specs_by_key.items():
            for dep in assets_def.deps_for(key):
                if dep in known:
                    continue
                group = spec.group_name or "default"
                same_name = by_group_and_name.get((group, dep.path[-1]), [])
                if len(dep.path) == 1 and len(same_name) == 1:
                    if same_name[0] not in assets_def.keys:  # never to itself
                        replacements[dep] = same_name[0]
                    continue
                tables = by_table_name.get(dep.to_user_string(), [])
                if len(tables) > 1:
                    names = ", ".join(sorted(t.to_user_string() for t in tables))
                    raise InvalidDefinitionError(
                        f"Asset '{key.to_user_string()}' reads '{dep.to_user_string()}', and "
                        f"several assets have that table name: {names}."
                    )
                if tables:
                    replacements[dep] = tables[0]
        if replacements:
            replaced[id(assets_def)] = assets_def.with_attributes(
                asset_key_replacements=replacements
            )
    return [replaced.get(id(a), a) for a in assets_defs]
