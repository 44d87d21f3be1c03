"""``trellis defs validate``."""

from __future__ import annotations

import click
from rich.markup import escape

from trellis.cli.display import make_console
from trellis.cli.errors import EXIT_BAD_INPUT
from trellis.cli.help_text import examples
from trellis.cli.options import code_options, target_from
from trellis.cli.validate import validate_target


@click.group("defs")
def defs_group() -> None:
    """Check definitions."""


@defs_group.command(
    "validate",
    epilog=examples(
        "trellis defs validate -f definitions.py",
        "trellis defs validate -m my_project.definitions",
        "trellis defs validate          # code from pyproject.toml",
    ),
)
@code_options
@click.pass_context
def validate(
    ctx: click.Context, python_file: str | None, module_name: str | None, attribute: str | None
) -> None:
    """Load the definitions and report every definition-time error at once (exit 2), or
    what was found (exit 0)."""
    target = target_from(python_file, module_name, attribute)
    report = validate_target(target)
    if report.errors:
        count = len(report.errors)
        where = f" (Definitions at {escape(report.location)})" if report.location else ""
        err = make_console(stderr=True)
        plural = "" if count == 1 else "s"
        err.print(
            f"[red]{count} error{plural}[/red] in {escape(target.description)}{where}:",
            highlight=False,
        )
        for i, message in enumerate(report.errors, 1):
            err.print(f"  {i}. {message}", markup=False, highlight=False)
        ctx.exit(EXIT_BAD_INPUT)
    defs = report.definitions
    counts = {
        "assets": len(defs.asset_graph.all_keys),
        "jobs": len(defs.jobs),
        "schedules": len(defs.schedules),
        "sensors": len(defs.sensors),
    }
    summary = ", ".join(f"{n} {kind}" for kind, n in counts.items())
    make_console().print(
        f"[green]Valid:[/green] {escape(target.description)} ({summary}).", highlight=False
    )
