"""``@job`` and ``JobDefinition``: a graph (or asset selection) bound to resources,
default config, tags and an executor: the unit that runs."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from functools import cached_property
from typing import TYPE_CHECKING, Any, overload

from trellis.core.errors import InvalidDefinitionError
from trellis.defs.executor import ExecutorDefinition
from trellis.defs.flat_graph import (
    CollectedFrom,
    FlatNode,
    FromAsset,
    MappedFrom,
    NodeOutput,
    flatten_graph_with_dynamic,
)
from trellis.defs.graph import GraphDefinition, build_graph
from trellis.defs.hook import HookDefinition, coerce_hooks, ordered_hooks
from trellis.defs.logger import LoggerDefinition, coerce_loggers
from trellis.defs.resource import (
    ResourceDefinition,
    coerce_resources,
    resource_init_order,
)
from trellis.defs.run_request import PartitionRunRequests

if TYPE_CHECKING:
    from trellis.api.result import ExecuteInProcessResult
    from trellis.defs.config_mapping import ConfigMapping
    from trellis.defs.partitioned_config import PartitionedConfig
    from trellis.defs.partitions import PartitionsDefinition
    from trellis.defs.retry import RetryPolicy


def _partitions_of_config(name: str, config: PartitionedConfig[Any], given: Any) -> Any:
    """The partitions of a job whose config is partitioned: the config's, which must be
    the job's own ``partitions_def`` when it names one too."""
    if given is not None and given is not config.partitions_def and given != config.partitions_def:
        raise InvalidDefinitionError(
            f"Job '{name}': partitions_def {given!r} is not the partitions of its "
            f"partitioned config ({config.partitions_def!r}); give one or make them the same."
        )
    return config.partitions_def


class JobDefinition(PartitionRunRequests):
    """A runnable job: its nodes, resources, default run config, tags and executor.

    ``execute_in_process(...)`` runs it in this process and returns the result.
    """

    # Where other processes load this job from (a ``CodePointer``), when the loader that
    # built it knows (the ``trellis`` command sets it); else it is searched for.
    code_pointer: Any = None

    def __init__(
        self,
        name: str,
        graph_def: GraphDefinition | None = None,
        resource_defs: Mapping[str, Any] | None = None,
        config: Any = None,
        tags: Mapping[str, str] | None = None,
        executor_def: ExecutorDefinition | None = None,
        description: str | None = None,
        op_retry_policy: Any = None,
        partitions_def: Any = None,
        *,
        flat_nodes: list[FlatNode] | None = None,
        asset_graph: Any = None,
        hook_defs: Any = None,
        logger_defs: Mapping[str, LoggerDefinition] | None = None,
    ) -> None:
        self.name = name
        self.graph_def = graph_def
        self.resource_defs: dict[str, ResourceDefinition] = coerce_resources(resource_defs)
        # A config computed per partition: the job's partitions, its config per run.
        self.partitioned_config: PartitionedConfig[Any] | None = None
        # A config mapping: the run config given is the mapping's, mapped to the job's.
        self.config_mapping: ConfigMapping | None = None
        if config is not None and not isinstance(config, Mapping):
            from trellis.defs.config_mapping import ConfigMapping
            from trellis.defs.partitioned_config import PartitionedConfig

            if isinstance(config, PartitionedConfig):
                partitions_def = _partitions_of_config(name, config, partitions_def)
                self.partitioned_config, config = config, None
            elif isinstance(config, ConfigMapping):
                self.config_mapping, config = config, None
        self.config = config
        self.tags = dict(tags or {})
        self.executor_def = executor_def
        self.description = description
        self.op_retry_policy = op_retry_policy
        self.partitions_def = partitions_def
        self.asset_graph = asset_graph
        # Hooks of every step of the job (``with_hooks``); a node's own are on its FlatNode.
        self.hook_defs: frozenset[HookDefinition] = coerce_hooks(hook_defs, f"Job '{name}'")
        # The loggers the job lists; None: those of its Definitions, else the console.
        self.logger_defs: dict[str, LoggerDefinition] | None = (
            None if logger_defs is None else coerce_loggers(logger_defs, f"Job '{name}'")
        )
        if flat_nodes is not None:
            self.__dict__["flat_nodes"] = flat_nodes
        elif graph_def is None:
            raise InvalidDefinitionError(f"Job '{name}' needs a graph or asset nodes.")

    @cached_property
    def flat_nodes(self) -> list[FlatNode]:
        """Every op of the job at its dotted handle, in topological order."""
        assert self.graph_def is not None
        nodes, dynamic = flatten_graph_with_dynamic(self.graph_def)
        self.__dict__["has_dynamic_outputs"] = dynamic
        return nodes

    @cached_property
    def nodes_by_handle(self) -> dict[str, FlatNode]:
        """Flat nodes by handle."""
        return {n.handle: n for n in self.flat_nodes}

    @cached_property
    def has_dynamic_outputs(self) -> bool:
        """Whether some op of the job yields dynamic outputs (its plan then resolves
        steps mapped over them while the run goes)."""
        return any(node.op_def.has_dynamic_outputs for node in self.flat_nodes)

    @property
    def loggers(self) -> Mapping[str, LoggerDefinition]:
        """The loggers a run of this job may use, by key (what run config's ``loggers:``
        configures): those it lists, else ``{"console": colored_console_logger}``."""
        if self.logger_defs:
            return self.logger_defs
        from trellis.defs.builtin_loggers import default_loggers

        return default_loggers()

    @property
    def has_specified_loggers(self) -> bool:
        """Whether the job (or the ``Definitions`` it was bound in) lists its loggers."""
        return self.logger_defs is not None

    def hooks_for_node(self, node: FlatNode) -> tuple[HookDefinition, ...]:
        """The hooks that run after the step of ``node``: its own (its use in a graph, the
        graphs around it, its asset) and the job's, each once, in the order they run."""
        if not node.hook_defs and not self.hook_defs:
            return ()
        return ordered_hooks(node.hook_defs, self.hook_defs)

    def with_hooks(self, hook_defs: Any) -> JobDefinition:
        """A copy of this job whose every step also runs ``hook_defs``."""
        copy = self._copy()
        copy.hook_defs = self.hook_defs | coerce_hooks(hook_defs, f"Job '{self.name}'")
        copy.__dict__.pop("_node_resource_keys", None)  # hooks need resources too
        return copy

    def with_logger_defs(self, logger_defs: Mapping[str, LoggerDefinition]) -> JobDefinition:
        """A copy of this job that lists ``logger_defs`` as its loggers."""
        copy = self._copy()
        copy.logger_defs = coerce_loggers(logger_defs, f"Job '{self.name}'")
        return copy

    @property
    def is_asset_job(self) -> bool:
        """Whether the job materializes assets."""
        return self.asset_graph is not None

    def resource_keys_for_node(self, node: FlatNode) -> set[str]:
        """The resource keys one node needs: declared keys, typed parameters, the IO
        managers of its outputs and the managers that load its inputs (worked out once
        per node: they depend only on the job's nodes, not on its resources)."""
        return set(self.node_resource_keys(node))

    def node_resource_keys(self, node: FlatNode) -> frozenset[str]:
        """``resource_keys_for_node`` as a shared frozenset (no copy)."""
        cache: dict[str, frozenset[str]] = self.__dict__.setdefault("_node_resource_keys", {})
        keys = cache.get(node.handle)
        if keys is None:
            keys = cache[node.handle] = self._resource_keys_for_node(node)
        return keys

    def _resource_keys_for_node(self, node: FlatNode) -> frozenset[str]:
        op_def = node.op_def
        keys = set(op_def.resource_keys)
        keys.update(out.io_manager_key for out in op_def.outs.values())
        if node.hook_defs or self.hook_defs:
            for hook in self.hooks_for_node(node):
                keys.update(hook.required_resource_keys)
        ins = op_def.ins
        for input_name, source in node.inputs.items():
            in_def = ins[input_name]
            if in_def.input_manager_key:
                keys.add(in_def.input_manager_key)
            elif type(source) is NodeOutput or isinstance(source, (MappedFrom, CollectedFrom)):
                upstream = self.nodes_by_handle[source.handle].op_def
                keys.add(upstream.outs[source.output_name].io_manager_key)
            elif isinstance(source, FromAsset) and self.asset_graph is not None:
                keys.add(self.asset_graph.io_manager_key_for(source.asset_key))
            elif isinstance(source, list):
                for src in source:
                    upstream = self.nodes_by_handle[src.handle].op_def
                    keys.add(upstream.outs[src.output_name].io_manager_key)
        return frozenset(keys)

    def check_resources(self, available: set[str] | None = None) -> None:
        """Raise when a node needs a resource key that is not bound, naming the node, the
        key and the keys that are available (``io_manager`` always has a default)."""
        if available is None and self.__dict__.get("_resources_checked"):
            return  # definitions do not change: checked once per job
        bound = set(self.resource_defs) | (available or set()) | {"io_manager"}
        node_keys = [self.node_resource_keys(node) for node in self.flat_nodes]
        if not set().union(*node_keys) <= bound:  # find the first node that misses one
            for node, keys in zip(self.flat_nodes, node_keys, strict=True):
                missing = sorted(keys - bound)
                if not missing:
                    continue
                kind = node.op_def.kind
                needer = f"{kind.capitalize()} '{node.handle}'"
                for hook in self.hooks_for_node(node):
                    if missing[0] in hook.required_resource_keys:
                        needer = f"Hook '{hook.name}' of {kind} '{node.handle}'"
                        break
                raise InvalidDefinitionError(
                    f"{needer} in job '{self.name}' requires "
                    f"resource '{missing[0]}', which is not provided. Available resource "
                    f"keys: {sorted(bound)}."
                )
        for key, definition in self.resource_defs.items():
            missing = sorted(definition.required_resource_keys - bound)
            if missing:
                raise InvalidDefinitionError(
                    f"Resource '{key}' in job '{self.name}' requires resource '{missing[0]}', "
                    f"which is not provided. Available resource keys: {sorted(bound)}."
                )
        resource_init_order(self.resource_defs, set(self.resource_defs))  # raises on a cycle
        if available is None:
            self.__dict__["_resources_checked"] = True

    def with_resources(self, resource_defs: Mapping[str, Any]) -> JobDefinition:
        """A copy whose resources are ``resource_defs`` overlaid by the job's own."""
        copy = self._copy()
        copy.resource_defs = {**coerce_resources(resource_defs), **self.resource_defs}
        return copy

    def for_partition(self, partition_key: str | None) -> JobDefinition:
        """The job as a run for ``partition_key`` executes it: with a partitioned config,
        a copy whose config and tags are the config's for that key (the job's own tags
        under them); otherwise the job itself. Raises ``InvalidInvocationError`` when the
        config is partitioned and no key is given."""
        partitioned = self.partitioned_config
        if partitioned is None:
            return self
        if partition_key is None:
            from trellis.core.errors import InvalidInvocationError

            raise InvalidInvocationError(
                f"Job '{self.name}' takes its run config from a partitioned config: give the "
                "partition to run (partition_key=..., or --partition on the command line)."
            )
        copy = self._copy()
        copy.config = partitioned.get_run_config_for_partition_key(partition_key)
        copy.tags = {
            **self.tags,
            **partitioned.get_tags_for_partition_key(partition_key, job_name=self.name),
        }
        return copy

    def _copy(self) -> JobDefinition:
        # Flatten once on the original, so every copy (one per run) shares the nodes.
        self.flat_nodes  # noqa: B018 - computes the cached property
        self.__dict__.setdefault("_node_resource_keys", {})  # depends on the nodes only
        copy = JobDefinition.__new__(JobDefinition)
        copy.__dict__.update(self.__dict__)
        copy.__dict__.pop("_resources_checked", None)  # a copy gets its own resources
        return copy

    def execute_in_process(
        self,
        run_config: Any = None,
        instance: Any = None,
        partition_key: str | None = None,
        raise_on_error: bool = True,
        op_selection: list[str] | None = None,
        run_id: str | None = None,
        input_values: Mapping[str, Any] | None = None,
        tags: Mapping[str, str] | None = None,
        resources: Mapping[str, Any] | None = None,
        asset_selection: Any = None,
    ) -> ExecuteInProcessResult:
        """Run the job in this process and return an ``ExecuteInProcessResult``.

        ``resources`` override the job's; ``op_selection`` runs a subset (``"*op"``
        selects an op and its upstream); ``raise_on_error`` re-raises the user's own
        exception when a step fails.
        """
        from trellis.api.execute import execute_job_in_process

        return execute_job_in_process(
            self,
            run_config=run_config,
            instance=instance,
            partition_key=partition_key,
            raise_on_error=raise_on_error,
            op_selection=op_selection,
            run_id=run_id,
            input_values=input_values,
            tags=tags,
            resources=resources,
            asset_selection=asset_selection,
        )

    def __repr__(self) -> str:
        return f"<JobDefinition {self.name}>"


@overload
def job(fn: Callable[..., Any]) -> JobDefinition: ...
@overload
def job(
    fn: None = None,
    *,
    name: str | None = None,
    description: str | None = None,
    resource_defs: Mapping[str, Any] | None = None,
    config: Any = None,
    tags: Mapping[str, str] | None = None,
    executor_def: ExecutorDefinition | None = None,
    op_retry_policy: RetryPolicy | None = None,
    partitions_def: PartitionsDefinition | None = None,
    hooks: Any = None,
    logger_defs: Mapping[str, LoggerDefinition] | None = None,
) -> Callable[[Callable[..., Any]], JobDefinition]: ...


def job(
    fn: Callable[..., Any] | None = None,
    *,
    name: str | None = None,
    description: str | None = None,
    resource_defs: Mapping[str, Any] | None = None,
    config: Any = None,
    tags: Mapping[str, str] | None = None,
    executor_def: ExecutorDefinition | None = None,
    op_retry_policy: RetryPolicy | None = None,
    partitions_def: PartitionsDefinition | None = None,
    hooks: Any = None,
    logger_defs: Mapping[str, LoggerDefinition] | None = None,
) -> JobDefinition | Callable[[Callable[..., Any]], JobDefinition]:
    """Define a job from a function that wires ops together: ``@job`` or
    ``@job(resource_defs=..., config=..., tags=..., executor_def=..., hooks={...},
    logger_defs={...})``."""

    def decorate(f: Callable[..., Any]) -> JobDefinition:
        graph_def = build_graph(f, name=name, description=description)
        return graph_def.to_job(
            name=name or f.__name__,
            description=graph_def.description,
            resource_defs=resource_defs,
            config=config,
            tags=tags,
            executor_def=executor_def,
            op_retry_policy=op_retry_policy,
            partitions_def=partitions_def,
            hooks=hooks,
            logger_defs=logger_defs,
        )

    return decorate(fn) if fn is not None else decorate
