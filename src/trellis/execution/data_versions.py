"""The asset event of an asset output: a materialization with its code version, data
version and data provenance as tags, or the observation of an observable source asset.

``asset_event`` is called once per asset output a step stores (``step_io.handle_output``).
The upstream data versions come from the instance (the newest materialization of each
upstream asset, or for an external asset its newest materialization or observation),
except for upstream assets of the same step, whose versions were just computed and are
not stored yet (``StepExecutionContext.data_versions``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from trellis.core import event_factory
from trellis.core.data_version import (
    DEFAULT_DATA_VERSION,
    DataVersion,
    compute_logical_data_version,
    data_version_of_tags,
    data_version_tags,
    event_tags,
    observation_tags,
)
from trellis.core.events import Event
from trellis.core.metadata import MetadataValue
from trellis.core.outputs import AssetMaterialization, AssetObservation

if TYPE_CHECKING:
    from trellis.contexts.system import StepExecutionContext
    from trellis.core.asset_key import AssetKey


def asset_event(
    step_context: StepExecutionContext,
    asset_key: AssetKey,
    metadata: dict[str, MetadataValue],
    partition: str | None,
    data_version: DataVersion | None,
    tags: Mapping[str, str] | None,
) -> Event:
    """The ``ASSET_MATERIALIZATION`` (or, for an observable source asset,
    ``ASSET_OBSERVATION``) event of one asset output, its tags filled in."""
    run = step_context.plan_context.run
    step = step_context.step
    assets_def = step.assets_def
    assert assets_def is not None
    if assets_def.is_observable:
        own_tags = observation_tags(data_version) if data_version is not None else {}
        observation = AssetObservation(
            asset_key, None, None, partition, {**own_tags, **(tags or {})}
        )
        observation.metadata = metadata
        return event_factory.asset_observation(run.run_id, run.job_name, step.key, observation)
    code_version = assets_def.specs_by_key[asset_key].code_version or run.run_id
    inputs = {
        dep: upstream_data_version(step_context, dep, partition)
        for dep in sorted(assets_def.deps_for(asset_key))
        if dep != asset_key
    }
    set_versions = step_context.data_versions
    given = data_version or (set_versions.get(asset_key) if set_versions else None)
    version = given or compute_logical_data_version(
        code_version, {k: v for k, (v, _) in inputs.items()}
    )
    all_tags = data_version_tags(version, code_version, inputs, given is not None)
    if tags:
        all_tags.update(tags)
    if set_versions is None:
        set_versions = step_context.data_versions = {}
    set_versions[asset_key] = version
    materialization = AssetMaterialization.of_output(asset_key, metadata, partition, all_tags)
    return event_factory.asset_materialization(run.run_id, run.job_name, step.key, materialization)


def upstream_data_version(
    step_context: StepExecutionContext, key: AssetKey, partition: str | None
) -> tuple[DataVersion, int | None]:
    """The data version of upstream asset ``key`` as this step sees it, and the storage
    id of the event that recorded it (None when no event did)."""
    produced = step_context.data_versions
    if produced is not None and key in produced:  # made earlier in this step
        return produced[key], None
    plan_context = step_context.plan_context
    # A worker of a run whose instance only the orchestrator holds (an in-memory one) is
    # handed the versions with each step (``versions_for_step``).
    known = getattr(plan_context, "known_data_versions", None)
    if known is not None and (key, partition) in known:
        value, storage_id = known[(key, partition)]
        return DataVersion(value), storage_id
    return stored_data_version(plan_context, step_context.step.assets_def, key, partition)


def stored_data_version(
    plan_context: Any, own: Any, key: AssetKey, partition: str | None
) -> tuple[DataVersion, int | None]:
    """The newest data version of ``key`` in the run's instance (of ``partition`` when
    ``key`` shares the partitions of ``own``, the assets definition reading it)."""
    instance = plan_context.instance
    if instance is None:
        return DEFAULT_DATA_VERSION, None
    plan = plan_context.plan
    graph = getattr(plan.job, "asset_graph", None) if plan is not None else None
    is_source = None
    partition_key = None
    if graph is not None:
        is_source = graph.is_external(key)
        if (
            partition is not None
            and own is not None
            and graph.partitions_def_for(key) == own.partitions_def
        ):
            partition_key = partition
    record = instance.get_latest_data_version_record(key, is_source, partition_key)
    if record is None:
        return DEFAULT_DATA_VERSION, None
    version = data_version_of_tags(event_tags(record.event))
    return version or DEFAULT_DATA_VERSION, record.storage_id


def versions_for_step(
    plan_context: Any, step: Any
) -> dict[tuple[AssetKey, str | None], tuple[str, int | None]]:
    """The upstream data versions a step in another process needs, read here (for a run
    whose instance that process cannot open)."""
    own = step.assets_def
    if own is None or own.is_observable:
        return {}
    partitions = plan_context.partitions
    partition = None
    if own.partitions_def is not None and partitions.has_partition_key:
        partition = partitions.start
    deps = {d for k in own.selected_keys for d in own.deps_for(k)} - set(own.selected_keys)
    found = {}
    for dep in sorted(deps):
        version, storage_id = stored_data_version(plan_context, own, dep, partition)
        found[(dep, partition)] = (version.value, storage_id)
    return found
