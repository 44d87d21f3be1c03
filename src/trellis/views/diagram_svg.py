"""A job's call diagram as a standalone SVG, drawn by Trellis (no external binary, no
network).

Layered layout: a step's column is its layer (the longest path to it from a step without
upstream), its row its rank in plan order within that layer. Each step is a rectangle
with its key, the context type its function receives, the resources it needs and the
inputs that come from outside the run; each edge is an arrow labelled with the output,
the input and the IO manager. Every text goes through ``xml.sax.saxutils.escape``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any
from xml.sax.saxutils import escape, quoteattr

if TYPE_CHECKING:
    from trellis.views.diagram import DiagramStep, JobDiagram

CHAR_W = 7.2  # average width of a 12px sans-serif character
LINE_H = 16
PAD = 10
COL_GAP = 150
ROW_GAP = 40
MARGIN = 30
TITLE_H = 30


def _lines(step: DiagramStep) -> list[str]:
    lines = [step.key, step.context_type]
    if step.resources:
        lines.append("resources: " + ", ".join(step.resources))
    for inp in step.inputs:
        if inp.source != "step_output":
            lines.append(f"{inp.name} ← {inp.describe()}")
    for out in step.outputs:
        asset = f" [{out.asset_key}]" if out.asset_key else ""
        lines.append(f"{out.name} → {out.io_manager_key}{asset}")
    return lines


def _text(x: float, y: float, text: str, **attrs: str) -> str:
    extra = "".join(f" {k.replace('_', '-')}={quoteattr(v)}" for k, v in attrs.items())
    return f'<text x="{x:.1f}" y="{y:.1f}"{extra}>{escape(text)}</text>'


def _edge_label(edge: Any) -> str:
    label = f"{edge.output} → {edge.input}"
    return label + f" ({edge.manager_key})" if edge.manager_key else label


def render_svg(diagram: JobDiagram) -> str:
    """The diagram as an SVG document (a string), one ``<rect>`` per step."""
    content = {s.key: _lines(s) for s in diagram.steps}
    size = {
        k: (max(len(line) for line in lines) * CHAR_W + 2 * PAD, len(lines) * LINE_H + 2 * PAD)
        for k, lines in content.items()
    }
    # Columns sit far enough apart for the longest edge label to fit between them.
    labels = [_edge_label(e) for e in diagram.edges]
    gap = max([COL_GAP, *(len(label) * CHAR_W * 11 / 12 + 2 * PAD for label in labels)])
    columns: dict[int, list[DiagramStep]] = {}
    for step in diagram.steps:
        columns.setdefault(step.layer, []).append(step)
    pos: dict[str, tuple[float, float, float, float]] = {}
    x = float(MARGIN)
    height = 0.0
    for layer in sorted(columns):
        col_w = max(size[s.key][0] for s in columns[layer])
        y = float(MARGIN + TITLE_H)
        for step in columns[layer]:
            step_h = size[step.key][1]
            pos[step.key] = (x, y, col_w, step_h)
            y += step_h + ROW_GAP
        height = max(height, y)
        x += col_w + gap
    width = max(x - gap + MARGIN, 300.0)
    height = max(height - ROW_GAP + MARGIN, 120.0)
    out = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width:.0f}" height="{height:.0f}" '
        f'viewBox="0 0 {width:.0f} {height:.0f}" font-family="sans-serif" font-size="12">',
        '<defs><marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" '
        'markerWidth="8" markerHeight="8" orient="auto-start-reverse">'
        '<path d="M 0 0 L 10 5 L 0 10 z" fill="#555"/></marker></defs>',
        # The background is a path, so that "one <rect> per step" holds.
        f'<path d="M0 0 H{width:.0f} V{height:.0f} H0 Z" fill="white"/>',
        _text(MARGIN, MARGIN, f"job {diagram.job_name}", font_size="16", font_weight="bold"),
    ]
    per_pair: dict[tuple[str, str], int] = {}
    for edge in diagram.edges:
        sx, sy, sw, sh = pos[edge.source]
        tx, ty, _tw, th = pos[edge.target]
        x1, y1 = sx + sw, sy + sh / 2
        x2, y2 = tx, ty + th / 2
        n = per_pair.get((edge.source, edge.target), 0)
        per_pair[(edge.source, edge.target)] = n + 1
        out.append(
            f'<path d="M{x1:.1f} {y1:.1f} C{x1 + 60:.1f} {y1:.1f} {x2 - 60:.1f} {y2:.1f} '
            f'{x2:.1f} {y2:.1f}" fill="none" stroke="#555" stroke-width="1.5" '
            'marker-end="url(#arrow)"/>'
        )
        out.append(
            _text(
                (x1 + x2) / 2,
                (y1 + y2) / 2 - 6 + n * LINE_H,
                _edge_label(edge),
                text_anchor="middle",
                fill="#333",
                font_size="11",
            )
        )
    for step in diagram.steps:
        x0, y0, w, h = pos[step.key]
        fill = "#e8f0fe" if step.context_type == "AssetExecutionContext" else "#fef7e0"
        out.append(
            f'<rect x="{x0:.1f}" y="{y0:.1f}" width="{w:.1f}" height="{h:.1f}" rx="6" '
            f'fill="{fill}" stroke="#333"><title>{escape(step.key)}</title></rect>'
        )
        for i, line in enumerate(content[step.key]):
            attrs = {"font_weight": "bold"} if i == 0 else {"fill": "#444"}
            out.append(_text(x0 + PAD, y0 + PAD + (i + 1) * LINE_H - 4, line, **attrs))
    out.append("</svg>")
    return "\n".join(out) + "\n"
