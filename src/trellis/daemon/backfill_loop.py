"""The ``backfill`` loop: moves each backfill in progress along its stored plan
(``trellis.api.backfill``).

Each round, for every REQUESTED backfill: the runs of its plan whose predecessors have
all succeeded are created and put in the run queue (``submit_run``), oldest first; its
counts per partition state are brought up to date; once nothing is left to launch or
wait for, it ends COMPLETED (every run succeeded) or FAILED (some run did not; the runs
after it are never launched). For a CANCELING backfill it launches nothing, cancels its
queued runs, asks its running runs to stop, and marks it CANCELED once none is left.

No run launched twice, across crashes: each run of the plan has a run key (the
backfill's id and the run's index) reserved in the instance with the new run's id
before the run is submitted. A daemon killed after reserving finds the key taken when
it restarts: by a run that exists (recorded, not launched again) or by a run the crash
kept from being created (created now, under the reserved id). The record's cursor
(which runs were launched) is rewritten at the end of each round.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

from trellis.core.run import (
    CODE_LOCATION_TAG,
    PARTITION_RANGE_END_TAG,
    PARTITION_RANGE_START_TAG,
    PARTITION_TAG,
    Run,
    RunStatus,
    new_run_id,
)
from trellis.daemon.code_location import CodeLocation
from trellis.daemon.loop import DaemonLoop
from trellis.instance.backfills import (
    BACKFILL_CHUNK_TAG,
    BACKFILL_TAG,
    BackfillChunk,
    BackfillRecord,
    BackfillStatus,
    chunk_states,
    partition_state,
)

log = logging.getLogger("trellis.daemon.backfill")

DEFAULT_BACKFILL_INTERVAL = 1.0
_IN_PROGRESS = (RunStatus.QUEUED, RunStatus.STARTING, RunStatus.STARTED, RunStatus.CANCELING)


def run_key_owner(backfill_id: str) -> str:
    """The name the run keys of a backfill's runs are reserved under."""
    return f"backfill:{backfill_id}"


class BackfillLoop(DaemonLoop):
    """Launches, follows and cancels the runs of backfills (see the module docstring)."""

    name = "backfill"

    def __init__(
        self,
        instance: Any,
        location: CodeLocation,
        interval: float = DEFAULT_BACKFILL_INTERVAL,
        on_runs: Callable[[], None] | None = None,
    ) -> None:
        super().__init__(interval)
        self.instance = instance
        self.location = location
        self.on_runs = on_runs

    def run_iteration(self, now: float) -> None:
        """One round over the backfills in progress."""
        self.last_run = now
        launched = 0
        active = self.instance.get_backfills(
            statuses=(BackfillStatus.REQUESTED, BackfillStatus.CANCELING)
        )
        for record in sorted(active, key=lambda r: r.create_timestamp):
            launched += self.advance(record)
        self.info = {"backfills": len(active), "launched": launched}
        if launched and self.on_runs is not None:
            self.on_runs()

    def advance(self, record: BackfillRecord) -> int:
        """One round for one backfill; how many runs it launched."""
        runs = {
            r.run_id: r for r in self.instance.get_runs(tags={BACKFILL_TAG: record.backfill_id})
        }
        states = self._states(record, runs)
        known = dict(record.launched)
        launched = 0
        if record.status is BackfillStatus.REQUESTED:
            for index, state in enumerate(states):
                if state == "ready":
                    run = self.launch_chunk(record, index)
                    runs[run.run_id] = run
                    launched += 1
            states = self._states(record, runs)
        else:
            self._cancel_runs(record, runs)
            states = self._states(record, runs)
        self._finish(record, states, runs, changed=known != record.launched)
        return launched

    def _states(self, record: BackfillRecord, runs: dict[str, Run]) -> list[str]:
        """Per run of the plan: ready, waiting, blocked, or the state of its run."""
        return chunk_states(record, runs)

    def launch_chunk(self, record: BackfillRecord, index: int) -> Run:
        """Create and queue the run of chunk ``index``, once (see the module docstring)."""
        fresh = new_run_id()
        owner = run_key_owner(record.backfill_id)
        run_id = self.instance.add_run_key(owner, str(index), fresh, time.time())
        existing = self.instance.get_run(run_id) if run_id != fresh else None
        if existing is not None:
            record.launched[index] = run_id
            return existing  # type: ignore[no-any-return]
        run = Run(
            run_id,
            record.job_name,
            run_config={},
            tags=self._tags(record, index, record.chunks[index]),
            asset_selection=list(record.chunks[index].asset_keys),
        )
        self.instance.submit_run(run)
        record.launched[index] = run_id
        return run

    def _tags(self, record: BackfillRecord, index: int, chunk: BackfillChunk) -> dict[str, str]:
        tags = {
            **record.tags,
            BACKFILL_TAG: record.backfill_id,
            BACKFILL_CHUNK_TAG: str(index),
        }
        if chunk.range_run:
            tags[PARTITION_RANGE_START_TAG] = chunk.partition_keys[0]
            tags[PARTITION_RANGE_END_TAG] = chunk.partition_keys[-1]
        else:
            tags[PARTITION_TAG] = chunk.partition_keys[0]
        if self.location.tag is not None:  # unless the backfill names its code itself
            tags.setdefault(CODE_LOCATION_TAG, self.location.tag)
        return tags

    def _cancel_runs(self, record: BackfillRecord, runs: dict[str, Run]) -> None:
        for run_id, run in list(runs.items()):
            if run.status is RunStatus.QUEUED:
                self.instance.cancel_queued_run(
                    run_id, f"Backfill {record.backfill_id} was canceled."
                )
            elif run.status in (RunStatus.STARTING, RunStatus.STARTED):
                self.instance.request_cancel(run_id)
            else:
                continue
            runs[run_id] = self.instance.get_run(run_id) or run

    def _finish(
        self, record: BackfillRecord, states: list[str], runs: dict[str, Run], changed: bool
    ) -> None:
        """Store the counts and, when the backfill is over, its end."""
        counts: dict[str, int] = {}
        for chunk, state in zip(record.chunks, states, strict=True):
            name = partition_state(state)
            counts[name] = counts.get(name, 0) + len(chunk.partition_keys) * len(chunk.asset_keys)
        live = any(s in ("in_progress", "ready", "waiting") for s in states)
        status = record.status
        if status is BackfillStatus.CANCELING:
            if not any(r.status in _IN_PROGRESS for r in runs.values()):
                status = BackfillStatus.CANCELED
        elif not live:
            ok = all(s == "materialized" for s in states)
            status = BackfillStatus.COMPLETED if ok else BackfillStatus.FAILED
        if counts == record.counts and status is record.status and not changed:
            return
        now = time.time()
        record.counts = counts
        record.update_timestamp = now
        if status is not record.status:
            record.status = status
            record.end_timestamp = now if status.is_finished else None
            log.info("Backfill %s is %s.", record.backfill_id, status.value)
        self.instance.update_backfill(record)
