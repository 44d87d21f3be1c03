"""The partition status index: per asset, runs of consecutive partitions (by the ordinal
their partitions definition gives them) that were last MATERIALIZED or last FAILED
(table ``asset_partition_status``: one row per run, ``first_ordinal`` to
``last_ordinal``). It is written in the transaction that stores the events it follows, so
that the status of an asset is a read of its few rows, never a scan of its events.

The run engine works out the updates (``StatusUpdate``: an asset, an ordinal range, a
status) from the events of a run; storage applies each with ``apply_update``, the same
arithmetic on every back end: the rows the range overlaps or touches are replaced by
what is left of them, the new range, and the merges of neighbours of one status.
"""

from __future__ import annotations

import bisect
import threading
from collections.abc import Callable, Collection, Iterable, Sequence
from enum import StrEnum
from typing import NamedTuple


class AssetPartitionStatus(StrEnum):
    """What a partition of an asset is: MATERIALIZED (its latest attempt succeeded),
    FAILED (its latest attempt failed), IN_PROGRESS (a run in progress materializes it)
    or MISSING (none of these)."""

    MISSING = "MISSING"
    MATERIALIZED = "MATERIALIZED"
    FAILED = "FAILED"
    IN_PROGRESS = "IN_PROGRESS"


MATERIALIZED, FAILED = AssetPartitionStatus.MATERIALIZED, AssetPartitionStatus.FAILED


class StatusUpdate(NamedTuple):
    """Partitions ``first``..``last`` (ordinals) of ``asset_key`` (its stored form) are
    now ``status``."""

    asset_key: str
    first: int
    last: int
    status: str


class StatusRange(NamedTuple):
    """One stored run of partitions of one status."""

    first: int
    last: int
    status: str


def apply_update(
    neighbours: Sequence[StatusRange], update: StatusUpdate
) -> tuple[list[StatusRange], list[StatusRange]]:
    """What to delete and what to insert so that the ranges say ``update``:
    ``neighbours`` are the stored ranges of the asset that overlap or touch
    ``update.first - 1`` .. ``update.last + 1`` (others may be passed; they are kept)."""
    lo, hi = update.first, update.last
    touched = [r for r in neighbours if r.last >= lo - 1 and r.first <= hi + 1]
    pieces: list[StatusRange] = []
    for r in touched:
        if r.first < lo:
            pieces.append(StatusRange(r.first, min(r.last, lo - 1), r.status))
        if r.last > hi:
            pieces.append(StatusRange(max(r.first, hi + 1), r.last, r.status))
    pieces.append(StatusRange(lo, hi, update.status))
    pieces.sort()
    merged: list[StatusRange] = []
    for piece in pieces:
        if merged and merged[-1].status == piece.status and merged[-1].last + 1 >= piece.first:
            merged[-1] = StatusRange(
                merged[-1].first, max(merged[-1].last, piece.last), piece.status
            )
        else:
            merged.append(piece)
    unchanged = set(touched) & set(merged)
    return [r for r in touched if r not in unchanged], [r for r in merged if r not in unchanged]


def apply_updates(
    updates: Iterable[StatusUpdate],
    neighbours_of: Callable[[StatusUpdate], Sequence[StatusRange]],
    replace: Callable[[str, list[StatusRange], list[StatusRange]], None],
) -> None:
    """Apply ``updates`` in order through a back end's reads (``neighbours_of``) and
    writes (``replace(asset_key, deleted, inserted)``)."""
    for update in updates:
        deleted, inserted = apply_update(neighbours_of(update), update)
        if deleted or inserted:
            replace(update.asset_key, deleted, inserted)


def rebuilt_ranges(
    rebuilt: Sequence[StatusRange], existing: Sequence[StatusRange], keep_newer: bool
) -> list[StatusRange]:
    """The ranges to store for an asset rebuilt from its events: ``rebuilt``, with the
    ``existing`` rows over it when ``keep_newer`` (rows written since the history was
    read, or since the index began, are newer than any event before it)."""
    ranges = sorted(rebuilt)
    if not keep_newer:
        return ranges
    for r in existing:
        deleted, inserted = apply_update(ranges, StatusUpdate("", r.first, r.last, r.status))
        gone = set(deleted)
        ranges = sorted([x for x in ranges if x not in gone] + inserted)
    return ranges


class InMemoryPartitionStatus:
    """The partition status index of an in-memory instance: each asset's ranges, sorted."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._ranges: dict[str, list[StatusRange]] = {}

    def apply(self, updates: Sequence[StatusUpdate]) -> None:
        """Apply a batch of updates."""
        with self._lock:
            apply_updates(updates, self._neighbours, self._replace)

    def _neighbours(self, update: StatusUpdate) -> list[StatusRange]:
        ranges = self._ranges.get(update.asset_key, [])
        i = max(bisect.bisect_left(ranges, (update.first,)) - 1, 0)
        j = bisect.bisect_right(ranges, (update.last + 2,))
        return ranges[i:j]

    def _replace(
        self, asset_key: str, deleted: list[StatusRange], inserted: list[StatusRange]
    ) -> None:
        ranges = self._ranges.setdefault(asset_key, [])
        gone = set(deleted)
        ranges[:] = sorted([r for r in ranges if r not in gone] + inserted)

    def ranges(self, asset_keys: Collection[str]) -> dict[str, list[StatusRange]]:
        """The stored ranges of each of ``asset_keys``, by first ordinal."""
        with self._lock:
            return {k: list(self._ranges.get(k, ())) for k in asset_keys}

    def replace(self, asset_key: str, rebuilt: Sequence[StatusRange], keep_newer: bool) -> None:
        """Store an asset's ranges rebuilt from its events (``rebuilt_ranges``)."""
        with self._lock:
            existing = self._ranges.get(asset_key, [])
            self._ranges[asset_key] = rebuilt_ranges(rebuilt, existing, keep_newer)

    def forget_assets(self, asset_keys: Collection[str]) -> None:
        """Drop the status of wiped assets."""
        with self._lock:
            for key in asset_keys:
                self._ranges.pop(key, None)
