"""``AssetGraph``: every asset of a code location, its producer and its neighbours.

Built once per set of definitions; checks duplicate keys, missing upstream assets and
cycles, each with an error that names the assets involved.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

from trellis.core.asset_key import AssetKey
from trellis.core.errors import DuplicateKeyError, InvalidDefinitionError
from trellis.defs.asset import AssetsDefinition
from trellis.defs.asset_spec import AssetSpec
from trellis.defs.dependency_names import resolve_dependency_names
from trellis.defs.partitions import PartitionsDefinition

if TYPE_CHECKING:
    from trellis.core.asset_checks import AssetCheckKey
    from trellis.defs.asset_check_spec import AssetCheckSpec


def _describe(assets_def: AssetsDefinition) -> str:
    """How an error names a definition: its op and the function behind it (a graph's
    first op's, for a graph-backed one)."""
    if assets_def.is_graph_backed:
        return f"'{assets_def.node_name}' (graph {assets_def.node_name})"
    fn = assets_def.op.compute_fn
    where = f"{getattr(fn, '__module__', '?')}.{getattr(fn, '__qualname__', '?')}"
    return f"'{assets_def.node_name}' (function {where})"


class AssetGraph:
    """Assets (materializable and external) with their upstream and downstream keys, and
    the asset checks on them (``check_specs``; ``check_owner``: the asset definition or
    ``@asset_check`` definition that evaluates each)."""

    def __init__(
        self,
        assets_defs: Sequence[AssetsDefinition],
        specs: Sequence[AssetSpec] = (),
        checks_defs: Sequence[Any] = (),
    ) -> None:
        has_checks = self._index(assets_defs, specs) or bool(checks_defs)
        known = self.producer.keys() | self.external_specs.keys()
        if not all(ups <= known for ups in self.upstream.values()):
            # Upstream names that are not keys, resolved by group and name as in Dagster
            # (only looked at when some name is not a key: the common case costs one
            # subset check per asset).
            resolved = resolve_dependency_names(assets_defs, specs)
            if any(r is not a for r, a in zip(resolved, assets_defs, strict=True)):
                has_checks = self._index(resolved, specs) or bool(checks_defs)
        self._check_upstreams()
        downstream: dict[AssetKey, set[AssetKey]] = {key: set() for key in self.upstream}
        self.downstream = downstream
        for key, ups in self.upstream.items():
            for up in ups:
                downstream[up].add(key)
        self.toposorted_keys = self._toposort()
        if any(a.partitions_def is not None or a.partition_mappings for a in self.assets_defs):
            from trellis.defs.partition_deps import check_partition_mappings

            check_partition_mappings(self)
        self.checks_defs = list(checks_defs)
        self.check_specs: dict[AssetCheckKey, AssetCheckSpec] = {}
        self.check_owner: dict[AssetCheckKey, Any] = {}
        if has_checks:
            from trellis.defs.check_graph import index_checks

            index_checks(self)

    def _index(self, assets_defs: Sequence[AssetsDefinition], specs: Sequence[AssetSpec]) -> bool:
        """Each key's producer (or external spec) and upstream keys; duplicates refused.
        Returns whether some asset definition declares checks (``check_specs``)."""
        self.assets_defs = list(assets_defs)
        self.external_specs: dict[AssetKey, AssetSpec] = {}
        self.producer: dict[AssetKey, AssetsDefinition] = {}
        self.upstream: dict[AssetKey, set[AssetKey]] = {}
        # Keys of observable source assets: executable (observed), not materializable.
        self.observable_keys: set[AssetKey] = set()

        by_node_name: dict[str, AssetsDefinition] = {}
        has_checks = False
        for assets_def in self.assets_defs:
            if assets_def.check_specs_by_key:
                has_checks = True
            if assets_def.is_observable:
                self.observable_keys.update(assets_def.keys_by_output_name.values())
            other = by_node_name.setdefault(assets_def.node_name, assets_def)
            if other is not assets_def:
                raise DuplicateKeyError(
                    f"Two asset definitions run as the same op '{assets_def.node_name}': "
                    f"{_describe(other)} and {_describe(assets_def)}. Give one a distinct "
                    "name (multi_asset(name=...) or a different key)."
                )
            for key in assets_def.keys_by_output_name.values():
                producer = self.producer.get(key)
                if producer is not None:
                    raise DuplicateKeyError(
                        f"Asset key '{key.to_user_string()}' is defined twice: by "
                        f"{_describe(producer)} and by {_describe(assets_def)}."
                    )
                self.producer[key] = assets_def
                deps = assets_def.deps_for(key)
                deps.discard(key)
                self.upstream[key] = deps
        for spec in specs:
            if spec.key in self.producer or spec.key in self.external_specs:
                producer = self.producer.get(spec.key)
                what = _describe(producer) if producer is not None else "another AssetSpec"
                raise DuplicateKeyError(
                    f"Asset key '{spec.key.to_user_string()}' is defined twice: by {spec!r} "
                    f"and by {what}."
                )
            self.external_specs[spec.key] = spec
            self.upstream[spec.key] = set(spec.deps)
        return has_checks

    def _check_upstreams(self) -> None:
        known = set(self.producer) | set(self.external_specs)
        for assets_def in self.assets_defs:
            for input_name, up in assets_def.keys_by_input_name.items():
                if up in known:
                    continue
                names = [k.to_user_string() for k in sorted(known)]
                import difflib  # lazily: only this path needs it

                close = difflib.get_close_matches(up.to_user_string(), names, n=1)
                hint = f" Did you mean '{close[0]}'?" if close else ""
                raise InvalidDefinitionError(
                    f"Asset '{assets_def.node_name}' reads input '{input_name}' from asset "
                    f"'{up.to_user_string()}', which no definition provides.{hint} Define it, "
                    "or declare it with AssetSpec if another system makes it."
                )
        # Non-data deps on unknown keys become external assets, as in Dagster.
        for key, ups in list(self.upstream.items()):
            for up in ups:
                if up not in known:
                    self.external_specs[up] = AssetSpec(up)
                    self.upstream.setdefault(up, set())
                    known.add(up)
                    del key

    def _toposort(self) -> list[AssetKey]:
        indegree = {k: len(v) for k, v in self.upstream.items()}
        order: list[AssetKey] = [k for k, d in indegree.items() if d == 0]
        i = 0
        while i < len(order):
            for down in self.downstream.get(order[i], ()):
                indegree[down] -= 1
                if indegree[down] == 0:
                    order.append(down)
            i += 1
        if len(order) != len(indegree):
            raise InvalidDefinitionError(f"Assets form a cycle: {self._find_cycle(set(order))}.")
        return order

    def _find_cycle(self, done: set[AssetKey]) -> str:
        remaining = [k for k in self.upstream if k not in done]
        start = remaining[0]
        path = [start]
        seen = {start: 0}
        current = start
        while True:
            current = next(u for u in sorted(self.upstream[current]) if u not in done)
            if current in seen:
                cycle = [*path[seen[current] :], current]
                return " -> ".join(k.to_user_string() for k in reversed(cycle))
            seen[current] = len(path)
            path.append(current)

    # -- queries -----------------------------------------------------------------------
    @property
    def all_keys(self) -> set[AssetKey]:
        """Every key, materializable or not."""
        return set(self.upstream)

    @property
    def materializable_keys(self) -> set[AssetKey]:
        """Keys that some definition here can materialize (observable source assets are
        observed, not materialized: ``observable_keys``)."""
        if self.observable_keys:
            return set(self.producer) - self.observable_keys
        return set(self.producer)

    @property
    def executable_keys(self) -> set[AssetKey]:
        """Keys some definition here runs: materializable and observable assets."""
        return set(self.producer)

    def is_external(self, key: AssetKey) -> bool:
        """Whether ``key`` is not materialized here (an ``AssetSpec`` or an observable
        source asset)."""
        return key in self.external_specs or key in self.observable_keys

    def group_of(self, key: AssetKey) -> str:
        """The group of an asset (``default`` when none was given)."""
        if key in self.producer:
            return self.producer[key].specs_by_key[key].group_name or "default"
        spec = self.external_specs.get(key)
        return (spec.group_name if spec else None) or "default"

    def upstream_closure(self, keys: Iterable[AssetKey], depth: int | None = None) -> set[AssetKey]:
        """``keys`` and everything upstream of them (up to ``depth`` hops)."""
        return self._closure(keys, self.upstream, depth)

    def downstream_closure(
        self, keys: Iterable[AssetKey], depth: int | None = None
    ) -> set[AssetKey]:
        """``keys`` and everything downstream of them (up to ``depth`` hops)."""
        return self._closure(keys, self.downstream, depth)

    @staticmethod
    def _closure(
        keys: Iterable[AssetKey], edges: dict[AssetKey, set[AssetKey]], depth: int | None
    ) -> set[AssetKey]:
        result = set(keys)
        frontier = set(result)
        hops = 0
        while frontier and (depth is None or hops < depth):
            nxt: set[AssetKey] = set()
            for key in frontier:
                nxt.update(edges.get(key, ()))
            frontier = nxt - result
            result |= frontier
            hops += 1
        return result

    def assets_def_for(self, key: AssetKey) -> AssetsDefinition:
        """The definition that materializes ``key``."""
        return self.producer[key]

    def partitions_def_for(self, key: AssetKey) -> PartitionsDefinition | None:
        """The partitions definition of ``key`` (None when it is not partitioned)."""
        producer = self.producer.get(key)
        spec = self.external_specs.get(key)
        partitions_def: PartitionsDefinition | None = (
            producer.partitions_def
            if producer is not None
            else spec.partitions_def
            if spec
            else None
        )
        return partitions_def

    def io_manager_key_for(self, key: AssetKey) -> str:
        """The IO manager that stores (and so loads) ``key``."""
        producer = self.producer.get(key)
        if producer is not None:
            return producer.out_def_for_output(producer.output_names_by_key[key]).io_manager_key
        spec = self.external_specs.get(key)
        return spec.io_manager_key if spec else "io_manager"
