"""The asset check index, what every back end shares: which stored events are check
evaluations, the row each one gets (``asset_check_evaluations`` in SQL), and the
in-memory index of ``InMemoryStorage``.

A check's history is its ``ASSET_CHECK_EVALUATION`` events, newest first, by storage id;
its latest evaluation is the first of them. Deleting a run drops its evaluations; wiping
an asset drops the history of its checks.
"""

from __future__ import annotations

import threading
from collections.abc import Collection, Iterable, Sequence
from typing import TYPE_CHECKING, Any, NamedTuple

from trellis.core.asset_checks import AssetCheckKey
from trellis.core.events import Event, EventType

if TYPE_CHECKING:
    from trellis.core.asset_key import AssetKey
    from trellis.instance.storage import EventRecord

CHECK_EVALUATION = EventType.ASSET_CHECK_EVALUATION
SUCCEEDED, FAILED = "SUCCEEDED", "FAILED"


class CheckRow(NamedTuple):
    """The index entry of one evaluation (the event's storage id is added on insert)."""

    asset_key: AssetKey
    check_name: str
    run_id: str
    status: str
    severity: str
    timestamp: float
    partition: str | None


def check_row(event: Event) -> CheckRow | None:
    """The index entry of a stored event: one for each ``ASSET_CHECK_EVALUATION``."""
    evaluation = getattr(event.data, "evaluation", None)
    if event.event_type is not CHECK_EVALUATION or evaluation is None:
        return None
    return CheckRow(
        evaluation.asset_key,
        evaluation.check_name,
        event.run_id,
        SUCCEEDED if evaluation.passed else FAILED,
        evaluation.severity.value,
        event.timestamp,
        evaluation.partition,
    )


def page(
    records: Sequence[EventRecord], limit: int | None, before_cursor: int | None
) -> list[EventRecord]:
    """``records`` (newest first) below ``before_cursor``, at most ``limit``."""
    if before_cursor is not None:
        records = [r for r in records if r.storage_id < before_cursor]
    return list(records[:limit] if limit is not None else records)


class InMemoryCheckIndex:
    """The check index of an in-memory instance: each check's evaluation records, oldest
    first."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._records: dict[AssetCheckKey, list[EventRecord]] = {}

    def add(self, record: EventRecord) -> None:
        """Index a stored event (ignored unless it is a check evaluation)."""
        row = check_row(record.event)
        if row is None:
            return
        key = AssetCheckKey(row.asset_key, row.check_name)
        with self._lock:
            self._records.setdefault(key, []).append(record)

    def history(
        self, key: AssetCheckKey, limit: int | None, before_cursor: int | None
    ) -> list[EventRecord]:
        """One check's evaluations, newest first."""
        with self._lock:
            records = list(reversed(self._records.get(key, ())))
        return page(records, limit, before_cursor)

    def latest(self, keys: Iterable[AssetCheckKey]) -> dict[AssetCheckKey, EventRecord]:
        """The newest evaluation of each of ``keys`` that has one."""
        with self._lock:
            return {k: self._records[k][-1] for k in keys if self._records.get(k)}

    def forget_runs(self, run_ids: Collection[str]) -> None:
        """Drop the evaluations of deleted runs."""
        with self._lock:
            for key, records in list(self._records.items()):
                kept = [r for r in records if r.event.run_id not in run_ids]
                if kept:
                    self._records[key] = kept
                else:
                    del self._records[key]

    def forget_assets(self, asset_keys: Collection[Any]) -> None:
        """Drop the history of the checks of wiped assets."""
        with self._lock:
            for key in [k for k in self._records if k.asset_key in asset_keys]:
                del self._records[key]
