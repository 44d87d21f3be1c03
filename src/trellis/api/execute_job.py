"""``execute_job`` and reconstructable jobs: running a job in this process against an
instance, with a job that other processes can load again by reference (its module and
attribute, or a function that builds it), as a multi-process or Dask executor needs.

``reconstructable(job_or_function)`` records where the job lives (it must be a module
attribute, or a module-level function returning the job; a job built inside a function
or a lambda cannot be found again and is refused, saying so).
``build_reconstructable_job(module, function, args, kwargs)`` names a function that
builds the job from arguments (they travel to workers by pickling).
``execute_job(recon_job, instance, ...)`` returns a ``JobExecutionResult``, used as a
context manager: outputs are read through their IO managers inside the ``with`` block.
``reexecution_options=ReexecutionOptions(parent_run_id, step_selection)`` (or
``ReexecutionOptions.from_failure(run_id, instance)``) re-executes a run.
"""

from __future__ import annotations

import dataclasses
import importlib
from collections.abc import Callable, Mapping, Sequence
from types import TracebackType
from typing import Any, NamedTuple

from trellis.api.result import ExecuteInProcessResult
from trellis.core.errors import InvalidDefinitionError, InvalidInvocationError, RunNotFoundError
from trellis.core.run import RunStatus
from trellis.defs.job import JobDefinition
from trellis.execution.remote.code_pointer import CodePointer, find_code_pointer, module_pointer


class ReconstructableJob:
    """A job and where another process loads it from (its ``CodePointer``)."""

    def __init__(self, pointer: CodePointer, job_name: str | None = None) -> None:
        self.pointer = pointer
        self._job: JobDefinition | None = None
        self._job_name = job_name

    def get_definition(self) -> JobDefinition:
        """The job (loaded, or built by its function, once)."""
        if self._job is None:
            job = self.pointer.load_job(self._job_name or str(self.pointer.attribute))
            if not isinstance(job, JobDefinition):
                raise InvalidDefinitionError(f"{self.pointer.describe()} gives {job!r}, not a job.")
            job.code_pointer = self.pointer
            self._job = job
        return self._job

    @property
    def job_name(self) -> str:
        """The job's name."""
        return self.get_definition().name

    def __repr__(self) -> str:
        return f"<ReconstructableJob {self.pointer.describe()}>"


def _pointer_of_function(fn: Callable[..., Any]) -> CodePointer:
    name = getattr(fn, "__name__", "")
    qualname = getattr(fn, "__qualname__", name)
    module = importlib.import_module(fn.__module__) if fn.__module__ else None
    if (
        module is None
        or name == "<lambda>"
        or "<locals>" in qualname
        or getattr(module, name, None) is not fn
    ):
        raise InvalidDefinitionError(
            f"reconstructable: function '{qualname}' is not a module-level function, so "
            "another process cannot find it again; define it at the top of a module."
        )
    return dataclasses.replace(module_pointer(module, name), calls=True)


def reconstructable(target: JobDefinition | Callable[[], JobDefinition]) -> ReconstructableJob:
    """A job that other processes can load again: ``target`` is a job held by a module
    attribute (or a ``Definitions`` of one), or a module-level function with no
    arguments that returns the job."""
    if isinstance(target, ReconstructableJob):
        return target
    if isinstance(target, JobDefinition):
        pointer = find_code_pointer(target)
        if pointer is None:
            raise InvalidDefinitionError(
                f"reconstructable: job '{target.name}' is not held by a module attribute (or "
                "a Definitions at module level), so another process cannot load it; define "
                "it at the top of a module, or pass a module-level function that builds it."
            )
        recon = ReconstructableJob(pointer, target.name)
        recon._job = target
        return recon
    if callable(target):
        return ReconstructableJob(_pointer_of_function(target))
    raise InvalidDefinitionError(
        f"reconstructable takes a job or a function that returns one, got {target!r}."
    )


def build_reconstructable_job(
    reconstructor_module_name: str,
    reconstructor_function_name: str,
    reconstructable_args: Sequence[Any] | None = None,
    reconstructable_kwargs: Mapping[str, Any] | None = None,
    reconstructor_working_directory: str | None = None,
) -> ReconstructableJob:
    """A job built by ``module.function(*args, **kwargs)``, in this process and again in
    every process that loads it (the arguments travel by pickling)."""
    pointer = CodePointer(
        module=reconstructor_module_name,
        attribute=reconstructor_function_name,
        working_directory=reconstructor_working_directory,
        calls=True,
        call_args=tuple(reconstructable_args or ()),
        call_kwargs=tuple(sorted((reconstructable_kwargs or {}).items())),
    )
    recon = ReconstructableJob(pointer)
    recon.get_definition()  # a wrong module or function is reported here, not in a worker
    return recon


class ReexecutionOptions(NamedTuple):
    """Which run ``execute_job`` re-executes, and which of its steps (all by default)."""

    parent_run_id: str
    step_selection: Sequence[str] = ()
    from_failure_only: bool = False

    @staticmethod
    def from_failure(run_id: str, instance: Any) -> ReexecutionOptions:
        """Re-execute the steps of failed run ``run_id`` that did not succeed."""
        run = instance.get_run(run_id)
        if run is None:
            raise RunNotFoundError(f"No run with id '{run_id}'.")
        if run.status is not RunStatus.FAILURE:
            raise InvalidInvocationError(
                f"Run {run_id} is {run.status.value}, not FAILURE: only a failed run can be "
                "re-executed from failure."
            )
        return ReexecutionOptions(run_id, from_failure_only=True)


class JobExecutionResult(ExecuteInProcessResult):
    """What ``execute_job`` returns: the run's result, used as a context manager; its
    outputs are read inside the ``with`` block (the resources that read them are torn
    down when it ends)."""

    _closed = False

    def __enter__(self) -> JobExecutionResult:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        for built in self._built:
            built.close()
        self._built.clear()
        self._closed = True

    def output_for_node(self, node_str: str, output_name: str = "result") -> Any:
        """The value of one output of one node, read through its IO manager (inside the
        ``with execute_job(...) as result:`` block)."""
        if self._closed:
            from trellis.core.errors import InvariantViolationError

            raise InvariantViolationError(
                "Outputs of execute_job are read inside its with block: "
                "with execute_job(...) as result: result.output_for_node(...)."
            )
        return super().output_for_node(node_str, output_name)

    def __repr__(self) -> str:
        return f"<JobExecutionResult {self.run_id} success={self.success}>"


def execute_job(
    job: ReconstructableJob,
    instance: Any,
    run_config: Any = None,
    tags: Mapping[str, str] | None = None,
    raise_on_error: bool = False,
    op_selection: Sequence[str] | None = None,
    reexecution_options: ReexecutionOptions | None = None,
    asset_selection: Sequence[Any] | None = None,
) -> JobExecutionResult:
    """Run ``job`` (a ``reconstructable`` one) in this process against ``instance``; its
    executor may run steps in other processes, which load the job again by reference."""
    from trellis.api.execute import execute_job_in_process
    from trellis.api.reexecution import reexecution_arguments

    if not isinstance(job, ReconstructableJob):
        raise InvalidInvocationError(
            f"execute_job takes reconstructable(job), got {job!r}: wrap the job with "
            "reconstructable(...) (or use job.execute_in_process())."
        )
    if instance is None:
        raise InvalidInvocationError("execute_job needs an instance (Instance.get()).")
    definition = job.get_definition()
    if reexecution_options is not None:
        parent = instance.get_run(reexecution_options.parent_run_id)
        if parent is None:
            raise RunNotFoundError(f"No run with id '{reexecution_options.parent_run_id}'.")
        arguments = reexecution_arguments(
            definition,
            parent,
            instance=instance,
            from_failure=reexecution_options.from_failure_only,
            step_selection=list(reexecution_options.step_selection) or None,
            run_config=run_config,
            tags=tags,
        )
        outcome_result = execute_job_in_process(
            definition, instance=instance, raise_on_error=raise_on_error, **arguments
        )
    else:
        outcome_result = execute_job_in_process(
            definition,
            run_config=run_config,
            instance=instance,
            tags=tags,
            raise_on_error=raise_on_error,
            op_selection=list(op_selection) if op_selection else None,
            asset_selection=asset_selection,
        )
    return JobExecutionResult(outcome_result._outcome)
