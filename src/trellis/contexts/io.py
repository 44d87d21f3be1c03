"""``OutputContext`` (handed to ``IOManager.handle_output``) and ``InputContext`` (handed
to ``IOManager.load_input``), and how a step builds them."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from trellis.contexts.log_manager import LogManager, discard_event
from trellis.contexts.partitions import RunPartitions
from trellis.contexts.resources_view import ResourcesView
from trellis.core.asset_key import AssetKey
from trellis.core.errors import InvariantViolationError
from trellis.core.metadata import MetadataValue, normalize_metadata
from trellis.plan.steps import FromLoadableAsset

if TYPE_CHECKING:
    from trellis.contexts.system import StepExecutionContext
    from trellis.plan.plan import ExecutionPlan
    from trellis.plan.steps import StepInput, StepOutput, StepOutputHandle

EPHEMERAL_RUN_ID = "__EPHEMERAL_RUN_ID"
_NO_PARTITIONS = RunPartitions({})


def _default_log() -> LogManager:
    return LogManager(discard_event, EPHEMERAL_RUN_ID, "__ephemeral__")


def asset_partitions_of(
    partitions: RunPartitions, asset_key: AssetKey | None, partitions_def: Any
) -> RunPartitions:
    """The partitions an IO call about ``asset_key`` covers: the run's, except for an
    unpartitioned asset, which is stored and read whole whatever the run's partition."""
    if asset_key is not None and partitions_def is None:
        return _NO_PARTITIONS
    return partitions


class _PartitionAccess:
    """Partition members shared by both IO contexts: ``partition_key`` is the run's,
    the ``asset_partition*`` members are the asset's (none for an unpartitioned asset)."""

    _partitions: RunPartitions
    _asset_partitions: RunPartitions
    asset_partitions_def: Any

    @property
    def has_partition_key(self) -> bool:
        """Whether the run covers a single partition."""
        return self._partitions.has_partition_key

    @property
    def partition_key(self) -> str:
        """The run's partition key (raises when there is none)."""
        return self._partitions.partition_key

    @property
    def has_asset_partitions(self) -> bool:
        """Whether the asset is partitioned in this run."""
        return self._asset_partitions.has_partitions

    @property
    def asset_partition_key(self) -> str:
        """The asset partition this call is about."""
        return self._asset_partitions.partition_key

    @property
    def asset_partition_keys(self) -> list[str]:
        """Every asset partition this call is about (a range run gives several)."""
        return self._asset_partitions.partition_keys

    @property
    def asset_partition_key_range(self) -> Any:
        """The asset partition range this call is about."""
        return self._asset_partitions.partition_key_range

    @property
    def asset_partitions_time_window(self) -> Any:
        """The time window of the asset partitions this call is about."""
        return self._asset_partitions.partition_time_window


class OutputContext(_PartitionAccess):
    """What ``handle_output`` needs to know about the output it stores: step, output
    name, asset key, definition and runtime metadata, config, the IO manager's resource
    config and resources, type, partition, run id and a logger."""

    __slots__ = (
        "_added_metadata",
        "_asset_partitions",
        "_events",
        "_partitions",
        "asset_key",
        "asset_partitions_def",
        "config",
        "dagster_type",
        "definition_metadata",
        "log",
        "mapping_key",
        "name",
        "op_def",
        "output_metadata",
        "resource_config",
        "resources",
        "run_id",
        "step_context",
        "step_key",
        "version",
    )

    def __init__(
        self,
        step_key: str | None = None,
        name: str = "result",
        run_id: str | None = None,
        asset_key: AssetKey | None = None,
        definition_metadata: Mapping[str, Any] | None = None,
        output_metadata: Mapping[str, Any] | None = None,
        config: Any = None,
        resource_config: Any = None,
        resources: ResourcesView | None = None,
        dagster_type: Any = None,
        mapping_key: str | None = None,
        version: str | None = None,
        op_def: Any = None,
        log: LogManager | None = None,
        step_context: StepExecutionContext | None = None,
        partitions: RunPartitions | None = None,
        asset_partitions_def: Any = None,
        asset_partitions: RunPartitions | None = None,
    ) -> None:
        self.step_key = step_key
        self.name = name
        self.run_id = run_id or EPHEMERAL_RUN_ID
        self.asset_key = asset_key
        # Views, not copies: the definition's own metadata and the step's output metadata.
        self.definition_metadata = definition_metadata if definition_metadata is not None else {}
        self.output_metadata = output_metadata if output_metadata is not None else {}
        self.config = config
        self.resource_config = resource_config
        self.resources = resources if resources is not None else ResourcesView({})
        self.dagster_type = dagster_type
        self.mapping_key = mapping_key
        self.version = version
        self.op_def = op_def
        self.log = log or _default_log()
        self.step_context = step_context
        self._partitions = partitions or _NO_PARTITIONS
        self._asset_partitions = asset_partitions or self._partitions
        self.asset_partitions_def = asset_partitions_def
        self._added_metadata: dict[str, MetadataValue] | None = None
        self._events: list[Any] | None = None

    @property
    def metadata(self) -> Mapping[str, Any]:
        """The definition metadata (Dagster's older name)."""
        return self.definition_metadata

    @property
    def has_asset_key(self) -> bool:
        """Whether the output is an asset."""
        return self.asset_key is not None

    def get_identifier(self) -> list[str]:
        """``[run_id, step_key, output_name]`` (plus the mapping key): unique per run."""
        if self.step_key is None:
            raise InvariantViolationError("get_identifier needs a step_key on the OutputContext.")
        parts = [self.run_id, self.step_key, self.name]
        if self.mapping_key:
            parts.append(self.mapping_key)
        return parts

    def get_asset_identifier(self) -> list[str]:
        """The asset key's parts, plus the partition key when partitioned."""
        if self.asset_key is None:
            raise InvariantViolationError(
                f"Output '{self.name}' of step '{self.step_key}' is not an asset."
            )
        parts = list(self.asset_key.parts)
        if self.has_partition_key and self.has_asset_partitions:
            parts.append(self.asset_partition_key)
        return parts

    def add_output_metadata(self, metadata: Mapping[str, Any]) -> None:
        """Attach metadata from inside ``handle_output``; it lands on the materialization
        and the handled-output event."""
        if self._added_metadata is None:
            self._added_metadata = {}
        self._added_metadata.update(normalize_metadata(metadata))

    def log_event(self, event: Any) -> None:
        """Record an ``AssetMaterialization`` or ``AssetObservation`` from ``handle_output``."""
        if self._events is None:
            self._events = []
        self._events.append(event)

    def consume_logged_metadata(self) -> dict[str, MetadataValue]:
        """The metadata added with ``add_output_metadata`` (and clear it)."""
        added, self._added_metadata = self._added_metadata or {}, None
        return added

    def consume_events(self) -> list[Any]:
        """The events logged with ``log_event`` (and clear them)."""
        events, self._events = self._events or [], None
        return events

    def __repr__(self) -> str:
        return f"<OutputContext {self.step_key}.{self.name}>"


class InputContext(_PartitionAccess):
    """What ``load_input`` needs to know about the input it loads: its name, the
    upstream output (an ``OutputContext``), asset key, metadata, config, type, partition,
    the IO manager's resource config and resources, and a logger."""

    __slots__ = (
        "_asset_partitions",
        "_partitions",
        "asset_key",
        "asset_partitions_def",
        "config",
        "dagster_type",
        "definition_metadata",
        "instance",
        "log",
        "name",
        "op_def",
        "resource_config",
        "resources",
        "step_context",
        "upstream_output",
    )

    def __init__(
        self,
        name: str = "input",
        upstream_output: OutputContext | None = None,
        asset_key: AssetKey | None = None,
        definition_metadata: Mapping[str, Any] | None = None,
        config: Any = None,
        resource_config: Any = None,
        resources: ResourcesView | None = None,
        dagster_type: Any = None,
        op_def: Any = None,
        log: LogManager | None = None,
        instance: Any = None,
        step_context: StepExecutionContext | None = None,
        partitions: RunPartitions | None = None,
        asset_partitions_def: Any = None,
        asset_partitions: RunPartitions | None = None,
    ) -> None:
        self.name = name
        self.upstream_output = upstream_output
        self.asset_key = asset_key
        self.definition_metadata = definition_metadata if definition_metadata is not None else {}
        self.config = config
        self.resource_config = resource_config
        self.resources = resources if resources is not None else ResourcesView({})
        self.dagster_type = dagster_type
        self.op_def = op_def
        self.log = log or _default_log()
        self.instance = instance
        self.step_context = step_context
        self._partitions = partitions or _NO_PARTITIONS
        self._asset_partitions = asset_partitions or self._partitions
        self.asset_partitions_def = asset_partitions_def

    @property
    def metadata(self) -> Mapping[str, Any]:
        """The input's definition metadata (Dagster's older name)."""
        return self.definition_metadata

    @property
    def has_asset_key(self) -> bool:
        """Whether the input reads an asset."""
        return self.asset_key is not None

    def get_identifier(self) -> list[str]:
        """The upstream output's identifier, so reads find what writes stored."""
        if self.upstream_output is None:
            raise InvariantViolationError(
                f"Input '{self.name}' has no upstream output, so it has no identifier."
            )
        return self.upstream_output.get_identifier()

    def get_asset_identifier(self) -> list[str]:
        """The asset key's parts, plus the partition key when partitioned."""
        if self.asset_key is None:
            raise InvariantViolationError(f"Input '{self.name}' does not read an asset.")
        parts = list(self.asset_key.parts)
        if self.has_partition_key and self.has_asset_partitions:
            parts.append(self.asset_partition_key)
        return parts

    def add_input_metadata(self, metadata: Mapping[str, Any]) -> None:
        """Attach metadata from inside ``load_input``; it lands on the loaded-input event."""
        if self.step_context is not None:
            self.step_context.add_input_metadata(self.name, metadata)

    def __repr__(self) -> str:
        return f"<InputContext {self.name}>"


# -- construction ------------------------------------------------------------------------
#
# Both contexts have one constructor path: their ``__init__``. Inside a run a step builds an
# OutputContext per output it stores and an InputContext (with the upstream OutputContext)
# per input it loads; everything about an output that does not change during a run is
# worked out once per run and output (``OutputFacts``, cached in the run's ``io_cache``),
# and the constructor is called positionally (keyword arguments cost more). The result of
# a run and ``load_asset_value`` read values back through the same functions.


class OutputFacts:
    """What does not change about one planned output during a run: its step, name, the
    run that produced it, asset key, definition metadata, type, code version, op, asset
    partitions, and the IO manager's resource config and resources."""

    __slots__ = (
        "asset_key",
        "asset_partitions",
        "dagster_type",
        "definition_metadata",
        "name",
        "op_def",
        "partitions_def",
        "resource_config",
        "resources",
        "run_id",
        "step_key",
        "version",
    )

    def __init__(
        self,
        plan: ExecutionPlan,
        handle: StepOutputHandle,
        run_id: str,
        partitions: RunPartitions,
        io_manager_parts: tuple[Any, ResourcesView | None] = (None, None),
    ) -> None:
        step = plan.steps[handle.step_key]
        step_output = step.step_output(handle.output_name)
        out_def = step_output.out_def
        asset_key = step_output.asset_key
        assets_def = step.assets_def
        self.step_key = step.key
        self.name = step_output.name
        # Re-execution: an output not recomputed here is read from the run that made it.
        self.run_id = plan.known_output_run_ids.get(step.key, run_id)
        self.asset_key = asset_key
        self.definition_metadata = (
            assets_def.specs_by_key[asset_key].metadata
            if assets_def and asset_key
            else out_def.metadata
        )
        self.dagster_type = out_def.dagster_type
        self.version = out_def.code_version
        self.op_def = step.op_def
        self.partitions_def = assets_def.partitions_def if assets_def else None
        self.asset_partitions = asset_partitions_of(partitions, asset_key, self.partitions_def)
        self.resource_config, self.resources = io_manager_parts

    def context(
        self,
        run_id: str,
        output_metadata: Mapping[str, Any] | None,
        log: LogManager | None,
        step_context: StepExecutionContext | None,
        partitions: RunPartitions,
        mapping_key: str | None = None,
    ) -> OutputContext:
        """The ``OutputContext`` of this output (of its item ``mapping_key``, for a dynamic
        output)."""
        return OutputContext(
            self.step_key,
            self.name,
            run_id,
            self.asset_key,
            self.definition_metadata,
            output_metadata,
            None,
            self.resource_config,
            self.resources,
            self.dagster_type,
            mapping_key,
            self.version,
            self.op_def,
            log,
            step_context,
            partitions,
            self.partitions_def,
            self.asset_partitions,
        )


def _io_manager_parts(step_context: StepExecutionContext, key: str) -> tuple[Any, ResourcesView]:
    """The IO manager's resource config and the resources it declared: built once per
    run and key, not per call."""
    plan_context = step_context.plan_context
    cache = plan_context.io_cache
    parts = cache.get(key)
    if parts is None:
        plan = step_context.plan
        resource_config = plan.run_config.resource_config(key)
        definition = plan.job.resource_defs.get(key)
        needed = definition.required_resource_keys if definition is not None else ()
        values = {k: plan_context.resources[k] for k in needed if k in plan_context.resources}
        parts = cache[key] = (resource_config, ResourcesView(values, owner=f"IO manager '{key}'"))
    return parts


def _output_facts(
    step_context: StepExecutionContext, handle: StepOutputHandle, manager_key: str
) -> OutputFacts:
    """The ``OutputFacts`` of output ``handle`` as seen through IO manager ``manager_key``
    (the upstream side of an input may use an input manager), once per run."""
    cache = step_context.plan_context.io_cache
    facts = cache.get((handle, manager_key))
    if facts is None:
        if handle.mapping_key is not None:  # an item of a dynamic output: its output's facts
            return _output_facts(step_context, handle._replace(mapping_key=None), manager_key)
        facts = cache[(handle, manager_key)] = OutputFacts(
            step_context.plan,
            handle,
            step_context.run_id,
            step_context.partitions,
            _io_manager_parts(step_context, manager_key),
        )
    return facts


def output_context_for_step(
    step_context: StepExecutionContext,
    step_output: StepOutput,
    metadata: Mapping[str, Any],
    mapping_key: str | None = None,
) -> OutputContext:
    """The ``OutputContext`` for one output of the running step (for one item of a
    dynamic output: ``mapping_key``)."""
    facts = _output_facts(step_context, step_output.handle, step_output.io_manager_key)
    return facts.context(
        step_context.run_id,
        metadata,
        step_context.log,
        step_context,
        step_context.partitions,
        mapping_key,
    )


def upstream_output_of_asset(
    asset_graph: Any,
    asset_key: AssetKey,
    run_id: str | None,
    partitions: RunPartitions,
    resource_config: Any,
    resources: ResourcesView | None,
    log: LogManager | None,
) -> OutputContext:
    """The upstream ``OutputContext`` of a read of ``asset_key`` outside any run that
    produces it (an input from an asset not selected in the run, or
    ``Definitions.load_asset_value``): its producer's step key and output name when the
    asset is defined here, else a name made from the key."""
    producer = asset_graph.producer.get(asset_key) if asset_graph is not None else None
    step_key, output_name, op_def = asset_key.to_python_identifier(), "result", None
    if producer is not None:
        spec = producer.specs_by_key[asset_key]
        partitions_def = producer.partitions_def
        # The op that makes it (inside a graph-backed asset: the inner op at its handle).
        step_key, op_def, output_name = producer.inner_output(
            producer.output_names_by_key[asset_key]
        )
    else:
        spec = asset_graph.external_specs.get(asset_key) if asset_graph is not None else None
        partitions_def = spec.partitions_def if spec else None
    return OutputContext(
        step_key,
        output_name,
        run_id,
        asset_key,
        spec.metadata if spec else None,
        None,
        None,
        resource_config,
        resources,
        None,
        None,
        None,
        op_def,
        log,
        None,
        partitions,
        partitions_def,
        asset_partitions_of(partitions, asset_key, partitions_def),
    )


def input_context_for_upstream(
    name: str,
    upstream: OutputContext,
    definition_metadata: Mapping[str, Any] | None,
    dagster_type: Any,
    op_def: Any,
    instance: Any,
    step_context: StepExecutionContext | None,
) -> InputContext:
    """The ``InputContext`` of a read of ``upstream``'s value: the asset and asset
    partitions are the upstream's, and so are the IO manager's config, resources and
    logger."""
    return InputContext(
        name,
        upstream,
        upstream.asset_key,
        definition_metadata,
        None,
        upstream.resource_config,
        upstream.resources,
        dagster_type,
        op_def,
        upstream.log,
        instance,
        step_context,
        upstream._partitions,
        upstream.asset_partitions_def,
        upstream._asset_partitions,
    )


def input_context_for_step(
    step_context: StepExecutionContext,
    step_input: StepInput,
    handle: StepOutputHandle | None,
) -> InputContext:
    """The ``InputContext`` for one input of the running step (``handle`` names the
    upstream output, or None when the input reads an asset outside the run or comes from
    an input manager)."""
    step = step_context.step
    manager_key = step_input.manager_key or "io_manager"
    log = step_context.log
    in_def = step_input.in_def
    partitions = step_context.partitions
    if handle is not None:
        facts = _output_facts(step_context, handle, manager_key)
        upstream = facts.context(facts.run_id, {}, log, None, partitions, handle.mapping_key)
    elif isinstance(step_input.source, FromLoadableAsset):
        resource_config, resources = _io_manager_parts(step_context, manager_key)
        upstream = upstream_output_of_asset(
            step_context.plan.job.asset_graph,
            step_input.source.asset_key,
            step_context.run_id,
            partitions,
            resource_config,
            resources,
            log,
        )
    else:  # an input manager with no upstream output
        resource_config, resources = _io_manager_parts(step_context, manager_key)
        assets_def = step.assets_def
        return InputContext(
            step_input.name,
            None,
            in_def.asset_key,
            in_def.metadata,
            None,
            resource_config,
            resources,
            in_def.dagster_type,
            step.op_def,
            log,
            step_context.instance,
            step_context,
            partitions,
            assets_def.partitions_def if assets_def else None,
            partitions,
        )
    mapped = mapped_input_partitions(step_context, upstream.asset_key)
    if mapped is not None:
        upstream._asset_partitions = mapped
    return input_context_for_upstream(
        step_input.name,
        upstream,
        in_def.metadata,
        in_def.dagster_type,
        step.op_def,
        step_context.instance,
        step_context,
    )


def mapped_input_partitions(
    step_context: StepExecutionContext, upstream_key: AssetKey | None
) -> RunPartitions | None:
    """The partitions of ``upstream_key`` that the running step's asset reads, through
    its partition mapping; None when they are simply the run's (the same partitions
    definition and no mapping given: the common case, decided without mapping anything)."""
    assets_def = step_context.step.assets_def
    graph = step_context.plan.job.asset_graph
    if assets_def is None or graph is None or upstream_key is None:
        return None
    if upstream_key not in graph.upstream:
        return None
    upstream_def = graph.partitions_def_for(upstream_key)
    if upstream_def is None:
        return None  # read whole
    own = assets_def.partitions_def
    given = assets_def.partition_mapping_for(upstream_key)
    if given is None and own == upstream_def and upstream_key not in assets_def.keys:
        return None
    from trellis.defs.partition_deps import upstream_keys_for

    partitions = step_context.partitions
    down_keys = partitions.partition_keys if own is not None and partitions.has_partitions else None
    keys = upstream_keys_for(assets_def, upstream_key, upstream_def, down_keys)
    return RunPartitions.of_keys(keys, upstream_def)
