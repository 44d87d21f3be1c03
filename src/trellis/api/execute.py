"""The entry points that run things in this process: ``execute_job_in_process``
(behind ``JobDefinition.execute_in_process``), ``materialize`` and
``materialize_to_memory``."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from trellis.api.partition_range import check_partition_range
from trellis.api.result import ExecuteInProcessResult
from trellis.core.asset_checks import AssetCheckKey
from trellis.core.collector import collector_paused
from trellis.core.errors import InvalidInvocationError
from trellis.core.events import Event
from trellis.core.run import (
    EXECUTOR_TAG,
    HOST_TAG,
    PARTITION_SET_TAG,
    PARTITION_TAG,
    PID_TAG,
    Run,
    new_run_id,
    with_dagster_tag_aliases,
)
from trellis.defs.asset import AssetsDefinition
from trellis.defs.asset_checks_definition import AssetChecksDefinition
from trellis.defs.asset_graph import AssetGraph
from trellis.defs.asset_job import build_asset_job, subset_asset_job
from trellis.defs.asset_selection import coerce_selection
from trellis.defs.asset_spec import AssetSpec
from trellis.defs.bound_resources import combine_resources, resources_bound_to
from trellis.defs.builtin_io_managers import fs_io_manager, mem_io_manager
from trellis.defs.dynamic_partitions import using_dynamic_partitions_store
from trellis.defs.job import JobDefinition
from trellis.defs.resource import coerce_resources
from trellis.execution.executors.registry import create_executor
from trellis.execution.remote.cross_process import (
    CROSS_PROCESS,
    check_cross_process,
    executor_for_run,
)
from trellis.execution.run import execute_run
from trellis.execution.run_loggers import choose_loggers
from trellis.execution.signals import term_grace_seconds
from trellis.instance.instance import Instance
from trellis.instance.liveness import this_host
from trellis.plan.config_mappings import job_run_config
from trellis.plan.plan import build_execution_plan
from trellis.views.console import ConsoleLogger

EPHEMERAL_ASSET_JOB_NAME = "__ephemeral_asset_job__"


def _job_for_run(
    job: JobDefinition, resources: Mapping[str, Any] | None, default_io_manager: Any
) -> JobDefinition:
    overrides = coerce_resources(resources)
    if not overrides and "io_manager" in job.resource_defs:
        return job
    copy = job.with_resources({"io_manager": default_io_manager})
    copy.resource_defs = {**copy.resource_defs, **overrides}
    return copy


def default_io_manager_for(instance: Instance, cross_process: bool = False) -> Any:
    """The IO manager behind the ``io_manager`` key when the user binds none: in memory
    for an ephemeral instance in one process, else pickle files under the instance's
    storage directory."""
    if instance.is_ephemeral and not cross_process:
        return mem_io_manager
    return fs_io_manager


def _partition_tags(job: JobDefinition, partition_key: str | None) -> dict[str, str]:
    if partition_key is None:
        return {}
    partitions_def = job.partitions_def
    if partitions_def is None:
        mixed = _partitions_defs_of(job)
        if len(mixed) > 1:
            raise InvalidInvocationError(
                f"partition_key={partition_key!r} was given, but job '{job.name}' has assets "
                f"of {len(mixed)} partitions definitions ({', '.join(mixed)}); select the "
                "assets of one with asset_selection=[...]."
            )
        raise InvalidInvocationError(
            f"partition_key={partition_key!r} was given, but job '{job.name}' (and its assets) "
            "has no partitions_def."
        )
    partitions_def.validate_partition_key(partition_key)
    return {PARTITION_TAG: partition_key, PARTITION_SET_TAG: f"{job.name}_partition_set"}


def _partitions_defs_of(job: JobDefinition) -> list[str]:
    """The partitions definitions of a job's assets, described (the implicit asset job
    over several has none of its own)."""
    found = {
        node.assets_def.partitions_def
        for node in job.flat_nodes
        if node.assets_def is not None and node.assets_def.partitions_def is not None
    }
    return sorted(repr(p) for p in found)


def _console(plan: Any) -> ConsoleLogger | None:
    """The run's console, at its level; None when the run config names only other loggers
    (``execution/run_loggers.py``)."""
    level = choose_loggers(plan).console_level
    return ConsoleLogger(level) if level is not None else None


@collector_paused()
def execute_job_in_process(
    job: JobDefinition,
    *,
    run_config: Any = None,
    instance: Instance | None = None,
    partition_key: str | None = None,
    raise_on_error: bool = True,
    op_selection: Sequence[str] | None = None,
    run_id: str | None = None,
    input_values: Mapping[str, Any] | None = None,
    tags: Mapping[str, str] | None = None,
    resources: Mapping[str, Any] | None = None,
    asset_selection: Any = None,
    default_io_manager: Any = None,
    on_event: Callable[[Event], None] | None = None,
    step_keys_to_execute: Sequence[str] | None = None,
    known_output_run_ids: Mapping[str, str] | None = None,
    known_dynamic_keys: Mapping[tuple[str, str], Sequence[str]] | None = None,
    parent_run_id: str | None = None,
    root_run_id: str | None = None,
    asset_check_selection: Iterable[AssetCheckKey] | None = None,
    queued_run: Run | None = None,
) -> ExecuteInProcessResult:
    """Validate config, build the plan, run every step in this process, return the result.

    With ``raise_on_error`` the user's own exception is re-raised once the run has ended
    (resources torn down, failure recorded). On the main thread, SIGINT and SIGTERM
    cancel the run (unless the program installed handlers of its own); once the run has
    ended CANCELED, ``KeyboardInterrupt`` or ``RunTerminated`` (a ``SystemExit``, status
    143) is raised. ``on_event`` sees every event as it is
    emitted (live progress). On a persistent instance, outputs default to the filesystem
    pickle IO manager under the instance's storage directory; on an ephemeral one, op
    jobs keep them in memory. ``asset_selection`` selects the checks of its assets too
    (as Dagster does; ``AssetSelection.checks_for_assets`` selects checks alone);
    ``asset_check_selection`` names the checks instead. ``queued_run``: execute that
    stored run (the run queue's, already taken by this process with
    ``instance.begin_launched_run``) instead of recording a new one.
    """
    if op_selection and asset_selection is not None:
        raise InvalidInvocationError("Pass op_selection or asset_selection, not both.")
    given_tags = with_dagster_tag_aliases(dict(tags or {}))
    if partition_key is None and PARTITION_TAG in given_tags:
        partition_key = given_tags[PARTITION_TAG]  # a run tagged with its partition
    original_job = job
    selected_keys: list[str] | None = None
    selected_checks: list[str] | None = None
    if asset_selection is not None or asset_check_selection is not None:
        if job.asset_graph is None:
            raise InvalidInvocationError(f"Job '{job.name}' has no assets to select.")
        selection = coerce_selection(asset_selection if asset_selection is not None else [])
        keys = selection.resolve(job.asset_graph)
        checks = (
            selection.resolve_checks(job.asset_graph)
            if asset_check_selection is None
            else set(asset_check_selection)
        )
        selected_keys = sorted(k.to_user_string() for k in keys)
        if job.asset_graph.check_specs:  # recorded for workers and re-execution
            selected_checks = sorted(k.to_user_string() for k in checks)
        job = subset_asset_job(job, keys, checks)
    job = job.for_partition(partition_key)  # a partitioned config: the key's config
    # The executor (the job's, or the one run config picks), its config checked first.
    run_config = job_run_config(job, run_config)  # mapped once: the plan takes it as it is
    executor_def, executor_cfg = executor_for_run(job, run_config.effective)
    crosses = executor_def is not None and executor_def.name in CROSS_PROCESS
    instance = instance or Instance.ephemeral()
    with using_dynamic_partitions_store(instance):  # what dynamic partitions read
        if default_io_manager is None:
            default_io_manager = default_io_manager_for(instance, cross_process=crosses)
        job = _job_for_run(job, resources, default_io_manager)
        run_tags = {
            **job.tags,
            **given_tags,
            **_partition_tags(job, partition_key),
            PID_TAG: str(os.getpid()),
            HOST_TAG: this_host(),
            EXECUTOR_TAG: executor_def.name if executor_def is not None else "in_process",
        }
        check_partition_range(job, run_tags)
        plan = build_execution_plan(
            job,
            run_config,
            op_selection=op_selection,
            input_values=input_values,
            step_keys_to_execute=step_keys_to_execute,
            known_output_run_ids=known_output_run_ids,
            known_dynamic_keys=known_dynamic_keys,
        )
        grace_seconds = term_grace_seconds()  # a bad $TRELLIS_TERM_GRACE_SECONDS: before the run
        if queued_run is not None:
            run = queued_run
            run.run_config = plan.run_config.raw
            run.tags = {**run.tags, **run_tags}
            run.asset_selection = selected_keys
            run.asset_check_selection = selected_checks
            if step_keys_to_execute:  # a queued re-execution (a run retry)
                run.step_keys_to_execute = list(step_keys_to_execute)
            run.parent_run_id = parent_run_id or run.parent_run_id
            run.root_run_id = root_run_id or run.root_run_id
            instance.update_run(run)
        else:
            run = instance.add_run(
                Run(
                    run_id=run_id or new_run_id(),
                    job_name=job.name,
                    run_config=plan.run_config.raw,
                    tags=run_tags,
                    op_selection=list(op_selection) if op_selection else None,
                    asset_selection=selected_keys,
                    step_keys_to_execute=(
                        list(step_keys_to_execute) if step_keys_to_execute else None
                    ),
                    parent_run_id=parent_run_id,
                    root_run_id=root_run_id,
                    asset_check_selection=selected_checks,
                )
            )
        executor = create_executor(executor_def, executor_cfg)
        pointer = None
        if executor.crosses_processes:
            pointer = check_cross_process(
                original_job, job, plan, resources, executor_def.name if executor_def else None
            )
        outcome = execute_run(
            plan,
            run,
            instance,
            executor=executor,
            console=_console(plan),
            raise_on_error=raise_on_error,
            on_event=on_event,
            code_pointer=pointer,
            grace_seconds=grace_seconds,
        )
        if raise_on_error and not outcome.success and outcome.exception is not None:
            raise outcome.exception
        return ExecuteInProcessResult(outcome)


def _split_assets(
    assets: Iterable[Any],
) -> tuple[list[AssetsDefinition], list[AssetSpec], list[AssetChecksDefinition]]:
    defs: list[AssetsDefinition] = []
    specs: list[AssetSpec] = []
    checks: list[AssetChecksDefinition] = []
    for item in assets:
        if isinstance(item, AssetsDefinition):
            defs.append(item)
        elif isinstance(item, AssetSpec):
            specs.append(item)
        elif isinstance(item, AssetChecksDefinition):
            checks.append(item)
        else:
            raise InvalidInvocationError(
                f"materialize() got {item!r}; pass @asset / @multi_asset definitions, "
                "AssetSpecs or @asset_check definitions."
            )
    return defs, specs, checks


@collector_paused()
def materialize(
    assets: Sequence[Any],
    run_config: Any = None,
    instance: Instance | None = None,
    resources: Mapping[str, Any] | None = None,
    partition_key: str | None = None,
    raise_on_error: bool = True,
    tags: Mapping[str, str] | None = None,
    selection: Any = None,
    *,
    _default_io_manager: Any = None,
) -> ExecuteInProcessResult:
    """Materialize ``assets`` (or the ``selection`` of them) in this process.

    Assets are stored with the filesystem pickle IO manager under the instance's storage
    directory unless an ``io_manager`` resource is given; upstream assets that are only
    given as ``AssetSpec``s are loaded through their IO managers. Asset checks in
    ``assets`` (``@asset_check`` definitions, and the ``check_specs`` of the assets) run
    with the assets they check, as the selection says.
    """
    defs, specs, checks_defs = _split_assets(assets)
    graph = AssetGraph(defs, specs, checks_defs)
    if selection is not None:
        chosen = coerce_selection(selection)
        keys = chosen.resolve(graph)
        check_keys = chosen.resolve_checks(graph) if graph.check_specs else None
    else:
        keys, check_keys = graph.materializable_keys, None
    job = build_asset_job(EPHEMERAL_ASSET_JOB_NAME, graph, keys, selected_check_keys=check_keys)
    return execute_job_in_process(
        job,
        run_config=run_config,
        instance=instance,
        partition_key=partition_key,
        raise_on_error=raise_on_error,
        tags=tags,
        resources=combine_resources(resources_bound_to([*defs, *checks_defs]), resources),
        default_io_manager=_default_io_manager or fs_io_manager,
    )


def materialize_to_memory(
    assets: Sequence[Any],
    run_config: Any = None,
    instance: Instance | None = None,
    resources: Mapping[str, Any] | None = None,
    partition_key: str | None = None,
    raise_on_error: bool = True,
    tags: Mapping[str, str] | None = None,
    selection: Any = None,
) -> ExecuteInProcessResult:
    """Like ``materialize``, with every output kept in memory (nothing written)."""
    return materialize(
        assets,
        run_config=run_config,
        instance=instance,
        resources=resources,
        partition_key=partition_key,
        raise_on_error=raise_on_error,
        tags=tags,
        selection=selection,
        _default_io_manager=mem_io_manager,
    )
