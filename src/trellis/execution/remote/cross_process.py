"""What a run must satisfy before its steps may run in other processes, and the
executor's config: checked before the run starts, each failure a clear error."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from trellis.config.types import Field, Selector, Shape
from trellis.config.validate import validate_config
from trellis.core.errors import UnmetExecutorRequirementsError
from trellis.defs.builtin_io_managers import InMemoryIOManager, mem_io_manager
from trellis.defs.executor import MULTI_OR_IN_PROCESS, ExecutorDefinition
from trellis.defs.job import JobDefinition
from trellis.execution.executors.registry import BUILTIN_EXECUTORS
from trellis.execution.remote.code_pointer import CodePointer, find_code_pointer
from trellis.plan.plan import ExecutionPlan

CROSS_PROCESS = frozenset({"multiprocess", "dask"})


def executor_config(job: JobDefinition, raw_run_config: Mapping[str, Any]) -> dict[str, Any]:
    """The executor's config: the definition's ``configured`` values overlaid by the run
    config's ``execution.config``, validated against the executor's schema."""
    executor_def = job.executor_def
    if executor_def is None:
        return {}
    given = ((raw_run_config.get("execution") or {}).get("config")) or {}
    merged = {**executor_def.config, **given}
    schema = executor_def.get_config_schema()
    if schema is None:
        return merged
    return validate_config(
        schema,
        merged,
        header=f'Error in execution config (root:execution:config) for job "{job.name}"',
    )


def executor_for_run(
    job: JobDefinition, raw_run_config: Mapping[str, Any]
) -> tuple[ExecutorDefinition | None, dict[str, Any]]:
    """The executor a run uses and its validated config.

    A job with an ``executor_def`` reads ``execution: {config: {...}}`` as that
    executor's config. A job without one runs in process, unless its run config picks an
    executor as Dagster's default executor (``multi_or_in_process_executor``) lets it:
    ``execution: {config: {NAME: {...}}}``, where NAME is ``in_process``,
    ``multithread``, ``multiprocess`` or ``dask`` and ``{...}`` that executor's config,
    e.g. ``execution: {config: {dask: {cluster: {existing: {address: ...}}}}}``.
    """
    chooser = job.executor_def
    if chooser is not None and chooser.name != MULTI_OR_IN_PROCESS:
        return chooser, executor_config(job, raw_run_config)
    execution = raw_run_config.get("execution")
    if chooser is not None and chooser.config:  # multi_or_in_process_executor.configured(...)
        given = (execution or {}).get("config") if isinstance(execution, Mapping) else None
        execution = {"config": {**chooser.config, **(given or {})}}
    if not execution or (isinstance(execution, Mapping) and not execution.get("config")):
        return None, {}
    choices: dict[str, Field] = {}
    for name, definition in BUILTIN_EXECUTORS.items():
        schema = definition.get_config_schema()
        choices[name] = Field(schema.config_type if schema is not None else Shape({}))
    processed = validate_config(
        Shape({"execution": Shape({"config": Selector(choices)})}),
        {"execution": execution},
        header=f'Error in execution config (root:execution:config) for job "{job.name}": '
        f"a job without an executor_def picks one of {sorted(choices)}",
    )
    ((name, config),) = processed["execution"]["config"].items()
    return BUILTIN_EXECUTORS[name], dict(config or {})


def _is_in_memory(definition: Any) -> bool:
    return definition is mem_io_manager or isinstance(
        getattr(definition, "source", None), InMemoryIOManager
    )


def check_cross_process(
    original_job: JobDefinition,
    job: JobDefinition,
    plan: ExecutionPlan,
    resources: Mapping[str, Any] | None,
    executor_name: str | None = None,
) -> CodePointer:
    """The code pointer workers load the job from; raises before any step runs when
    an output would be kept in memory, when resources were passed as Python objects,
    or when the job cannot be found by reference. ``executor_name`` names the executor
    in messages (default: the job's)."""
    if executor_name is None:
        executor_name = job.executor_def.name if job.executor_def is not None else "in_process"
    steps = [plan.steps[key] for key in plan.step_keys_to_execute]
    if plan.dynamic is not None:  # the steps mapped over dynamic outputs, to be made
        steps.extend(plan.dynamic.templates.values())
    for step in steps:
        key = step.key
        for output in step.outputs:
            definition = job.resource_defs.get(output.io_manager_key)
            if _is_in_memory(definition):
                raise UnmetExecutorRequirementsError(
                    f"Output '{output.name}' of step '{key}' uses the in-memory IO manager "
                    f"('{output.io_manager_key}'), but the {executor_name} executor "
                    "runs steps in other processes, which cannot see this process's memory. "
                    "Bind a persistent IO manager, e.g. "
                    "resources={'io_manager': FilesystemIOManager(base_dir=...)}."
                )
    if resources:
        raise UnmetExecutorRequirementsError(
            f"Job '{job.name}' runs on the {executor_name} executor, whose workers load "
            "the job's code by reference; resources passed to execute_in_process(resources=...) "
            "cannot reach them. Bind them in the job or in Definitions instead."
        )
    pointer = find_code_pointer(original_job)
    if pointer is None:
        raise UnmetExecutorRequirementsError(
            f"Job '{job.name}' runs on the {executor_name} executor, whose workers load "
            "the job by reference, but it is not a module-level attribute of an importable "
            "module or file (nor part of a module-level Definitions). Define it at module "
            "level, or run it with `trellis job execute -f FILE -j JOB`."
        )
    return pointer
