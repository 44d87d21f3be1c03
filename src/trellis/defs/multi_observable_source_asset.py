"""``@multi_observable_source_asset``: several assets made outside Trellis, observed by one
function.

    @multi_observable_source_asset(specs=[AssetSpec("orders_file"), AssetSpec("users_file")])
    def files():
        yield ObserveResult(asset_key="orders_file", data_version=DataVersion("a1"))
        yield ObserveResult(asset_key="users_file", data_version=DataVersion("b7"))

The function yields (or returns, alone or in a list) one ``ObserveResult`` per asset,
each naming its asset (``asset_key`` may be left out when there is one spec), and the
``AssetCheckResult``s of its ``check_specs``. Each result becomes an ``ASSET_OBSERVATION``
with its data version, metadata and tags, as ``@observable_source_asset``'s does: the
definition is one ``AssetsDefinition`` whose specs all carry ``dagster/asset_execution_type:
OBSERVATION``, so asset jobs, ``trellis asset observe`` and staleness treat each asset as
an observable source asset. Without ``can_subset`` every asset must be observed each run;
with it, the function observes ``context.selected_asset_keys``.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

from trellis.core.asset_checks import AssetCheckResult
from trellis.core.asset_key import AssetKey
from trellis.core.errors import InvalidDefinitionError, InvariantViolationError
from trellis.core.outputs import ObserveResult, Output
from trellis.defs.asset import AssetsDefinition
from trellis.defs.asset_check_spec import AssetCheckSpec
from trellis.defs.asset_decorators import _check_specs
from trellis.defs.asset_spec import ASSET_EXECUTION_TYPE_METADATA, OBSERVATION, AssetSpec
from trellis.defs.ins_outs import Nothing, Out
from trellis.defs.observable_source_asset import observe_op


def _results(returned: Any) -> Iterator[Any]:
    """What the function gave, one item at a time (a generator, a list, one result)."""
    if returned is None:
        return iter(())
    if isinstance(returned, (ObserveResult, AssetCheckResult)):
        return iter((returned,))
    if inspect.isgenerator(returned) or isinstance(returned, (list, tuple)):
        return iter(returned)
    return iter((returned,))


def _observe_all(
    fn: Callable[..., Any], owner: str, outputs_by_key: Mapping[AssetKey, str], can_subset: bool
) -> Callable[..., Iterator[Any]]:
    """The step's function: the observe function's results as one output per asset;
    without ``can_subset``, every asset must have been observed."""
    only = next(iter(outputs_by_key)) if len(outputs_by_key) == 1 else None
    known = ", ".join(sorted(k.to_user_string() for k in outputs_by_key))

    @functools.wraps(fn)
    def observe(*args: Any, **kwargs: Any) -> Iterator[Any]:
        seen: set[AssetKey] = set()
        for item in _results(fn(*args, **kwargs)):
            if isinstance(item, AssetCheckResult):
                yield item
                continue
            if not isinstance(item, ObserveResult):
                raise InvariantViolationError(
                    f"{owner} gave {item!r:.100}; its function yields an ObserveResult per "
                    "asset (and AssetCheckResults for its check_specs)."
                )
            key = item.asset_key or only
            if key is None:
                raise InvariantViolationError(
                    f"{owner} gave an ObserveResult without asset_key; it observes several "
                    f"assets ({known}): say which with ObserveResult(asset_key=...)."
                )
            if key not in outputs_by_key:
                raise InvariantViolationError(
                    f"{owner} gave an ObserveResult for asset '{key.to_user_string()}', "
                    f"which is not one of its specs ({known})."
                )
            if key in seen:
                raise InvariantViolationError(
                    f"{owner} observed asset '{key.to_user_string()}' twice in one run."
                )
            seen.add(key)
            yield Output(
                None,
                outputs_by_key[key],
                metadata=item.metadata,
                data_version=item.data_version,
                tags=item.tags,
            )
            yield from item.check_results
        missing = sorted(k.to_user_string() for k in set(outputs_by_key) - seen)
        if missing and not can_subset:
            raise InvariantViolationError(
                f"{owner} did not observe {', '.join(missing)}: it must give an ObserveResult "
                "for every asset of its specs each run (or be declared with can_subset=True "
                "and observe context.selected_asset_keys)."
            )

    return observe


def multi_observable_source_asset(
    *,
    specs: Sequence[AssetSpec],
    name: str | None = None,
    description: str | None = None,
    partitions_def: Any = None,
    group_name: str | None = None,
    can_subset: bool = False,
    required_resource_keys: set[str] | None = None,
    resource_defs: Mapping[str, Any] | None = None,
    check_specs: Sequence[AssetCheckSpec] | None = None,
    op_tags: Mapping[str, str] | None = None,
) -> Callable[[Callable[..., Any]], AssetsDefinition]:
    """Declare several observable source assets (``specs``) observed by one function,
    which yields an ``ObserveResult(asset_key=..., data_version=...)`` per asset (see the
    module docstring). ``can_subset``: the function may observe only the selected assets
    (``context.selected_asset_keys``); without it, each run observes them all.
    ``partitions_def`` and ``group_name`` apply to every spec that has none of its own."""
    if isinstance(specs, AssetSpec) or not isinstance(specs, Sequence) or not specs:
        raise InvalidDefinitionError(
            f"@multi_observable_source_asset needs specs=[AssetSpec(...), ...], got {specs!r:.100}."
        )
    for spec in specs:
        if not isinstance(spec, AssetSpec):
            raise InvalidDefinitionError(
                f"@multi_observable_source_asset: specs= holds {spec!r:.80}, not an AssetSpec."
            )

    def decorate(fn: Callable[..., Any]) -> AssetsDefinition:
        op_name = name or fn.__name__
        owner = f"multi_observable_source_asset '{op_name}'"
        outs: dict[str, Out] = {}
        keys_by_output: dict[str, AssetKey] = {}
        specs_by_key: dict[AssetKey, AssetSpec] = {}
        for spec in specs:
            if spec.key in specs_by_key:
                raise InvalidDefinitionError(
                    f"{owner} declares asset '{spec.key.to_user_string()}' twice."
                )
            if spec.deps:
                raise InvalidDefinitionError(
                    f"{owner}: the spec of '{spec.key.to_user_string()}' has deps; an "
                    "observable source asset depends on nothing."
                )
            if spec.partitions_def is not None and spec.partitions_def != partitions_def:
                raise InvalidDefinitionError(
                    f"{owner}: the spec of '{spec.key.to_user_string()}' has its own "
                    "partitions_def; give partitions_def= to the decorator instead."
                )
            out_name = spec.key.to_python_identifier()
            keys_by_output[out_name] = spec.key
            outs[out_name] = Out(
                dagster_type=Nothing, is_required=False, io_manager_key=spec.io_manager_key
            )
            specs_by_key[spec.key] = spec.replace_attributes(
                metadata={**(spec.metadata or {}), ASSET_EXECUTION_TYPE_METADATA: OBSERVATION},
                group_name=spec.group_name or group_name,
                partitions_def=partitions_def,
            )
        outputs_by_key = {key: out for out, key in keys_by_output.items()}
        op_def = observe_op(
            fn,
            op_name,
            outs,
            required_resource_keys,
            op_tags,
            description,
            owner,
            lambda: _observe_all(fn, owner, outputs_by_key, can_subset),
        )
        return AssetsDefinition(
            op_def,
            keys_by_output_name=keys_by_output,
            keys_by_input_name={},
            specs_by_key=specs_by_key,
            partitions_def=partitions_def,
            can_subset=can_subset,
            resource_defs=resource_defs,
            check_specs_by_key=_check_specs(check_specs, keys_by_output.values(), owner),
        )

    return decorate
