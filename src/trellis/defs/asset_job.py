"""Asset jobs: ``define_asset_job`` and the building of a job from an asset selection."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from trellis.core.asset_checks import AssetCheckKey
from trellis.core.asset_key import AssetKey
from trellis.core.collector import collector_paused
from trellis.core.errors import InvalidDefinitionError, InvalidSubsetError
from trellis.defs.asset import AssetsDefinition
from trellis.defs.asset_graph import AssetGraph
from trellis.defs.asset_job_partitions import common_partitions_def
from trellis.defs.asset_selection import (
    AssetSelection,
    CoercibleToAssetSelection,
    coerce_selection,
)
from trellis.defs.executor import ExecutorDefinition
from trellis.defs.flat_graph import FlatNode, FlatSource, FromAsset, NodeOutput
from trellis.defs.graph_asset_nodes import graph_asset_nodes, with_graph_asset_config
from trellis.defs.hook import coerce_hooks
from trellis.defs.job import JobDefinition
from trellis.defs.run_request import PartitionRunRequests

if TYPE_CHECKING:
    from trellis.defs.partitions import PartitionsDefinition

IMPLICIT_ASSET_JOB_NAME = "__ASSET_JOB"


@collector_paused()
def build_asset_job(
    name: str,
    graph: AssetGraph,
    selected_keys: Iterable[AssetKey],
    *,
    resource_defs: Mapping[str, Any] | None = None,
    config: Any = None,
    tags: Mapping[str, str] | None = None,
    executor_def: ExecutorDefinition | None = None,
    partitions_def: Any = None,
    description: str | None = None,
    allow_mixed_partitions: bool = False,
    hook_defs: Any = None,
    logger_defs: Mapping[str, Any] | None = None,
    selected_check_keys: Iterable[AssetCheckKey] | None = None,
) -> JobDefinition:
    """A job that materializes ``selected_keys`` of ``graph``, in dependency order, and
    evaluates ``selected_check_keys`` (default: the checks of the selected assets).

    Upstream assets outside the selection are loaded through their IO managers. Its
    partitions definition is ``partitions_def``, else the one its partitioned assets
    share; assets of different ones are an error naming them, unless
    ``allow_mixed_partitions`` (the implicit asset job: no partitions definition, and each
    run of a subset picks the one of its assets, see ``subset_asset_job``).
    """
    selected = set(selected_keys)
    unknown = selected - graph.executable_keys
    if unknown:
        names = sorted(k.to_user_string() for k in unknown)
        raise InvalidDefinitionError(
            f"Job '{name}' selects {names}, which no asset definition here materializes."
        )
    # One flat node per assets definition with at least one selected key (or check).
    producers = graph.producer
    checks: set[AssetCheckKey] | None = None
    if graph.check_specs:
        from trellis.defs.asset_job_checks import asset_subsets, selected_checks

        checks = selected_checks(graph, selected, selected_check_keys, name)
        subsets = asset_subsets(graph, selected, checks)
    elif selected_check_keys:
        from trellis.defs.check_graph import check_unknown_checks

        check_unknown_checks(graph, selected_check_keys, name)
        raise AssertionError("unreachable: the graph has no checks")  # pragma: no cover
    elif len(selected) == len(producers):  # everything (the common case): no subsetting
        ordered = dict.fromkeys(producers[k] for k in graph.toposorted_keys if k in producers)
        subsets = [
            a
            if len(a.selected_keys) == len(a.keys_by_output_name)
            else a.subset_for(a.keys_by_output_name.values())
            for a in ordered
        ]
    else:
        chosen: dict[int, AssetsDefinition] = {}
        for key in graph.toposorted_keys:
            if key in selected:
                producer = producers[key]
                chosen.setdefault(id(producer), producer)
        subsets = [
            a.subset_for(k for k in a.keys_by_output_name.values() if k in selected)
            for a in chosen.values()
        ]
    handle_of_key: dict[AssetKey, tuple[str, str]] = {}
    graph_backed = False
    for assets_def in subsets:
        if assets_def.is_graph_backed:  # the asset is an output of an op inside the graph
            graph_backed = True
            for key in assets_def.selected_keys:
                handle, _, op_output = assets_def.inner_output(assets_def.output_names_by_key[key])
                handle_of_key[key] = (handle, op_output)
            continue
        for key in assets_def.selected_keys:
            handle_of_key[key] = (assets_def.node_name, assets_def.output_names_by_key[key])
    nodes: list[FlatNode] = []
    partitions_def = common_partitions_def(
        name, subsets, required=partitions_def, allow_mixed=allow_mixed_partitions
    )
    for assets_def in subsets:
        inputs: dict[str, FlatSource] = {}
        own = assets_def.output_names_by_key  # keyed by the asset keys it makes
        for input_name, up in assets_def.keys_by_input_name.items():
            # An observed source asset's step records a version, not a value: its
            # consumers load it through its IO manager, after the observation.
            observed = bool(graph.observable_keys) and up in graph.observable_keys
            if up in handle_of_key and up not in own and not observed:
                inputs[input_name] = NodeOutput(*handle_of_key[up])
            else:
                inputs[input_name] = FromAsset(up)
        after = tuple(
            sorted(
                {
                    handle_of_key[d][0]
                    for k in assets_def.selected_keys
                    for d in assets_def.specs_by_key[k].deps
                    if d in handle_of_key and d not in own
                }
                | (
                    {
                        handle_of_key[up][0]
                        for up in assets_def.keys_by_input_name.values()
                        if up in graph.observable_keys and up in handle_of_key
                    }
                    if graph.observable_keys
                    else set()
                )
            )
        )
        if assets_def.is_graph_backed:
            nodes.extend(graph_asset_nodes(assets_def, inputs, after))
            continue
        nodes.append(
            FlatNode(
                assets_def.node_name,
                assets_def.node_def,  # type: ignore[arg-type]  # an op: graphs are above
                inputs,
                retry_policy=None,
                assets_def=assets_def,
                after=after,
                hook_defs=assets_def.hook_defs,
            )
        )
    if checks is not None:
        from trellis.defs.asset_job_checks import with_check_nodes

        nodes = with_check_nodes(graph, name, nodes, checks, handle_of_key)
    dynamic = False  # only the ops of a graph-backed asset may yield dynamic outputs
    if graph_backed:
        config = with_graph_asset_config(config, subsets)
        dynamic = any(node.op_def.has_dynamic_outputs for node in nodes)
        if dynamic:
            from trellis.defs.dynamic_scope import assign_scopes

            assign_scopes(nodes)
    job = JobDefinition(
        name=name,
        resource_defs=resource_defs,
        config=config,
        tags=tags,
        executor_def=executor_def,
        description=description,
        partitions_def=partitions_def,
        flat_nodes=nodes,
        asset_graph=graph,
        hook_defs=hook_defs,
        logger_defs=logger_defs,
    )
    job.__dict__["has_dynamic_outputs"] = dynamic
    return job


def subset_asset_job(
    job: JobDefinition,
    selected_keys: Iterable[AssetKey],
    selected_check_keys: Iterable[AssetCheckKey] | None = None,
) -> JobDefinition:
    """The job that materializes ``selected_keys`` of asset job ``job`` (same name, resources,
    config, tags and executor) and evaluates ``selected_check_keys`` (default: the checks
    of those assets). Its partitions definition is ``job``'s, or, when ``job``
    has none (the implicit asset job over several), the one the selected assets share:
    ``MixedPartitionsError`` names the assets of each when they differ."""
    if job.asset_graph is None:
        raise InvalidDefinitionError(f"Job '{job.name}' has no assets to select.")
    return build_asset_job(
        job.name,
        job.asset_graph,
        selected_keys,
        resource_defs=job.resource_defs,
        config=job.partitioned_config or job.config,
        tags=job.tags,
        executor_def=job.executor_def,
        partitions_def=job.partitions_def,
        description=job.description,
        hook_defs=job.hook_defs,
        logger_defs=job.logger_defs,
        selected_check_keys=selected_check_keys,
    )


class UnresolvedAssetJobDefinition(PartitionRunRequests):
    """A job over an asset selection, made concrete when ``Definitions`` resolves it
    against the asset graph (``define_asset_job``)."""

    def __init__(
        self,
        name: str,
        selection: AssetSelection,
        config: Any = None,
        description: str | None = None,
        tags: Mapping[str, str] | None = None,
        partitions_def: Any = None,
        executor_def: ExecutorDefinition | None = None,
        hooks: Any = None,
    ) -> None:
        self.name = name
        self.selection = selection
        self.config = config
        self.description = description
        self.tags = dict(tags or {})
        self.partitions_def = partitions_def
        self.executor_def = executor_def
        self.hooks = coerce_hooks(hooks, f"Asset job '{name}'")

    def resolve(
        self,
        graph: AssetGraph,
        resource_defs: Mapping[str, Any] | None = None,
        executor_def: ExecutorDefinition | None = None,
        logger_defs: Mapping[str, Any] | None = None,
    ) -> JobDefinition:
        """The concrete job for ``graph``."""
        try:
            keys = self.selection.resolve(graph)
            checks = self.selection.resolve_checks(graph)
        except InvalidDefinitionError as exc:
            raise InvalidDefinitionError(f"Asset job '{self.name}': {exc}") from None
        try:
            return build_asset_job(
                self.name,
                graph,
                keys,
                resource_defs=resource_defs,
                config=self.config,
                tags=self.tags,
                executor_def=self.executor_def or executor_def,
                partitions_def=self.partitions_def,
                description=self.description,
                hook_defs=self.hooks,
                logger_defs=logger_defs or None,
                selected_check_keys=checks,
            )
        except InvalidSubsetError as exc:
            raise InvalidSubsetError(f"Asset job '{self.name}': {exc}") from None

    def __repr__(self) -> str:
        return f"<UnresolvedAssetJobDefinition {self.name} {self.selection!r}>"


def define_asset_job(
    name: str,
    selection: CoercibleToAssetSelection | None = None,
    config: Any = None,
    description: str | None = None,
    tags: Mapping[str, str] | None = None,
    partitions_def: PartitionsDefinition | None = None,
    executor_def: ExecutorDefinition | None = None,
    hooks: Any = None,
) -> UnresolvedAssetJobDefinition:
    """A job that materializes the assets of ``selection`` (all assets when omitted);
    bind it in ``Definitions(jobs=[...])``. ``hooks={...}`` run after each of its steps."""
    return UnresolvedAssetJobDefinition(
        name,
        coerce_selection(selection),
        config=config,
        description=description,
        tags=tags,
        partitions_def=partitions_def,
        executor_def=executor_def,
        hooks=hooks,
    )
