"""``@asset`` and ``@multi_asset``: the decorators that turn a function into an
``AssetsDefinition`` (``asset.py``), with their argument checks, and ``map_asset_specs``."""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, overload

from trellis.core.asset_checks import AssetCheckKey
from trellis.core.asset_key import AssetKey, CoercibleToAssetKey
from trellis.core.deprecation import warn_deprecated
from trellis.core.errors import InvalidDefinitionError
from trellis.defs.asset_spec import (
    AssetSpec,
    coerce_dep_keys,
    resolve_automation,
)
from trellis.defs.backfill_policy import BackfillPolicy
from trellis.defs.ins_outs import AssetIn, AssetOut, In, Out
from trellis.defs.op import OpDefinition
from trellis.defs.retry import RetryPolicy
from trellis.defs.signature import analyse_function

if TYPE_CHECKING:
    from trellis.defs.asset_check_spec import AssetCheckSpec
    from trellis.defs.freshness_policy import FreshnessPolicy, LegacyFreshnessPolicy
    from trellis.defs.partitions import PartitionsDefinition
from trellis.defs.asset import AssetsDefinition

CoercibleToAssetDep = CoercibleToAssetKey | AssetSpec | AssetsDefinition
"""What ``deps=`` takes: asset keys (or their string and list forms), specs, definitions."""

AssetDecorator = Callable[[Callable[..., Any]], AssetsDefinition]
"""What ``@asset(...)`` and ``@multi_asset(...)`` return: a decorator of the function."""


def _deprecated_asset_args(
    owner: str,
    kinds: set[str] | None,
    deps: Iterable[Any] | None,
    compute_kind: str | None,
    non_argument_deps: Iterable[CoercibleToAssetKey] | None,
) -> tuple[set[str] | None, Iterable[Any] | None]:
    """``kinds`` and ``deps`` with Dagster's deprecated ``compute_kind`` and
    ``non_argument_deps`` folded in (each with a ``DeprecationWarning``)."""
    if compute_kind is not None:
        warn_deprecated(f"{owner}(compute_kind=...)", f"kinds={{{compute_kind!r}}}", 4)
        if kinds:
            raise InvalidDefinitionError(f"{owner}: pass kinds or compute_kind, not both.")
        kinds = {compute_kind}
    if non_argument_deps is not None:
        warn_deprecated(f"{owner}(non_argument_deps=...)", "deps=[...]", 4)
        if deps is not None:
            raise InvalidDefinitionError(f"{owner}: pass deps or non_argument_deps, not both.")
        deps = list(non_argument_deps)
    return kinds, deps


def _check_specs(
    specs: Sequence[AssetCheckSpec] | None, keys: Iterable[AssetKey], owner: str
) -> dict[AssetCheckKey, AssetCheckSpec] | None:
    """``check_specs=`` of a decorator, checked against the assets it makes."""
    if not specs:
        return None
    from trellis.defs.asset_check_spec import index_check_specs

    return index_check_specs(specs, keys, owner)


def _prefix_list(key_prefix: str | Sequence[str] | None) -> list[str]:
    if key_prefix is None:
        return []
    return [key_prefix] if isinstance(key_prefix, str) else list(key_prefix)


def _asset_ins(
    fn: Callable[..., Any], ins: Mapping[str, AssetIn] | None, owner: str
) -> tuple[dict[str, AssetKey], dict[str, In], dict[AssetKey, Any]]:
    """Upstream keys, ``In``s and partition mappings (by upstream key) for an asset
    function's data parameters."""
    spec = analyse_function(fn, owner)
    ins = dict(ins or {})
    unknown = [name for name in ins if name not in spec.input_params]
    if unknown and not spec.accepts_kwargs:  # a **kwargs function receives them there
        raise InvalidDefinitionError(
            f"{owner} declares ins {unknown} that are not parameters of its function."
        )
    keys: dict[str, AssetKey] = {}
    op_ins: dict[str, In] = {}
    mappings: dict[AssetKey, Any] = {}
    params = {**spec.input_params, **dict.fromkeys(unknown)}
    for name, param in params.items():
        asset_in = ins.get(name) or AssetIn()
        if asset_in.key is not None:
            key = asset_in.key
        else:
            key = AssetKey([*(asset_in.key_prefix or []), name])
        keys[name] = key
        if asset_in.partition_mapping is not None:
            mappings[key] = asset_in.partition_mapping
        op_ins[name] = In(
            dagster_type=asset_in.dagster_type,
            metadata=asset_in.metadata,
            input_manager_key=asset_in.input_manager_key,
            asset_key=key,
        )
        if param is not None and param.default is not inspect.Parameter.empty:
            op_ins[name].default_value = param.default
    return keys, op_ins, mappings


@overload
def asset(compute_fn: Callable[..., Any]) -> AssetsDefinition: ...
@overload
def asset(
    compute_fn: None = None,
    *,
    name: str | None = None,
    key: CoercibleToAssetKey | None = None,
    key_prefix: str | Sequence[str] | None = None,
    ins: Mapping[str, AssetIn] | None = None,
    deps: Iterable[CoercibleToAssetDep] | None = None,
    metadata: Mapping[str, Any] | None = None,
    description: str | None = None,
    group_name: str | None = None,
    code_version: str | None = None,
    io_manager_key: str | None = None,
    required_resource_keys: set[str] | Sequence[str] | None = None,
    config_schema: Any = None,
    kinds: set[str] | None = None,
    owners: Sequence[str] | None = None,
    tags: Mapping[str, str] | None = None,
    op_tags: Mapping[str, str] | None = None,
    partitions_def: PartitionsDefinition | None = None,
    retry_policy: RetryPolicy | None = None,
    dagster_type: Any = None,
    compute_kind: str | None = None,
    non_argument_deps: Iterable[CoercibleToAssetKey] | None = None,
    automation_condition: Any = None,
    hooks: Any = None,
    check_specs: Sequence[AssetCheckSpec] | None = None,
    pool: str | None = None,
    backfill_policy: BackfillPolicy | None = None,
    auto_materialize_policy: Any = None,
    freshness_policy: FreshnessPolicy | LegacyFreshnessPolicy | None = None,
    legacy_freshness_policy: LegacyFreshnessPolicy | None = None,
) -> AssetDecorator: ...


def asset(
    compute_fn: Callable[..., Any] | None = None,
    *,
    name: str | None = None,
    key: CoercibleToAssetKey | None = None,
    key_prefix: str | Sequence[str] | None = None,
    ins: Mapping[str, AssetIn] | None = None,
    deps: Iterable[CoercibleToAssetDep] | None = None,
    metadata: Mapping[str, Any] | None = None,
    description: str | None = None,
    group_name: str | None = None,
    code_version: str | None = None,
    io_manager_key: str | None = None,
    required_resource_keys: set[str] | Sequence[str] | None = None,
    config_schema: Any = None,
    kinds: set[str] | None = None,
    owners: Sequence[str] | None = None,
    tags: Mapping[str, str] | None = None,
    op_tags: Mapping[str, str] | None = None,
    partitions_def: PartitionsDefinition | None = None,
    retry_policy: RetryPolicy | None = None,
    dagster_type: Any = None,
    compute_kind: str | None = None,
    non_argument_deps: Iterable[CoercibleToAssetKey] | None = None,
    automation_condition: Any = None,
    hooks: Any = None,
    check_specs: Sequence[AssetCheckSpec] | None = None,
    pool: str | None = None,
    backfill_policy: BackfillPolicy | None = None,
    auto_materialize_policy: Any = None,
    freshness_policy: FreshnessPolicy | LegacyFreshnessPolicy | None = None,
    legacy_freshness_policy: LegacyFreshnessPolicy | None = None,
) -> AssetsDefinition | AssetDecorator:
    """Define an asset from the function that computes it: ``@asset`` or
    ``@asset(key_prefix=..., group_name=..., ...)``.

    Parameters other than the context, config and resources name upstream assets
    (``def orders(raw_orders)`` reads the asset ``raw_orders``); ``ins`` overrides that.
    ``automation_condition=`` (an ``AutomationCondition``) says when declarative automation
    requests it (an ``auto_materialize_policy=`` is converted to one); ``freshness_policy=``
    says how recent it must be. ``compute_kind=`` and ``non_argument_deps=``, deprecated in
    Dagster, warn (use ``kinds=`` and ``deps=``). ``hooks={...}`` run after the asset's step
    in every job that materializes it. ``check_specs=`` declares asset checks the function
    evaluates itself: it yields (or returns in ``MaterializeResult(check_results=...)``) one
    ``AssetCheckResult`` for each. ``pool=`` names the concurrency pool whose limit its step
    shares with every run of the instance. ``backfill_policy=``
    (``BackfillPolicy.single_run()``) lets one run materialize a range of partitions.
    """
    kinds, deps = _deprecated_asset_args("@asset", kinds, deps, compute_kind, non_argument_deps)

    def decorate(fn: Callable[..., Any]) -> AssetsDefinition:
        if key is not None and (name is not None or key_prefix is not None):
            raise InvalidDefinitionError(
                f"@asset on '{fn.__name__}': pass either key, or name/key_prefix, not both."
            )
        asset_key = (
            AssetKey.from_coercible(key)
            if key is not None
            else AssetKey([*_prefix_list(key_prefix), name or fn.__name__])
        )
        owner = f"asset '{asset_key.to_user_string()}'"
        input_keys, op_ins, mappings = _asset_ins(fn, ins, owner)
        out = Out(
            dagster_type=dagster_type,
            io_manager_key=io_manager_key,
            metadata=metadata,
            code_version=code_version,
        )
        op_def = OpDefinition(
            fn,
            name=asset_key.to_python_identifier(),
            ins=op_ins,
            outs={"result": out},
            config_schema=config_schema,
            required_resource_keys=required_resource_keys,
            tags=op_tags,
            description=description,
            retry_policy=retry_policy,
            code_version=code_version,
            kind="asset",
            pool=pool,
        )
        spec = AssetSpec(
            asset_key,
            deps=list(deps or ()),
            description=op_def.description,
            metadata=metadata,
            group_name=group_name,
            code_version=code_version,
            owners=owners,
            tags=tags,
            kinds=kinds,
            partitions_def=partitions_def,
            automation_condition=resolve_automation(
                automation_condition, auto_materialize_policy, owner
            ),
            auto_materialize_policy=auto_materialize_policy,
            freshness_policy=freshness_policy,
            legacy_freshness_policy=legacy_freshness_policy,
        )
        return AssetsDefinition(
            op_def,
            keys_by_output_name={"result": asset_key},
            keys_by_input_name=input_keys,
            specs_by_key={asset_key: spec},
            partitions_def=partitions_def,
            hook_defs=hooks,
            check_specs_by_key=_check_specs(check_specs, [asset_key], owner),
            partition_mappings=mappings,
            backfill_policy=backfill_policy,
        )

    return decorate(compute_fn) if compute_fn is not None else decorate


def multi_asset(
    *,
    outs: Mapping[str, AssetOut] | None = None,
    specs: Sequence[AssetSpec] | None = None,
    name: str | None = None,
    ins: Mapping[str, AssetIn] | None = None,
    deps: Iterable[CoercibleToAssetDep] | None = None,
    description: str | None = None,
    config_schema: Any = None,
    required_resource_keys: set[str] | Sequence[str] | None = None,
    group_name: str | None = None,
    can_subset: bool = False,
    partitions_def: PartitionsDefinition | None = None,
    retry_policy: RetryPolicy | None = None,
    op_tags: Mapping[str, str] | None = None,
    compute_kind: str | None = None,
    non_argument_deps: Iterable[CoercibleToAssetKey] | None = None,
    hooks: Any = None,
    check_specs: Sequence[AssetCheckSpec] | None = None,
    pool: str | None = None,
    backfill_policy: BackfillPolicy | None = None,
) -> AssetDecorator:
    """Define several assets made by one function: ``@multi_asset(outs={"a": AssetOut(),
    "b": AssetOut()})``; the function yields ``Output(value, "a")`` per asset (or returns
    a tuple in ``outs`` order). ``compute_kind=`` and ``non_argument_deps=`` are accepted
    with a ``DeprecationWarning``, as on ``@asset``; ``pool=`` as on ``@asset``."""
    shared_kinds, deps = _deprecated_asset_args(
        "@multi_asset", None, deps, compute_kind, non_argument_deps
    )
    if (outs is None) == (specs is None):
        raise InvalidDefinitionError("@multi_asset needs exactly one of outs= or specs=.")

    def decorate(fn: Callable[..., Any]) -> AssetsDefinition:
        op_name = name or fn.__name__
        owner = f"multi_asset '{op_name}'"
        input_keys, op_ins, mappings = _asset_ins(fn, ins, owner)
        shared_deps = list(deps or ())
        coerce_dep_keys(shared_deps)  # refuses what cannot be a dependency, here
        keys_by_output: dict[str, AssetKey] = {}
        op_outs: dict[str, Out] = {}
        asset_specs: dict[AssetKey, AssetSpec] = {}
        if outs is not None:
            for out_name, asset_out in outs.items():
                key = asset_out.key or AssetKey([*(asset_out.key_prefix or []), out_name])
                keys_by_output[out_name] = key
                op_outs[out_name] = Out(
                    dagster_type=asset_out.dagster_type,
                    is_required=asset_out.is_required,
                    io_manager_key=asset_out.io_manager_key,
                    metadata=asset_out.metadata,
                    code_version=asset_out.code_version,
                )
                asset_specs[key] = AssetSpec(
                    key,
                    deps=shared_deps,
                    description=asset_out.description,
                    metadata=asset_out.metadata,
                    group_name=asset_out.group_name or group_name,
                    code_version=asset_out.code_version,
                    owners=asset_out.owners,
                    tags=asset_out.tags,
                    kinds=asset_out.kinds or shared_kinds,
                    partitions_def=partitions_def,
                    automation_condition=resolve_automation(
                        asset_out.automation_condition,
                        asset_out.auto_materialize_policy,
                        f"{owner}, AssetOut '{out_name}'",
                    ),
                    auto_materialize_policy=asset_out.auto_materialize_policy,
                    freshness_policy=asset_out.freshness_policy,
                )
        else:
            for spec in specs or ():
                out_name = spec.key.to_python_identifier()
                keys_by_output[out_name] = spec.key
                op_outs[out_name] = Out(
                    io_manager_key=spec.io_manager_key,
                    metadata=spec.metadata,
                    code_version=spec.code_version,
                )
                asset_specs[spec.key] = spec.replace_attributes(
                    deps=[*spec.dep_objects(), *shared_deps],
                    group_name=spec.group_name or group_name,
                    kinds=spec.kinds or shared_kinds,
                )
        if len(set(keys_by_output.values())) != len(keys_by_output):
            raise InvalidDefinitionError(f"{owner} declares the same asset key twice.")
        op_def = OpDefinition(
            fn,
            name=op_name,
            ins=op_ins,
            outs=op_outs,
            config_schema=config_schema,
            required_resource_keys=required_resource_keys,
            tags=op_tags,
            description=description,
            retry_policy=retry_policy,
            kind="asset",
            pool=pool,
        )
        return AssetsDefinition(
            op_def,
            keys_by_output_name=keys_by_output,
            keys_by_input_name=input_keys,
            specs_by_key=asset_specs,
            partitions_def=partitions_def,
            can_subset=can_subset,
            hook_defs=hooks,
            check_specs_by_key=_check_specs(check_specs, keys_by_output.values(), owner),
            partition_mappings=mappings,
            backfill_policy=backfill_policy,
        )

    return decorate


def map_asset_specs(func: Callable[[AssetSpec], AssetSpec], iterable: Iterable[Any]) -> list[Any]:
    """Apply ``func`` to every ``AssetSpec`` in ``iterable`` (specs, and the specs inside
    asset definitions): ``map_asset_specs(lambda s: s.replace_attributes(group_name="g"),
    assets)``. A definition comes back as a copy with the new specs; ``func`` must keep
    each key."""
    mapped: list[Any] = []
    for item in iterable:
        if isinstance(item, AssetSpec):
            mapped.append(func(item))
        elif isinstance(item, AssetsDefinition):
            specs = {}
            for key, spec in item.specs_by_key.items():
                new = func(spec)
                if new.key != key:
                    raise InvalidDefinitionError(
                        f"map_asset_specs changed the key of '{key.to_user_string()}' to "
                        f"'{new.key.to_user_string()}'; keys of asset definitions cannot change."
                    )
                specs[key] = new
            mapped.append(item._copy_with(specs_by_key=specs, resource_defs={}))
        else:
            raise InvalidDefinitionError(
                f"map_asset_specs got {item!r}; expected AssetSpecs or asset definitions."
            )
    return mapped
