"""Re-executing a run: all of it, the steps that did not succeed (``from_failure``), or
a chosen step selection. The new run records its parent and root; outputs of steps it
does not run are loaded through their IO managers from the run that produced them."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

from trellis.api.result import ExecuteInProcessResult
from trellis.core.asset_checks import AssetCheckKey
from trellis.core.asset_key import AssetKey
from trellis.core.errors import (
    ExecutionStepNotFoundError,
    InvalidInvocationError,
    RunNotFoundError,
)
from trellis.core.events import Event, EventType
from trellis.core.run import HOST_TAG, PARENT_RUN_ID_TAG, PID_TAG, ROOT_RUN_ID_TAG, Run, RunStatus
from trellis.defs.asset_job import subset_asset_job
from trellis.defs.job import JobDefinition


def _succeeded_steps(instance: Any, run_id: str) -> set[str]:
    return {
        e.step_key
        for e in instance.all_logs(run_id)
        if e.event_type is EventType.STEP_SUCCESS and e.step_key
    }


def output_origins(instance: Any, run: Run) -> dict[str, str]:
    """For each step whose outputs ``run`` can use, the id of the run that produced them:
    the run itself for its successful steps, else (walking up the parents) the nearest
    ancestor that produced them."""
    origins: dict[str, str] = {}
    current: Run | None = run
    while current is not None:
        for key in _succeeded_steps(instance, current.run_id):
            origins.setdefault(key, current.run_id)
        current = instance.get_run(current.parent_run_id) if current.parent_run_id else None
    return origins


def select_steps(all_keys: list[str], selection: Iterable[str]) -> list[str]:
    """Step keys chosen by name (exact step key or last handle part)."""
    chosen: list[str] = []
    for name in selection:
        matches = [k for k in all_keys if k == name or k.rsplit(".", 1)[-1] == name]
        if not matches:
            raise ExecutionStepNotFoundError(f"No step '{name}' in this job; steps: {all_keys}.")
        chosen.extend(m for m in matches if m not in chosen)
    return [k for k in all_keys if k in chosen]


def reexecute_run(
    job: JobDefinition,
    parent_run_id: str,
    *,
    instance: Any,
    from_failure: bool = False,
    step_selection: Iterable[str] | None = None,
    run_config: Any = None,
    tags: Mapping[str, str] | None = None,
    raise_on_error: bool = False,
    on_event: Callable[[Event], None] | None = None,
    run_id: str | None = None,
) -> ExecuteInProcessResult:
    """Run ``parent_run_id`` again as a new run of ``job`` (with id ``run_id``, else a new
    one).

    ``from_failure`` runs only the steps that did not succeed in the parent (a parent
    that succeeded is an error); ``step_selection`` runs the named steps. The parent's
    run config, tags and op selection are reused unless given.
    """
    from trellis.api.execute import execute_job_in_process
    from trellis.plan.plan import build_execution_plan

    parent = instance.get_run(parent_run_id)
    if parent is None:
        raise RunNotFoundError(f"No run with id '{parent_run_id}'.")
    if parent.job_name != job.name:
        raise InvalidInvocationError(
            f"Run '{parent_run_id}' is a run of job '{parent.job_name}', not '{job.name}'."
        )
    if from_failure and step_selection:
        raise InvalidInvocationError("Pass from_failure or step_selection, not both.")
    config = run_config if run_config is not None else parent.run_config
    planned_job = job
    selection = None
    checks = None
    if parent.asset_selection is not None or parent.asset_check_selection is not None:
        # the parent ran a subset of an asset job (or only checks): run the same one
        selection = [AssetKey.from_user_string(k) for k in parent.asset_selection or ()]
        if parent.asset_check_selection is not None:
            checks = [AssetCheckKey.from_user_string(k) for k in parent.asset_check_selection]
        planned_job = subset_asset_job(job, set(selection), checks)
    plan = build_execution_plan(planned_job, config, op_selection=parent.op_selection)
    all_keys = plan.step_keys
    origins = output_origins(instance, parent)
    if from_failure:
        if parent.status is RunStatus.SUCCESS:
            raise InvalidInvocationError(
                f"Run '{parent_run_id}' succeeded; there is no failure to re-execute from."
            )
        to_execute = [k for k in all_keys if k not in origins]
    elif step_selection:
        to_execute = select_steps(all_keys, step_selection)
    else:
        to_execute = all_keys
    known = {k: origins[k] for k in all_keys if k not in to_execute and k in origins}
    missing = [k for k in all_keys if k not in to_execute and k not in known]
    if missing:
        raise InvalidInvocationError(
            f"Steps {missing} are not re-executed and never succeeded in run "
            f"'{parent_run_id}' or its parents, so their outputs cannot be loaded."
        )
    inherited = {k: v for k, v in parent.tags.items() if k not in (PID_TAG, HOST_TAG)}
    root = parent.root_run_id or parent.run_id
    run_tags = {
        **inherited,
        **(tags or {}),
        PARENT_RUN_ID_TAG: parent.run_id,
        ROOT_RUN_ID_TAG: root,
    }
    return execute_job_in_process(
        job,
        run_config=config,
        instance=instance,
        raise_on_error=raise_on_error,
        op_selection=parent.op_selection,
        asset_selection=selection,
        asset_check_selection=checks,
        tags=run_tags,
        on_event=on_event,
        step_keys_to_execute=to_execute,
        known_output_run_ids=known,
        parent_run_id=parent.run_id,
        root_run_id=root,
        run_id=run_id,
    )
