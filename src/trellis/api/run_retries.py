"""Run-level retries: a run that ended in FAILURE is run again as a new run, linked to it
as a re-execution (parent and root), up to a number of times.

What decides (Dagster's tags and ``dagster.yaml`` settings, same names):

- ``run_retries`` in ``trellis.yaml`` (``enabled``, ``max_retries``,
  ``retry_on_asset_or_op_failure``): nothing is retried unless ``enabled``;
  ``max_retries`` is the number of retries of a run without a tag of its own.
- Run tags (usually set on the job: ``@job(tags={"dagster/max_retries": 3})``):
  ``dagster/max_retries``, ``dagster/retry_strategy`` (``FROM_FAILURE``, the default:
  only the steps that did not succeed, reading the others' outputs from the failed run;
  or ``ALL_STEPS``) and ``dagster/retry_on_asset_or_op_failure`` (``false``: retry only
  runs whose process died, not those where a step failed).
- The retry run carries ``dagster/retry_number`` (1 for the first retry) and
  ``dagster/retry_strategy``; the failed run gets ``dagster/auto_retry_run_id`` and an
  ``ENGINE_EVENT`` saying which run retries it (``plan_run_retry`` says why a run is not
  retried).

Retrying is idempotent: the retry of a run has an id derived from the failed run's, so
a second attempt (the same call repeated, another process, a daemon restarted after a
crash) finds it, or fails to store it, instead of creating another.

``retry_failed_runs(instance, definitions)`` retries in the calling process;
``plan_run_retry`` and ``execute_run_retry`` are its two halves. The daemon's
``run_retries`` loop uses ``plan_run_retry`` and ``enqueue_run_retry`` instead: the retry
enters the run queue (its limits apply) and runs in a launched process.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from enum import StrEnum
from typing import TYPE_CHECKING

from trellis.core import event_factory
from trellis.core.errors import InstanceError, TrellisError
from trellis.core.events import Event, EventType
from trellis.core.run import (
    CODE_LOCATION_TAG,
    HOST_TAG,
    PARENT_RUN_ID_TAG,
    PID_NAMESPACE_TAG,
    PID_TAG,
    ROOT_RUN_ID_TAG,
    Run,
    RunStatus,
)

if TYPE_CHECKING:
    from trellis.api.result import ExecuteInProcessResult
    from trellis.defs.definitions import Definitions
    from trellis.defs.job import JobDefinition
    from trellis.instance.instance import Instance

MAX_RETRIES_TAG = "dagster/max_retries"
RETRY_NUMBER_TAG = "dagster/retry_number"
RETRY_STRATEGY_TAG = "dagster/retry_strategy"
RETRY_ON_ASSET_OR_OP_FAILURE_TAG = "dagster/retry_on_asset_or_op_failure"
AUTO_RETRY_RUN_ID_TAG = "dagster/auto_retry_run_id"

# Retry run ids are version-5 UUIDs of the failed run's id in this namespace.
_RETRY_NAMESPACE = uuid.UUID("6d1c5a0e-3f0b-5c8e-9a57-7472656c6c69")

log = logging.getLogger("trellis.run_retries")


class RetryStrategy(StrEnum):
    """Which steps a retry runs: those that did not succeed (``FROM_FAILURE``), or all."""

    FROM_FAILURE = "FROM_FAILURE"
    ALL_STEPS = "ALL_STEPS"


@dataclass(frozen=True)
class RetryDecision:
    """Whether a failed run is to be retried (``retry``) and why (``reason``, one
    sentence); when it is, the retry's id, number (1 for the first retry), strategy and
    the run's retry budget."""

    run_id: str
    retry: bool
    reason: str
    retry_run_id: str
    retry_number: int = 0
    max_retries: int = 0
    strategy: RetryStrategy = RetryStrategy.FROM_FAILURE


def retry_run_id(failed_run_id: str) -> str:
    """The id of the run that retries ``failed_run_id`` (the same in every process)."""
    return str(uuid.uuid5(_RETRY_NAMESPACE, failed_run_id))


def _tag_value(run: Run, name: str) -> str | None:
    """A retry tag by its Dagster name, or by the ``trellis/`` one."""
    value = run.tags.get(name)
    if value is None:
        value = run.tags.get("trellis/" + name.split("/", 1)[1])
    return value


def _failed_in_a_step(instance: Instance, run: Run) -> bool:
    """Whether the run ended because a step failed (its orchestrator recorded the end),
    rather than because its process died (the instance ended it, with a reason)."""
    ends = instance.all_logs(run.run_id, of_type={EventType.RUN_FAILURE, EventType.STEP_FAILURE})
    run_failure = next((e for e in reversed(ends) if e.event_type is EventType.RUN_FAILURE), None)
    if run_failure is not None and getattr(run_failure.data, "reason", None) is not None:
        return False
    return any(e.event_type is EventType.STEP_FAILURE for e in ends)


def _no(run: Run, reason: str) -> RetryDecision:
    return RetryDecision(run.run_id, False, reason, retry_run_id(run.run_id))


def plan_run_retry(instance: Instance, run: Run) -> RetryDecision:
    """Whether ``run`` is to be retried now, with what; reads the run's tags, the
    instance's ``run_retries`` settings and, when needed, why the run failed."""
    settings = instance.settings.run_retries
    retry_id = retry_run_id(run.run_id)
    if run.status is not RunStatus.FAILURE:
        return _no(run, f"Run {run.run_id} did not fail (it is {run.status}).")
    if not settings.enabled:
        return _no(run, "Run retries are not enabled (run_retries: enabled in trellis.yaml).")
    existing = run.tags.get(AUTO_RETRY_RUN_ID_TAG)
    if existing is not None or instance.get_run(retry_id) is not None:
        return _no(run, f"Run {run.run_id} was already retried as run {existing or retry_id}.")
    raw_max = _tag_value(run, MAX_RETRIES_TAG)
    if raw_max is None:
        max_retries = settings.max_retries
    else:
        try:
            max_retries = int(raw_max)
        except ValueError:
            max_retries = -1
        if max_retries < 0:
            return _no(
                run,
                f"Run {run.run_id} is not retried: its tag {MAX_RETRIES_TAG} is "
                f"{raw_max!r}, not a whole number of retries >= 0.",
            )
    raw_strategy = _tag_value(run, RETRY_STRATEGY_TAG) or RetryStrategy.FROM_FAILURE.value
    if raw_strategy not in RetryStrategy.__members__:
        return _no(
            run,
            f"Run {run.run_id} is not retried: its tag {RETRY_STRATEGY_TAG} is "
            f"{raw_strategy!r}; use FROM_FAILURE or ALL_STEPS.",
        )
    strategy = RetryStrategy(raw_strategy)
    try:
        number = int(run.tags.get(RETRY_NUMBER_TAG, "0")) + 1
    except ValueError:
        number = 1
    budget = RetryDecision(run.run_id, False, "", retry_id, number, max_retries, strategy)
    if number > max_retries:
        if max_retries == 0:
            return replace(budget, reason=f"Run {run.run_id} has no retries (max_retries 0).")
        return replace(
            budget,
            reason=f"Run {run.run_id} is not retried: it was retry {number - 1} of {max_retries}.",
        )
    raw_on_failure = _tag_value(run, RETRY_ON_ASSET_OR_OP_FAILURE_TAG)
    on_step_failure = (
        settings.retry_on_asset_or_op_failure
        if raw_on_failure is None
        else raw_on_failure.strip().lower() not in ("false", "0", "no")
    )
    if not on_step_failure and _failed_in_a_step(instance, run):
        return replace(
            budget,
            reason=f"Run {run.run_id} is not retried: a step failed, and "
            "retry_on_asset_or_op_failure is false (only runs whose process died are).",
        )
    return replace(
        budget,
        retry=True,
        reason=f"Retrying run {run.run_id} as run {retry_id} (retry {number} of "
        f"{max_retries}, {strategy.value}).",
    )


def _note(instance: Instance, run: Run, message: str, level: int = logging.INFO) -> None:
    """An ``ENGINE_EVENT`` on the failed run (``trellis run logs`` shows it)."""
    try:
        event = event_factory.engine_event(run.run_id, run.job_name, message, level=level)
        instance.handle_new_events([event], run)
    except InstanceError as exc:
        log.warning("Could not record on run %s: %s (%s)", run.run_id, message, exc)


def execute_run_retry(
    instance: Instance, job: JobDefinition, decision: RetryDecision
) -> ExecuteInProcessResult | None:
    """Create and run (in this process) the retry ``decision`` describes, as a
    re-execution of the failed run; None when another caller created it first. The failed
    run gets an ``ENGINE_EVENT`` naming its retry, then the tag
    ``dagster/auto_retry_run_id``."""
    from trellis.api.reexecution import reexecute_run

    if not decision.retry:
        raise InstanceError(f"Run {decision.run_id} is not to be retried: {decision.reason}")
    failed = instance.get_run(decision.run_id)
    if failed is None:
        raise InstanceError(f"No run with id '{decision.run_id}' to retry.")
    noted: list[bool] = []
    parent: Run = failed

    def note_once(event: Event) -> None:
        # the retry run is stored (its first event): say so on the failed run, once
        if not noted:
            noted.append(True)
            _note(instance, parent, decision.reason)

    try:
        result = reexecute_run(
            job,
            failed.run_id,
            instance=instance,
            from_failure=decision.strategy is RetryStrategy.FROM_FAILURE,
            tags={
                RETRY_NUMBER_TAG: str(decision.retry_number),
                RETRY_STRATEGY_TAG: decision.strategy.value,
            },
            run_id=decision.retry_run_id,
            on_event=note_once,
        )
    except InstanceError:
        if instance.get_run(decision.retry_run_id) is not None:
            return None  # another process stored the retry first
        raise
    failed = instance.get_run(failed.run_id) or failed
    failed.tags[AUTO_RETRY_RUN_ID_TAG] = decision.retry_run_id
    instance.update_run(failed)
    return result


REEXECUTION_TAG = "trellis/reexecution"
"""On a queued retry run: its process re-executes the parent run (``FROM_FAILURE`` or
``ALL_STEPS``), planning which steps to run once it has loaded the job."""

_NOT_INHERITED = (PID_TAG, HOST_TAG, PID_NAMESPACE_TAG, AUTO_RETRY_RUN_ID_TAG)


def enqueue_run_retry(
    instance: Instance, decision: RetryDecision, *, code_location_tag: str | None = None
) -> Run | None:
    """Put the retry ``decision`` describes in the run queue (status QUEUED, with the id
    derived from the failed run, its parent and root, the failed run's config, selection
    and tags plus ``dagster/retry_number``, ``dagster/retry_strategy`` and
    ``trellis/reexecution``); the run queue launches it within its limits and its process
    plans the re-execution. The failed run gets an ``ENGINE_EVENT`` naming its retry and
    the tag ``dagster/auto_retry_run_id``. None when the retry was already stored
    (another daemon, or this one before a restart): then only the failed run's tag is
    completed. ``code_location_tag`` is used when the failed run has none (it ran in a
    process that did not record where its code is)."""
    if not decision.retry:
        raise InstanceError(f"Run {decision.run_id} is not to be retried: {decision.reason}")
    failed = instance.get_run(decision.run_id)
    if failed is None:
        raise InstanceError(f"No run with id '{decision.run_id}' to retry.")
    tags = {k: v for k, v in failed.tags.items() if k not in _NOT_INHERITED}
    if code_location_tag and CODE_LOCATION_TAG not in tags:
        tags[CODE_LOCATION_TAG] = code_location_tag
    root = failed.root_run_id or failed.run_id
    tags.update(
        {
            RETRY_NUMBER_TAG: str(decision.retry_number),
            RETRY_STRATEGY_TAG: decision.strategy.value,
            REEXECUTION_TAG: decision.strategy.value,
            PARENT_RUN_ID_TAG: failed.run_id,
            ROOT_RUN_ID_TAG: root,
        }
    )
    retry = Run(
        decision.retry_run_id,
        failed.job_name,
        run_config=failed.run_config,
        tags=tags,
        op_selection=failed.op_selection,
        asset_selection=failed.asset_selection,
        asset_check_selection=failed.asset_check_selection,
        parent_run_id=failed.run_id,
        root_run_id=root,
    )
    made: Run | None
    try:
        made = instance.submit_run(retry)
    except InstanceError:
        if instance.get_run(decision.retry_run_id) is None:
            raise
        made = None  # stored first by another daemon
    if made is not None:
        _note(instance, failed, decision.reason)
    mark_retried(instance, failed.run_id, decision.retry_run_id)
    return made


def mark_retried(instance: Instance, run_id: str, retry_id: str) -> None:
    """Tag the failed run ``run_id`` with ``dagster/auto_retry_run_id`` (when not yet)."""
    failed = instance.get_run(run_id)
    if failed is not None and failed.tags.get(AUTO_RETRY_RUN_ID_TAG) != retry_id:
        failed.tags[AUTO_RETRY_RUN_ID_TAG] = retry_id
        instance.update_run(failed)


def retry_failed_runs(
    instance: Instance,
    definitions: Definitions | Callable[[], Definitions],
    *,
    created_after: float | None = None,
    limit: int | None = None,
) -> list[str]:
    """Retry every failed run of the instance that is due a retry (``plan_run_retry``),
    each in this process, one after the other; return the ids of the retry runs made.

    ``definitions`` is the code location's ``Definitions`` (or a function returning it,
    called only when some run is to be retried): each retry runs the job of the failed
    run's name. A run whose job is gone gets an ``ENGINE_EVENT`` saying so and is
    skipped. Runs whose process died are marked failed first. ``created_after`` (seconds
    since the epoch) and ``limit`` bound which failed runs are looked at (a daemon keeps
    a cursor)."""
    if not instance.settings.run_retries.enabled:
        return []
    instance.mark_dead_runs_failed()  # runs whose process died are failed runs too
    failed = instance.get_runs(
        statuses=[RunStatus.FAILURE], created_after=created_after, limit=limit
    )
    made: list[str] = []
    loaded: Definitions | None = None
    for run in reversed(failed):  # oldest first
        decision = plan_run_retry(instance, run)
        if not decision.retry:
            continue
        if loaded is None:
            loaded = definitions() if callable(definitions) else definitions
        try:
            job = loaded.get_job_def(run.job_name)
        except TrellisError as exc:
            _note(instance, run, f"Run {run.run_id} cannot be retried: {exc}", logging.ERROR)
            continue
        if execute_run_retry(instance, job, decision) is not None:
            made.append(decision.retry_run_id)
    return made


def retry_run(instance: Instance, job: JobDefinition, run_id: str) -> ExecuteInProcessResult | None:
    """Retry one failed run of ``job`` now if it is due a retry (the same rules as
    ``retry_failed_runs``); the retry's result, or None when it is not retried
    (``plan_run_retry`` says why)."""
    run = instance.get_run(run_id)
    if run is None:
        raise InstanceError(f"No run with id '{run_id}' to retry.")
    decision = plan_run_retry(instance, run)
    if not decision.retry:
        return None
    return execute_run_retry(instance, job, decision)


def retries_of(instance: Instance, run_id: str) -> Iterable[Run]:
    """The chain of retries of a run, first retry first (each retries the one before)."""
    current = run_id
    while True:
        found = instance.get_run(retry_run_id(current))
        if found is None:
            return
        yield found
        current = found.run_id
