"""Asset checks inside a step: each ``AssetCheckResult`` the function yields or returns
becomes an ``ASSET_CHECK_EVALUATION`` event, and at the end of the step every selected
check must have one; a failed **blocking** check (severity ``ERROR``) then fails the step
(``AssetCheckFailedError``), which skips the assets downstream of it.

The same code serves an ``@asset_check``'s own step and an asset's step that evaluates
the checks of its ``check_specs``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from trellis.core import event_factory
from trellis.core.asset_checks import (
    AssetCheckEvaluation,
    AssetCheckEvaluationTargetMaterializationData,
    AssetCheckFailedError,
    AssetCheckKey,
    AssetCheckResult,
    AssetCheckSeverity,
)
from trellis.core.errors import InvariantViolationError, StepTerminated
from trellis.core.run import RunStatus

if TYPE_CHECKING:
    from trellis.contexts.system import StepExecutionContext
    from trellis.core.asset_key import AssetKey
    from trellis.defs.asset_check_spec import AssetCheckSpec

_CANCELED = frozenset({RunStatus.CANCELING, RunStatus.CANCELED})


def _declared(step_context: StepExecutionContext) -> dict[AssetCheckKey, AssetCheckSpec]:
    step = step_context.step
    owner = step.node.checks_def if step.node.checks_def is not None else step.assets_def
    return owner.check_specs_by_key if owner is not None else {}


def _what(step_context: StepExecutionContext) -> str:
    step = step_context.step
    kind = "Asset check" if step.op_def.kind == "asset_check" else step.op_def.kind.capitalize()
    return f"{kind} '{step.key}'"


def _names(keys: Any) -> list[str]:
    return sorted(k.to_user_string() for k in keys)


def resolve_check_key(
    step_context: StepExecutionContext,
    declared: dict[AssetCheckKey, AssetCheckSpec],
    result: AssetCheckResult,
) -> AssetCheckKey:
    """Which of the step's checks ``result`` answers: the one its ``asset_key`` and
    ``check_name`` name (either may be left out when that leaves one check)."""
    if not declared:
        raise InvariantViolationError(
            f"{_what(step_context)} yielded an AssetCheckResult but declares no asset checks; "
            "declare it with check_specs=[AssetCheckSpec(...)] or write it as an @asset_check."
        )
    key, name = result.asset_key, result.check_name
    if key is not None and name is not None:
        wanted = AssetCheckKey(key, name)
        candidates = [wanted] if wanted in declared else []
    elif name is not None:
        candidates = [k for k in declared if k.name == name]
    elif key is not None:
        candidates = [k for k in declared if k.asset_key == key]
    else:
        selected = list(step_context.step.check_keys)
        candidates = selected if len(selected) == 1 else list(declared)
    if len(candidates) == 1:
        return candidates[0]
    given = ", ".join(
        f"{field}={value!r}"
        for field, value in (
            ("asset_key", key.to_user_string() if key is not None else None),
            ("check_name", name),
        )
        if value is not None
    )
    problem = "names none" if not candidates else f"fits {len(candidates)}"
    raise InvariantViolationError(
        f"{_what(step_context)} yielded AssetCheckResult({given or 'without names'}), which "
        f"{problem} of its checks {_names(declared)}; pass asset_key= and check_name= to say "
        "which check it answers."
    )


def target_materialization(
    step_context: StepExecutionContext, asset_key: AssetKey
) -> AssetCheckEvaluationTargetMaterializationData | None:
    """The materialization a check of ``asset_key`` evaluates: the one this step made, else
    the asset's latest stored one (this run's when a step of this run made it, even where
    the instance cannot show it yet); None when the asset was never materialized."""
    step = step_context.step
    run_id = step_context.run_id
    if step.assets_def is not None and asset_key in step.assets_def.selected_keys:
        return AssetCheckEvaluationTargetMaterializationData(None, run_id, None)
    plan = step_context.plan_context.plan
    made_here = False
    if plan is not None and plan.job.asset_graph is not None:
        producer = plan.job.asset_graph.producer.get(asset_key)
        if producer is not None:
            made_by = plan.steps.get(producer.node_name)
            made_here = (
                made_by is not None
                and made_by.key not in plan.known_output_run_ids
                and any(o.asset_key == asset_key for o in made_by.outputs)
            )
    instance = step_context.instance
    record = None
    if instance is not None:
        record = instance.get_latest_materialization_record(asset_key)
    if record is not None and (not made_here or record.run_id == run_id):
        return AssetCheckEvaluationTargetMaterializationData(
            record.storage_id, record.run_id, record.timestamp
        )
    if made_here:
        return AssetCheckEvaluationTargetMaterializationData(None, run_id, None)
    return None


def record_check_result(step_context: StepExecutionContext, result: AssetCheckResult) -> None:
    """Emit the ``ASSET_CHECK_EVALUATION`` of one result and remember it for
    ``finish_checks``. A result for a check the run did not select is dropped (as an
    unselected output is); one for a check answered already is an error."""
    plan_context = step_context.plan_context
    run = plan_context.run
    if run.status in _CANCELED:
        raise StepTerminated(
            f"Step '{step_context.step.key}' was terminated before recording an asset check: "
            "the run was canceled."
        )
    declared = _declared(step_context)
    key = resolve_check_key(step_context, declared, result)
    if key not in step_context.step.check_keys:
        return
    evaluations = step_context.check_evaluations
    if evaluations is None:
        evaluations = step_context.check_evaluations = {}
    if key in evaluations:
        raise InvariantViolationError(
            f"{_what(step_context)} yielded a result for asset check '{key.to_user_string()}' "
            "twice."
        )
    spec = declared[key]
    evaluation = AssetCheckEvaluation(
        key.asset_key,
        key.name,
        result.passed,
        result.metadata,
        target_materialization(step_context, key.asset_key),
        result.severity,
        result.description,
        spec.blocking,
    )
    evaluations[key] = evaluation
    plan_context.emit(
        event_factory.asset_check_evaluation(
            run.run_id, run.job_name, step_context.step.key, evaluation
        )
    )


def record_check_results(step_context: StepExecutionContext, results: list[Any]) -> None:
    """``record_check_result`` for each of a ``MaterializeResult``'s ``check_results``."""
    for result in results:
        if not isinstance(result, AssetCheckResult):
            raise InvariantViolationError(
                f"{_what(step_context)} returned MaterializeResult(check_results=...) holding "
                f"{result!r}; it takes AssetCheckResult objects."
            )
        record_check_result(step_context, result)


def finish_checks(step_context: StepExecutionContext) -> None:
    """At the end of a step: every selected check must have a result; a blocking check
    that failed with severity ``ERROR`` fails the step (``AssetCheckFailedError``)."""
    step = step_context.step
    evaluations = step_context.check_evaluations or {}
    missing = [k for k in step.check_keys if k not in evaluations]
    if missing:
        raise InvariantViolationError(
            f"{_what(step_context)} did not yield a result for asset check(s) "
            f"{_names(missing)}; yield or return an AssetCheckResult for each check it "
            "declares."
        )
    blocked = [
        key
        for key, evaluation in evaluations.items()
        if evaluation.blocking
        and not evaluation.passed
        and evaluation.severity is AssetCheckSeverity.ERROR
    ]
    if blocked:
        raise AssetCheckFailedError(blocked)


def planned_checks(plan: Any) -> list[tuple[AssetCheckKey, str]]:
    """The checks a run's plan evaluates, with the step of each, in plan order (what
    ``ASSET_CHECK_EVALUATION_PLANNED`` events announce after ``RUN_START``)."""
    graph = plan.job.asset_graph
    if graph is None or not graph.check_specs:
        return []
    executing = set(plan.step_keys_to_execute)
    return [
        (key, step.key)
        for step in plan.steps.values()
        if step.key in executing
        for key in sorted(step.check_keys)
    ]
