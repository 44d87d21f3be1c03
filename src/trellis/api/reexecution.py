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
from trellis.defs.dynamic_scope import parse_step_key
from trellis.defs.job import JobDefinition
from trellis.plan.plan import ExecutionPlan


def _read_run(instance: Any, run_id: str) -> tuple[set[str], dict[tuple[str, str], list[str]]]:
    """The steps that succeeded in a run, and the mapping keys each step's dynamic outputs
    yielded in its last attempt (in the order yielded), from its stored events."""
    succeeded: set[str] = set()
    keys: dict[tuple[str, str], list[str]] = {}
    attempt: dict[str, list[tuple[str, str]]] = {}
    for event in instance.all_logs(run_id):
        step_key = event.step_key
        if not step_key:
            continue
        kind = event.event_type
        if kind is EventType.STEP_SUCCESS:
            succeeded.add(step_key)
        elif kind in (EventType.STEP_START, EventType.STEP_RESTARTED):
            for place in attempt.pop(step_key, ()):  # a new attempt yields its keys again
                keys.pop(place, None)
        elif kind is EventType.STEP_OUTPUT:
            mapping_key = getattr(event.data, "mapping_key", None)
            if mapping_key is not None:
                place = (step_key, event.data.output_name)
                if place not in keys:
                    keys[place] = []
                    attempt.setdefault(step_key, []).append(place)
                keys[place].append(mapping_key)
    return succeeded, keys


def output_origins(
    instance: Any, run: Run, dynamic_keys: dict[tuple[str, str], list[str]] | None = None
) -> dict[str, str]:
    """For each step whose outputs ``run`` can use, the id of the run that produced them:
    the run itself for its successful steps, else (walking up the parents) the nearest
    ancestor that produced them. ``dynamic_keys``, when given, receives the mapping keys
    those steps' dynamic outputs yielded in the run that produced them."""
    origins: dict[str, str] = {}
    current: Run | None = run
    while current is not None:
        succeeded, keys = _read_run(instance, current.run_id)
        for key in succeeded:
            if key not in origins:
                origins[key] = current.run_id
                if dynamic_keys is not None:
                    for (step_key, output_name), found in keys.items():
                        if step_key == key:
                            dynamic_keys[(step_key, output_name)] = found
        current = instance.get_run(current.parent_run_id) if current.parent_run_id else None
    return origins


def select_steps(all_keys: list[str], selection: Iterable[str]) -> list[str]:
    """Step keys chosen by name (exact step key or last handle part; a node mapped over a
    dynamic output, by its name, chooses every one of its steps)."""
    chosen: list[str] = []
    for name in selection:
        matches = [k for k in all_keys if _names(k, name)]
        if not matches:
            raise ExecutionStepNotFoundError(f"No step '{name}' in this job; steps: {all_keys}.")
        chosen.extend(m for m in matches if m not in chosen)
    return [k for k in all_keys if k in chosen]


def _names(step_key: str, name: str) -> bool:
    if step_key == name or step_key.rsplit(".", 1)[-1] == name:
        return True
    handle = parse_step_key(step_key)[0]
    return handle != step_key and (handle == name or handle.rsplit(".", 1)[-1] == name)


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

    parent = instance.get_run(parent_run_id)
    if parent is None:
        raise RunNotFoundError(f"No run with id '{parent_run_id}'.")
    arguments = reexecution_arguments(
        job,
        parent,
        instance=instance,
        from_failure=from_failure,
        step_selection=step_selection,
        run_config=run_config,
        tags=tags,
    )
    return execute_job_in_process(
        job,
        instance=instance,
        raise_on_error=raise_on_error,
        on_event=on_event,
        run_id=run_id,
        **arguments,
    )


def reexecution_arguments(
    job: JobDefinition,
    parent: Run,
    *,
    instance: Any,
    from_failure: bool = False,
    step_selection: Iterable[str] | None = None,
    run_config: Any = None,
    tags: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """The ``execute_job_in_process`` arguments that re-execute ``parent`` with ``job``
    (see ``reexecute_run``): config, selection, tags, the steps to run and where the
    outputs of the others come from. A queued re-execution (a run retry the daemon
    enqueued) is planned with these in the run's own process."""
    from trellis.plan.plan import build_execution_plan

    parent_run_id = parent.run_id
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
    # The mapping keys the parent's dynamic outputs yielded make its mapped steps up front,
    # so that only those that did not succeed run again.
    dynamic_keys: dict[tuple[str, str], list[str]] = {}
    origins = output_origins(instance, parent, dynamic_keys)
    known_dynamic = _known_dynamic_keys(planned_job, origins, dynamic_keys)
    plan = build_execution_plan(
        planned_job,
        config,
        op_selection=parent.op_selection,
        known_dynamic_keys=known_dynamic,
    )
    all_keys = plan.step_keys
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
    again = _made_again(plan, to_execute)
    if again:  # their dynamic step runs again: they are made anew when it has
        to_execute = [k for k in to_execute if k not in again]
        all_keys = [k for k in all_keys if k not in again]
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
    return {
        "run_config": config,
        "op_selection": parent.op_selection,
        "asset_selection": selection,
        "asset_check_selection": checks,
        "tags": run_tags,
        "step_keys_to_execute": to_execute,
        "known_output_run_ids": known,
        "known_dynamic_keys": {k: v for k, v in known_dynamic.items() if k[0] in known},
        "parent_run_id": parent.run_id,
        "root_run_id": root,
    }


def _made_again(plan: ExecutionPlan, to_execute: list[str]) -> set[str]:
    """The mapped steps of the plan whose dynamic step is among ``to_execute``: that
    step's new run makes them again, with the keys it yields this time."""
    dynamic = plan.dynamic
    if dynamic is None:
        return set()
    prefixes: dict[str, list[tuple[str, ...]]] = {}
    for key in to_execute:
        step = plan.steps[key]
        for output_name in dynamic.dynamic_outputs.get(step.handle, ()):
            for template in dynamic.under.get((step.handle, output_name), ()):
                prefixes.setdefault(template, []).append(step.mapping_keys)
    again: set[str] = set()
    if prefixes:
        for key in plan.steps:
            handle, keys = parse_step_key(key)
            found = prefixes.get(handle)
            if found and any(keys[: len(p)] == p for p in found):
                again.add(key)
    return again


def _known_dynamic_keys(
    job: JobDefinition, origins: dict[str, str], found: dict[tuple[str, str], list[str]]
) -> dict[tuple[str, str], list[str]]:
    """The mapping keys of every dynamic output of a step that succeeded earlier (none
    stored: a required dynamic output that yielded no items)."""
    if not job.has_dynamic_outputs:
        return {}
    dynamic_outputs = {
        node.handle: [n for n, out in node.op_def.outs.items() if out.is_dynamic]
        for node in job.flat_nodes
        if node.op_def.has_dynamic_outputs
    }
    known: dict[tuple[str, str], list[str]] = {}
    for step_key in origins:
        for output_name in dynamic_outputs.get(parse_step_key(step_key)[0], ()):
            known[(step_key, output_name)] = found.get((step_key, output_name), [])
    return known
