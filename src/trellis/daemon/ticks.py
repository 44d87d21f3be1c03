"""What every schedule and sensor tick shares: starting (or resuming) the tick, turning
its run requests into queued runs exactly once, and recording its outcome with the
instigator's new cursor.

Exactly once, across crashes: a tick is stored (STARTED) before its user code runs, and
its outcome and the instigator's new cursor are stored together at the end. A daemon
killed in between finds the tick still STARTED when it restarts and evaluates it again
under the same tick id, from the same cursor. Every run request gets a run key before
its run is created: the user's ``run_key`` (a sensor's keys hold across all its ticks,
as in Dagster), else one made from the tick (``tick:<id>:<n>``, a schedule's from its
scheduled time), and the key is reserved in the instance with the new run's id
(``add_run_key``) before the run is submitted. A repeated request finds its key taken:
by a run that exists (it is not launched again) or by a run that the crash kept from
being created (created now, under the reserved id).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from trellis.core.errors import InvalidDefinitionError, InvariantViolationError
from trellis.core.run import CODE_LOCATION_TAG, PARTITION_TAG, SENSOR_NAME_TAG, Run, new_run_id
from trellis.daemon.code_location import CodeLocation
from trellis.defs.asset_job import IMPLICIT_ASSET_JOB_NAME
from trellis.defs.run_request import RunRequest
from trellis.instance.daemon_records import (
    InstigatorState,
    InstigatorStatus,
    InstigatorTick,
    InstigatorType,
    TickStatus,
)

log = logging.getLogger("trellis.daemon")

SCHEDULE_NAME_TAG = "trellis/schedule_name"
RUN_KEY_TAG = "trellis/run_key"
TICK_ID_TAG = "trellis/tick_id"
SCHEDULED_TIME_TAG = "trellis/scheduled_execution_time"


@dataclass
class TickOutcome:
    """What evaluating a tick produced, before its runs are created."""

    requests: list[RunRequest] = field(default_factory=list)
    skip_reason: str | None = None
    error: str | None = None
    cursor: str | None = None


def instigator_state(
    instance: Any, definition: Any, kind: InstigatorType, stored: InstigatorState | None, now: float
) -> InstigatorState:
    """The state of ``definition``: the stored one, else what its ``default_status``
    says (a default-RUNNING instigator with no state gets one stored, started now)."""
    if stored is not None:
        return stored
    running = getattr(definition.default_status, "value", "STOPPED") == "RUNNING"
    status = InstigatorStatus.RUNNING if running else InstigatorStatus.STOPPED
    state = InstigatorState(
        definition.name,
        kind,
        status,
        start_timestamp=now if running else None,
        update_timestamp=now,
    )
    if running:
        instance.set_instigator_state(state)
    return state


def start_tick(
    instance: Any, name: str, kind: InstigatorType, timestamp: float, cursor: str | None
) -> tuple[InstigatorTick, bool]:
    """The tick to evaluate: the instigator's newest tick if it is still STARTED (a
    daemon died during it: resumed under the same id and time), else a new STARTED
    tick at ``timestamp``. Also says whether it is a resumed one."""
    latest = instance.get_ticks(name, limit=1)
    if latest and latest[0].status is TickStatus.STARTED:
        return latest[0], True
    tick = InstigatorTick(name, kind, TickStatus.STARTED, timestamp, cursor=cursor)
    return instance.create_tick(tick), False


class RunCreator:
    """Turns a tick's run requests into queued runs, once per run key."""

    def __init__(self, instance: Any, location: CodeLocation) -> None:
        self.instance = instance
        self.location = location

    def _job_and_selection(
        self, definition: Any, request: RunRequest
    ) -> tuple[str, list[str] | None]:
        """The job a request runs and the asset keys it selects (user strings)."""
        keys = request.asset_selection
        job_name = request.job_name or getattr(definition, "job_name", None)
        defs = self.location.definitions
        if keys is None and job_name is None and request.asset_check_keys:
            keys = []  # the checks alone
        if keys is None and job_name is None:
            target = getattr(definition, "asset_selection", None)
            if target is None:
                target = getattr(definition, "target", None)
            if target is None:
                raise InvariantViolationError(
                    f"{definition.name} requested a run that names no job and no assets."
                )
            from trellis.defs.asset_selection import coerce_selection

            keys = sorted(coerce_selection(target).resolve(defs.asset_graph))
        if job_name is None:
            job_name = IMPLICIT_ASSET_JOB_NAME
        try:
            defs.get_job_def(job_name)
        except (InvalidDefinitionError, KeyError, ValueError) as exc:
            raise InvariantViolationError(
                f"{definition.name} requested a run of job '{job_name}', which the code "
                f"location does not define: {exc}"
            ) from None
        selection = sorted(k.to_user_string() for k in keys) if keys is not None else None
        return job_name, selection

    def _build_run(
        self,
        definition: Any,
        kind: InstigatorType,
        tick: InstigatorTick,
        request: RunRequest,
        run_id: str,
        run_key: str,
    ) -> Run:
        job_name, selection = self._job_and_selection(definition, request)
        name_tag = SCHEDULE_NAME_TAG if kind is InstigatorType.SCHEDULE else SENSOR_NAME_TAG
        tags = {**request.tags, name_tag: definition.name, TICK_ID_TAG: str(tick.tick_id)}
        if request.run_key is not None:
            tags[RUN_KEY_TAG] = request.run_key
        if kind is InstigatorType.SCHEDULE:
            tags[SCHEDULED_TIME_TAG] = repr(tick.timestamp)
        if request.partition_key is not None:
            tags[PARTITION_TAG] = request.partition_key
        if self.location.tag is not None:
            tags[CODE_LOCATION_TAG] = self.location.tag
        return Run(
            run_id,
            job_name,
            run_config=request.run_config,
            tags=tags,
            asset_selection=selection,
            asset_check_selection=(
                sorted(k.to_user_string() for k in request.asset_check_keys)
                if request.asset_check_keys is not None
                else None
            ),
        )

    def create_runs(
        self,
        definition: Any,
        kind: InstigatorType,
        tick: InstigatorTick,
        requests: Sequence[RunRequest],
    ) -> tuple[list[str], list[str], list[str]]:
        """Queue a run per request whose run key was never launched. Returns the ids of
        the tick's runs (created now, or by this same tick before a crash), their run
        keys, and the user run keys skipped because an earlier tick launched them."""
        run_ids: list[str] = []
        run_keys: list[str] = []
        skipped: list[str] = []
        for index, request in enumerate(requests):
            if request.run_key is not None:
                key = request.run_key
                if kind is InstigatorType.SCHEDULE:
                    key = f"{tick.timestamp!r}:{key}"
            elif kind is InstigatorType.SCHEDULE:
                key = f"{tick.timestamp!r}:{index}"
            else:
                key = f"tick:{tick.tick_id}:{index}"
            fresh = new_run_id()
            run_id = self.instance.add_run_key(definition.name, key, fresh, time.time())
            existing = self.instance.get_run(run_id) if run_id != fresh else None
            if existing is not None:
                if existing.tags.get(TICK_ID_TAG) == str(tick.tick_id):
                    run_ids.append(run_id)  # this tick made it before a crash
                    run_keys.append(key)
                else:
                    skipped.append(request.run_key or key)
                continue
            run = self._build_run(definition, kind, tick, request, run_id, key)
            self.instance.submit_run(run)
            run_ids.append(run_id)
            run_keys.append(key)
        return run_ids, run_keys, skipped


def finish_tick(
    instance: Any,
    tick: InstigatorTick,
    state: InstigatorState,
    outcome: TickOutcome,
    run_ids: list[str],
    run_keys: list[str],
    skipped: list[str],
    now: float,
) -> InstigatorTick:
    """Store the tick's outcome and the instigator's new cursor, in one transaction."""
    if outcome.error is not None:
        done = tick.with_changes(status=TickStatus.FAILURE, error=outcome.error, end_timestamp=now)
        # A sensor keeps its cursor (the tick is tried again later); a schedule moves past
        # the failed tick (outcome.cursor is its time).
        moved = None
        if outcome.cursor is not None:
            current = instance.get_instigator_state(state.name) or state
            moved = current.with_changes(cursor=outcome.cursor, update_timestamp=now)
        instance.update_tick(done, moved)
        return done
    skip = outcome.skip_reason
    if not run_ids and skipped and skip is None:
        listed = ", ".join(skipped)
        skip = f"Run keys already launched by earlier ticks: {listed}."
    # The stored state, not the one the tick began with: a `trellis sensor stop` during
    # the tick keeps its effect.
    state = instance.get_instigator_state(state.name) or state
    done = tick.with_changes(
        status=TickStatus.SUCCESS if run_ids else TickStatus.SKIPPED,
        run_ids=run_ids,
        run_keys=run_keys,
        skip_reason=None if run_ids else skip,
        cursor=outcome.cursor,
        end_timestamp=now,
    )
    instance.update_tick(done, state.with_changes(cursor=outcome.cursor, update_timestamp=now))
    return done


def complete_tick(
    instance: Any,
    creator: RunCreator,
    definition: Any,
    kind: InstigatorType,
    tick: InstigatorTick,
    state: InstigatorState,
    outcome: TickOutcome,
    now: float,
) -> InstigatorTick:
    """Queue the runs of an evaluated tick (once per run key) and store its outcome; a
    failure to create the runs (a job the location lacks) fails the tick instead."""
    run_ids: list[str] = []
    keys: list[str] = []
    skipped: list[str] = []
    if outcome.error is None and outcome.requests:
        try:
            run_ids, keys, skipped = creator.create_runs(definition, kind, tick, outcome.requests)
        except Exception as exc:
            from trellis.daemon.user_code import error_text

            # A schedule moves past the tick; a sensor keeps its cursor (tried again).
            moved = outcome.cursor if kind is InstigatorType.SCHEDULE else None
            outcome = TickOutcome(error=error_text(exc), cursor=moved)
    done = finish_tick(instance, tick, state, outcome, run_ids, keys, skipped, now)
    if done.error is not None:
        log.warning("%s '%s' failed:\n%s", kind.value.title(), definition.name, done.error)
    return done
