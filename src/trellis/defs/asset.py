"""``AssetsDefinition``: data assets and the op that materializes them (the ``@asset`` and
``@multi_asset`` decorators that build one are in ``asset_decorators.py``)."""

from __future__ import annotations

import copy
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from trellis.core.asset_checks import AssetCheckKey
from trellis.core.asset_key import AssetKey, CoercibleToAssetKey
from trellis.core.errors import InvalidDefinitionError, InvalidSubsetError
from trellis.defs.asset_spec import (
    AssetSpec,
    is_observation_spec,
)
from trellis.defs.backfill_policy import BackfillPolicy
from trellis.defs.graph import GraphDefinition
from trellis.defs.hook import HookDefinition, coerce_hooks
from trellis.defs.ins_outs import Out
from trellis.defs.op import OpDefinition

if TYPE_CHECKING:
    from trellis.defs.asset_check_spec import AssetCheckSpec


class AssetsDefinition:
    """One or more assets and the node that materializes them: an op (``@asset``,
    ``@multi_asset``, ``from_op``) or a graph of ops (``@graph_asset``,
    ``@graph_multi_asset``, ``from_graph``), in ``node_def``.

    ``keys_by_output_name`` maps each node output to the asset it makes;
    ``keys_by_input_name`` maps each node input to the upstream asset it reads;
    ``specs_by_key`` carries each asset's properties (group, metadata, owners, ...);
    ``resource_defs`` holds the resources bound to it by ``with_resources``;
    ``hook_defs`` the hooks that run after its step (``@asset(hooks=...)``, ``with_hooks``);
    ``check_specs_by_key`` the asset checks its function evaluates (``check_specs=``),
    of which ``selected_check_keys`` run; ``internal_asset_deps`` (by output name) narrows
    the upstream assets of each asset; ``partition_mappings`` (by upstream key) says which
    upstream partitions an input reads (``partition_mapping_for``); ``backfill_policy``
    how a range of partitions is split into runs.
    """

    def __init__(
        self,
        op: OpDefinition | GraphDefinition,
        keys_by_output_name: Mapping[str, AssetKey],
        keys_by_input_name: Mapping[str, AssetKey],
        specs_by_key: Mapping[AssetKey, AssetSpec],
        partitions_def: Any = None,
        can_subset: bool = False,
        selected_keys: Iterable[AssetKey] | None = None,
        resource_defs: Mapping[str, Any] | None = None,
        hook_defs: Any = None,
        *,
        check_specs_by_key: Mapping[AssetCheckKey, AssetCheckSpec] | None = None,
        selected_check_keys: Iterable[AssetCheckKey] | None = None,
        internal_asset_deps: Mapping[str, set[AssetKey]] | None = None,
        partition_mappings: Mapping[AssetKey, Any] | None = None,
        backfill_policy: Any = None,
    ) -> None:
        self.node_def: OpDefinition | GraphDefinition = op
        self.node_name = op.name  # the name of the node (the op's step, the graph's prefix)
        # Whether a graph of ops (not one op) materializes these assets.
        self.is_graph_backed = not isinstance(op, OpDefinition)
        self.internal_asset_deps = dict(internal_asset_deps or {})
        # By upstream key: the mappings of inputs (``AssetIn(partition_mapping=)``).
        self.partition_mappings: dict[AssetKey, Any] = dict(partition_mappings or {})
        if backfill_policy is not None and not isinstance(backfill_policy, BackfillPolicy):
            raise InvalidDefinitionError(
                f"'{op.name}': backfill_policy must be a BackfillPolicy (BackfillPolicy."
                f"single_run() or BackfillPolicy.multi_run(n)), got {backfill_policy!r}."
            )
        self.backfill_policy = backfill_policy
        self.keys_by_output_name = dict(keys_by_output_name)
        self.keys_by_input_name = dict(keys_by_input_name)
        self.specs_by_key = dict(specs_by_key)
        self.partitions_def = partitions_def
        self.can_subset = can_subset
        self.output_names_by_key = {k: n for n, k in self.keys_by_output_name.items()}
        self._all_keys = frozenset(self.output_names_by_key)
        self.selected_keys = (
            frozenset(selected_keys) if selected_keys is not None else self._all_keys
        )
        self.resource_defs: dict[str, Any] = dict(resource_defs or {})
        self.hook_defs: frozenset[HookDefinition] = (
            coerce_hooks(hook_defs, f"Asset op '{op.name}'") if hook_defs else frozenset()
        )
        self.check_specs_by_key: dict[AssetCheckKey, AssetCheckSpec] = dict(
            check_specs_by_key or {}
        )
        self.selected_check_keys: frozenset[AssetCheckKey] = (
            frozenset(selected_check_keys)
            if selected_check_keys is not None
            else frozenset(self.check_specs_by_key)
        )

    # -- identity ----------------------------------------------------------------------

    @property
    def keys(self) -> list[AssetKey]:
        """Every asset key this definition materializes, in output order."""
        return list(self.keys_by_output_name.values())

    @property
    def key(self) -> AssetKey:
        """The asset key of a single-asset definition."""
        if len(self.keys_by_output_name) != 1:
            raise InvalidDefinitionError(
                f"'{self.node_name}' makes {len(self.keys)} assets; use .keys instead of .key."
            )
        return next(iter(self.keys_by_output_name.values()))

    @property
    def is_observable(self) -> bool:
        """Whether this is an observable source asset: its function observes the asset
        (``ASSET_OBSERVATION`` with a data version) instead of materializing it."""
        for spec in self.specs_by_key.values():
            if spec.metadata and is_observation_spec(spec):
                return True
        return False

    @property
    def dependency_keys(self) -> set[AssetKey]:
        """Every upstream asset: data inputs and non-data deps."""
        deps: set[AssetKey] = set(self.keys_by_input_name.values())
        for spec in self.specs_by_key.values():
            deps.update(spec.deps)
        return deps - set(self.keys)

    def deps_for(self, key: AssetKey) -> set[AssetKey]:
        """The upstream assets of one of this definition's assets."""
        deps = set(self.keys_by_input_name.values())
        if self.internal_asset_deps:  # from_graph / from_op(internal_asset_deps=...)
            internal = self.internal_asset_deps.get(self.output_names_by_key[key])
            if internal is not None:
                deps = set(internal)
        deps.update(self.specs_by_key[key].deps)
        return deps

    def partition_mapping_for(self, upstream_key: AssetKey) -> Any:
        """The partition mapping given for ``upstream_key`` (by an ``AssetIn`` or an
        ``AssetDep``), or None when it gets the default one."""
        mapping = self.partition_mappings.get(upstream_key)
        if mapping is None:
            for spec in self.specs_by_key.values():
                mapping = spec.partition_mappings.get(upstream_key)
                if mapping is not None:
                    break
        return mapping

    # -- the node ----------------------------------------------------------------------
    @property
    def op(self) -> OpDefinition:
        """The op that materializes these assets (a graph-backed definition has none: read
        ``node_def``)."""
        node_def = self.node_def
        if not isinstance(node_def, OpDefinition):
            raise InvalidDefinitionError(
                f"'{self.node_name}' is a graph-backed asset definition: its node is the graph "
                f"'{node_def.name}', not an op; read .node_def."
            )
        return node_def

    @property
    def op_defs(self) -> list[OpDefinition]:
        """Every op that runs to materialize these assets (the graph's, recursively)."""
        return _ops_of(self.node_def)

    def out_def_for_output(self, output_name: str) -> Out:
        """The ``Out`` behind one output of the node (for a graph output: the ``Out`` of
        the inner op output it maps to, whose IO manager stores the asset, as in
        Dagster)."""
        node_def = self.node_def
        if isinstance(node_def, OpDefinition):  # the common case: no graph to follow
            return node_def.outs[output_name]
        _, op_def, op_output = self.inner_output(output_name)
        return op_def.outs[op_output]

    def inner_output(self, output_name: str) -> tuple[str, OpDefinition, str]:
        """``(handle within the node, op, op output)`` that makes node output
        ``output_name`` (an op-backed definition: ``(node name, op, output_name)``)."""
        node_def = self.node_def
        if isinstance(node_def, OpDefinition):
            return node_def.name, node_def, output_name
        return _inner_output(node_def, node_def.name, output_name)

    @property
    def specs(self) -> list[AssetSpec]:
        """The ``AssetSpec`` of each asset this definition makes, in output order."""
        return [self.specs_by_key[key] for key in self.keys]

    def get_asset_spec(self, key: CoercibleToAssetKey | None = None) -> AssetSpec:
        """The ``AssetSpec`` of ``key`` (of the only asset when ``key`` is omitted)."""
        return self.specs_by_key[self.key if key is None else AssetKey.from_coercible(key)]

    @property
    def check_specs(self) -> list[AssetCheckSpec]:
        """The asset checks this definition's function evaluates (those selected), from
        ``check_specs=``."""
        return [s for k, s in self.check_specs_by_key.items() if k in self.selected_check_keys]

    @property
    def check_keys(self) -> set[AssetCheckKey]:
        """The keys of the checks this definition evaluates (those selected)."""
        return set(self.selected_check_keys)

    def checks_for(self, keys: Iterable[AssetKey]) -> frozenset[AssetCheckKey]:
        """The keys of this definition's checks on the assets ``keys``."""
        wanted = set(keys)
        return frozenset(k for k in self.check_specs_by_key if k.asset_key in wanted)

    @staticmethod
    def from_graph(graph_def: GraphDefinition, **kwargs: Any) -> AssetsDefinition:
        """Assets made by the ops of ``graph_def``: one per graph output, keyed by output
        name (``keys_by_output_name``, ``key_prefix``), reading the upstream assets named
        by its inputs (``keys_by_input_name``); see ``trellis.defs.graph_asset``."""
        from trellis.defs.graph_asset import assets_from_graph

        return assets_from_graph(graph_def, **kwargs)

    @staticmethod
    def from_op(op_def: OpDefinition, **kwargs: Any) -> AssetsDefinition:
        """Assets made by one plain op: one per op output (the single ``result`` output is
        keyed by the op's name), reading the upstream assets named by its inputs; see
        ``trellis.defs.graph_asset``."""
        from trellis.defs.graph_asset import assets_from_op

        return assets_from_op(op_def, **kwargs)

    @property
    def group_names_by_key(self) -> dict[AssetKey, str]:
        """Each asset's group (``default`` when none was given)."""
        return {k: s.group_name or "default" for k, s in self.specs_by_key.items()}

    def get_output_name_for_asset_key(self, key: AssetKey) -> str:
        """The op output that makes ``key``."""
        return self.output_names_by_key[key]

    @property
    def automation_conditions_by_key(self) -> dict[AssetKey, Any]:
        """Each asset's automation condition (None: none)."""
        return {k: s.automation_condition for k, s in self.specs_by_key.items()}

    @property
    def automation_condition(self) -> Any:
        """The automation condition of a single-asset definition (None: none)."""
        return self.specs_by_key[self.key].automation_condition

    @property
    def metadata_by_key(self) -> dict[AssetKey, dict[str, Any]]:
        """Each asset's definition metadata."""
        return {k: s.metadata for k, s in self.specs_by_key.items()}

    def subset_for(
        self, keys: Iterable[AssetKey], check_keys: Iterable[AssetCheckKey] | None = None
    ) -> AssetsDefinition:
        """This definition restricted to ``keys`` (multi-assets with ``can_subset``) and to
        ``check_keys`` of its checks (default: the checks of ``keys``, Dagster's rule)."""
        keys = frozenset(keys) & self._all_keys
        checks = (
            self.checks_for(keys)
            if check_keys is None
            else frozenset(check_keys) & frozenset(self.check_specs_by_key)
        )
        if keys == self.selected_keys and checks == self.selected_check_keys:
            return self
        every_check = frozenset(self.check_specs_by_key)
        whole = keys == self._all_keys and checks == every_check
        if not self.can_subset and not whole:
            left_out = sorted(k.to_user_string() for k in self._all_keys - keys)
            left_out += sorted(k.to_user_string() for k in every_check - checks)
            raise InvalidSubsetError(
                f"{'Multi-asset' if len(self._all_keys) > 1 else 'Asset'} "
                f"'{self.node_name}' cannot be subset (can_subset=False), but the selection "
                f"leaves out {left_out}. Select all of its assets and asset checks."
            )
        return self._copy_with(selected_keys=keys, selected_check_keys=checks)

    def _copy_with(self, **changes: Any) -> AssetsDefinition:
        """A copy with some constructor arguments replaced."""
        values: dict[str, Any] = {
            "op": self.node_def,
            "keys_by_output_name": self.keys_by_output_name,
            "keys_by_input_name": self.keys_by_input_name,
            "specs_by_key": self.specs_by_key,
            "partitions_def": self.partitions_def,
            "can_subset": self.can_subset,
            "selected_keys": self.selected_keys,
            "resource_defs": self.resource_defs,
            "hook_defs": self.hook_defs,
            "check_specs_by_key": self.check_specs_by_key,
            "selected_check_keys": self.selected_check_keys,
            "internal_asset_deps": self.internal_asset_deps,
            "partition_mappings": self.partition_mappings,
            "backfill_policy": self.backfill_policy,
        }
        values.update(changes)
        return AssetsDefinition(**values)

    def with_hooks(self, hook_defs: Any) -> AssetsDefinition:
        """A copy whose step also runs ``hook_defs`` (in every job that materializes it)."""
        copy = AssetsDefinition.__new__(AssetsDefinition)
        copy.__dict__.update(self.__dict__)
        copy.hook_defs = self.hook_defs | coerce_hooks(hook_defs, f"Asset op '{self.node_name}'")
        return copy

    def with_attributes(
        self,
        *,
        asset_key_replacements: Mapping[AssetKey, AssetKey] | None = None,
        group_name: str | None = None,
        resource_defs: Mapping[str, Any] | None = None,
    ) -> AssetsDefinition:
        """A copy with asset keys replaced (its own and the upstream keys it reads), its
        assets moved to ``group_name``, or ``resource_defs`` bound: what
        ``load_assets_from_modules(key_prefix=..., group_name=...)`` and
        ``with_resources`` hand back. The original is left as it was."""
        replacements = dict(asset_key_replacements or {})

        def new(key: AssetKey) -> AssetKey:
            return replacements.get(key, key)

        keys_by_output = {name: new(key) for name, key in self.keys_by_output_name.items()}
        specs: dict[AssetKey, AssetSpec] = {}
        for key, spec in self.specs_by_key.items():
            changes: dict[str, Any] = {"key": new(key), "deps": spec.dep_objects(new)}
            if group_name is not None:
                changes["group_name"] = group_name
            specs[new(key)] = spec.replace_attributes(**changes)
        op_def = self.node_def
        if isinstance(op_def, OpDefinition) and (
            any(new(k) != k for k in self.keys)
            or any(new(k) != k for k in self.keys_by_input_name.values())
        ):
            original = op_def
            op_def = copy.copy(original)
            op_def.ins = {}
            for input_name, in_def in original.ins.items():
                in_copy = copy.copy(in_def)
                if in_def.asset_key is not None:
                    in_copy.asset_key = new(in_def.asset_key)
                op_def.ins[input_name] = in_copy
            if len(self.keys) == 1 and original.name == self.keys[0].to_python_identifier():
                # An @asset's op is named after its key; keep it so after a new prefix.
                op_def.name = new(self.keys[0]).to_python_identifier()
        selected = None if self.selected_keys == self._all_keys else map(new, self.selected_keys)
        check_specs = {
            spec.key: spec
            for spec in (
                s.with_asset_key_replacements(replacements)
                for s in self.check_specs_by_key.values()
            )
        }
        renamed = dict(zip(self.check_specs_by_key, check_specs, strict=True))
        return AssetsDefinition(
            op_def,
            keys_by_output_name=keys_by_output,
            keys_by_input_name={n: new(k) for n, k in self.keys_by_input_name.items()},
            specs_by_key=specs,
            partitions_def=self.partitions_def,
            can_subset=self.can_subset,
            selected_keys=selected,
            resource_defs=self.resource_defs if resource_defs is None else resource_defs,
            hook_defs=self.hook_defs,
            check_specs_by_key=check_specs,
            selected_check_keys=[renamed[k] for k in self.selected_check_keys],
            internal_asset_deps={
                name: {new(k) for k in deps} for name, deps in self.internal_asset_deps.items()
            },
            partition_mappings={new(k): m for k, m in self.partition_mappings.items()},
            backfill_policy=self.backfill_policy,
        )

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        """Call the asset function directly (for tests): inputs are passed as arguments."""
        from trellis.api.invocation import invoke_directly

        if self.is_graph_backed:
            raise InvalidDefinitionError(
                f"Graph-backed asset '{self.node_name}' cannot be called directly: it is a "
                "graph of ops. Call its ops directly, or materialize([...]) it."
            )
        return invoke_directly(self.op, args, kwargs, assets_def=self)

    def __repr__(self) -> str:
        keys = ", ".join(k.to_user_string() for k in self.keys)
        return f"<AssetsDefinition {keys}>"


def _ops_of(node_def: OpDefinition | GraphDefinition) -> list[OpDefinition]:
    if isinstance(node_def, OpDefinition):
        return [node_def]
    found: list[OpDefinition] = []
    for invocation in node_def.nodes.values():
        inner = invocation.definition
        if isinstance(inner, (OpDefinition, GraphDefinition)):
            found.extend(_ops_of(inner))
    return found


def _inner_output(
    graph_def: GraphDefinition, prefix: str, output_name: str
) -> tuple[str, OpDefinition, str]:
    """Follow a graph output down nested graphs to ``(handle, op, op output)``."""
    mapping = graph_def.output_mappings[output_name]
    inner = graph_def.nodes[mapping.node_name].definition
    handle = f"{prefix}.{mapping.node_name}"
    if isinstance(inner, GraphDefinition):
        return _inner_output(inner, handle, mapping.output_name)
    assert isinstance(inner, OpDefinition)
    return handle, inner, mapping.output_name
