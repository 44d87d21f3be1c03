"""The cursor of a ``@multi_asset_sensor``: one entry per monitored asset, read at the
start of a tick and rewritten at its end from the records the sensor consumed.

An asset's entry holds the storage id of the newest materialization consumed (and its
partition), plus, for partitioned assets, the newest unconsumed materialization of each
partition that is older than that id (the "trailing unconsumed" ones: a sensor that
consumed partition B's record but not the earlier record of partition A must still see
A's on the next tick). It is stored as JSON, an object of asset key (the user string) to
either a bare storage id (an entry with no partition and nothing trailing; the format
of earlier cursors, still read) or ``[partition, storage_id, {partition: storage_id}]``
(the shape Dagster stores).

Consuming a partitioned record also consumes the older records of its partition.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from trellis.core.asset_key import AssetKey
from trellis.core.errors import InvalidInvocationError, InvariantViolationError

MAX_TRAILING_UNCONSUMED = 25  # unconsumed partitions kept per asset behind its cursor
_PAGE = 1000  # materialization records read per storage query


@dataclass(frozen=True)
class AssetCursor:
    """One asset's entry: the newest consumed materialization (``storage_id``, its
    ``partition``) and the newest unconsumed one of each partition older than it."""

    partition: str | None = None
    storage_id: int | None = None
    trailing: Mapping[str, int] = field(default_factory=dict)

    @property
    def after(self) -> int:
        """The storage id above which records are new (0 when nothing was consumed)."""
        return self.storage_id or 0

    def to_json(self) -> Any:
        """The stored form: a bare id when there is nothing else to keep."""
        if self.partition is None and not self.trailing:
            return self.storage_id
        return [self.partition, self.storage_id, dict(sorted(self.trailing.items()))]


def _bad_cursor(cursor: str, sensor_name: str | None, why: str) -> InvalidInvocationError:
    return InvalidInvocationError(
        f"The cursor {cursor!r} of multi-asset sensor '{sensor_name}' is not one it wrote "
        f"({why}; expected a JSON object of asset key to a storage id or to "
        "[partition, storage_id, {partition: storage_id}]); reset it with trellis sensor "
        "cursor NAME --delete."
    )


def _entry(value: Any) -> AssetCursor | None:
    """One stored entry, or None when it is not one."""
    if isinstance(value, int) and not isinstance(value, bool):
        return AssetCursor(None, value, {})
    if isinstance(value, list) and len(value) == 3:
        partition, storage_id, trailing = value
        if (
            (partition is None or isinstance(partition, str))
            and (storage_id is None or (isinstance(storage_id, int) and storage_id >= 0))
            and isinstance(trailing, dict)
            and all(isinstance(k, str) and isinstance(v, int) for k, v in trailing.items())
        ):
            return AssetCursor(partition, storage_id, dict(trailing))
    return None


def parse_cursor(cursor: str | None, sensor_name: str | None) -> dict[AssetKey, AssetCursor]:
    """The entries of a stored cursor (empty for None or ``""``)."""
    if not cursor:
        return {}
    try:
        stored = json.loads(cursor)
    except ValueError:
        raise _bad_cursor(cursor, sensor_name, "not JSON") from None
    if not isinstance(stored, dict):
        raise _bad_cursor(cursor, sensor_name, "not a JSON object")
    entries: dict[AssetKey, AssetCursor] = {}
    for key, value in stored.items():
        entry = _entry(value)
        if entry is None:
            raise _bad_cursor(cursor, sensor_name, f"the entry of {key!r} is {value!r}")
        entries[AssetKey.from_user_string(key)] = entry
    return entries


def dump_cursor(entries: Mapping[AssetKey, AssetCursor]) -> str:
    """The stored form of ``entries`` (assets in key order, empty entries left out)."""
    stored = {
        key.to_user_string(): entry.to_json()
        for key, entry in sorted(entries.items())
        if entry.storage_id is not None or entry.trailing
    }
    return json.dumps(stored, separators=(",", ":"))


def cursor_at_latest_materializations(instance: Any, keys: Iterable[AssetKey]) -> str:
    """A cursor that has consumed every materialization of ``keys`` so far."""
    entries: dict[AssetKey, AssetCursor] = {}
    for key in keys:
        latest = instance.get_latest_materialization_record(key)
        if latest is not None:
            entries[key] = AssetCursor(latest.event.partition, latest.storage_id, {})
    return dump_cursor(entries)


def records_between(
    instance: Any, key: AssetKey, after: int, before: int | None = None
) -> list[Any]:
    """The materializations of ``key`` with ``after < storage_id < before``, oldest
    first (read newest first in pages, down to ``after``)."""
    found: list[Any] = []
    cursor = before
    while True:
        page = instance.get_materialization_records(key, limit=_PAGE, before_cursor=cursor)
        for record in page:
            if record.storage_id <= after:
                return found[::-1]
            found.append(record)
        if len(page) < _PAGE:
            return found[::-1]
        cursor = page[-1].storage_id


def records_with_ids(instance: Any, key: AssetKey, ids: Iterable[int]) -> list[Any]:
    """The materializations of ``key`` whose storage ids are ``ids``, oldest first
    (ids no longer stored, after a wipe, are left out)."""
    wanted = set(ids)
    if not wanted:
        return []
    between = records_between(instance, key, min(wanted) - 1, max(wanted) + 1)
    return [record for record in between if record.storage_id in wanted]


@dataclass
class CursorAdvances:
    """The records a tick consumed (``advance_cursor``), per asset, and whether
    ``advance_all_cursors`` was called (which also consumes every trailing record)."""

    consumed: dict[AssetKey, dict[int, str | None]] = field(default_factory=dict)
    all_advanced: bool = False

    def add(self, key: AssetKey, record: Any) -> None:
        """Mark ``record`` (a materialization of ``key``) consumed."""
        partition = getattr(record.event, "partition", None)
        self.consumed.setdefault(key, {})[int(record.storage_id)] = partition

    def next_entry(
        self,
        key: AssetKey,
        start: AssetCursor,
        trailing_records: Callable[[], Sequence[Any]],
        instance: Any,
    ) -> AssetCursor:
        """``key``'s entry after this tick, from its entry at the start of the tick."""
        consumed = self.consumed.get(key)
        if not consumed:  # nothing new; advance_all_cursors still drops the passed-over
            return (
                AssetCursor(start.partition, start.storage_id, {}) if self.all_advanced else start
            )
        newest = max(consumed)
        moved = newest > start.after
        trailing: dict[str, int] = {}
        if not self.all_advanced:
            trailing = dict(start.trailing)
            candidates = list(trailing_records())
            if moved:
                candidates += records_between(instance, key, start.after, newest)
            for record in candidates:
                partition = record.event.partition
                if partition is None:
                    continue
                if record.storage_id in consumed:
                    trailing.pop(partition, None)
                else:
                    trailing[partition] = record.storage_id
            newest_partition = consumed[newest]
            if newest_partition is not None:
                trailing.pop(newest_partition, None)
            if len(trailing) > MAX_TRAILING_UNCONSUMED:
                raise InvariantViolationError(
                    f"Asset '{key.to_user_string()}' has {len(trailing)} partitions whose "
                    f"newest materialization was passed over (more than "
                    f"{MAX_TRAILING_UNCONSUMED} are not kept): consume them with "
                    "context.advance_cursor (context.get_trailing_unconsumed_events lists "
                    "them), or drop them all with context.advance_all_cursors()."
                )
        if moved:
            return AssetCursor(consumed[newest], newest, trailing)
        return AssetCursor(start.partition, start.storage_id, trailing)
