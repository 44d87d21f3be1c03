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
from hashlib import sha256
from typing import TYPE_CHECKING, Any

from trellis.core import event_factory
from trellis.core.data_version import (
    CODE_VERSION_TAG,
    DATA_VERSION_IS_USER_PROVIDED_TAG,
    DATA_VERSION_TAG,
    DEFAULT_DATA_VERSION,
    INPUT_DATA_VERSION_TAG_PREFIX,
    INPUT_EVENT_POINTER_TAG_PREFIX,
    NULL_EVENT_POINTER,
    UNKNOWN_DATA_VERSION,
    DataVersion,
    observation_tags,
)
from trellis.core.events import Event
from trellis.core.metadata import MetadataValue
from trellis.core.outputs import AssetMaterialization, AssetObservation
from trellis.defs.asset_spec import is_observation_spec

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
    spec = assets_def.specs_by_key[asset_key]
    if spec.metadata and is_observation_spec(spec):
        own_tags = observation_tags(data_version) if data_version is not None else {}
        observation = AssetObservation(
            asset_key, None, None, partition, {**own_tags, **(tags or {})}
        )
        observation.metadata = metadata
        return event_factory.asset_observation(run.run_id, run.job_name, step.key, observation)
    code_version = spec.code_version or run.run_id
    # The tags are built from plain strings: this runs once per asset output.
    all_tags = {CODE_VERSION_TAG: code_version}
    hashed = [code_version]
    unknown = False
    # Its upstream assets (``deps_for``), without building a set for the common single one.
    deps = list(assets_def.keys_by_input_name.values())
    if spec.deps:
        deps = list({*deps, *spec.deps})
    if len(deps) > 1:
        deps = sorted((d for d in set(deps) if d != asset_key), key=repr)  # Dagster's order
    elif deps and deps[0].parts == asset_key.parts:
        deps = []
    plan_context = step_context.plan_context
    # The common case, read straight from storage: an in-process step, no partition, an
    # upstream asset materialized here (this loop runs once per upstream asset per output).
    fast = (
        partition is None
        and step_context.data_versions is None
        and getattr(plan_context, "known_data_versions", None) is None
        and plan_context.instance is not None
    )
    if fast:
        plan = plan_context.plan
        graph = getattr(plan.job, "asset_graph", None) if plan is not None else None
        fast = graph is not None and not graph.external_specs and not graph.observable_keys
        latest = plan_context.instance.storage.get_latest_materialization_record
    for dep in deps:
        if fast:
            record = latest(dep)
            if record is None:
                version, storage_id = DEFAULT_DATA_VERSION.value, None
            else:
                recorded = record.event.data.materialization
                found = recorded.tags if recorded is not None else None
                version = (found and found.get(DATA_VERSION_TAG)) or DEFAULT_DATA_VERSION.value
                storage_id = record.storage_id
        else:
            version, storage_id = upstream_data_version(step_context, dep, partition)
        name = dep.to_user_string()
        all_tags[f"{INPUT_DATA_VERSION_TAG_PREFIX}/{name}"] = version
        all_tags[f"{INPUT_EVENT_POINTER_TAG_PREFIX}/{name}"] = (
            NULL_EVENT_POINTER if storage_id is None else str(storage_id)
        )
        hashed.append(version)
        unknown = unknown or version == UNKNOWN_DATA_VERSION.value
    set_versions = step_context.data_versions
    given = data_version or (set_versions.get(asset_key) if set_versions else None)
    if given is not None:
        version = given.value
        all_tags[DATA_VERSION_TAG] = version
        all_tags[DATA_VERSION_IS_USER_PROVIDED_TAG] = "true"
    else:  # compute_logical_data_version, on the strings
        version = (
            UNKNOWN_DATA_VERSION.value
            if unknown
            else sha256("".join(hashed).encode("utf8")).hexdigest()
        )
        all_tags[DATA_VERSION_TAG] = version
    if tags:
        all_tags.update(tags)
    if len(step.outputs) > 1:  # a later asset of this step may read this one
        if set_versions is None:
            set_versions = step_context.data_versions = {}
        set_versions[asset_key] = given or DataVersion._make((version,))  # a str: no check
    materialization = AssetMaterialization.of_output(asset_key, metadata, partition, all_tags)
    return event_factory.asset_materialization(run.run_id, run.job_name, step.key, materialization)


def upstream_data_version(
    step_context: StepExecutionContext, key: AssetKey, partition: str | None
) -> tuple[str, int | None]:
    """The data version of upstream asset ``key`` as this step sees it, and the storage
    id of the event that recorded it (None when no event did)."""
    produced = step_context.data_versions
    if produced is not None and key in produced:  # made earlier in this step
        return produced[key].value, None
    plan_context = step_context.plan_context
    # A worker of a run whose instance only the orchestrator holds (an in-memory one) is
    # handed the versions with each step (``versions_for_step``).
    known = getattr(plan_context, "known_data_versions", None)
    if known is not None and (key, partition) in known:
        return known[(key, partition)]
    return stored_data_version(plan_context, step_context.step.assets_def, key, partition)


def stored_data_version(
    plan_context: Any, own: Any, key: AssetKey, partition: str | None
) -> tuple[str, int | None]:
    """The newest data version of ``key`` in the run's instance (of ``partition`` when
    ``key`` shares the partitions of ``own``, the assets definition reading it), and the
    storage id of its event."""
    instance = plan_context.instance
    if instance is None:
        return DEFAULT_DATA_VERSION.value, None
    plan = plan_context.plan
    graph = getattr(plan.job, "asset_graph", None) if plan is not None else None
    is_source = None
    partition_key = None
    if graph is not None:
        # (An empty dict still hashes the key: look only where there is something.)
        is_source = bool(
            (graph.external_specs and key in graph.external_specs)
            or (graph.observable_keys and key in graph.observable_keys)
        )
        if (
            partition is not None
            and own is not None
            and graph.partitions_def_for(key) == own.partitions_def
        ):
            partition_key = partition
    if is_source is False and partition_key is None:  # the common case, straight to storage
        record = instance.storage.get_latest_materialization_record(key)
    else:
        record = instance.get_latest_data_version_record(key, is_source, partition_key)
    if record is None:
        return DEFAULT_DATA_VERSION.value, None
    data = record.event.data
    recorded = getattr(data, "materialization", None) or getattr(data, "observation", None)
    found = recorded.tags if recorded is not None else None
    version = found.get(DATA_VERSION_TAG) if found else None
    return version or DEFAULT_DATA_VERSION.value, record.storage_id


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
        found[(dep, partition)] = stored_data_version(plan_context, own, dep, partition)
    return found
