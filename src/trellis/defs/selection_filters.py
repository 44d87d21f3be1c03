"""The filters of asset selections: by key (exact or with ``*`` wildcards), group, tag,
kind, owner, table name and code location, and the ``roots``/``sinks`` of a selection.

Each returns an ``AssetSelection`` resolved against an ``AssetGraph``. As in Dagster,
``key:``, ``owner:`` and ``code_location:`` look at every asset (external ones too), the
others at the assets that can be materialized. A key or group named exactly that does not
exist is an error with a did-you-mean hint; a wildcard or a filter that matches nothing
selects nothing.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable

from trellis.core.asset_key import AssetKey
from trellis.core.errors import InvalidDefinitionError
from trellis.defs.asset_graph import AssetGraph
from trellis.defs.asset_selection import AssetSelection
from trellis.defs.asset_spec import AssetSpec

KIND_TAG_PREFIX = "dagster/kind/"
"""Dagster records each kind of an asset as a tag with this prefix and an empty value;
``tag:`` sees Trellis' kinds the same way."""
TABLE_NAME_METADATA = "dagster/table_name"


def _quote(value: str) -> str:
    return f'"{value}"'


def spec_of(graph: AssetGraph, key: AssetKey) -> AssetSpec | None:
    """The spec that describes ``key`` (tags, kinds, owners, metadata), if any."""
    producer = graph.producer.get(key)
    if producer is not None:
        return producer.specs_by_key.get(key)
    return graph.external_specs.get(key)


def _did_you_mean(name: str, known: Iterable[str]) -> str:
    import difflib  # lazily: only errors need it

    close = difflib.get_close_matches(name, sorted(set(known)), n=1)
    return f" Did you mean '{close[0]}'?" if close else ""


def named_key(key: AssetKey) -> AssetSelection:
    """The asset ``key`` (``key:a/b`` or a bare key); an error naming the closest key
    when no asset has it."""

    def resolve(graph: AssetGraph) -> set[AssetKey]:
        if key not in graph.upstream:
            name = key.to_user_string()
            known = (k.to_user_string() for k in graph.upstream)
            raise InvalidDefinitionError(f"No asset with key '{name}'.{_did_you_mean(name, known)}")
        return {key}

    return AssetSelection(resolve, f"key:{_quote(key.to_user_string())}")


def key_wildcard(pattern: str) -> AssetSelection:
    """The assets whose key, written ``a/b``, matches ``pattern``, where ``*`` stands for
    any run of characters (slashes too): ``raw_*``, ``*/orders``."""
    regex = re.compile("^" + ".*".join(re.escape(part) for part in pattern.split("*")) + "$")
    return AssetSelection(
        lambda g: {k for k in g.upstream if regex.match(k.to_user_string())},
        f"key:{_quote(pattern)}",
    )


def named_group(name: str) -> AssetSelection:
    """The materializable assets of group ``name``; an error listing the groups when no
    asset is in it."""

    def resolve(graph: AssetGraph) -> set[AssetKey]:
        groups = {graph.group_of(k) for k in graph.upstream}
        if name not in groups:
            raise InvalidDefinitionError(
                f"No asset group named '{name}'.{_did_you_mean(name, groups)} "
                f"Groups: {', '.join(sorted(groups))}."
            )
        return {k for k in graph.producer if graph.group_of(k) == name}

    return AssetSelection(resolve, f"group:{_quote(name)}")


def tags_of(spec: AssetSpec | None) -> dict[str, str]:
    """An asset's tags as Dagster sees them: its own, and one per kind."""
    if spec is None:
        return {}
    tags = dict(spec.tags)
    for kind in spec.kinds:
        tags.setdefault(f"{KIND_TAG_PREFIX}{kind}", "")
    return tags


def tag(key: str, value: str = "") -> AssetSelection:
    """The materializable assets whose tag ``key`` has exactly ``value``. As in Dagster, an
    empty ``value`` (``tag:pii``) matches the assets that carry ``key`` as a key-only tag
    (value ``""``), not every value of ``key``."""
    text = f"tag:{_quote(key)}" + (f"={_quote(value)}" if value else "")
    return AssetSelection(
        lambda g: {k for k in g.producer if tags_of(spec_of(g, k)).get(key) == value}, text
    )


def kind(name: str) -> AssetSelection:
    """The materializable assets with kind ``name`` (``kinds={"python"}``)."""

    def resolve(graph: AssetGraph) -> set[AssetKey]:
        selected = set()
        for key in graph.producer:
            spec = spec_of(graph, key)
            if spec is not None and name in spec.kinds:
                selected.add(key)
        return selected

    return AssetSelection(resolve, f"kind:{_quote(name)}")


def owner(name: str) -> AssetSelection:
    """The assets (external ones too) with ``name`` among their owners."""

    def resolve(graph: AssetGraph) -> set[AssetKey]:
        selected = set()
        for key in graph.upstream:
            spec = spec_of(graph, key)
            if spec is not None and name in spec.owners:
                selected.add(key)
        return selected

    return AssetSelection(resolve, f"owner:{_quote(name)}")


def table_name(name: str) -> AssetSelection:
    """The assets whose definition metadata names table ``name``
    (``metadata={"dagster/table_name": ...}``)."""

    def resolve(graph: AssetGraph) -> set[AssetKey]:
        selected = set()
        for key in graph.upstream:
            spec = spec_of(graph, key)
            value = spec.metadata.get(TABLE_NAME_METADATA) if spec is not None else None
            value = getattr(value, "value", value)  # a MetadataValue or the plain text
            if value is not None and str(value) == name:
                selected.add(key)
        return selected

    return AssetSelection(resolve, f"table_name:{_quote(name)}")


def code_location(name: str, loaded: Collection[str]) -> AssetSelection:
    """Every asset when ``name`` is the code location that was loaded (one of the names
    in ``loaded``), else none: a command loads exactly one code location."""
    matches = name in loaded
    return AssetSelection(
        lambda g: set(g.upstream) if matches else set(), f"code_location:{_quote(name)}"
    )


def roots(selection: AssetSelection) -> AssetSelection:
    """The assets of ``selection`` with nothing upstream of them (at any distance, through
    assets outside it too) inside ``selection``."""

    def resolve(graph: AssetGraph) -> set[AssetKey]:
        chosen = selection.resolve(graph)
        below = _reached(graph.toposorted_keys, graph.upstream, chosen)
        return {k for k in chosen if not below[k]}

    return AssetSelection(resolve, f"roots({selection._text})")


def sinks(selection: AssetSelection) -> AssetSelection:
    """The assets of ``selection`` with nothing downstream of them (at any distance) inside
    ``selection``."""

    def resolve(graph: AssetGraph) -> set[AssetKey]:
        chosen = selection.resolve(graph)
        above = _reached(list(reversed(graph.toposorted_keys)), graph.downstream, chosen)
        return {k for k in chosen if not above[k]}

    return AssetSelection(resolve, f"sinks({selection._text})")


def _reached(
    order: list[AssetKey], edges: dict[AssetKey, set[AssetKey]], chosen: set[AssetKey]
) -> dict[AssetKey, bool]:
    """For each key (visited in ``order``, neighbours along ``edges`` first): whether a
    key of ``chosen`` is reachable from it along ``edges``, not counting itself."""
    reached: dict[AssetKey, bool] = {}
    for key in order:
        reached[key] = any(n in chosen or reached.get(n, False) for n in edges.get(key, ()))
    return reached
