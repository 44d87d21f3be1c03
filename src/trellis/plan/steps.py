"""The pieces of a plan: steps, their inputs (with where each value comes from) and
their outputs, keyed by ``StepOutputHandle``."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, NamedTuple

from trellis.core.asset_checks import AssetCheckKey
from trellis.core.asset_key import AssetKey
from trellis.defs.op import CONCURRENCY_KEY_TAG

if TYPE_CHECKING:
    from trellis.defs.asset import AssetsDefinition
    from trellis.defs.flat_graph import FlatNode
    from trellis.defs.ins_outs import In, Out
    from trellis.defs.op import OpDefinition


_NO_CHECKS: frozenset[AssetCheckKey] = frozenset()


class StepOutputHandle(NamedTuple):
    """Names one output of one step: the key for IO, for results and for known state."""

    step_key: str
    output_name: str = "result"
    mapping_key: str | None = None


class FromStepOutput(NamedTuple):
    """The input is an output of an upstream step of this run."""

    handle: StepOutputHandle


class FromMultipleStepOutputs(NamedTuple):
    """The input is a list gathered from several upstream outputs (fan-in)."""

    handles: tuple[StepOutputHandle, ...]


class FromLoadableAsset(NamedTuple):
    """The input is an asset this run does not materialize, loaded by its IO manager."""

    asset_key: AssetKey
    io_manager_key: str


class FromValue(NamedTuple):
    """The input has a fixed value: from ``input_values``, config or its default."""

    value: Any
    origin: str  # "input_values", "config" or "default"
    # A Dagster type's loader that turns the (validated) config value into the input's
    # value when the step runs (``defs/dagster_type.py``).
    loader: Any = None


class FromInputManager(NamedTuple):
    """The input has no upstream in the graph; its input manager loads it (a root input)."""

    manager_key: str


class FromMappedOutput(NamedTuple):
    """In a template step (one per item of a dynamic output): one item of the dynamic
    output ``handle`` (its step's handle and output name). A concrete step reads it as
    ``FromStepOutput`` of that handle with the item's mapping key."""

    handle: StepOutputHandle


class FromCollectedOutputs(NamedTuple):
    """Every item of ``handle`` (a dynamic output, or the output of a node mapped over
    one) as a list, in the order the items were yielded; ``dynamic`` is the dynamic output
    whose mapping keys it ranges over. Bound to ``FromMultipleStepOutputs`` once that
    output's step has run (``plan/dynamic_plan.py``)."""

    handle: StepOutputHandle
    dynamic: StepOutputHandle


StepInputSource = (
    FromStepOutput
    | FromMultipleStepOutputs
    | FromLoadableAsset
    | FromInputManager
    | FromValue
    | FromMappedOutput
    | FromCollectedOutputs
)


class StepInput:
    """One input of a step and the source of its value."""

    __slots__ = ("in_def", "manager_key", "name", "source")

    def __init__(self, name: str, in_def: In, source: StepInputSource, manager_key: str | None):
        self.name = name
        self.in_def = in_def
        self.source = source
        # The resource that loads it: the input manager, else the upstream IO manager.
        self.manager_key = manager_key

    @property
    def upstream_handles(self) -> tuple[StepOutputHandle, ...]:
        """The outputs this input reads from other steps of the run."""
        if isinstance(self.source, FromStepOutput):
            return (self.source.handle,)
        if isinstance(self.source, FromMultipleStepOutputs):
            return self.source.handles
        return ()

    def __repr__(self) -> str:
        return f"StepInput({self.name} <- {self.source!r})"


class StepOutput:
    """One output of a step: its definition, the asset it makes, its IO manager."""

    __slots__ = ("asset_key", "handle", "io_manager_key", "name", "out_def")

    def __init__(self, step_key: str, name: str, out_def: Out, asset_key: AssetKey | None):
        self.name = name
        self.out_def = out_def
        self.asset_key = asset_key
        self.io_manager_key = out_def.io_manager_key
        self.handle = StepOutputHandle(step_key, name)

    def __repr__(self) -> str:
        return f"StepOutput({self.handle.step_key}.{self.name})"


class ExecutionStep:
    """One unit of work in a plan: an op (or asset op) at its handle, with its inputs
    wired and its outputs declared.

    A node mapped over a dynamic output has a *template* step (key ``handle[?]``) and,
    once the output's items are known, one concrete step per item: key ``handle[k]``,
    ``mapping_keys`` the item's key at each level (``plan/dynamic_plan.py``)."""

    __slots__ = (
        "assets_def",
        "check_keys",
        "handle",
        "hook_defs",
        "inputs",
        "key",
        "kind",
        "mapping_keys",
        "node",
        "op_def",
        "outputs",
        "pool",
        "retry_policy",
        "tags",
        "upstream_step_keys",
    )

    def __init__(
        self,
        node: FlatNode,
        inputs: list[StepInput],
        outputs: list[StepOutput],
        upstream_step_keys: frozenset[str],
        retry_policy: Any,
        hook_defs: tuple[Any, ...] = (),
        key: str | None = None,
        mapping_keys: tuple[str, ...] = (),
    ) -> None:
        self.node = node
        self.key = key or node.handle
        self.mapping_keys = mapping_keys
        self.handle = node.handle
        self.op_def: OpDefinition = node.op_def
        self.assets_def: AssetsDefinition | None = node.assets_def
        self.kind = node.op_def.kind
        self.inputs = inputs
        self.outputs = outputs
        self.upstream_step_keys = upstream_step_keys
        self.tags = node.tags
        # The concurrency pool the step takes a slot of before it runs: its op's, else
        # a ``dagster/concurrency_key`` tag given where the op is used in a graph.
        self.pool: str | None = node.op_def.pool or node.tags.get(CONCURRENCY_KEY_TAG)
        self.retry_policy = retry_policy
        self.hook_defs = hook_defs  # run after the step ends (``execution/hooks.py``)
        # The asset checks this step evaluates: those selected of an @asset_check's
        # definition, or of an asset's check_specs.
        checks = node.checks_def if node.checks_def is not None else node.assets_def
        self.check_keys: frozenset[AssetCheckKey] = (
            checks.selected_check_keys if checks is not None else _NO_CHECKS
        )

    @property
    def mapping_key(self) -> str | None:
        """The mapping key of a step run per item of a dynamic output (``a`` for
        ``op[a]``; ``a,b`` for an op mapped inside a mapped op), else None."""
        return ",".join(self.mapping_keys) if self.mapping_keys else None

    @property
    def outputs_by_name(self) -> dict[str, StepOutput]:
        """The step's outputs by name."""
        return {o.name: o for o in self.outputs}

    def step_output(self, name: str) -> StepOutput:
        """One output by name."""
        for out in self.outputs:
            if out.name == name:
                return out
        raise KeyError(name)

    def __repr__(self) -> str:
        return f"<ExecutionStep {self.key}>"


def context_type_name(step: ExecutionStep) -> str:
    """The name of the context class a step's function receives: ``AssetExecutionContext``
    for assets (unless annotated ``OpExecutionContext``) and for ops inside a graph-backed
    asset annotated with it, ``AssetCheckExecutionContext`` for asset checks,
    ``OpExecutionContext`` for the others. The one rule for the engine and the diagram."""
    if step.assets_def is not None:
        annotation = step.op_def.spec.context_annotation
        if annotation != "OpExecutionContext" and (
            not step.node.in_graph_asset or annotation == "AssetExecutionContext"
        ):
            return "AssetExecutionContext"  # an op inside a graph asset: only if annotated
    if step.kind == "asset_check":
        return "AssetCheckExecutionContext"
    return "OpExecutionContext"
