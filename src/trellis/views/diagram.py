"""The call diagram of a job: the static picture of what a run of it will do.

``build_diagram(job, run_config)`` builds the job's plan (``build_execution_plan``) and
describes it as a ``JobDiagram``: the steps in plan order, each with its inputs (where
each value comes from: an upstream step's output, an asset outside the run, an input
manager, or a fixed value), its outputs (IO manager key, asset key), the resources it
needs, and the contexts each call receives::

    Run → PlanOrchestrationContext
        → StepExecutionContext <step>
            → InputContext <input>   → <IO manager>.load_input
            → AssetExecutionContext | OpExecutionContext → the user's function
            → OutputContext <output> → <IO manager>.handle_output

``render_diagram(diagram, format)`` renders it as a Mermaid ``"flowchart"`` (steps as
nodes, edges labelled with the output, the input and the IO manager), a Mermaid
``"sequence"`` diagram of the calls in plan order (the same participants as the trace's
Mermaid output), or ``"svg"``: a standalone SVG drawn by Trellis (``diagram_svg.py``).
Building a diagram runs no user code and touches no storage.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from trellis.defs.ins_outs import Nothing
from trellis.plan.plan import build_execution_plan
from trellis.plan.steps import (
    FromCollectedOutputs,
    FromInputManager,
    FromLoadableAsset,
    FromMappedOutput,
    FromMultipleStepOutputs,
    FromStepOutput,
    FromValue,
    context_type_name,
)
from trellis.views.diagram_svg import render_svg
from trellis.views.layout import longest_path_layers

FORMATS = ("flowchart", "sequence", "svg")


@dataclass
class DiagramInput:
    """One input of a step and where its value comes from.

    ``source`` is ``"step_output"`` (``upstream`` lists the ``(step, output)`` pairs; more
    than one for a fan-in), ``"asset"`` (an asset this run does not materialize,
    ``asset_key``), ``"input_manager"`` (a root input loaded by ``manager_key``) or
    ``"value"`` (``origin``: ``config``, ``default`` or ``input_values``).
    """

    name: str
    source: str
    manager_key: str | None = None
    upstream: list[tuple[str, str]] = field(default_factory=list)
    asset_key: str | None = None
    origin: str | None = None
    loaded: bool = True  # False for ``Nothing`` inputs and fixed values: no load_input call

    def describe(self) -> str:
        """A one-line description of the source, e.g. ``asset a/b via json_io_manager``."""
        via = f" via {self.manager_key}" if self.manager_key else ""
        if self.source == "step_output":
            ups = ", ".join(f"{step}.{out}" for step, out in self.upstream)
            return f"{ups}{via}"
        if self.source == "asset":
            return f"asset {self.asset_key}{via}"
        if self.source == "input_manager":
            return f"input manager {self.manager_key}"
        return f"value ({self.origin})"


@dataclass
class DiagramOutput:
    """One output of a step: its IO manager and the asset it materializes, if any."""

    name: str
    io_manager_key: str
    asset_key: str | None = None
    stored: bool = True  # False for ``Nothing`` outputs: no handle_output call


@dataclass
class DiagramStep:
    """One step of the plan with its inputs, outputs, resources and user context type."""

    key: str
    kind: str
    op_name: str
    context_type: str
    inputs: list[DiagramInput]
    outputs: list[DiagramOutput]
    resources: list[str]
    upstream: list[str]
    layer: int = 0


@dataclass
class DiagramEdge:
    """Data passed between two steps: an output of ``source`` read by an input of
    ``target`` through ``manager_key``."""

    source: str
    output: str
    target: str
    input: str
    manager_key: str | None


@dataclass
class JobDiagram:
    """The static picture of a job's run: steps in plan order and the edges between them.

    ``resources`` are every resource the run initialises (closed over resource-to-resource
    needs); ``layer`` of a step is the longest path to it from a step without upstream.
    """

    job_name: str
    steps: list[DiagramStep]
    edges: list[DiagramEdge]
    resources: list[str]

    def step(self, key: str) -> DiagramStep:
        """One step by key."""
        for step in self.steps:
            if step.key == key:
                return step
        raise KeyError(key)


def _diagram_input(step_input: Any, shown: Any) -> DiagramInput:
    src = step_input.source
    loaded = step_input.in_def.dagster_type is not Nothing
    manager = step_input.manager_key
    if isinstance(src, FromStepOutput):
        ups = [(shown(src.handle.step_key), src.handle.output_name)]
        return DiagramInput(step_input.name, "step_output", manager, ups, loaded=loaded)
    if isinstance(src, FromMappedOutput):  # one item of a dynamic output per mapped step
        ups = [(shown(src.handle.step_key), f"{src.handle.output_name}[k]")]
        return DiagramInput(step_input.name, "step_output", manager, ups, loaded=loaded)
    if isinstance(src, FromCollectedOutputs):  # .collect(): every item, as a list
        ups = [(shown(src.handle.step_key), f"{src.handle.output_name}[*]")]
        return DiagramInput(step_input.name, "step_output", manager, ups, loaded=loaded)
    if isinstance(src, FromMultipleStepOutputs):
        ups = [(shown(h.step_key), h.output_name) for h in src.handles]
        return DiagramInput(step_input.name, "step_output", manager, ups, loaded=loaded)
    if isinstance(src, FromLoadableAsset):
        return DiagramInput(
            step_input.name,
            "asset",
            manager or src.io_manager_key,
            asset_key=src.asset_key.to_user_string(),
            loaded=loaded,
        )
    if isinstance(src, FromInputManager):
        return DiagramInput(step_input.name, "input_manager", src.manager_key, loaded=loaded)
    origin = src.origin if isinstance(src, FromValue) else None
    return DiagramInput(step_input.name, "value", None, origin=origin, loaded=False)


def _layers(steps: list[DiagramStep]) -> None:
    # Plan order is topological.
    layers = longest_path_layers([s.key for s in steps], {s.key: s.upstream for s in steps})
    for step in steps:
        step.layer = layers[step.key]


def build_diagram(job: Any, run_config: Any = None, **plan_kwargs: Any) -> JobDiagram:
    """Build ``job``'s plan (with ``run_config`` and any other argument of
    ``build_execution_plan``) and describe what a run of it will do."""
    plan = build_execution_plan(job, run_config, **plan_kwargs)
    steps: list[DiagramStep] = []
    edges: list[DiagramEdge] = []
    planned = list(plan.steps.values())
    dynamic = plan.dynamic

    def shown(key: str) -> str:
        return key

    if dynamic is not None:  # a node mapped over a dynamic output: its template, node[?]
        planned = sorted(
            [*planned, *dynamic.templates.values()], key=lambda s: dynamic.position[s.handle]
        )

        def shown(key: str) -> str:
            return dynamic.template_key(key) if key in dynamic.templates else key

    keys = {step.key for step in planned}
    for step in planned:
        inputs = [_diagram_input(i, shown) for i in step.inputs]
        outputs = [
            DiagramOutput(
                o.name,
                o.io_manager_key,
                o.asset_key.to_user_string() if o.asset_key is not None else None,
                stored=o.out_def.dagster_type is not Nothing,
            )
            for o in step.outputs
        ]
        for inp in inputs:
            for up_step, up_out in inp.upstream:
                edges.append(DiagramEdge(up_step, up_out, step.key, inp.name, inp.manager_key))
        steps.append(
            DiagramStep(
                key=step.key,
                kind=step.kind,
                op_name=step.op_def.name,
                context_type=context_type_name(step),
                inputs=inputs,
                outputs=outputs,
                resources=sorted(job.resource_keys_for_node(step.node)),
                upstream=sorted(shown(k) for k in step.upstream_step_keys if shown(k) in keys),
            )
        )
    _layers(steps)
    return JobDiagram(job.name, steps, edges, sorted(plan.resource_keys_to_init))


def _mm(text: Any) -> str:
    """Text safe in a Mermaid message (no ``;``, ``#`` or line breaks)."""
    return str(text).replace(";", ",").replace("#", "").replace("\n", " ").strip()


def _mm_label(text: Any) -> str:
    """Text safe inside a quoted Mermaid flowchart label (entity codes for quotes, ``<``,
    ``>`` and ``&``)."""
    out = str(text).replace("#", "#35;").replace("&", "#amp;").replace('"', "#quot;")
    return out.replace("<", "#lt;").replace(">", "#gt;").replace("\n", " ")


def render_flowchart(diagram: JobDiagram) -> str:
    """A Mermaid ``flowchart LR``: one node per step (key and context type), an edge per
    output read by a downstream input (``output → input (IO manager)``), and a node for
    each asset outside the run or input manager that feeds a step."""
    ids = {step.key: f"s{i}" for i, step in enumerate(diagram.steps)}
    lines = ["flowchart LR", f"    %% job {_mm(diagram.job_name)}"]
    for step in diagram.steps:
        label = f"{_mm_label(step.key)}<br/>{step.context_type}"
        lines.append(f'    {ids[step.key]}["{label}"]')
    for edge in diagram.edges:
        text = f"{edge.output} → {edge.input}"
        if edge.manager_key:
            text += f" ({edge.manager_key})"
        lines.append(f'    {ids[edge.source]} -- "{_mm_label(text)}" --> {ids[edge.target]}')
    externals: dict[str, str] = {}
    for step in diagram.steps:
        for inp in step.inputs:
            if inp.source == "asset":
                name, shape = f"asset {inp.asset_key}", ("[(", ")]")
            elif inp.source == "input_manager":
                name, shape = f"input manager {inp.manager_key}", ("[/", "/]")
            else:
                continue
            if name not in externals:
                externals[name] = f"x{len(externals)}"
                lines.append(f'    {externals[name]}{shape[0]}"{_mm_label(name)}"{shape[1]}')
            text = inp.name + (f" ({inp.manager_key})" if inp.manager_key else "")
            lines.append(f'    {externals[name]} -. "{_mm_label(text)}" .-> {ids[step.key]}')
    return "\n".join(lines) + "\n"


def render_sequence(diagram: JobDiagram) -> str:
    """A Mermaid ``sequenceDiagram`` of the calls a run will make, in plan order: Run →
    PlanOrchestrationContext → resources → each step (``StepExecutionContext``) → its
    IO managers' ``load_input`` → the user's function → ``handle_output``."""
    participants: dict[str, str] = {}
    body: list[str] = []

    def part(name: str) -> str:
        if name not in participants:
            participants[name] = f"p{len(participants)}"
        return participants[name]

    run, orch = part("Run"), part("PlanOrchestrationContext")
    body.append(f"    {run}->>{orch}: create (run config resolved)")
    if diagram.resources:
        res = part("Resources")
        for key in diagram.resources:
            body.append(f"    {orch}->>{res}: InitResourceContext {_mm(key)}")
    for step in diagram.steps:
        sid = part(f"Step {step.key}")
        fn = part(f"{step.key.rsplit('.', 1)[-1]}()")
        body.append(f"    {orch}->>{sid}: StepExecutionContext {_mm(step.key)}")
        for inp in step.inputs:
            if not inp.loaded or not inp.manager_key:
                continue
            io_m = part(f"IO {inp.manager_key}")
            body.append(f"    {sid}->>{io_m}: load_input(InputContext {_mm(inp.name)})")
            body.append(f"    {io_m}-->>{sid}: {_mm(inp.describe())}")
        body.append(f"    {sid}->>{fn}: compute({step.context_type})")
        for out in step.outputs:
            body.append(f"    {fn}-->>{sid}: Output {_mm(out.name)}")
            if not out.stored:
                continue
            io_m = part(f"IO {out.io_manager_key}")
            asset = f" asset {_mm(out.asset_key)}" if out.asset_key else ""
            body.append(f"    {sid}->>{io_m}: handle_output(OutputContext {_mm(out.name)}){asset}")
        body.append(f"    {sid}-->>{orch}: STEP_SUCCESS")
    if diagram.resources:
        body.append(f"    {orch}->>{part('Resources')}: teardown")
    body.append(f"    {orch}-->>{run}: RUN_SUCCESS")
    head = ["sequenceDiagram"]
    head += [f"    participant {alias} as {_mm(name)}" for name, alias in participants.items()]
    return "\n".join(head + body) + "\n"


def render_diagram(diagram: JobDiagram, format: str = "flowchart") -> str:
    """Render a diagram as ``"flowchart"`` or ``"sequence"`` (Mermaid) or ``"svg"``."""
    if format == "flowchart":
        return render_flowchart(diagram)
    if format == "sequence":
        return render_sequence(diagram)
    if format == "svg":
        return render_svg(diagram)
    raise ValueError(f"Unknown diagram format {format!r}; use one of {list(FORMATS)}.")
