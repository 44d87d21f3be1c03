"""Loading a step's inputs (``IOManager.load_input``) and storing its outputs
(``IOManager.handle_output``), with the events around each call."""

from __future__ import annotations

import inspect
import time
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from trellis.core import event_factory
from trellis.core.errors import (
    USER_CODE_ERRORS,
    ExecutionHandleOutputError,
    ExecutionLoadInputError,
    StepTerminated,
    TypeCheckError,
)
from trellis.core.metadata import MetadataValue
from trellis.core.outputs import AssetMaterialization, AssetObservation
from trellis.core.run import RunStatus
from trellis.defs.dagster_type import DagsterType, DagsterTypeLoaderContext, TypeCheckContext
from trellis.defs.ins_outs import Nothing
from trellis.defs.signature import runtime_checkable_type
from trellis.execution.data_versions import asset_event
from trellis.plan.steps import (
    FromInputManager,
    FromLoadableAsset,
    FromMultipleStepOutputs,
    FromStepOutput,
    FromValue,
    StepInput,
    StepOutput,
    StepOutputHandle,
)

_CANCELED = frozenset({RunStatus.CANCELING, RunStatus.CANCELED})

if TYPE_CHECKING:
    from trellis.contexts.plan_context import PlanContext
    from trellis.contexts.system import StepExecutionContext


def check_type(
    value: Any,
    dagster_type: Any,
    kind: str,
    name: str,
    step_key: str,
    step_context: StepExecutionContext | None = None,
) -> None:
    """Raise ``TypeCheckError`` when ``value`` (the ``kind`` "input" or "output" ``name``
    of step ``step_key``) is not of the declared plain-class type, or fails the check of
    its ``DagsterType`` (``defs/dagster_type.py``).

    ``Nothing`` carries no value, so it is never checked."""
    if dagster_type is Nothing:
        return
    expected = runtime_checkable_type(dagster_type)
    if expected is None:
        return
    if isinstance(expected, DagsterType):
        _dagster_type_check(expected, value, kind, name, step_key, step_context)
    elif not isinstance(value, expected):
        type_name = getattr(dagster_type, "__name__", repr(dagster_type))
        raise TypeCheckError(
            f"Type check failed for {kind} '{name}' of step '{step_key}': expected "
            f"{type_name}, got {type(value).__name__} ({value!r:.80})."
        )


def _dagster_type_check(
    dagster_type: DagsterType,
    value: Any,
    kind: str,
    name: str,
    step_key: str,
    step_context: StepExecutionContext | None,
) -> None:
    context = TypeCheckContext(
        getattr(step_context, "run_id", None),
        getattr(step_context, "log", None),
        getattr(step_context, "resources", None),
    )
    verdict = dagster_type.type_check(context, value)
    if not verdict.success:
        why = f": {verdict.description}" if verdict.description else "."
        raise TypeCheckError(
            f"Type check failed for {kind} '{name}' of step '{step_key}' (Dagster type "
            f"'{dagster_type.display_name}'){why}"
        )


def _construct(step_context: StepExecutionContext, loader: Any, config: Any, name: str) -> Any:
    """An input's value from its config, by its Dagster type's loader."""
    context = DagsterTypeLoaderContext(
        step_context.run_id, step_context.log, step_context.resources
    )
    try:
        return loader.construct_from_config_value(context, config)
    except USER_CODE_ERRORS as exc:
        raise ExecutionLoadInputError(
            f"Error while loading input '{name}' of step '{step_context.step.key}' from config "
            f"with its type's loader: {type(exc).__name__}: {exc}",
            exc,
        ) from exc


def _load_one(
    step_context: StepExecutionContext, step_input: StepInput, handle: StepOutputHandle | None
) -> Any:
    input_context = step_context.for_input(step_input, handle)
    upstream = input_context.upstream_output
    if handle is not None and upstream is not None and upstream.dagster_type is Nothing:
        return None
    manager_key = step_input.manager_key or "io_manager"
    manager = step_context.plan_context.resources[manager_key]
    try:
        return manager.load_input(input_context)
    except USER_CODE_ERRORS as exc:
        if handle is not None:
            source = f" from output '{handle.output_name}' of step '{handle.step_key}'"
        elif input_context.asset_key is not None:
            source = f" from asset '{input_context.asset_key.to_user_string()}'"
        else:
            source = ""
        raise ExecutionLoadInputError(
            f"Error while loading input '{step_input.name}' of step '{step_context.step.key}'"
            f"{source} with IO manager '{manager_key}': {type(exc).__name__}: {exc}",
            exc,
        ) from exc


def _produced_handles(
    plan_context: PlanContext, handles: tuple[StepOutputHandle, ...]
) -> tuple[StepOutputHandle, ...]:
    """The sources of a fan-in input that were produced (an optional output that was not
    yielded is left out; the engine skips the step when none was)."""
    produced = plan_context.produced_outputs
    if produced is None:
        return handles
    return tuple(h for h in handles if h in produced) or handles


def load_inputs(step_context: StepExecutionContext) -> dict[str, Any]:
    """Every input value of the step, each loaded by its manager (one ``LOADED_INPUT``
    event per loaded input) and type-checked."""
    step = step_context.step
    plan_context = step_context.plan_context
    run = plan_context.run
    values: dict[str, Any] = {}
    for step_input in step.inputs:
        source = step_input.source
        name = step_input.name
        dagster_type = step_input.in_def.dagster_type
        if dagster_type is Nothing:  # ordering only: nothing to load
            values[name] = None
            continue
        if isinstance(source, FromValue):
            value = source.value
            if source.loader is not None:
                value = _construct(step_context, source.loader, value, name)
        else:
            started = time.perf_counter()
            if isinstance(source, FromStepOutput):
                upstream: StepOutputHandle | None = source.handle
                value = _load_one(step_context, step_input, upstream)
            elif isinstance(source, FromMultipleStepOutputs):
                handles = _produced_handles(plan_context, source.handles)
                value = [_load_one(step_context, step_input, h) for h in handles]
                upstream = handles[0] if handles else None  # .collect() of no items: []
            else:
                assert isinstance(source, (FromLoadableAsset, FromInputManager))
                value = _load_one(step_context, step_input, None)
                upstream = None
            duration_ms = (time.perf_counter() - started) * 1000
            plan_context.emit(
                event_factory.loaded_input(
                    run.run_id,
                    run.job_name,
                    step.key,
                    name,
                    step_input.manager_key,
                    upstream.step_key if upstream else None,
                    upstream.output_name if upstream else None,
                    step_context.input_metadata(name),
                    duration_ms,
                    step_context.asset_key_for_input(name),
                    upstream.mapping_key if upstream else None,
                )
            )
        if dagster_type is not None:
            check_type(value, dagster_type, "input", name, step.key, step_context)
        values[name] = value
    return values


def handle_output(
    step_context: StepExecutionContext,
    step_output: StepOutput,
    value: Any,
    metadata: Mapping[str, MetadataValue],
    *,
    store: bool = True,
    mapping_key: str | None = None,
    data_version: Any = None,
    tags: Mapping[str, str] | None = None,
) -> None:
    """Emit ``STEP_OUTPUT``, store the value with its IO manager, then emit the asset
    materialization (for asset outputs, with its ``data_version`` and ``tags``:
    ``data_versions.asset_event``) and ``HANDLED_OUTPUT``; ``mapping_key`` names the item
    of a dynamic output. Nothing is stored once the run was canceled
    (``StepTerminated``)."""
    plan_context = step_context.plan_context
    run = plan_context.run
    if run.status in _CANCELED:
        raise StepTerminated(
            f"Step '{step_context.step.key}' was terminated before storing output "
            f"'{step_output.name}': the run was canceled."
        )
    run_id, job_name = run.run_id, run.job_name
    step_key = step_context.step.key
    output_name = step_output.name
    emit = plan_context.emit
    asset_key = step_output.asset_key
    emit(
        event_factory.step_output(
            run_id, job_name, step_key, output_name, dict(metadata), mapping_key
        )
    )
    added: dict[str, MetadataValue] = {}
    extra_events: list[Any] = []
    duration_ms = 0.0
    stored = store and step_output.out_def.dagster_type is not Nothing
    manager_key = step_output.io_manager_key
    if stored:
        manager = plan_context.resources[manager_key]
        output_context = step_context.for_output(step_output, metadata, mapping_key)
        started = time.perf_counter()
        try:
            result = manager.handle_output(output_context, value)
            if result is not None and inspect.isgenerator(result):
                for item in result:
                    if isinstance(item, (AssetMaterialization, AssetObservation)):
                        extra_events.append(item)
                    elif isinstance(item, Mapping):
                        output_context.add_output_metadata(item)
        except USER_CODE_ERRORS as exc:
            raise ExecutionHandleOutputError(
                f"Error while storing output '{output_name}' of step '{step_key}' with IO "
                f"manager '{manager_key}': {type(exc).__name__}: {exc}",
                exc,
            ) from exc
        duration_ms = (time.perf_counter() - started) * 1000
        if output_context._added_metadata is not None:
            added = output_context.consume_logged_metadata()
        if output_context._events is not None:
            extra_events.extend(output_context.consume_events())
    if asset_key is not None:
        assets_def = step_context.step.assets_def
        keys: list[str | None] = [None]
        if assets_def is not None and assets_def.partitions_def is not None:
            partitions = step_context.partitions
            if partitions.has_partition_key:
                keys = [partitions.start]
            elif partitions.has_partitions:  # a range run: one materialization a partition
                keys = list(partitions.partition_keys)
        merged = {**metadata, **added} if added else dict(metadata)
        for partition in keys:
            emit(asset_event(step_context, asset_key, merged, partition, data_version, tags))
    for user_event in extra_events:
        emit_user_event(step_context, user_event)
    if stored:
        emit(
            event_factory.handled_output(
                run_id,
                job_name,
                step_key,
                output_name,
                manager_key,
                added,
                duration_ms,
                asset_key,
                mapping_key,
            )
        )


def emit_user_event(
    step_context: StepExecutionContext, event: AssetMaterialization | AssetObservation
) -> None:
    """Emit a materialization or observation that user code logged itself."""
    run = step_context.plan_context.run
    key = event.asset_key.to_user_string()
    if isinstance(event, AssetMaterialization):
        built = event_factory.asset_materialization(
            run.run_id,
            run.job_name,
            step_context.step.key,
            event,
            event.description or f"Materialized {key}",
        )
    else:
        built = event_factory.asset_observation(
            run.run_id, run.job_name, step_context.step.key, event, event.description
        )
    step_context.plan_context.emit(built)
