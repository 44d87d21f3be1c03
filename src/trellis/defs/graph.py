"""``@graph`` and ``GraphDefinition``: ops wired together, possibly nested."""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, overload

from trellis.core.errors import InvalidDefinitionError
from trellis.defs.composition import (
    CompositionState,
    GraphInputRef,
    InvokedOutput,
    NodeInvocation,
    current_composition,
    pop_composition,
    push_composition,
    record_invocation,
)
from trellis.defs.node import NodeDefinition

if TYPE_CHECKING:
    from trellis.api.result import ExecuteInProcessResult
    from trellis.defs.executor import ExecutorDefinition
    from trellis.defs.job import JobDefinition
    from trellis.defs.partitions import PartitionsDefinition
    from trellis.defs.retry import RetryPolicy


class GraphDefinition(NodeDefinition):
    """A graph of nodes (ops or other graphs) whose inputs are wired to upstream outputs.

    ``nodes`` are kept in the order the body called them, which is a topological order.
    ``output_mappings`` maps each graph output to an inner node's output.
    """

    def __init__(
        self,
        name: str,
        nodes: Mapping[str, NodeInvocation] | None = None,
        input_names: tuple[str, ...] = (),
        output_mappings: Mapping[str, InvokedOutput] | Sequence[Any] | None = None,
        description: str | None = None,
        tags: Mapping[str, str] | None = None,
        config: Any = None,
        *,
        node_defs: Sequence[Any] | None = None,
        dependencies: Mapping[Any, Mapping[str, Any]] | None = None,
        input_mappings: Sequence[Any] | None = None,
    ) -> None:
        if nodes is None:  # Dagster's explicit form: node_defs and dependencies
            from trellis.defs.explicit_graph import build_explicit_graph

            nodes, input_names, output_mappings = build_explicit_graph(
                name,
                node_defs or (),
                dependencies,
                input_mappings,
                output_mappings,  # type: ignore[arg-type]
            )
        elif not isinstance(output_mappings, Mapping | None):
            raise InvalidDefinitionError(
                f"Graph '{name}': OutputMapping objects go with node_defs= and dependencies=."
            )
        self.name = name
        self.nodes = dict(nodes)
        self._input_names = tuple(input_names)
        self.output_mappings = dict(output_mappings or {})
        self.description = description
        self.tags = dict(tags or {})
        self.config = config
        self.input_descriptions: dict[str, str | None] = {}  # @graph(ins={...: GraphIn(...)})

    @property
    def input_names(self) -> tuple[str, ...]:
        """The graph's own inputs, in order."""
        return self._input_names

    @property
    def output_names(self) -> tuple[str, ...]:
        """The graph's outputs, in order."""
        return tuple(self.output_mappings)

    def is_dynamic_output(self, output_name: str) -> bool:
        """Whether graph output ``output_name`` is a dynamic output of an inner op, or a
        result mapped over one (so the caller can ``.map`` or ``.collect()`` it)."""
        mapped = self.output_mappings.get(output_name)
        return mapped is not None and mapped.yields_dynamic

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        if current_composition() is None:
            raise InvalidDefinitionError(
                f"Graph '{self.name}' can only be called inside another @graph or @job body; "
                "to run it, use graph.to_job(...).execute_in_process() or "
                "graph.execute_in_process()."
            )
        return record_invocation(self, args, kwargs)

    def to_job(
        self,
        name: str | None = None,
        description: str | None = None,
        resource_defs: Mapping[str, Any] | None = None,
        config: Any = None,
        tags: Mapping[str, str] | None = None,
        executor_def: ExecutorDefinition | None = None,
        op_retry_policy: RetryPolicy | None = None,
        partitions_def: PartitionsDefinition | None = None,
        hooks: Any = None,
        logger_defs: Mapping[str, Any] | None = None,
    ) -> JobDefinition:
        """A runnable job from this graph, with its resources, default config, tags, hooks
        and loggers."""
        from trellis.defs.config_mapping import ConfigMapping
        from trellis.defs.job import JobDefinition

        if config is None:
            config = self.config
            if isinstance(config, ConfigMapping):  # the graph's own: maps to its ops
                config = config.for_job_of_graph()
        return JobDefinition(
            name=name or self.name,
            graph_def=self,
            resource_defs=resource_defs,
            config=config,
            tags=tags,
            executor_def=executor_def,
            description=description or self.description,
            op_retry_policy=op_retry_policy,
            partitions_def=partitions_def,
            hook_defs=hooks,
            logger_defs=logger_defs,
        )

    def execute_in_process(self, run_config: Any = None, **kwargs: Any) -> ExecuteInProcessResult:
        """Run this graph as an ad-hoc job (see ``JobDefinition.execute_in_process``)."""
        resources = kwargs.pop("resources", None)
        return self.to_job(resource_defs=resources).execute_in_process(run_config, **kwargs)

    def __repr__(self) -> str:
        return f"<GraphDefinition {self.name}>"


def build_graph(
    fn: Callable[..., Any],
    name: str | None = None,
    description: str | None = None,
    tags: Mapping[str, str] | None = None,
    out: Any = None,
    config: Any = None,
) -> GraphDefinition:
    """Run a graph body once, recording its nodes, and return the ``GraphDefinition``."""
    graph_name = name or fn.__name__
    params = [
        p
        for p in inspect.signature(fn).parameters.values()
        if p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)
    ]
    input_names = tuple(p.name for p in params)
    state = CompositionState(graph_name)
    push_composition(state)
    try:
        returned = fn(*[GraphInputRef(graph_name, n) for n in input_names])
    finally:
        pop_composition()
    output_mappings = _output_mappings(graph_name, returned, out)
    return GraphDefinition(
        name=graph_name,
        nodes=state.nodes,
        input_names=input_names,
        output_mappings=output_mappings,
        description=description if description is not None else inspect.getdoc(fn),
        tags=tags,
        config=config,
    )


def _output_mappings(graph_name: str, returned: Any, out: Any) -> dict[str, InvokedOutput]:
    if returned is None:
        return {}
    if isinstance(returned, InvokedOutput):
        names = list(out) if isinstance(out, Mapping) else ["result"]
        return {names[0]: returned}
    if isinstance(returned, Mapping):
        bad = [k for k, v in returned.items() if not isinstance(v, InvokedOutput)]
        if bad:
            raise InvalidDefinitionError(
                f"Graph '{graph_name}' returned non-node outputs for {bad}."
            )
        return dict(returned)
    if isinstance(returned, tuple):
        if not isinstance(out, Mapping) or len(out) != len(returned):
            raise InvalidDefinitionError(
                f"Graph '{graph_name}' returned a tuple of {len(returned)} outputs; declare them "
                "with out={'name': GraphOut(), ...} in the same order, or return a dict."
            )
        return dict(zip(out, returned, strict=True))
    raise InvalidDefinitionError(
        f"Graph '{graph_name}' returned {returned!r}; a graph body returns node outputs, a dict "
        "of them, or nothing."
    )


@overload
def graph(fn: Callable[..., Any]) -> GraphDefinition: ...
@overload
def graph(
    fn: None = None,
    *,
    name: str | None = None,
    description: str | None = None,
    tags: Mapping[str, str] | None = None,
    out: GraphOut | Mapping[str, GraphOut] | None = None,
    config: Any = None,
    ins: Mapping[str, Any] | None = None,
) -> Callable[[Callable[..., Any]], GraphDefinition]: ...


def graph(
    fn: Callable[..., Any] | None = None,
    *,
    name: str | None = None,
    description: str | None = None,
    tags: Mapping[str, str] | None = None,
    out: GraphOut | Mapping[str, GraphOut] | None = None,
    config: Any = None,
    ins: Mapping[str, Any] | None = None,
) -> GraphDefinition | Callable[[Callable[..., Any]], GraphDefinition]:
    """Compose ops into a graph: ``@graph`` over a function that calls ops and graphs
    (``ins={"x": GraphIn(description=...)}`` describes its inputs)."""

    def decorate(f: Callable[..., Any]) -> GraphDefinition:
        built = build_graph(
            f, name=name, description=description, tags=tags, out=out, config=config
        )
        unknown = sorted(set(ins or {}) - set(built.input_names))
        if unknown:
            raise InvalidDefinitionError(
                f"Graph '{built.name}': ins names {unknown}, which are not parameters of "
                f"{f.__name__} ({list(built.input_names)})."
            )
        built.input_descriptions = {
            k: getattr(v, "description", None) for k, v in (ins or {}).items()
        }
        return built

    return decorate(fn) if fn is not None else decorate


class GraphOut:
    """Declares a graph output (used in ``@graph(out={...})``)."""

    def __init__(self, description: str | None = None) -> None:
        self.description = description
