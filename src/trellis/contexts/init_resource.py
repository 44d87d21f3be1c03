"""``InitResourceContext``: what a resource function receives while it is built."""

from __future__ import annotations

from typing import Any

from trellis.contexts.log_manager import LogManager, discard_event
from trellis.contexts.resources_view import ResourcesView


class InitResourceContext:
    """Given to a resource while it is initialised: its config (``resource_config``),
    the resources it declared (``resources``), its definition, the instance, the run
    and a logger."""

    __slots__ = (
        "__weakref__",
        "instance",
        "log",
        "resource_config",
        "resource_def",
        "resources",
        "run",
    )

    def __init__(
        self,
        resource_config: Any = None,
        resources: ResourcesView | None = None,
        resource_def: Any = None,
        instance: Any = None,
        run: Any = None,
        log: LogManager | None = None,
    ) -> None:
        self.resource_config = resource_config
        self.resources = resources if resources is not None else ResourcesView({})
        self.resource_def = resource_def
        self.instance = instance
        self.run = run
        self.log = log or LogManager(discard_event, "__ephemeral__", "__ephemeral__")

    @property
    def run_id(self) -> str | None:
        """The run's id, or None outside a run."""
        return self.run.run_id if self.run is not None else None

    @property
    def dagster_run(self) -> Any:
        """The run record (Dagster's older name)."""
        return self.run

    @property
    def log_manager(self) -> LogManager:
        """The logger (Dagster's other name)."""
        return self.log

    def replace_config(self, config: Any) -> InitResourceContext:
        """The same context with another config (used by ``configured``)."""
        return InitResourceContext(
            config, self.resources, self.resource_def, self.instance, self.run, self.log
        )

    def __repr__(self) -> str:
        return f"<InitResourceContext {getattr(self.resource_def, 'name', '?')}>"
