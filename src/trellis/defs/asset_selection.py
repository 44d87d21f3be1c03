"""``AssetSelection``: a query over the asset graph (keys, groups, up/downstream, set ops)."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from trellis.core.asset_checks import AssetCheckKey
from trellis.core.asset_key import AssetKey
from trellis.core.errors import InvalidDefinitionError
from trellis.defs.asset import AssetsDefinition
from trellis.defs.asset_graph import AssetGraph

CheckResolver = Callable[[AssetGraph], set[AssetCheckKey]]


class AssetSelection:
    """Which assets (and asset checks) a job or a run covers:
    ``AssetSelection.groups("sales").downstream() - AssetSelection.keys("x")``. Resolve it
    against an ``AssetGraph`` with ``resolve`` (asset keys) and ``resolve_checks``.

    As in Dagster, selecting an asset selects the checks of that asset;
    ``checks_for_assets``, ``checks`` and ``all_asset_checks`` select checks alone, and
    ``without_checks()`` drops them. ``|``, ``&`` and ``-`` combine both parts."""

    def __init__(
        self,
        resolver: Callable[[AssetGraph], set[AssetKey]],
        text: str,
        check_resolver: CheckResolver | None = None,
    ) -> None:
        self._resolver = resolver
        self._text = text
        self._check_resolver = check_resolver

    def resolve(self, graph: AssetGraph) -> set[AssetKey]:
        """The selected keys that exist in ``graph``."""
        return self._resolver(graph)

    def resolve_checks(self, graph: AssetGraph) -> set[AssetCheckKey]:
        """The selected asset checks of ``graph``: by default those of the selected
        assets."""
        if not graph.check_specs:
            return set()
        if self._check_resolver is not None:
            return self._check_resolver(graph)
        assets = self.resolve(graph)
        return {k for k in graph.check_specs if k.asset_key in assets}

    @staticmethod
    def all_asset_checks() -> AssetSelection:
        """Every asset check, and no asset."""
        return AssetSelection(lambda g: set(), "all_asset_checks()", lambda g: set(g.check_specs))

    @staticmethod
    def checks_for_assets(*assets: Any) -> AssetSelection:
        """The checks of these assets (definitions, specs, keys or key strings), without
        the assets: a run of it evaluates them against the assets' latest
        materializations."""
        of = AssetSelection.assets(*assets)
        return AssetSelection(
            lambda g: set(),
            f"checks_for_assets({of._text})",
            lambda g: {k for k in g.check_specs if k.asset_key in of.resolve(g)},
        )

    @staticmethod
    def checks(*defs_or_keys: Any) -> AssetSelection:
        """These asset checks (``AssetCheckKey``s, or every check of an
        ``@asset_check`` / ``@multi_asset_check`` or of an asset's ``check_specs``),
        without their assets."""
        wanted: list[AssetCheckKey] = []
        for item in defs_or_keys:
            if isinstance(item, AssetCheckKey):
                wanted.append(item)
            elif hasattr(item, "check_specs_by_key"):
                wanted.extend(item.check_specs_by_key)
            else:
                raise InvalidDefinitionError(
                    f"AssetSelection.checks() takes asset check keys and definitions with "
                    f"checks, got {item!r}."
                )

        def resolve(graph: AssetGraph) -> set[AssetCheckKey]:
            for key in wanted:
                if key not in graph.check_specs:
                    known = sorted(k.to_user_string() for k in graph.check_specs)
                    raise InvalidDefinitionError(
                        f"Asset selection names asset check '{key.to_user_string()}', which no "
                        f"definition here provides (checks: {known})."
                    )
            return set(wanted)

        names = ", ".join(k.to_user_string() for k in wanted)
        return AssetSelection(lambda g: set(), f"checks({names})", resolve)

    def without_checks(self) -> AssetSelection:
        """This selection's assets, without any asset check."""
        return self - AssetSelection.all_asset_checks()

    @staticmethod
    def all() -> AssetSelection:
        """Every materializable asset."""
        return AssetSelection(lambda g: set(g.materializable_keys), "all")

    @staticmethod
    def keys(*keys: Any) -> AssetSelection:
        """The assets with these keys (``AssetKey``, ``"a/b"`` user strings or part lists)."""
        # Strings are user strings here, as in Dagster: "raw/orders" is two parts.
        wanted = [
            AssetKey.from_user_string(k) if isinstance(k, str) else AssetKey.from_coercible(k)
            for k in keys
        ]

        def resolve(graph: AssetGraph) -> set[AssetKey]:
            known = graph.all_keys
            for key in wanted:
                if key not in known:
                    names = sorted(k.to_user_string() for k in known)
                    import difflib  # lazily: only this path needs it

                    close = difflib.get_close_matches(key.to_user_string(), names, n=1)
                    hint = f" Did you mean '{close[0]}'?" if close else ""
                    raise InvalidDefinitionError(
                        f"Asset selection names '{key.to_user_string()}', which is not an "
                        f"asset here.{hint}"
                    )
            return set(wanted)

        return AssetSelection(resolve, f"keys({', '.join(k.to_user_string() for k in wanted)})")

    @staticmethod
    def assets(*defs: Any) -> AssetSelection:
        """The assets made by these definitions, or named by these specs, keys or key
        strings (``AssetSelection.assets(orders, "raw/events")``)."""
        keys: list[AssetKey] = []
        for d in defs:
            if isinstance(d, AssetsDefinition):
                keys.extend(d.keys)
            elif isinstance(d, (str, AssetKey, list, tuple)):
                keys.append(AssetKey.from_coercible(d))
            else:
                keys.append(d.key)  # an AssetSpec (or anything with a key)
        return AssetSelection.keys(*keys)

    @staticmethod
    def groups(*names: str) -> AssetSelection:
        """The materializable assets in these groups."""
        wanted = set(names)
        return AssetSelection(
            lambda g: {k for k in g.materializable_keys if g.group_of(k) in wanted},
            f"groups({', '.join(names)})",
        )

    @staticmethod
    def key_prefixes(*prefixes: str | Iterable[str]) -> AssetSelection:
        """The materializable assets whose keys start with one of these prefixes."""
        parts = [tuple(p.split("/")) if isinstance(p, str) else tuple(p) for p in prefixes]
        return AssetSelection(
            lambda g: {
                k for k in g.materializable_keys if any(k.parts[: len(p)] == p for p in parts)
            },
            f"key_prefixes({', '.join('/'.join(p) for p in parts)})",
        )

    @staticmethod
    def from_string(string: str) -> AssetSelection:
        """The selection a selection string describes, in Dagster's syntax
        (``'group:sales and not kind:dbt'``, ``'+key:"raw/orders"'``, ``'sinks(*)'``) or
        the older one (``'*orders+'``, ``'a,b'``). A string that does not parse raises
        ``SelectionSyntaxError`` with the column; unknown keys and groups are reported
        when the selection is resolved."""
        from trellis.defs.selection_syntax import selection_from_string

        return selection_from_string(string)

    @staticmethod
    def tag(key: str, value: str = "") -> AssetSelection:
        """The materializable assets whose tag ``key`` is exactly ``value`` (an empty value
        matches key-only tags, as in Dagster)."""
        from trellis.defs.selection_filters import tag

        return tag(key, value)

    @staticmethod
    def kind(kind: str) -> AssetSelection:
        """The materializable assets of kind ``kind``."""
        from trellis.defs.selection_filters import kind as of_kind

        return of_kind(kind)

    @staticmethod
    def owner(owner: str) -> AssetSelection:
        """The assets with ``owner`` among their owners."""
        from trellis.defs.selection_filters import owner as owned_by

        return owned_by(owner)

    def roots(self) -> AssetSelection:
        """The assets of this selection with nothing upstream of them inside it."""
        from trellis.defs.selection_filters import roots

        return roots(self)

    def sinks(self) -> AssetSelection:
        """The assets of this selection with nothing downstream of them inside it."""
        from trellis.defs.selection_filters import sinks

        return sinks(self)

    def upstream(self, depth: int | None = None, include_self: bool = True) -> AssetSelection:
        """This selection and everything upstream of it (materializable only)."""
        return AssetSelection(
            lambda g: _closure(g, self.resolve(g), g.upstream_closure, depth, include_self),
            f"upstream({self._text}{_closure_args(depth, include_self)})",
        )

    def downstream(self, depth: int | None = None, include_self: bool = True) -> AssetSelection:
        """This selection and everything downstream of it."""
        return AssetSelection(
            lambda g: _closure(g, self.resolve(g), g.downstream_closure, depth, include_self),
            f"downstream({self._text}{_closure_args(depth, include_self)})",
        )

    def __or__(self, other: AssetSelection) -> AssetSelection:
        return AssetSelection(
            lambda g: self.resolve(g) | other.resolve(g),
            f"({self._text} | {other._text})",
            lambda g: self.resolve_checks(g) | other.resolve_checks(g),
        )

    def __and__(self, other: AssetSelection) -> AssetSelection:
        return AssetSelection(
            lambda g: self.resolve(g) & other.resolve(g),
            f"({self._text} & {other._text})",
            lambda g: self.resolve_checks(g) & other.resolve_checks(g),
        )

    def __sub__(self, other: AssetSelection) -> AssetSelection:
        return AssetSelection(
            lambda g: self.resolve(g) - other.resolve(g),
            f"({self._text} - {other._text})",
            lambda g: self.resolve_checks(g) - other.resolve_checks(g),
        )

    def __eq__(self, other: object) -> bool:
        # Two selections are equal when they are built the same way (as in Dagster, where
        # selections are values): the text spells out every argument.
        if not isinstance(other, AssetSelection):
            return NotImplemented
        return self._text == other._text

    def __hash__(self) -> int:
        return hash(("AssetSelection", self._text))

    def __repr__(self) -> str:
        return f"AssetSelection.{self._text}"


def _closure_args(depth: int | None, include_self: bool) -> str:
    return (f", depth={depth}" if depth is not None else "") + (
        "" if include_self else ", include_self=False"
    )


def _closure(
    graph: AssetGraph,
    base: set[AssetKey],
    step: Callable[..., set[AssetKey]],
    depth: int | None,
    include_self: bool,
) -> set[AssetKey]:
    result = step(base, depth) & graph.materializable_keys
    return result if include_self else result - base


CoercibleToAssetSelection = (
    AssetSelection
    | str
    | AssetKey
    | AssetsDefinition
    | Iterable[str | AssetKey | AssetsDefinition | AssetSelection]
)
"""What ``selection=`` / ``asset_selection=`` take: a selection, a selection string
(``"*"``, ``"orders+"``, ``"group:sales and kind:dbt"``), an ``AssetKey``, an assets
definition, or a list of those (their union)."""


def coerce_selection(selection: Any) -> AssetSelection:
    """An ``AssetSelection`` for what users pass as ``selection``: a selection, a selection
    string (``AssetSelection.from_string``), an ``AssetKey``, definitions, or a list of any
    of those."""
    if selection is None or selection == "*":
        return AssetSelection.all()
    if isinstance(selection, AssetSelection):
        return selection
    if isinstance(selection, str):
        return AssetSelection.from_string(selection)
    if isinstance(selection, AssetKey):
        return AssetSelection.keys(selection)
    if hasattr(selection, "keys") and hasattr(selection, "node_def"):
        return AssetSelection.assets(selection)
    if isinstance(selection, AssetCheckKey) or hasattr(selection, "check_specs_by_key"):
        return AssetSelection.checks(selection)  # an @asset_check definition, or its key
    items = list(selection)
    result: AssetSelection | None = None
    for item in items:
        part = coerce_selection(item)
        result = part if result is None else result | part
    if result is None:
        return AssetSelection(lambda g: set(), "none")
    return result
