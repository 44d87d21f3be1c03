"""Contracts held by the type checker (``test_typing_surface.py`` runs mypy over this file):
both run-level contexts provide ``PlanContext``, what a step needs from its run."""

from __future__ import annotations

from trellis.contexts.direct import DirectPlanContext
from trellis.contexts.plan_context import PlanContext
from trellis.contexts.system import PlanOrchestrationContext


def both_provide_the_plan_context(
    run: PlanOrchestrationContext, direct: DirectPlanContext
) -> list[PlanContext]:
    """Compiles only while both classes satisfy the protocol."""
    return [run, direct]
