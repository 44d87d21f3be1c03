"""``with_resources``: assets that carry their own resources, and how those meet the
resources of a ``Definitions`` or a ``materialize`` call.

A resource is bound by reference: the same object under one key everywhere is fine; two
different objects under one key (on two assets, or on an asset and in ``Definitions``)
are an error naming the assets, as in Dagster.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, TypeVar

from trellis.core.errors import InvalidDefinitionError
from trellis.defs.asset import AssetsDefinition
from trellis.defs.asset_checks_definition import AssetChecksDefinition
from trellis.defs.asset_spec import AssetSpec
from trellis.defs.resource import ResourceDefinition, coerce_resource

T = TypeVar("T")


def _label(assets_def: Any) -> str:
    if isinstance(assets_def, AssetChecksDefinition):
        return ", ".join(k.to_user_string() for k in assets_def.check_specs_by_key)
    return ", ".join(k.to_user_string() for k in assets_def.keys)


def required_resource_keys(assets_def: AssetsDefinition | AssetChecksDefinition) -> set[str]:
    """The resource keys an asset definition reads: declared and typed resources, the IO
    managers of its outputs and the input managers of its inputs."""
    keys: set[str] = set()
    for op_def in assets_def.op_defs:  # the graph's ops, for a graph-backed asset
        keys.update(op_def.resource_keys)
        keys.update(out.io_manager_key for out in op_def.outs.values())
        keys.update(i.input_manager_key for i in op_def.ins.values() if i.input_manager_key)
    return keys


def _with_dependencies(keys: set[str], resources: Mapping[str, Any]) -> set[str]:
    """``keys`` and, transitively, the resources they need that ``resources`` holds."""
    needed: set[str] = set()
    todo = list(keys)
    while todo:
        key = todo.pop()
        if key in needed or key not in resources:
            continue
        needed.add(key)
        todo.extend(coerce_resource(resources[key], key).required_resource_keys)
    return needed


def with_resources(
    definitions: Iterable[T],
    resource_defs: Mapping[str, Any],
    resource_config_by_key: Mapping[str, Any] | None = None,
) -> list[T]:
    """Copies of the asset definitions with the resources they need bound to them, so
    that ``materialize(...)`` and ``Definitions(assets=...)`` need not pass them again.
    ``resource_config_by_key`` configures resources by key (``{"db": {"config": ...}}``).
    ``AssetSpec``s are returned as they are; ``@asset_check`` definitions get theirs."""
    resources = dict(resource_defs)
    for key, entry in (resource_config_by_key or {}).items():
        if key not in resources:
            raise InvalidDefinitionError(
                f"with_resources: resource_config_by_key names '{key}', which is not in "
                f"resource_defs ({sorted(resources)})."
            )
        config = entry.get("config") if isinstance(entry, Mapping) else None
        definition = coerce_resource(resources[key], key)
        if not isinstance(definition, ResourceDefinition) or config is None:
            raise InvalidDefinitionError(
                f"with_resources: resource_config_by_key['{key}'] must be {{'config': ...}}."
            )
        resources[key] = definition.configured(config)
    result: list[Any] = []
    for item in definitions:
        if isinstance(item, AssetSpec):
            result.append(item)
            continue
        if not isinstance(item, (AssetsDefinition, AssetChecksDefinition)):
            raise InvalidDefinitionError(
                f"with_resources() binds resources to assets; got {item!r}. Bind the "
                "resources of jobs in Definitions(resources=...) instead."
            )
        needed = required_resource_keys(item)
        bound = dict(item.resource_defs)
        for key in sorted(_with_dependencies(needed, resources)):
            if key in bound and bound[key] is not resources[key]:
                raise InvalidDefinitionError(
                    f"Asset '{_label(item)}' already has a different resource bound under "
                    f"'{key}'; with_resources cannot bind a second one."
                )
            bound[key] = resources[key]
        missing = sorted(needed - set(bound) - {"io_manager"})
        if missing:
            raise InvalidDefinitionError(
                f"with_resources: asset '{_label(item)}' requires resource "
                f"'{missing[0]}', which is not provided. Provided keys: {sorted(resources)}."
            )
        result.append(item.with_attributes(resource_defs=bound))
    return result


def resources_bound_to(assets_defs: Iterable[Any]) -> dict[str, Any]:
    """The resources bound to any of ``assets_defs``; two assets binding different
    objects under one key raise an error naming both."""
    bound: dict[str, Any] = {}
    owner: dict[str, Any] = {}
    for assets_def in assets_defs:
        for key, value in assets_def.resource_defs.items():
            if key in bound and bound[key] is not value:
                raise InvalidDefinitionError(
                    f"Assets '{_label(owner[key])}' and '{_label(assets_def)}' have "
                    f"different resources bound under the key '{key}'; bind the same object "
                    "to both (with_resources on the list of both), or use different keys."
                )
            bound[key] = value
            owner[key] = assets_def
    return bound


def combine_resources(bound: Mapping[str, Any], given: Mapping[str, Any] | None) -> dict[str, Any]:
    """Resources bound to assets together with those given alongside them (in
    ``Definitions`` or ``materialize``); a key given both ways with different objects
    is an error."""
    given = dict(given or {})
    clashes = sorted(k for k in bound if k in given and given[k] is not bound[k])
    if clashes:
        raise InvalidDefinitionError(
            f"Resource '{clashes[0]}' is bound to assets with with_resources and also given, "
            "as a different object, next to them. Remove one of the two."
        )
    return {**bound, **given}
