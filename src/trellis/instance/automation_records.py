"""``AutomationEvaluationRecord``: one asset's declarative-automation evaluation as the
instance stores it (table ``asset_automation_evaluations``), and the in-memory store the
ephemeral back end keeps them in.

The body is JSON written by ``trellis.automation.records`` (the condition tree with what
each node was true for, and what was requested); storage only keeps and returns it.
Records are keyed by asset and evaluation id: storing one again (a tick retried after a
crash) replaces it.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from trellis.core.asset_key import AssetKey


@dataclass(frozen=True)
class AutomationEvaluationRecord:
    """One evaluation of one asset's automation condition: the asset, the evaluation's
    number and time (seconds since the epoch), how many partitions (or 1 for an
    unpartitioned asset) it requested, and the JSON body (the result tree)."""

    asset_key: AssetKey
    evaluation_id: int
    timestamp: float
    num_requested: int
    body: dict[str, Any]


class AutomationRecordsMixin:
    """In-memory keeping of evaluation records, for ``InMemoryStorage``."""

    _automation_lock: threading.Lock
    _automation_records: dict[AssetKey, dict[int, AutomationEvaluationRecord]]

    def _automation_init(self) -> None:
        self._automation_lock = threading.Lock()
        self._automation_records = {}

    def add_automation_evaluations(self, records: Sequence[AutomationEvaluationRecord]) -> None:
        """Store evaluation records (one with the asset and id of a stored one replaces
        it)."""
        with self._automation_lock:
            for record in records:
                self._automation_records.setdefault(record.asset_key, {})[record.evaluation_id] = (
                    record
                )

    def get_automation_evaluations(
        self, key: AssetKey, limit: int | None = None, before_evaluation_id: int | None = None
    ) -> list[AutomationEvaluationRecord]:
        """An asset's evaluation records, newest first."""
        with self._automation_lock:
            records = list(self._automation_records.get(key, {}).values())
        if before_evaluation_id is not None:
            records = [r for r in records if r.evaluation_id < before_evaluation_id]
        records.sort(key=lambda r: (r.evaluation_id, r.timestamp), reverse=True)
        return records[:limit] if limit is not None else records

    def get_max_automation_evaluation_id(self) -> int | None:
        """The highest evaluation id stored for any asset (None: none stored)."""
        with self._automation_lock:
            ids = [i for by_id in self._automation_records.values() for i in by_id]
        return max(ids, default=None)
