"""``PlanContext``: what a step needs from the run it belongs to.

Two classes provide it: ``PlanOrchestrationContext`` (``system.py``), the state of a real
run, and ``DirectPlanContext`` (``direct.py``), a one-step stand-in for contexts built in
tests and for direct calls of ops and assets. ``StepExecutionContext`` and the IO contexts
read the run only through these members; both classes set every one of them in their
constructor, and the type checker holds both to this protocol
(``tests/typing/contracts.py``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from trellis.contexts.event_loops import EventLoops
    from trellis.contexts.log_manager import LogManager
    from trellis.contexts.partitions import RunPartitions
    from trellis.contexts.resources_view import ResourcesView
    from trellis.core.events import Event
    from trellis.core.run import Run
    from trellis.defs.op import OpDefinition
    from trellis.plan.plan import ExecutionPlan
    from trellis.plan.steps import StepOutputHandle


class PlanContext(Protocol):
    """The run-level state every step attempt stands on."""

    run: Run
    """The run record (id, job name, tags, run config)."""
    instance: Any
    """The instance the run is recorded in (may be None for a direct context)."""
    resources: Mapping[str, Any]
    """Every initialised resource of the run, by key."""
    log: LogManager
    """The run's logger; step loggers are made from it."""
    partitions: RunPartitions
    """The partition(s) the run covers."""
    io_cache: dict[Any, Any]
    """Run-constant parts of IO contexts, filled as steps build them (``contexts/io.py``)."""
    produced_outputs: set[StepOutputHandle] | None
    """The outputs produced so far (kept up to date by the orchestration loop); None when
    unknown, and then a fan-in input loads every source."""
    event_loops: EventLoops
    """The asyncio loops ``async def`` ops and assets run on."""

    @property
    def plan(self) -> ExecutionPlan | None:
        """The run's plan, with its validated run config; None for a direct (test)
        context."""
        ...

    def emit(self, event: Event) -> None:
        """Hand an event to the run's stream."""
        ...

    def scoped_resources(self, op_def: OpDefinition, step_key: str) -> ResourcesView:
        """The resources one op may read (its declared keys and its IO managers)."""
        ...
