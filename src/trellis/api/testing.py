"""Contexts built directly, for tests and for calling ops, assets and resources outside
a run: ``build_op_context``, ``build_asset_context``, ``build_asset_check_context``,
``build_input_context``,
``build_output_context``, ``build_init_resource_context``, ``build_sensor_context``,
``build_schedule_context`` and ``build_resources``.

None needs a ``with`` block: resources that have a teardown are torn down when the
context is closed (``with`` or ``close()``) or, at the latest, garbage-collected.
"""

from __future__ import annotations

import contextlib
import weakref
from collections.abc import Iterator, Mapping, Sequence
from datetime import datetime
from typing import Any, TypeVar

from trellis.contexts.asset_check import AssetCheckExecutionContext
from trellis.contexts.compute import AssetExecutionContext, OpExecutionContext
from trellis.contexts.direct import DirectPlanContext, DirectStepContext
from trellis.contexts.init_resource import InitResourceContext
from trellis.contexts.io import InputContext, OutputContext
from trellis.contexts.partitions import RunPartitions
from trellis.contexts.resources_view import ResourcesView
from trellis.contexts.schedule import ScheduleEvaluationContext
from trellis.contexts.sensor import SensorEvaluationContext
from trellis.core.asset_key import AssetKey, CoercibleToAssetKey
from trellis.core.errors import InvalidInvocationError
from trellis.core.run import PARTITION_RANGE_END_TAG, PARTITION_RANGE_START_TAG, PARTITION_TAG
from trellis.defs.resource import coerce_resources
from trellis.execution.resources import BuiltResources, init_resources


def _build(
    resources: Mapping[str, Any] | None,
    resources_config: Mapping[str, Any] | None = None,
    instance: Any = None,
) -> BuiltResources:
    """Initialise ``resources`` (definitions or plain values), validating each config."""
    from trellis.config.validate import validate_config

    defs = coerce_resources(resources)
    configs = dict(resources_config or {})

    def config_for(key: str) -> Any:
        raw = configs.get(key)
        if isinstance(raw, Mapping) and set(raw) == {"config"}:
            raw = raw["config"]
        schema = defs[key].config_schema
        if schema is None:
            return raw
        return validate_config(schema, raw, header=f"Error in config for resource '{key}'")

    return init_resources(defs, set(defs), config_for, instance=instance)


def _partition_tags(partition_key: str | None, partition_key_range: Any) -> dict[str, str]:
    if partition_key is not None and partition_key_range is not None:
        raise ValueError("Pass partition_key or partition_key_range, not both.")
    if partition_key is not None:
        return {PARTITION_TAG: partition_key}
    if partition_key_range is not None:
        start, end = partition_key_range
        return {PARTITION_RANGE_START_TAG: start, PARTITION_RANGE_END_TAG: end}
    return {}


def _direct_step_context(
    resources: Mapping[str, Any] | None,
    resources_config: Mapping[str, Any] | None,
    config: Any,
    instance: Any,
    partition_key: str | None,
    partition_key_range: Any,
    run_tags: Mapping[str, str] | None,
    partitions_def: Any = None,
) -> DirectStepContext:
    from trellis.instance.instance import Instance

    instance = instance if instance is not None else Instance.ephemeral()
    built = _build(resources, resources_config, instance)
    tags = {**(run_tags or {}), **_partition_tags(partition_key, partition_key_range)}
    plan_context = DirectPlanContext(built.values, instance, tags, partitions_def, built.close)
    step_context = DirectStepContext(plan_context, config)
    weakref.finalize(step_context, built.close)
    return step_context


def build_op_context(
    resources: Mapping[str, Any] | None = None,
    op_config: Any = None,
    resources_config: Mapping[str, Any] | None = None,
    instance: Any = None,
    config: Any = None,
    partition_key: str | None = None,
    partition_key_range: Any = None,
    mapping_key: str | None = None,
    run_tags: Mapping[str, str] | None = None,
) -> OpExecutionContext:
    """An ``OpExecutionContext`` for calling an op directly in a test:
    ``my_op(build_op_context(resources={...}, op_config={...}))``; ``mapping_key`` is what
    ``context.get_mapping_key()`` returns (an op mapped over a dynamic output)."""
    step_context = _direct_step_context(
        resources,
        resources_config,
        op_config if op_config is not None else config,
        instance,
        partition_key,
        partition_key_range,
        run_tags,
    )
    if mapping_key is not None:
        from trellis.core.dynamic_output import check_mapping_key

        step_context.mapping_key = check_mapping_key(mapping_key)
    return OpExecutionContext(step_context)


def build_asset_context(
    resources: Mapping[str, Any] | None = None,
    resources_config: Mapping[str, Any] | None = None,
    asset_config: Any = None,
    instance: Any = None,
    partition_key: str | None = None,
    partition_key_range: Any = None,
    run_tags: Mapping[str, str] | None = None,
    partitions_def: Any = None,
) -> AssetExecutionContext:
    """An ``AssetExecutionContext`` for calling an asset directly in a test:
    ``my_asset(build_asset_context(partition_key="2024-01-01"))``."""
    return AssetExecutionContext(
        _direct_step_context(
            resources,
            resources_config,
            asset_config,
            instance,
            partition_key,
            partition_key_range,
            run_tags,
            partitions_def,
        )
    )


def build_asset_check_context(
    resources: Mapping[str, Any] | None = None,
    resources_config: Mapping[str, Any] | None = None,
    asset_config: Any = None,
    instance: Any = None,
) -> AssetCheckExecutionContext:
    """An ``AssetCheckExecutionContext`` for calling an asset check directly in a test:
    ``orders_has_rows(build_asset_check_context(resources={...}), [1, 2])``; its
    ``check_specs`` are those of the check it is called with."""
    return AssetCheckExecutionContext(
        _direct_step_context(resources, resources_config, asset_config, instance, None, None, None)
    )


def build_init_resource_context(
    config: Any = None,
    resources: Mapping[str, Any] | None = None,
    instance: Any = None,
) -> InitResourceContext:
    """An ``InitResourceContext`` for calling a resource function directly."""
    built = _build(resources, instance=instance)
    context = InitResourceContext(
        resource_config=config, resources=ResourcesView(built.values), instance=instance
    )
    weakref.finalize(context, built.close)
    return context


_C = TypeVar("_C")


def _io_parts(
    resources: Mapping[str, Any] | None,
    partition_key: str | None,
    asset_partition_key_range: Any,
    asset_partitions_def: Any = None,
) -> tuple[ResourcesView, RunPartitions, BuiltResources]:
    built = _build(resources)
    tags = _partition_tags(partition_key, asset_partition_key_range)
    return ResourcesView(built.values), RunPartitions(tags, asset_partitions_def), built


def _close_with(context: _C, built: BuiltResources) -> _C:
    """Tear ``built`` down when ``context`` is closed (if it can be) or collected."""
    weakref.finalize(context, built.close)
    exit_stack = getattr(context, "exit_stack", None)
    if exit_stack is not None:
        exit_stack.callback(built.close)
    return context


def build_output_context(
    step_key: str | None = None,
    name: str | None = None,
    definition_metadata: Mapping[str, Any] | None = None,
    run_id: str | None = None,
    mapping_key: str | None = None,
    config: Any = None,
    dagster_type: Any = None,
    version: str | None = None,
    resource_config: Any = None,
    resources: Mapping[str, Any] | None = None,
    op_def: Any = None,
    asset_key: CoercibleToAssetKey | None = None,
    partition_key: str | None = None,
    asset_partition_key_range: Any = None,
    asset_partitions_def: Any = None,
    output_metadata: Mapping[str, Any] | None = None,
    metadata: Mapping[str, Any] | None = None,
) -> OutputContext:
    """An ``OutputContext`` for testing an IO manager's ``handle_output``."""
    view, partitions, built = _io_parts(
        resources, partition_key, asset_partition_key_range, asset_partitions_def
    )
    context = OutputContext(
        step_key=step_key,
        name=name or "result",
        run_id=run_id,
        asset_key=AssetKey.from_coercible(asset_key) if asset_key is not None else None,
        definition_metadata=definition_metadata or metadata,
        output_metadata=output_metadata,
        config=config,
        resource_config=resource_config,
        resources=view,
        dagster_type=dagster_type,
        mapping_key=mapping_key,
        version=version,
        op_def=op_def,
        partitions=partitions,
        asset_partitions_def=asset_partitions_def,
    )
    return _close_with(context, built)


def build_input_context(
    name: str | None = None,
    config: Any = None,
    definition_metadata: Mapping[str, Any] | None = None,
    upstream_output: OutputContext | None = None,
    dagster_type: Any = None,
    resource_config: Any = None,
    resources: Mapping[str, Any] | None = None,
    op_def: Any = None,
    asset_key: CoercibleToAssetKey | None = None,
    partition_key: str | None = None,
    asset_partition_key_range: Any = None,
    asset_partitions_def: Any = None,
    instance: Any = None,
    metadata: Mapping[str, Any] | None = None,
) -> InputContext:
    """An ``InputContext`` for testing an IO manager's ``load_input``."""
    view, partitions, built = _io_parts(
        resources, partition_key, asset_partition_key_range, asset_partitions_def
    )
    context = InputContext(
        name=name or "input",
        upstream_output=upstream_output,
        asset_key=AssetKey.from_coercible(asset_key) if asset_key is not None else None,
        definition_metadata=definition_metadata or metadata,
        config=config,
        resource_config=resource_config,
        resources=view,
        dagster_type=dagster_type,
        op_def=op_def,
        instance=instance,
        partitions=partitions,
        asset_partitions_def=asset_partitions_def,
    )
    return _close_with(context, built)


def build_sensor_context(
    instance: Any = None,
    cursor: str | None = None,
    repository_def: Any = None,
    sensor_name: str | None = None,
    resources: Mapping[str, Any] | None = None,
    last_tick_completion_time: float | datetime | None = None,
    last_run_key: str | None = None,
    last_sensor_start_time: float | datetime | None = None,
    definitions: Any = None,
) -> SensorEvaluationContext:
    """A ``SensorEvaluationContext`` for evaluating a sensor in a test."""
    built = _build(resources, instance=instance)
    context = SensorEvaluationContext(
        instance=instance,
        cursor=cursor,
        last_tick_completion_time=last_tick_completion_time,
        last_run_key=last_run_key,
        last_sensor_start_time=last_sensor_start_time,
        repository_def=repository_def or definitions,
        sensor_name=sensor_name,
        resources=built.values,
    )
    return _close_with(context, built)


def build_schedule_context(
    instance: Any = None,
    scheduled_execution_time: datetime | None = None,
    resources: Mapping[str, Any] | None = None,
    repository_def: Any = None,
) -> ScheduleEvaluationContext:
    """A ``ScheduleEvaluationContext`` for evaluating a schedule in a test."""
    built = _build(resources, instance=instance)
    context = ScheduleEvaluationContext(
        instance=instance,
        scheduled_execution_time=scheduled_execution_time,
        resources=built.values,
        repository_def=repository_def,
    )
    return _close_with(context, built)


@contextlib.contextmanager
def build_resources(
    resources: Mapping[str, Any],
    instance: Any = None,
    resource_config: Mapping[str, Any] | None = None,
) -> Iterator[ResourcesView]:
    """Initialise resources outside any run: ``with build_resources({...}) as r:
    r.db.query(...)``. Teardown runs when the block ends."""
    built = _build(resources, resource_config, instance)
    try:
        yield ResourcesView(built.values, owner="build_resources")
    finally:
        built.close()


def build_run_status_sensor_context(
    sensor_name: str,
    dagster_event: Any,
    dagster_instance: Any,
    dagster_run: Any,
    context: Any = None,
    resources: Mapping[str, Any] | None = None,
    partition_key: str | None = None,
    repository_def: Any = None,
) -> Any:
    """A ``RunStatusSensorContext`` for calling a run status (or run failure) sensor in a
    test: ``my_sensor(build_run_status_sensor_context("my_sensor", event, instance,
    run))``; a run failure sensor gets it as a ``RunFailureSensorContext``."""
    from trellis.contexts.run_status_sensor import RunStatusSensorContext

    built = _build(resources, instance=dagster_instance)
    made = RunStatusSensorContext(
        sensor_name,
        dagster_run,
        dagster_event,
        dagster_instance,
        built.values,
        partition_key=partition_key,
        repository_def=repository_def,
    )
    return made


def build_multi_asset_sensor_context(
    monitored_assets: Sequence[Any] | Any,
    repository_def: Any = None,
    instance: Any = None,
    cursor: str | None = None,
    resources: Mapping[str, Any] | None = None,
    definitions: Any = None,
    sensor_name: str | None = None,
    cursor_from_latest_materializations: bool = False,
    repository_name: str | None = None,
) -> Any:
    """A ``MultiAssetSensorEvaluationContext`` for calling a multi-asset sensor in a test:
    ``my_sensor(build_multi_asset_sensor_context(monitored_assets=[...],
    instance=instance, definitions=defs))``. ``monitored_assets`` is a list of asset keys
    or an ``AssetSelection`` (resolved against ``definitions``, which the partition-aware
    methods also need). ``cursor_from_latest_materializations`` starts every asset's
    cursor at its newest materialization (instead of ``cursor``). Calling the sensor with
    the context moves ``context.cursor`` past what it consumed, as a tick would."""
    from trellis.contexts.multi_asset_cursor import cursor_at_latest_materializations
    from trellis.contexts.multi_asset_sensor import (
        MultiAssetSensorEvaluationContext,
        resolve_monitored,
    )

    repository = repository_def if repository_def is not None else definitions
    if cursor_from_latest_materializations:
        if cursor is not None:
            raise InvalidInvocationError(
                "build_multi_asset_sensor_context: pass cursor or "
                "cursor_from_latest_materializations=True, not both."
            )
        if instance is None:
            raise InvalidInvocationError(
                "build_multi_asset_sensor_context: cursor_from_latest_materializations=True "
                "reads the newest materializations from an instance; pass instance=... ."
            )
        keys = resolve_monitored(monitored_assets, repository)
        cursor = cursor_at_latest_materializations(instance, keys)
    built = _build(resources, instance=instance)
    context = MultiAssetSensorEvaluationContext(
        monitored_assets,
        instance=instance,
        cursor=cursor,
        repository_def=repository,
        sensor_name=sensor_name,
        resources=built.values,
    )
    return _close_with(context, built)
