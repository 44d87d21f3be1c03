"""Building the executor a job's ``ExecutorDefinition`` names, with its resolved config."""

from __future__ import annotations

from typing import Any

from trellis.core.errors import InvalidDefinitionError
from trellis.defs.executor import (
    ExecutorDefinition,
    dask_executor,
    in_process_executor,
    multiprocess_executor,
    multithread_executor,
)
from trellis.execution.executors.base import Executor, InProcessExecutor

BUILTIN_EXECUTORS: dict[str, ExecutorDefinition] = {
    d.name: d
    for d in (in_process_executor, multithread_executor, multiprocess_executor, dask_executor)
}
"""The executors that run config can pick by name for a job without one
(``execution: {config: {dask: {...}}}``, see ``cross_process.executor_for_run``)."""


def create_executor(executor_def: ExecutorDefinition | None, config: dict[str, Any]) -> Executor:
    """The executor for a run; ``config`` is the validated ``execution.config``."""
    name = executor_def.name if executor_def is not None else "in_process"
    if name == "in_process":
        return InProcessExecutor()
    if name == "multithread":
        from trellis.execution.executors.threads import MultithreadExecutor

        return MultithreadExecutor(**config)
    if name == "multiprocess":
        from trellis.execution.executors.processes import MultiprocessExecutor

        return MultiprocessExecutor(**config)
    if name == "dask":
        from trellis.execution.executors.dask import DaskExecutor

        return DaskExecutor(**config)
    factory = getattr(executor_def, "executor_factory", None)
    if callable(factory):
        return factory(config)
    raise InvalidDefinitionError(
        f"Unknown executor '{name}': use in_process_executor, multithread_executor, "
        "multiprocess_executor or dask_executor, or give an ExecutorDefinition an "
        "executor_factory."
    )
