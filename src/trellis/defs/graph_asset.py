"""Assets made by more than one op: ``@graph_asset``, ``@graph_multi_asset``,
``AssetsDefinition.from_graph``; and assets made by a plain op, ``from_op``.

A graph-backed asset's body calls ops as a ``@graph`` body does; its parameters are the
upstream assets, which reach the inner ops that take them. Each asset is a graph output:
the inner op output it maps to is stored by that output's IO manager (as in Dagster) and
materializes the asset; every other op output is an intermediate value stored by its own
IO manager (``io_manager`` unless the op says otherwise). In a job, the graph's ops are
steps at ``<asset node>.<op>`` (``asset_job.py`` flattens them) and its run config nests
as a graph's does: ``ops: {<asset node>: {ops: {<op>: {config: ...}}}}``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, overload

from trellis.core.asset_key import AssetKey, CoercibleToAssetKey
from trellis.core.errors import InvalidDefinitionError
from trellis.defs.asset import AssetsDefinition
from trellis.defs.asset_decorators import AssetDecorator, _asset_ins, _prefix_list
from trellis.defs.asset_spec import AssetSpec
from trellis.defs.graph import GraphDefinition, build_graph
from trellis.defs.ins_outs import AssetIn, AssetOut
from trellis.defs.op import OpDefinition


def _unsupported(owner: str, **given: Any) -> None:
    """Refuse arguments whose feature Trellis does not have, naming them."""
    named = sorted(name for name, value in given.items() if value)
    if named:
        raise InvalidDefinitionError(
            f"{owner}: {', '.join(named)} {'is' if len(named) == 1 else 'are'} not supported "
            "by Trellis yet (see README 'Dagster names')."
        )


def _check_graph(graph_def: GraphDefinition, owner: str) -> None:
    """A graph's asset outputs must be plain outputs: not a dynamic output, nor a result
    still mapped over one (collect it first)."""
    for name in graph_def.output_names:
        if graph_def.is_dynamic_output(name):
            raise InvalidDefinitionError(
                f"{owner}: output '{name}' is a dynamic output (or mapped over one); an asset "
                "is one value: .collect() the mapped results into an op whose output is "
                "the asset."
            )
    mapped: dict[tuple[str, str], str] = {}
    for name in graph_def.output_names:
        target = graph_def.output_mappings[name]
        place = (target.node_name, target.output_name)
        if place in mapped:
            raise InvalidDefinitionError(
                f"{owner}: outputs '{mapped[place]}' and '{name}' are the same op output "
                f"('{place[0]}.{place[1]}'); each asset needs an output of its own."
            )
        mapped[place] = name


def _graph_config(graph_def: GraphDefinition, config: Any, owner: str) -> GraphDefinition:
    """Attach ``config=`` to the graph: the inner ops' config (``{op: {config: ...}}``), or
    a ``ConfigMapping`` from the asset's own config (``ops: {asset: {config: ...}}``)."""
    from trellis.defs.config_mapping import ConfigMapping

    if config is None:
        return graph_def
    if isinstance(config, ConfigMapping):
        graph_def.config = config
        return graph_def
    if not isinstance(config, Mapping):
        raise InvalidDefinitionError(
            f"{owner}: config= takes the config of the graph's ops as a dict "
            "({op_name: {'config': {...}}}) or a ConfigMapping, got "
            f"{type(config).__name__}."
        )
    graph_def.config = dict(config)
    return graph_def


@overload
def graph_asset(compose_fn: Callable[..., Any]) -> AssetsDefinition: ...
@overload
def graph_asset(
    compose_fn: None = None,
    *,
    name: str | None = None,
    description: str | None = None,
    ins: Mapping[str, AssetIn] | None = None,
    config: Any = None,
    key_prefix: str | Sequence[str] | None = None,
    group_name: str | None = None,
    partitions_def: Any = None,
    hooks: Any = None,
    metadata: Mapping[str, Any] | None = None,
    tags: Mapping[str, str] | None = None,
    owners: Sequence[str] | None = None,
    automation_condition: Any = None,
    backfill_policy: Any = None,
    resource_defs: Mapping[str, Any] | None = None,
    check_specs: Sequence[Any] | None = None,
    code_version: str | None = None,
    key: CoercibleToAssetKey | None = None,
    kinds: set[str] | None = None,
) -> AssetDecorator: ...


def graph_asset(
    compose_fn: Callable[..., Any] | None = None,
    *,
    name: str | None = None,
    description: str | None = None,
    ins: Mapping[str, AssetIn] | None = None,
    config: Any = None,
    key_prefix: str | Sequence[str] | None = None,
    group_name: str | None = None,
    partitions_def: Any = None,
    hooks: Any = None,
    metadata: Mapping[str, Any] | None = None,
    tags: Mapping[str, str] | None = None,
    owners: Sequence[str] | None = None,
    automation_condition: Any = None,
    backfill_policy: Any = None,
    resource_defs: Mapping[str, Any] | None = None,
    check_specs: Sequence[Any] | None = None,
    code_version: str | None = None,
    key: CoercibleToAssetKey | None = None,
    kinds: set[str] | None = None,
) -> AssetsDefinition | AssetDecorator:
    """An asset computed by several ops: ``@graph_asset`` over a function that calls ops
    (as a ``@graph`` body does) and returns the output that is the asset.

    Its parameters name the upstream assets (``ins`` overrides, as on ``@asset``); each
    inner op runs as its own step, ``<asset>.<op>``; ``config`` gives the inner ops'
    config (``{op: {"config": ...}}``), which run config may override under
    ``ops: {<asset>: {ops: {...}}}``."""

    def decorate(fn: Callable[..., Any]) -> AssetsDefinition:
        if key is not None and (name is not None or key_prefix is not None):
            raise InvalidDefinitionError(
                f"@graph_asset on '{fn.__name__}': pass either key, or name/key_prefix."
            )
        asset_key = (
            AssetKey.from_coercible(key)
            if key is not None
            else AssetKey([*_prefix_list(key_prefix), name or fn.__name__])
        )
        owner = f"graph_asset '{asset_key.to_user_string()}'"
        _unsupported(
            owner,
            hooks=hooks,
            automation_condition=automation_condition,
            check_specs=check_specs,
        )
        input_keys, _, mappings = _asset_ins(fn, ins, owner)
        graph_def = build_graph(fn, name=name or asset_key.to_python_identifier())
        graph_def = _graph_config(graph_def, config, owner)
        if len(graph_def.output_names) != 1:
            raise InvalidDefinitionError(
                f"{owner} must return the output of one op (the asset's value); it returned "
                f"{len(graph_def.output_names)}. Use @graph_multi_asset for several assets."
            )
        _check_graph(graph_def, owner)
        spec = AssetSpec(
            asset_key,
            description=description if description is not None else graph_def.description,
            metadata=metadata,
            group_name=group_name,
            code_version=code_version,
            owners=owners,
            tags=tags,
            kinds=kinds,
            partitions_def=partitions_def,
        )
        return AssetsDefinition(
            graph_def,
            keys_by_output_name={graph_def.output_names[0]: asset_key},
            keys_by_input_name=input_keys,
            specs_by_key={asset_key: spec},
            partitions_def=partitions_def,
            resource_defs=resource_defs,
            partition_mappings=mappings,
            backfill_policy=backfill_policy,
        )

    return decorate(compose_fn) if compose_fn is not None else decorate


def graph_multi_asset(
    *,
    outs: Mapping[str, AssetOut],
    name: str | None = None,
    ins: Mapping[str, AssetIn] | None = None,
    partitions_def: Any = None,
    hooks: Any = None,
    backfill_policy: Any = None,
    group_name: str | None = None,
    can_subset: bool = False,
    resource_defs: Mapping[str, Any] | None = None,
    check_specs: Sequence[Any] | None = None,
    config: Any = None,
) -> AssetDecorator:
    """Several assets computed by a graph of ops: ``@graph_multi_asset(outs={"a":
    AssetOut(), "b": AssetOut()})`` over a function that returns ``{"a": ..., "b": ...}``
    (or a tuple in ``outs`` order). With ``can_subset=True`` a run may select some of the
    assets: only the ops they need run."""

    def decorate(fn: Callable[..., Any]) -> AssetsDefinition:
        node_name = name or fn.__name__
        owner = f"graph_multi_asset '{node_name}'"
        _unsupported(owner, hooks=hooks, check_specs=check_specs)
        input_keys, _, mappings = _asset_ins(fn, ins, owner)
        graph_def = build_graph(fn, name=node_name, out=dict(outs))
        graph_def = _graph_config(graph_def, config, owner)
        missing = [n for n in outs if n not in graph_def.output_mappings]
        extra = [n for n in graph_def.output_mappings if n not in outs]
        if missing or extra:
            raise InvalidDefinitionError(
                f"{owner} declares outs {list(outs)} but its body returned "
                f"{list(graph_def.output_mappings)}; return one op output per declared out."
            )
        _check_graph(graph_def, owner)
        keys_by_output: dict[str, AssetKey] = {}
        specs: dict[AssetKey, AssetSpec] = {}
        for out_name, asset_out in outs.items():
            asset_key = asset_out.key or AssetKey([*(asset_out.key_prefix or []), out_name])
            keys_by_output[out_name] = asset_key
            specs[asset_key] = _spec_from_out(asset_key, asset_out, group_name, partitions_def)
        return AssetsDefinition(
            graph_def,
            keys_by_output_name=keys_by_output,
            keys_by_input_name=input_keys,
            specs_by_key=specs,
            partitions_def=partitions_def,
            can_subset=can_subset,
            resource_defs=resource_defs,
            partition_mappings=mappings,
            backfill_policy=backfill_policy,
        )

    return decorate


def _spec_from_out(
    key: AssetKey, asset_out: AssetOut, group_name: str | None, partitions_def: Any
) -> AssetSpec:
    return AssetSpec(
        key,
        description=asset_out.description,
        metadata=asset_out.metadata,
        group_name=asset_out.group_name or group_name,
        code_version=asset_out.code_version,
        owners=asset_out.owners,
        tags=asset_out.tags,
        kinds=asset_out.kinds,
        partitions_def=partitions_def,
        freshness_policy=asset_out.freshness_policy,
    )


def _named_keys(
    names: Sequence[str],
    given: Mapping[str, CoercibleToAssetKey] | None,
    default: Callable[[str], AssetKey],
    what: str,
    owner: str,
) -> dict[str, AssetKey]:
    """A key for each of ``names``: the one ``given``, else ``default(name)``."""
    given = dict(given or {})
    unknown = sorted(set(given) - set(names))
    if unknown:
        raise InvalidDefinitionError(f"{owner}: {what} names {unknown}, not among {list(names)}.")
    return {n: AssetKey.from_coercible(given[n]) if n in given else default(n) for n in names}


def _assets_of_node(
    node_def: OpDefinition | GraphDefinition,
    owner: str,
    *,
    input_names: Sequence[str],
    output_names: Sequence[str],
    keys_by_input_name: Mapping[str, AssetKey] | None,
    keys_by_output_name: Mapping[str, AssetKey] | None,
    key_prefix: str | Sequence[str] | None,
    internal_asset_deps: Mapping[str, set[AssetKey]] | None,
    partitions_def: Any,
    partition_mappings: Mapping[str, Any] | None,
    group_name: str | None,
    group_names_by_output_name: Mapping[str, str | None] | None,
    descriptions_by_output_name: Mapping[str, str] | None,
    metadata_by_output_name: Mapping[str, Mapping[str, Any] | None] | None,
    tags_by_output_name: Mapping[str, Mapping[str, str] | None] | None,
    owners_by_output_name: Mapping[str, Sequence[str]] | None,
    code_versions_by_output_name: Mapping[str, str | None] | None,
    can_subset: bool,
    resource_defs: Mapping[str, Any] | None,
) -> AssetsDefinition:
    prefix = _prefix_list(key_prefix)
    # A single "result" output is the node itself (``from_op(my_op)`` makes ``my_op``).
    single = list(output_names) == ["result"]

    def output_key(name: str) -> AssetKey:
        return AssetKey([*prefix, node_def.name if single else name])

    out_keys = _named_keys(
        output_names, keys_by_output_name, output_key, "keys_by_output_name", owner
    )
    in_keys = _named_keys(
        input_names, keys_by_input_name, lambda n: AssetKey([n]), "keys_by_input_name", owner
    )
    specs: dict[AssetKey, AssetSpec] = {}
    for out_name, key in out_keys.items():
        specs[key] = AssetSpec(
            key,
            description=(descriptions_by_output_name or {}).get(out_name),
            metadata=(metadata_by_output_name or {}).get(out_name),
            group_name=(group_names_by_output_name or {}).get(out_name) or group_name,
            code_version=(code_versions_by_output_name or {}).get(out_name),
            owners=(owners_by_output_name or {}).get(out_name),
            tags=(tags_by_output_name or {}).get(out_name),
            partitions_def=partitions_def,
        )
    internal = {
        n: {AssetKey.from_coercible(k) for k in ks} for n, ks in (internal_asset_deps or {}).items()
    }
    mappings = _mappings_by_key(partition_mappings, in_keys, owner)
    return AssetsDefinition(
        node_def,
        keys_by_output_name=out_keys,
        keys_by_input_name=in_keys,
        specs_by_key=specs,
        partitions_def=partitions_def,
        partition_mappings=mappings,
        can_subset=can_subset,
        resource_defs=resource_defs,
        internal_asset_deps=internal,
    )


def _mappings_by_key(
    given: Mapping[str, Any] | None, in_keys: Mapping[str, AssetKey], owner: str
) -> dict[AssetKey, Any]:
    """``partition_mappings=`` (input name -> ``PartitionMapping``, as Dagster takes it)
    by the upstream key each input reads, as ``AssetIn(partition_mapping=)`` gives them."""
    if given is not None and not isinstance(given, Mapping):
        raise InvalidDefinitionError(
            f"{owner}: partition_mappings takes a dict of input name -> PartitionMapping, "
            f"got {given!r}."
        )
    found: dict[AssetKey, Any] = {}
    for name, mapping in (given or {}).items():
        if name not in in_keys:
            import difflib  # lazily: only this path needs it

            close = difflib.get_close_matches(str(name), list(in_keys), n=1)
            hint = f" Did you mean '{close[0]}'?" if close else ""
            raise InvalidDefinitionError(
                f"{owner}: partition_mappings names the input '{name}', which it does not "
                f"have.{hint} Its inputs: {', '.join(in_keys) or 'none'}."
            )
        if not hasattr(mapping, "upstream_partition_keys"):
            raise InvalidDefinitionError(
                f"{owner}: partition_mappings['{name}'] needs a PartitionMapping (such as "
                f"TimeWindowPartitionMapping()), got {mapping!r}."
            )
        found[in_keys[name]] = mapping
    return found


def assets_from_graph(
    graph_def: GraphDefinition,
    *,
    keys_by_input_name: Mapping[str, AssetKey] | None = None,
    keys_by_output_name: Mapping[str, AssetKey] | None = None,
    key_prefix: str | Sequence[str] | None = None,
    internal_asset_deps: Mapping[str, set[AssetKey]] | None = None,
    partitions_def: Any = None,
    partition_mappings: Mapping[str, Any] | None = None,
    resource_defs: Mapping[str, Any] | None = None,
    group_name: str | None = None,
    group_names_by_output_name: Mapping[str, str | None] | None = None,
    descriptions_by_output_name: Mapping[str, str] | None = None,
    metadata_by_output_name: Mapping[str, Mapping[str, Any] | None] | None = None,
    tags_by_output_name: Mapping[str, Mapping[str, str] | None] | None = None,
    automation_conditions_by_output_name: Mapping[str, Any] | None = None,
    backfill_policy: Any = None,
    can_subset: bool = False,
    check_specs: Sequence[Any] | None = None,
    owners_by_output_name: Mapping[str, Sequence[str]] | None = None,
    code_versions_by_output_name: Mapping[str, str | None] | None = None,
    hook_defs: Any = None,
    **deprecated: Any,
) -> AssetsDefinition:
    """``AssetsDefinition.from_graph``: one asset per output of ``graph_def``."""
    owner = f"AssetsDefinition.from_graph('{graph_def.name}')"
    _unsupported(
        owner,
        automation_conditions_by_output_name=automation_conditions_by_output_name,
        backfill_policy=backfill_policy,
        check_specs=check_specs,
        **deprecated,
    )
    _check_graph(graph_def, owner)
    assets_def = _assets_of_node(
        graph_def,
        owner,
        input_names=graph_def.input_names,
        output_names=graph_def.output_names,
        keys_by_input_name=keys_by_input_name,
        keys_by_output_name=keys_by_output_name,
        key_prefix=key_prefix,
        internal_asset_deps=internal_asset_deps,
        partitions_def=partitions_def,
        partition_mappings=partition_mappings,
        group_name=group_name,
        group_names_by_output_name=group_names_by_output_name,
        descriptions_by_output_name=descriptions_by_output_name,
        metadata_by_output_name=metadata_by_output_name,
        tags_by_output_name=tags_by_output_name,
        owners_by_output_name=owners_by_output_name,
        code_versions_by_output_name=code_versions_by_output_name,
        can_subset=can_subset,
        resource_defs=resource_defs,
    )
    return assets_def.with_hooks(hook_defs) if hook_defs else assets_def


def assets_from_op(
    op_def: OpDefinition,
    *,
    keys_by_input_name: Mapping[str, AssetKey] | None = None,
    keys_by_output_name: Mapping[str, AssetKey] | None = None,
    key_prefix: str | Sequence[str] | None = None,
    internal_asset_deps: Mapping[str, set[AssetKey]] | None = None,
    partitions_def: Any = None,
    partition_mappings: Mapping[str, Any] | None = None,
    group_name: str | None = None,
    group_names_by_output_name: Mapping[str, str | None] | None = None,
    descriptions_by_output_name: Mapping[str, str] | None = None,
    metadata_by_output_name: Mapping[str, Mapping[str, Any] | None] | None = None,
    tags_by_output_name: Mapping[str, Mapping[str, str] | None] | None = None,
    automation_conditions_by_output_name: Mapping[str, Any] | None = None,
    backfill_policy: Any = None,
    can_subset: bool = False,
    hook_defs: Any = None,
    **deprecated: Any,
) -> AssetsDefinition:
    """``AssetsDefinition.from_op``: one asset per output of a plain op, which runs with
    an ``AssetExecutionContext`` (as an ``@asset`` does)."""
    owner = f"AssetsDefinition.from_op('{op_def.name}')"
    _unsupported(
        owner,
        automation_conditions_by_output_name=automation_conditions_by_output_name,
        backfill_policy=backfill_policy,
        **deprecated,
    )
    if op_def.has_dynamic_outputs:
        raise InvalidDefinitionError(
            f"{owner}: op '{op_def.name}' has a dynamic output; an asset is one value."
        )
    assets_def = _assets_of_node(
        op_def,
        owner,
        input_names=[n for n, i in op_def.ins.items()],
        output_names=list(op_def.outs),
        keys_by_input_name=keys_by_input_name,
        keys_by_output_name=keys_by_output_name,
        key_prefix=key_prefix,
        internal_asset_deps=internal_asset_deps,
        partitions_def=partitions_def,
        partition_mappings=partition_mappings,
        group_name=group_name,
        group_names_by_output_name=group_names_by_output_name,
        descriptions_by_output_name=descriptions_by_output_name,
        metadata_by_output_name=metadata_by_output_name,
        tags_by_output_name=tags_by_output_name,
        owners_by_output_name=None,
        code_versions_by_output_name=None,
        can_subset=can_subset,
        resource_defs=None,
    )
    return assets_def.with_hooks(hook_defs) if hook_defs else assets_def
