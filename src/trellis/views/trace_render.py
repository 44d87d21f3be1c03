"""Rendering a run's trace (``trellis.views.trace``): a terminal tree, JSON or a Mermaid
sequence diagram, after the ``step`` / ``only_errors`` / ``depth`` filters."""

from __future__ import annotations

import io
import json
import statistics
import sys
from typing import Any

from trellis.views.trace import ERROR_KINDS, TraceNode, filter_trace


def _fmt_ms(ms: float | None) -> str:
    if ms is None:
        return ""
    if ms >= 1000:
        return f"{ms / 1000:.2f}s"
    return f"{ms:.1f}ms"


_STYLES = {
    "run": "bold",
    "orchestration": "bold cyan",
    "resource_init": "magenta",
    "init_resource": "magenta",
    "step": "bold blue",
    "attempt": "blue",
    "load_input": "green",
    "compute": "cyan",
    "handle_output": "green",
    "materialization": "yellow",
    "observation": "yellow",
    "log": "dim",
    "step_success": "green",
    "step_failure": "bold red",
    "retry": "yellow",
    "resource_failure": "bold red",
    "teardown_failure": "bold red",
    "engine_error": "bold red",
    "hook": "magenta",
    "hook_error": "bold red",
    "check_evaluation": "green",
    "checks_planned": "dim",
}


def _slow_threshold(root: TraceNode, slow_ms: float | None) -> float:
    if slow_ms is not None:
        return slow_ms
    durations = [n.duration_ms for n in root.find("step") if n.duration_ms is not None]
    if len(durations) < 2:
        return float("inf")
    return max(100.0, 2 * statistics.median(durations))


def render_text(root: TraceNode, *, color: bool | None = None, slow_ms: float | None = None) -> str:
    """The tree for a terminal: labels with tree guides, then offset, duration (right
    aligned), process and thread. Slow steps (by default at least twice the median step
    and 100 ms) are marked ``SLOW``; colour only when ``color`` (default: stdout is a
    terminal)."""
    from rich.console import Console
    from rich.text import Text

    if color is None:
        color = sys.stdout.isatty()
    threshold = _slow_threshold(root, slow_ms)
    threads: dict[int, int] = {}
    rows: list[tuple[str, TraceNode, bool, list[str]]] = []

    def visit(node: TraceNode, prefix: str, last: bool, is_root: bool) -> None:
        slow = node.kind == "step" and (node.duration_ms or 0) >= threshold
        lead = "" if is_root else prefix + ("└─ " if last else "├─ ")
        inner = "" if is_root else prefix + ("   " if last else "│  ")
        extra = []
        error = node.attrs.get("error")
        if error:
            extra = [
                inner + ("│  " if node.children else "   ") + line
                for line in str(error).rstrip().splitlines()
            ]
        rows.append((lead, node, slow, extra))
        for i, child in enumerate(node.children):
            visit(child, inner, i == len(node.children) - 1, False)

    visit(root, "", True, True)
    width = min(100, max(len(lead) + len(n.label) + (6 if s else 0) for lead, n, s, _ in rows))
    out = Text()
    for lead, node, slow, extra in rows:
        label = node.label + ("  SLOW" if slow else "")
        if len(lead) + len(label) > width:
            label = label[: max(1, width - len(lead) - 1)] + "…"
        style = "bold yellow" if slow else _STYLES.get(node.kind, "")
        if node.kind == "check_evaluation" and not node.attrs.get("passed", True):
            style = "bold red" if node.is_error else "yellow"
        if node.kind == "run_end":
            style = "bold green" if node.attrs.get("status") == "RUN_SUCCESS" else "bold red"
        out.append(lead, style="dim")
        out.append(label, style=style)
        out.append(" " * (width - len(lead) - len(label)))
        where = ""
        if node.pid is not None:
            tid = threads.setdefault(node.thread or 0, len(threads) + 1)
            where = f"pid {node.pid} t{tid}"
        out.append(f"  +{_fmt_ms(node.start_offset_ms):>9}", style="dim")
        out.append(f"  {_fmt_ms(node.duration_ms):>9}", style="bold yellow" if slow else "")
        out.append(f"  {where}\n", style="dim")
        for line in extra:
            out.append(line + "\n", style="red")
    buffer = io.StringIO()
    console = Console(
        file=buffer,
        force_terminal=color,
        no_color=not color,
        color_system="standard" if color else None,
        width=10_000,
        highlight=False,
        soft_wrap=True,
    )
    console.print(out, end="")
    return buffer.getvalue()


def render_json(root: TraceNode, indent: int | None = 2) -> str:
    """The tree as JSON, in the schema of the module docstring."""
    return json.dumps(root.to_dict(), indent=indent)


def _mm(text: Any) -> str:
    """Text safe in a Mermaid message (no ``;``, ``#`` or line breaks)."""
    return str(text).replace(";", ",").replace("#", "").replace("\n", " ").strip()


def render_mermaid(root: TraceNode) -> str:
    """A Mermaid ``sequenceDiagram`` of the calls: Run → orchestration → step → user
    function → IO manager ``load_input``/``handle_output`` calls."""
    participants: dict[str, str] = {}
    lines = ["sequenceDiagram"]
    body: list[str] = []

    def part(name: str) -> str:
        if name not in participants:
            participants[name] = f"p{len(participants)}"
        return participants[name]

    run = part("Run")
    orch = part("PlanOrchestrationContext")
    body.append(f"    {run}->>{orch}: create")
    for node in root.children:
        if node.kind == "orchestration":
            for child in node.children:
                _mermaid_orch_child(child, orch, part, body)
        elif node.kind == "run_end":
            body.append(f"    {orch}-->>{run}: {_mm(node.label)}")
    for name, alias in participants.items():
        lines.append(f"    participant {alias} as {_mm(name)}")
    return "\n".join(lines + body) + "\n"


def _mermaid_orch_child(node: TraceNode, orch: str, part: Any, body: list[str]) -> None:
    if node.kind == "resource_init":
        res = part("Resources")
        for child in node.children:
            body.append(
                f"    {orch}->>{res}: {_mm(child.label)} {_fmt_ms(child.duration_ms)}".rstrip()
            )
        return
    if node.kind in ERROR_KINDS:
        body.append(f"    Note over {orch}: {_mm(node.label)}")
        return
    if node.kind != "step":
        return
    key = node.attrs.get("step_key", "?")
    step = part(f"Step {key}")
    fn = part(f"{key.rsplit('.', 1)[-1]}()")
    if not node.children:
        body.append(f"    {orch}->>{step}: StepExecutionContext")
    for attempt in node.children:
        if attempt.kind == "step_skipped":
            body.append(f"    Note over {step}: skipped")
            continue
        body.append(f"    {orch}->>{step}: StepExecutionContext ({_mm(attempt.label)})")
        for child in attempt.children:
            if child.kind == "load_input":
                io_m = part(f"IO {child.attrs.get('manager_key')}")
                body.append(
                    f"    {step}->>{io_m}: load_input(InputContext "
                    f"{_mm(child.attrs.get('input_name'))})"
                )
                body.append(f"    {io_m}-->>{step}: value {_fmt_ms(child.duration_ms)}".rstrip())
            elif child.kind == "compute":
                body.append(f"    {step}->>{fn}: compute({_mm(child.attrs.get('context_type'))})")
                for sub in child.children:
                    if sub.kind == "handle_output":
                        name = _mm(sub.attrs.get("output_name"))
                        body.append(f"    {fn}-->>{step}: Output {name}")
                        manager = sub.attrs.get("manager_key")
                        if manager:
                            io_m = part(f"IO {manager}")
                            body.append(f"    {step}->>{io_m}: handle_output(OutputContext {name})")
                            body.append(
                                f"    {io_m}-->>{step}: stored {_fmt_ms(sub.duration_ms)}".rstrip()
                            )
                    elif sub.kind == "log":
                        body.append(f"    Note over {fn}: {_mm(sub.label)[:80]}")
                    elif sub.kind == "check_evaluation":
                        body.append(f"    {fn}-->>{step}: {_mm(sub.label)[:80]}")
            elif child.kind in ("step_success", "step_failure", "retry"):
                body.append(f"    {step}-->>{orch}: {_mm(child.label)[:80]}")
            elif child.kind in ("hook", "hook_error"):
                hook = part(f"hook {child.attrs.get('hook_name')}")
                body.append(f"    {step}->>{hook}: HookContext")
                body.append(f"    {hook}-->>{step}: {_mm(child.attrs.get('status'))}")


FORMATS = ("text", "json", "mermaid")


def render_trace(
    node: TraceNode,
    format: str = "text",
    *,
    step: str | None = None,
    only_errors: bool = False,
    depth: int | None = None,
    color: bool | None = None,
) -> str:
    """Render a trace tree as ``"text"``, ``"json"`` or ``"mermaid"``, after applying the
    filters ``step``, ``only_errors`` and ``depth`` (see ``filter_trace``)."""
    if format not in FORMATS:
        raise ValueError(f"Unknown trace format {format!r}; use one of {list(FORMATS)}.")
    node = filter_trace(node, step=step, only_errors=only_errors, depth=depth)
    if format == "json":
        return render_json(node)
    if format == "mermaid":
        return render_mermaid(node)
    return render_text(node, color=color)
