"""Loading an asset's stored value outside any run (``Definitions.load_asset_value``,
``AssetValueLoader``): build the asset's IO manager (and the resources it needs), then
call ``load_input`` with an ``InputContext`` whose ``upstream_output`` describes the
asset."""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from trellis.contexts.io import input_context_for_upstream, upstream_output_of_asset
from trellis.contexts.partitions import RunPartitions
from trellis.contexts.resources_view import ResourcesView
from trellis.core.asset_key import AssetKey, CoercibleToAssetKey
from trellis.core.errors import InvalidDefinitionError, InvalidInvocationError
from trellis.core.run import PARTITION_TAG
from trellis.defs.builtin_io_managers import fs_io_manager
from trellis.defs.resource import ResourceDefinition
from trellis.execution.resources import BuiltResources, init_resources

if TYPE_CHECKING:
    from trellis.defs.definitions import Definitions


def _check_known(defs: Definitions, key: AssetKey) -> None:
    known = defs.asset_graph.all_keys
    if key in known:
        return
    names = sorted(k.to_user_string() for k in known)
    close = difflib.get_close_matches(key.to_user_string(), names, n=1)
    hint = f" Did you mean '{close[0]}'?" if close else ""
    raise InvalidDefinitionError(
        f"Cannot load asset '{key.to_user_string()}': it is not an asset of these "
        f"definitions.{hint}"
    )


def _needed_keys(resource_defs: Mapping[str, ResourceDefinition], key: str) -> set[str]:
    """``key`` and the resources it needs, transitively."""
    needed, frontier = {key}, [key]
    while frontier:
        definition = resource_defs.get(frontier.pop())
        for dep in definition.required_resource_keys if definition is not None else ():
            if dep not in needed:
                needed.add(dep)
                frontier.append(dep)
    return needed


def _config_for(resource_defs: Mapping[str, ResourceDefinition]) -> Any:
    """Each resource's config: its schema's defaults (there is no run config here)."""
    from trellis.config.validate import validate_config

    def config_for(key: str) -> Any:
        schema = resource_defs[key].config_schema
        if schema is None:
            return None
        return validate_config(schema, None, header=f"Error in config for resource '{key}'")

    return config_for


def _partitions(key: AssetKey, partitions_def: Any, partition_key: str | None) -> RunPartitions:
    """The partition to load: required for a partitioned asset, refused otherwise."""
    if partitions_def is None:
        if partition_key is not None:
            raise InvalidInvocationError(
                f"Cannot load partition '{partition_key}' of asset '{key.to_user_string()}': "
                "the asset is not partitioned."
            )
        return RunPartitions({})
    if partition_key is None:
        raise InvalidInvocationError(
            f"Asset '{key.to_user_string()}' is partitioned: pass partition_key=... to load "
            "one of its partitions."
        )
    partitions_def.validate_partition_key(partition_key)
    return RunPartitions({PARTITION_TAG: partition_key}, partitions_def)


class AssetValueLoader:
    """Loads assets' stored values through their IO managers, outside any run; the IO
    managers (and the resources they need) are built once and kept until the loader
    closes, so loading many assets builds each manager once::

        with defs.get_asset_value_loader(instance) as loader:
            orders = loader.load_asset_value("orders")
            day = loader.load_asset_value("daily", partition_key="2024-01-01")
    """

    def __init__(self, defs: Definitions, instance: Any = None) -> None:
        from trellis.instance.instance import Instance

        self._defs = defs
        self._instance = instance if instance is not None else Instance.ephemeral()
        self._resource_defs: dict[str, Any] = {"io_manager": fs_io_manager, **defs.resources}
        self._built: dict[str, BuiltResources] = {}

    def __enter__(self) -> AssetValueLoader:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        """Tear down the IO managers and resources built so far."""
        built, self._built = self._built, {}
        for resources in built.values():
            resources.close()

    def _resources_for(self, key: AssetKey, manager_key: str, resource_config: Any) -> Any:
        """The built resources of ``manager_key`` (built now, or kept from before)."""
        resource_defs = self._resource_defs
        if manager_key not in resource_defs:
            raise InvalidDefinitionError(
                f"Cannot load asset '{key.to_user_string()}': its IO manager '{manager_key}' "
                f"is not bound. Available resource keys: {sorted(resource_defs)}."
            )
        defaults = _config_for(resource_defs)

        def config_for(name: str) -> Any:
            if name == manager_key and resource_config is not None:
                return resource_config
            return defaults(name)

        cache_key = manager_key if resource_config is None else None
        if cache_key is not None and cache_key in self._built:
            return self._built[cache_key], config_for
        built = init_resources(
            resource_defs,
            _needed_keys(resource_defs, manager_key),
            config_for,
            instance=self._instance,
        )
        self._built[cache_key or f"{manager_key}#{len(self._built)}"] = built
        return built, config_for

    def load_asset_value(
        self,
        asset_key: CoercibleToAssetKey,
        *,
        python_type: type | None = None,
        partition_key: str | None = None,
        input_definition_metadata: Mapping[str, Any] | None = None,
        resource_config: Any = None,
    ) -> Any:
        """The stored value of ``asset_key`` (one partition of it when ``partition_key``
        is given), read by the IO manager that stores it (``io_manager`` defaults to the
        filesystem pickle manager under the instance's storage directory).
        ``python_type`` is the input context's ``dagster_type``, ``resource_config``
        the IO manager's config (instead of its defaults)."""
        key = AssetKey.from_coercible(asset_key)
        defs = self._defs
        _check_known(defs, key)
        graph = defs.asset_graph
        producer = graph.producer.get(key)
        spec = producer.specs_by_key[key] if producer is not None else graph.external_specs[key]
        partitions_def = producer.partitions_def if producer is not None else spec.partitions_def
        partitions = _partitions(key, partitions_def, partition_key)
        manager_key = graph.io_manager_key_for(key)
        built, config_for = self._resources_for(key, manager_key, resource_config)
        deps = self._resource_defs[manager_key].required_resource_keys
        resources = ResourcesView(
            {k: built.values[k] for k in deps}, owner=f"IO manager '{manager_key}'"
        )
        upstream = upstream_output_of_asset(
            graph, key, None, partitions, config_for(manager_key), resources, None
        )
        context = input_context_for_upstream(
            key.to_python_identifier(),
            upstream,
            input_definition_metadata,
            python_type,
            None,
            self._instance,
            None,
        )
        return built.values[manager_key].load_input(context)


def load_asset_value(
    defs: Definitions,
    key: AssetKey,
    instance: Any = None,
    partition_key: str | None = None,
) -> Any:
    """The stored value of asset ``key`` (``Definitions.load_asset_value``): one load
    through an ``AssetValueLoader`` closed right after."""
    with AssetValueLoader(defs, instance) as loader:
        return loader.load_asset_value(key, partition_key=partition_key)
