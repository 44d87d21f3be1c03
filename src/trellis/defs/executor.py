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

    def get_config_schema(self) -> Any:
        """The normalised config schema (built on first use), or None."""
        schema = self.config_schema
        if callable(schema) and not isinstance(schema, type):
            schema = schema()
        if schema is None:
            return None
        from trellis.config.types import normalize_config_schema

        return normalize_config_schema(schema, where=f"executor '{self.name}'")

    def configured(self, config: dict[str, Any]) -> ExecutorDefinition:
        """A copy with config fixed."""
        return ExecutorDefinition(
            self.name, self.config_schema, self.description, {**self.config, **config}
        )

    def __repr__(self) -> str:
        return f"<ExecutorDefinition {self.name}>"


def _tag_limits_schema() -> Any:
    from trellis.config.types import Array, Field, Int, Noneable, String

    return Field(
        Array({"key": String, "value": Field(Noneable(String), default_value=None), "limit": Int}),
        default_value=[],
        description="At most `limit` running steps with tag `key` (equal to `value`, if given).",
    )


def _threads_schema() -> Any:
    from trellis.config.types import Field, Int

    return {
        "max_concurrent": Field(Int, default_value=8, description="Threads running steps."),
        "tag_concurrency_limits": _tag_limits_schema(),
    }


def _processes_schema() -> Any:
    import os

    from trellis.config.types import Enum, EnumValue, Field, Int

    return {
        "max_concurrent": Field(
            Int, default_value=os.cpu_count() or 2, description="Worker processes."
        ),
        "start_method": Field(
            Enum("StartMethod", [EnumValue("spawn"), EnumValue("forkserver"), EnumValue("fork")]),
            default_value="spawn",
        ),
        "tag_concurrency_limits": _tag_limits_schema(),
    }


def _dask_schema() -> Any:
    from trellis.config.types import Field, Float, Int, Selector, StringSource

    return {
        "cluster": Field(
            Selector(
                {
                    "existing": {
                        "address": Field(
                            StringSource,
                            description="The scheduler's address, e.g. tcp://127.0.0.1:8786 "
                            "(or {env: VAR}).",
                        )
                    },
                    "local": {
                        "n_workers": Field(Int, default_value=2),
                        "threads_per_worker": Field(Int, default_value=1),
                    },
                }
            ),
            default_value={"local": {}},
            description="An existing cluster, or a LocalCluster of worker processes started "
            "for the run.",
        ),
        "timeout": Field(
            Float,
            default_value=60.0,
            description="Seconds to wait for the scheduler and for a first worker.",
        ),
    }


in_process_executor = ExecutorDefinition(
    "in_process", description="Runs every step in the run's own process, one at a time."
)

multithread_executor = ExecutorDefinition(
    "multithread",
    config_schema=_threads_schema,
    description="Runs steps on up to max_concurrent threads of the run's process (for "
    "IO-bound steps).",
)

multiprocess_executor = ExecutorDefinition(
    "multiprocess",
    config_schema=_processes_schema,
    description="Runs steps on a pool of worker processes started once per run; each worker "
    "loads the code once and keeps its resources for the run.",
)

dask_executor = ExecutorDefinition(
    "dask",
    config_schema=_dask_schema,
    description="Runs steps on a Dask distributed cluster (an existing one, or a local one). "
    "Step tag trellis-dask/resources (a JSON object, e.g. '{\"GPU\": 1}') asks for Dask "
    "worker resources.",
)

MULTI_OR_IN_PROCESS = "multi_or_in_process"

multi_or_in_process_executor = ExecutorDefinition(
    MULTI_OR_IN_PROCESS,
    description="Dagster's default executor, by name: the run config picks the executor "
    "(execution: {config: {multiprocess: {...}}}, or in_process, multithread, dask); "
    "without one, steps run in the run's own process.",
)
