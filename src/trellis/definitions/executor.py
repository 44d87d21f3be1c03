"""``ExecutorDefinition``: which executor runs a job's steps, and its config."""

from __future__ import annotations

from typing import Any


class ExecutorDefinition:
    """Names an executor and its config schema; the execution layer looks the name up
    to build the executor that runs the steps."""

    def __init__(
        self,
        name: str,
        config_schema: Any = None,
        description: str | None = None,
        config: dict[str, Any] | None = None,
    ) -> None:
        self.name = name
        self.config_schema = config_schema
        self.description = description
        self.config = dict(config or {})

    def configured(self, config: dict[str, Any]) -> ExecutorDefinition:
        """A copy with config fixed."""
        return ExecutorDefinition(
            self.name, self.config_schema, self.description, {**self.config, **config}
        )

    def __repr__(self) -> str:
        return f"<ExecutorDefinition {self.name}>"


in_process_executor = ExecutorDefinition(
    "in_process", description="Runs every step in the run's own process, one at a time."
)
