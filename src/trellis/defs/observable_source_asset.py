"""``@observable_source_asset``: an asset that another system makes, with a function that
observes it and reports its data version.

The function (it may take the context and resources) returns a ``DataVersion``, an
``ObserveResult`` (data version, metadata, tags), or, for a partitioned asset, a
``DataVersionsByPartition``. Running it is an *observation*: its step records an
``ASSET_OBSERVATION`` event (the version under ``dagster/data_version``) and stores no
value. Downstream assets load the asset through its IO manager, as for any external
asset, and record the observed version in their provenance: a newer observation makes
them stale (``trellis.instance.staleness``).

An observable asset is an ``AssetsDefinition`` whose spec carries Dagster's system
metadata ``dagster/asset_execution_type: OBSERVATION``: it is executable (an asset job
that selects it observes it) but not materializable (``AssetSelection.all()`` leaves it
out, as Dagster's does for source assets).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any, overload

from trellis.core.asset_key import AssetKey, CoercibleToAssetKey
from trellis.core.data_version import DataVersion, DataVersionsByPartition, observation_tags
from trellis.core.errors import InvalidDefinitionError, InvariantViolationError
from trellis.core.outputs import AssetObservation, ObserveResult, Output
from trellis.defs.asset import AssetsDefinition
from trellis.defs.asset_spec import ASSET_EXECUTION_TYPE_METADATA, OBSERVATION, AssetSpec
from trellis.defs.ins_outs import Nothing, Out
from trellis.defs.op import OpDefinition


def _observations(
    fn: Callable[..., Any], key: AssetKey, partitioned: bool
) -> Callable[..., Iterator[Any]]:
    """The step's function: calls the observe function and turns what it returns into
    the output (one observation) or, for ``DataVersionsByPartition``, one observation
    per partition."""
    owner = f"observable source asset '{key.to_user_string()}'"

    @functools.wraps(fn)
    def observe(*args: Any, **kwargs: Any) -> Iterator[Any]:
        result = fn(*args, **kwargs)
        if isinstance(result, DataVersion):
            yield Output(None, "result", data_version=result)
        elif isinstance(result, ObserveResult):
            if result.asset_key is not None and result.asset_key != key:
                raise InvariantViolationError(
                    f"{owner} returned an ObserveResult for asset "
                    f"'{result.asset_key.to_user_string()}'."
                )
            yield Output(
                None,
                "result",
                metadata=result.metadata,
                data_version=result.data_version,
                tags=result.tags,
            )
            yield from result.check_results
        elif isinstance(result, DataVersionsByPartition):
            if not partitioned:
                raise InvariantViolationError(
                    f"{owner} returned DataVersionsByPartition, but it has no partitions_def."
                )
            for partition, version in result.data_versions_by_partition.items():
                yield AssetObservation(key, partition=partition, tags=observation_tags(version))
        else:
            raise InvariantViolationError(
                f"{owner} returned {result!r}; an observe function returns a DataVersion, an "
                "ObserveResult or (partitioned) a DataVersionsByPartition."
            )

    return observe


def observe_op(
    fn: Callable[..., Any],
    name: str,
    outs: Mapping[str, Out],
    required_resource_keys: set[str] | None,
    op_tags: Mapping[str, str] | None,
    description: str | None,
    owner: str,
    make_compute: Callable[[], Callable[..., Iterator[Any]]],
) -> OpDefinition:
    """The op of an observe function (no inputs: it reads no asset), running the step's
    function ``make_compute()`` builds from it."""
    op_def = OpDefinition(
        fn,
        name=name,
        outs=dict(outs),
        required_resource_keys=required_resource_keys,
        tags=op_tags,
        description=description,
        kind="asset",
    )
    if op_def.ins:
        raise InvalidDefinitionError(
            f"{owner}: its function takes {sorted(op_def.ins)}, but an observe function "
            "reads no assets (only the context, config and resources)."
        )
    op_def.compute_fn = make_compute()
    op_def.spec.is_generator = True
    return op_def


def build_observable_source_asset(
    fn: Callable[..., Any],
    *,
    key: CoercibleToAssetKey | None = None,
    name: str | None = None,
    key_prefix: str | Sequence[str] | None = None,
    metadata: Mapping[str, Any] | None = None,
    io_manager_key: str | None = None,
    description: str | None = None,
    group_name: str | None = None,
    required_resource_keys: set[str] | None = None,
    partitions_def: Any = None,
    tags: Mapping[str, str] | None = None,
    owners: Sequence[str] | None = None,
    kinds: set[str] | None = None,
    automation_condition: Any = None,
    op_tags: Mapping[str, str] | None = None,
) -> AssetsDefinition:
    """The ``AssetsDefinition`` of an observable source asset (``@observable_source_asset``)."""
    if key is not None and (name is not None or key_prefix is not None):
        raise InvalidDefinitionError(
            f"@observable_source_asset on '{fn.__name__}': pass either key, or name/key_prefix, "
            "not both."
        )
    if key is not None:
        asset_key = AssetKey.from_coercible(key)
    else:
        prefix = [key_prefix] if isinstance(key_prefix, str) else list(key_prefix or [])
        asset_key = AssetKey([*prefix, name or fn.__name__])
    owner = f"observable source asset '{asset_key.to_user_string()}'"
    op_def = observe_op(
        fn,
        asset_key.to_python_identifier(),
        {"result": Out(dagster_type=Nothing, is_required=False, io_manager_key=io_manager_key)},
        required_resource_keys,
        op_tags,
        description,
        owner,
        lambda: _observations(fn, asset_key, partitions_def is not None),
    )
    spec = AssetSpec(
        asset_key,
        description=op_def.description,
        metadata={**(metadata or {}), ASSET_EXECUTION_TYPE_METADATA: OBSERVATION},
        group_name=group_name,
        owners=owners,
        tags=tags,
        kinds=kinds,
        partitions_def=partitions_def,
        automation_condition=automation_condition,
    )
    return AssetsDefinition(
        op_def,
        keys_by_output_name={"result": asset_key},
        keys_by_input_name={},
        specs_by_key={asset_key: spec},
        partitions_def=partitions_def,
    )


@overload
def observable_source_asset(observe_fn: Callable[..., Any]) -> AssetsDefinition: ...


@overload
def observable_source_asset(
    observe_fn: None = None,
    *,
    key: CoercibleToAssetKey | None = None,
    name: str | None = None,
    key_prefix: str | Sequence[str] | None = None,
    metadata: Mapping[str, Any] | None = None,
    io_manager_key: str | None = None,
    description: str | None = None,
    group_name: str | None = None,
    required_resource_keys: set[str] | None = None,
    partitions_def: Any = None,
    tags: Mapping[str, str] | None = None,
    owners: Sequence[str] | None = None,
    kinds: set[str] | None = None,
    automation_condition: Any = None,
    op_tags: Mapping[str, str] | None = None,
) -> Callable[[Callable[..., Any]], AssetsDefinition]: ...


def observable_source_asset(
    observe_fn: Callable[..., Any] | None = None,
    *,
    key: CoercibleToAssetKey | None = None,
    name: str | None = None,
    key_prefix: str | Sequence[str] | None = None,
    metadata: Mapping[str, Any] | None = None,
    io_manager_key: str | None = None,
    description: str | None = None,
    group_name: str | None = None,
    required_resource_keys: set[str] | None = None,
    partitions_def: Any = None,
    tags: Mapping[str, str] | None = None,
    owners: Sequence[str] | None = None,
    kinds: set[str] | None = None,
    automation_condition: Any = None,
    op_tags: Mapping[str, str] | None = None,
) -> AssetsDefinition | Callable[[Callable[..., Any]], AssetsDefinition]:
    """Declare an asset made outside Trellis, with the function that observes it:
    ``@observable_source_asset`` on a function returning a ``DataVersion`` (or an
    ``ObserveResult``; ``DataVersionsByPartition`` for a partitioned asset).

    An asset job that selects it (``define_asset_job("observe", [my_source])``, ``trellis
    asset observe``) runs the function and records an ``ASSET_OBSERVATION``; downstream
    assets load the asset through ``io_manager_key`` and become stale when a newer
    observation reports another version.
    """

    def decorate(fn: Callable[..., Any]) -> AssetsDefinition:
        return build_observable_source_asset(
            fn,
            key=key,
            name=name,
            key_prefix=key_prefix,
            metadata=metadata,
            io_manager_key=io_manager_key,
            description=description,
            group_name=group_name,
            required_resource_keys=required_resource_keys,
            partitions_def=partitions_def,
            tags=tags,
            owners=owners,
            kinds=kinds,
            automation_condition=automation_condition,
            op_tags=op_tags,
        )

    return decorate(observe_fn) if observe_fn is not None else decorate
