"""``OpExecutionContext`` and ``AssetExecutionContext``: the contexts an op or asset body
receives. Both are thin views over the step's ``StepExecutionContext``; the asset context
is a small standalone facade, not a subclass of the op context.

Which one a function receives follows the annotation of its context parameter: assets
get the asset context unless annotated ``OpExecutionContext``; ops get the op context.
"""

from __future__ import annotations

from collections.abc import Mapping
from contextvars import ContextVar
from typing import TYPE_CHECKING, Any

from trellis.contexts.asset_partitions import AssetPartitionMembers
from trellis.core.asset_key import AssetKey, CoercibleToAssetKey
from trellis.core.data_version import DataProvenance, DataVersion, coerce_data_version
from trellis.core.errors import InvariantViolationError
from trellis.core.outputs import AssetMaterialization, AssetObservation

if TYPE_CHECKING:
    from trellis.contexts.log_manager import LogManager
    from trellis.contexts.resources_view import ResourcesView
    from trellis.contexts.system import StepExecutionContext
    from trellis.core.run import Run
    from trellis.defs.asset import AssetsDefinition

_CURRENT: ContextVar[Any] = ContextVar("trellis_current_compute_context", default=None)


def set_current_context(context: Any) -> Any:
    """Make ``context`` what ``OpExecutionContext.get()`` returns; returns a reset token."""
    return _CURRENT.set(context)


def reset_current_context(token: Any) -> None:
    """Undo ``set_current_context``."""
    _CURRENT.reset(token)


def current_context() -> Any:
    """The user context of the step running in this thread or task, or None."""
    return _CURRENT.get()


class NodeInfo:
    """``context.op``: the running node's name and tags."""

    __slots__ = ("handle", "name", "tags")

    def __init__(self, name: str, handle: str, tags: Mapping[str, str]) -> None:
        self.name = name
        self.handle = handle
        self.tags = tags

    def __repr__(self) -> str:
        return f"<Node {self.handle}>"


class _ComputeContextMembers(AssetPartitionMembers):
    """What both user contexts offer, forwarded to the step context (the per-input and
    per-output partitions: ``AssetPartitionMembers``)."""

    __slots__ = ("_step_context",)

    def __init__(self, step_context: StepExecutionContext) -> None:
        self._step_context = step_context

    @classmethod
    def get(cls) -> Any:
        """The context of the step running in this thread or task."""
        current = _CURRENT.get()
        if current is None:
            raise InvariantViolationError(
                f"{cls.__name__}.get() was called outside a running op or asset."
            )
        if cls is OpExecutionContext and not isinstance(current, OpExecutionContext):
            return current.op_execution_context  # of an asset's or an asset check's context
        if cls is AssetExecutionContext and not isinstance(current, AssetExecutionContext):
            raise InvariantViolationError(
                "AssetExecutionContext.get() was called from an op that is not an asset."
            )
        return current

    def __enter__(self) -> Any:
        return self

    def __exit__(self, *exc: object) -> None:
        close = getattr(self._step_context, "close", None)
        if close is not None:
            close()

    def get_step_execution_context(self) -> StepExecutionContext:
        """The system context underneath (for framework authors)."""
        return self._step_context

    # -- run ---------------------------------------------------------------------------
    @property
    def log(self) -> LogManager:
        """The logger: each message becomes an event of the run."""
        return self._step_context.log

    @property
    def resources(self) -> ResourcesView:
        """The resources this step declared, as attributes."""
        return self._step_context.resources

    @property
    def run(self) -> Run:
        """The run record (``run.run_id``, ``run.tags``, ``run.run_config``)."""
        return self._step_context.run

    @property
    def dagster_run(self) -> Run:
        """The run record (Dagster's older name)."""
        return self._step_context.run

    @property
    def run_id(self) -> str:
        """The run's id."""
        return self._step_context.run_id

    @property
    def run_config(self) -> dict[str, Any]:
        """The run config as given."""
        return self._step_context.run.run_config

    @property
    def run_tags(self) -> Mapping[str, str]:
        """The run's tags."""
        return self._step_context.run.tags

    def has_tag(self, key: str) -> bool:
        """Whether the run has tag ``key``."""
        return key in self._step_context.run.tags

    def get_tag(self, key: str) -> str | None:
        """The value of run tag ``key``, or None."""
        return self._step_context.run.tags.get(key)

    @property
    def instance(self) -> Any:
        """The instance the run belongs to."""
        return self._step_context.instance

    @property
    def job_name(self) -> str:
        """The job's name."""
        return self._step_context.job_name

    @property
    def job_def(self) -> Any:
        """The job definition."""
        return self._step_context.job_def

    @property
    def retry_number(self) -> int:
        """0 on the first attempt, 1 on the first retry, ..."""
        return self._step_context.retry_number

    @property
    def op_def(self) -> Any:
        """The op definition being run."""
        return self._step_context.op_def

    # -- partitions --------------------------------------------------------------------
    @property
    def has_partition_key(self) -> bool:
        """Whether the run covers a single partition."""
        return self._step_context.partitions.has_partition_key

    @property
    def has_partition_key_range(self) -> bool:
        """Whether the run covers a partition range."""
        return self._step_context.partitions.has_partition_key_range

    @property
    def partition_key(self) -> str:
        """The run's partition key; raises with a clear message when there is none."""
        return self._step_context.partitions.partition_key

    @property
    def partition_key_range(self) -> Any:
        """The run's partition key range (start == end for a single key)."""
        return self._step_context.partitions.partition_key_range

    @property
    def partition_keys(self) -> list[str]:
        """Every partition key the run covers."""
        return self._step_context.partitions.partition_keys

    @property
    def partition_time_window(self) -> Any:
        """The time window the run covers (time partitions only)."""
        return self._step_context.partitions.partition_time_window

    # -- outputs and events ------------------------------------------------------------
    def add_output_metadata(
        self,
        metadata: Mapping[str, Any],
        output_name: str | None = None,
        mapping_key: str | None = None,
    ) -> None:
        """Attach metadata to an output, and so to its materialization (to one item of a
        dynamic output with ``mapping_key``)."""
        self._step_context.add_output_metadata(metadata, output_name, mapping_key)

    def log_event(self, event: AssetMaterialization | AssetObservation) -> None:
        """Record a user ``AssetMaterialization`` or ``AssetObservation``."""
        if not isinstance(event, (AssetMaterialization, AssetObservation)):
            raise InvariantViolationError(
                f"log_event takes an AssetMaterialization or AssetObservation, got {event!r}."
            )
        self._step_context.user_events.append(event)

    # -- assets ------------------------------------------------------------------------
    @property
    def has_assets_def(self) -> bool:
        """Whether the step materializes assets."""
        return self._step_context.step.assets_def is not None

    @property
    def assets_def(self) -> AssetsDefinition:
        """The ``AssetsDefinition`` of the step (raises for plain ops)."""
        assets_def = self._step_context.step.assets_def
        if assets_def is None:
            raise InvariantViolationError(f"Op '{self.op_def.name}' does not make assets.")
        return assets_def

    @property
    def selected_asset_keys(self) -> set[AssetKey]:
        """The assets this run materializes in this step."""
        assets_def = self._step_context.step.assets_def
        return set(assets_def.selected_keys) if assets_def else set()

    @property
    def selected_asset_check_keys(self) -> set[Any]:
        """The asset checks (``AssetCheckKey``s) this run evaluates in this step (those of
        the asset's ``check_specs`` that were selected)."""
        return set(self._step_context.step.check_keys)

    @property
    def selected_output_names(self) -> set[str]:
        """The outputs this run expects from this step."""
        return {o.name for o in self._step_context.step.outputs}

    def asset_key_for_output(self, output_name: str = "result") -> AssetKey:
        """The asset an output makes."""
        key = self._step_context.asset_key_for_output(output_name)
        if key is None:
            raise InvariantViolationError(f"Output '{output_name}' is not an asset.")
        return key

    def asset_key_for_input(self, input_name: str) -> AssetKey:
        """The asset an input reads."""
        key = self._step_context.asset_key_for_input(input_name)
        if key is None:
            raise InvariantViolationError(f"Input '{input_name}' does not read an asset.")
        return key

    def output_for_asset_key(self, asset_key: CoercibleToAssetKey) -> str:
        """The output that makes ``asset_key``."""
        return self._step_context.output_name_for_asset_key(AssetKey.from_coercible(asset_key))

    # -- data versions -------------------------------------------------------------------
    def get_asset_provenance(self, asset_key: CoercibleToAssetKey) -> DataProvenance | None:
        """The data provenance of the newest materialization of ``asset_key`` stored in the
        instance (code version, the data versions of the inputs it used); None if it was
        never materialized or its materialization recorded none."""
        instance = self._step_context.plan_context.instance
        if instance is None:
            return None
        record = instance.get_latest_data_version_record(AssetKey.from_coercible(asset_key))
        return DataProvenance.from_tags(record.event.tags) if record is not None else None

    def set_data_version(self, asset_key: CoercibleToAssetKey, data_version: DataVersion) -> None:
        """Give the data version of an asset this step materializes, before its output is
        yielded (as ``Output(data_version=...)`` does)."""
        key = AssetKey.from_coercible(asset_key)
        if key not in self.selected_asset_keys:
            raise InvariantViolationError(
                f"set_data_version: step '{self._step_context.step.key}' does not materialize "
                f"asset '{key.to_user_string()}'."
            )
        versions = self._step_context.data_versions
        if versions is None:
            versions = self._step_context.data_versions = {}
        versions[key] = coerce_data_version(data_version, "set_data_version")


class OpExecutionContext(_ComputeContextMembers):
    """The context an op receives: logging, resources, config, run, tags, partitions,
    output metadata, retry number."""

    __slots__ = ()

    @property
    def op_config(self) -> Any:
        """This op's config (``ops.<name>.config``), processed."""
        return self._step_context.op_config

    @property
    def op(self) -> NodeInfo:
        """The running node (``context.op.name``): its name in the graph (an alias, or
        ``op_2`` for a second use), not the definition's name."""
        step = self._step_context.step
        return NodeInfo(step.handle.rsplit(".", 1)[-1], step.handle, step.tags)

    @property
    def op_handle(self) -> str:
        """The node's dotted handle."""
        return self._step_context.step.handle

    node_handle = op_handle

    @property
    def step_key(self) -> str:
        """The step key."""
        return self._step_context.step.key

    @property
    def asset_key(self) -> AssetKey:
        """The asset of a single-asset step."""
        return self.assets_def.key

    def describe_op(self) -> str:
        """``op 'name'`` for messages."""
        return f"{self.op_def.kind} '{self.op_def.name}'"

    def get_mapping_key(self) -> str | None:
        """The mapping key of a step that runs per item of a dynamic output (``a`` in step
        ``op[a]``; ``a,b`` for an op mapped inside a mapped op), else None."""
        return self._step_context.step.mapping_key

    def __repr__(self) -> str:
        return f"<OpExecutionContext {self._step_context.step.key}>"


class AssetExecutionContext(_ComputeContextMembers):
    """The context an asset receives: everything asset code needs (logging, resources,
    run, partitions, metadata) plus the asset's own key, code version and metadata.

    ``op_execution_context`` reaches the op-level view."""

    __slots__ = ()

    @property
    def op_execution_context(self) -> OpExecutionContext:
        """The op-level view of the same step."""
        return OpExecutionContext(self._step_context)

    @property
    def asset_key(self) -> AssetKey:
        """The key of this asset (multi-assets: use ``selected_asset_keys``)."""
        return self.assets_def.key

    @property
    def code_version(self) -> str | None:
        """The asset's code version."""
        assets_def = self.assets_def
        if len(assets_def.keys) != 1:
            raise InvariantViolationError("code_version of a multi-asset: read its specs.")
        return assets_def.specs_by_key[assets_def.key].code_version

    @property
    def definition_metadata(self) -> dict[str, Any]:
        """The asset's definition metadata (``@asset(metadata=...)``)."""
        assets_def = self.assets_def
        return dict(assets_def.specs_by_key[assets_def.key].metadata)

    @property
    def op_config(self) -> Any:
        """The asset's config (``ops.<asset>.config``), processed."""
        return self._step_context.op_config

    def add_asset_metadata(
        self,
        metadata: Mapping[str, Any],
        asset_key: CoercibleToAssetKey | None = None,
        partition_key: str | None = None,
    ) -> None:
        """Attach metadata to an asset's materialization (multi-assets name the key)."""
        assets_def = self.assets_def
        key = AssetKey.from_coercible(asset_key) if asset_key is not None else assets_def.key
        self._step_context.add_output_metadata(
            metadata, self._step_context.output_name_for_asset_key(key)
        )

    def get_mapping_key(self) -> str | None:
        """The mapping key of a step that runs per item of a dynamic output, else None."""
        return self._step_context.step.mapping_key

    def __repr__(self) -> str:
        return f"<AssetExecutionContext {self._step_context.step.key}>"
