"""The tiny framework shim the workloads are written against: the same public names from
``trellis`` or from ``dagster``, plus the few calls whose spelling differs between them
(each difference is commented where it is made)."""

from __future__ import annotations

import importlib
import importlib.util
import os
from types import SimpleNamespace
from typing import Any

FRAMEWORKS = ("trellis", "dagster")

# Names imported as-is from the framework's top-level package.
COMMON = (
    "AssetIn",
    "Definitions",
    "DynamicOut",
    "DynamicOutput",
    "asset",
    "define_asset_job",
    "fs_io_manager",
    "job",
    "materialize",
    "materialize_to_memory",
    "multiprocess_executor",
    "op",
)

# Both frameworks read the console logger's level from the same run config. Neither run
# formats a line per event to stderr; every event is still stored by the instance.
QUIET = {"loggers": {"console": {"config": {"log_level": "WARNING"}}}}


def load(framework: str) -> SimpleNamespace:
    """The shim for ``framework`` ("trellis" or "dagster")."""
    if framework not in FRAMEWORKS:
        raise SystemExit(f"unknown framework {framework!r}; use one of {FRAMEWORKS}")
    module = importlib.import_module(framework)
    shim = SimpleNamespace(name=framework, module=module, QUIET=QUIET)
    for name in COMMON:
        setattr(shim, name, getattr(module, name))
    extra = _trellis() if framework == "trellis" else _dagster()
    for name, value in extra.items():
        setattr(shim, name, value)
    return shim


def _trellis() -> dict[str, Any]:
    from trellis import Instance
    from trellis.plan.plan import build_execution_plan

    def dask_executor() -> Any:
        if importlib.util.find_spec("trellis.execution.executors.dask") is None:
            return None  # the Dask executor is not written yet
        from trellis import dask_executor as definition

        local = {"n_workers": 2, "threads_per_worker": 1}
        return definition.configured({"cluster": {"local": local}})

    return {
        "HOME_VAR": "TRELLIS_HOME",
        "get_instance": Instance.get,
        "job_from_defs": lambda defs, name: defs.get_job_def(name),
        "build_plan": build_execution_plan,
        "has_multiprocess": importlib.util.find_spec("trellis.execution.executors.processes")
        is not None,
        "dask_executor": dask_executor,
        "execute_by_reference": _trellis_execute,
    }


def _trellis_execute(module: Any, attribute: str, instance: Any) -> bool:
    # Trellis finds a module-level job's code pointer itself: execute_in_process runs it on
    # whatever executor the job names.
    job = getattr(module, attribute)()
    return job.execute_in_process(instance=instance, run_config=QUIET).success


def _dagster() -> dict[str, Any]:
    from dagster import DagsterInstance
    from dagster._core.execution.api import create_execution_plan

    def dask_executor() -> Any:
        try:
            from dagster_dask import dask_executor as definition
        except ImportError:
            return None  # see run.py: dagster-dask is installed only if it matches
        local = {"n_workers": 2, "threads_per_worker": 1}
        return definition.configured({"cluster": {"local": local}})

    return {
        "HOME_VAR": "DAGSTER_HOME",
        "get_instance": DagsterInstance.get,
        # Dagster >= 1.11 wants resolve_job_def for asset jobs (get_job_def warns).
        "job_from_defs": lambda defs, name: defs.resolve_job_def(name),
        "build_plan": create_execution_plan,
        "has_multiprocess": True,
        "dask_executor": dask_executor,
        "execute_by_reference": _dagster_execute,
    }


def _dagster_execute(module: Any, attribute: str, instance: Any) -> bool:
    # Dagster's execute_in_process always runs in process; other executors need
    # execute_job on a reconstructable job (a module-level function returning it).
    # Its workers import the job module relative to the working directory that
    # reconstructable() records, so that must be the module's directory.
    from dagster import execute_job, reconstructable

    os.chdir(os.path.dirname(module.__file__))
    target = reconstructable(getattr(module, attribute))
    with execute_job(target, instance=instance, run_config=QUIET) as result:
        return result.success
