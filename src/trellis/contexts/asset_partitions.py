"""The partitions an op or asset body reads and writes, per input and per output:
``context.asset_partition_key_for_input("daily")`` and friends. An input's partitions are
its upstream asset's, through the dependency's partition mapping; an output's are the
run's (none for an unpartitioned asset)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from trellis.contexts.partitions import RunPartitions
from trellis.core.errors import InvariantViolationError

if TYPE_CHECKING:
    from trellis.contexts.system import StepExecutionContext
    from trellis.core.asset_key import AssetKey


def _asset_graph(step_context: StepExecutionContext) -> Any:
    try:
        return step_context.plan.job.asset_graph
    except AttributeError:  # a direct call: no job, no graph
        return None


def input_asset_key(step_context: StepExecutionContext, input_name: str) -> AssetKey:
    """The asset that input ``input_name`` of the running step reads."""
    node = step_context.step.node
    keys = node.asset_keys_by_input or {}
    key = keys.get(input_name)
    if key is None:
        in_def = node.op_def.ins.get(input_name)
        key = in_def.asset_key if in_def is not None else None
    if key is None:
        known = sorted(node.op_def.ins)
        raise InvariantViolationError(
            f"'{node.handle}' has no input '{input_name}' that reads an asset; its inputs "
            f"are {known}."
        )
    return key


def input_partitions_def(step_context: StepExecutionContext, input_name: str) -> Any:
    """The partitions definition of the asset input ``input_name`` reads (None when it is
    not partitioned or not known here)."""
    key = input_asset_key(step_context, input_name)
    graph = _asset_graph(step_context)
    if graph is not None and key in graph.upstream:
        return graph.partitions_def_for(key)
    assets_def = step_context.step.assets_def
    if assets_def is not None and key in assets_def.keys:  # a self-dependency
        return assets_def.partitions_def
    return step_context.partitions.partitions_def


def input_partitions(step_context: StepExecutionContext, input_name: str) -> RunPartitions:
    """The partitions of its upstream asset that input ``input_name`` reads."""
    from trellis.contexts.io import mapped_input_partitions

    key = input_asset_key(step_context, input_name)
    if _asset_graph(step_context) is not None:
        mapped = mapped_input_partitions(step_context, key)
        if mapped is not None:
            return mapped
    upstream_def = input_partitions_def(step_context, input_name)
    partitions = step_context.partitions
    if upstream_def is None or not partitions.has_partitions:
        raise InvariantViolationError(
            f"Input '{input_name}' reads asset '{key.to_user_string()}', which is not "
            "partitioned in this run."
        )
    return partitions


def output_partitions(step_context: StepExecutionContext, output_name: str) -> RunPartitions:
    """The partitions output ``output_name`` of the running step writes."""
    step = step_context.step
    if output_name not in step.node.op_def.outs:
        raise InvariantViolationError(
            f"'{step.node.handle}' has no output '{output_name}'; its outputs are "
            f"{sorted(step.node.op_def.outs)}."
        )
    assets_def = step.assets_def
    partitions = step_context.partitions
    if assets_def is not None and assets_def.partitions_def is None:
        raise InvariantViolationError(
            f"Output '{output_name}' of '{step.node.handle}' makes an unpartitioned asset."
        )
    if not partitions.has_partitions:
        raise InvariantViolationError(
            f"Output '{output_name}' of '{step.node.handle}': this run is not partitioned."
        )
    return partitions


class AssetPartitionMembers:
    """The per-input and per-output partition members of the op and asset contexts."""

    __slots__ = ()
    _step_context: StepExecutionContext

    def asset_partition_key_for_input(self, input_name: str) -> str:
        """The single upstream partition input ``input_name`` reads (raises when it reads
        several: use ``asset_partition_keys_for_input``)."""
        return input_partitions(self._step_context, input_name).partition_key

    def asset_partition_keys_for_input(self, input_name: str) -> list[str]:
        """Every upstream partition input ``input_name`` reads."""
        return input_partitions(self._step_context, input_name).partition_keys

    def asset_partition_key_range_for_input(self, input_name: str) -> Any:
        """The first and last upstream partitions input ``input_name`` reads."""
        return input_partitions(self._step_context, input_name).partition_key_range

    def asset_partitions_time_window_for_input(self, input_name: str) -> Any:
        """The time window of the upstream partitions input ``input_name`` reads."""
        return input_partitions(self._step_context, input_name).partition_time_window

    def asset_partitions_def_for_input(self, input_name: str) -> Any:
        """The partitions definition of the asset input ``input_name`` reads."""
        return input_partitions_def(self._step_context, input_name)

    def asset_partition_key_for_output(self, output_name: str = "result") -> str:
        """The partition output ``output_name`` writes."""
        return output_partitions(self._step_context, output_name).partition_key

    def asset_partition_keys_for_output(self, output_name: str = "result") -> list[str]:
        """Every partition output ``output_name`` writes."""
        return output_partitions(self._step_context, output_name).partition_keys

    def asset_partition_key_range_for_output(self, output_name: str = "result") -> Any:
        """The partition range output ``output_name`` writes."""
        return output_partitions(self._step_context, output_name).partition_key_range

    def asset_partitions_time_window_for_output(self, output_name: str = "result") -> Any:
        """The time window output ``output_name`` writes."""
        return output_partitions(self._step_context, output_name).partition_time_window

    def asset_partitions_def_for_output(self, output_name: str = "result") -> Any:
        """The partitions definition of the asset output ``output_name`` makes."""
        step = self._step_context.step
        return step.assets_def.partitions_def if step.assets_def is not None else None
