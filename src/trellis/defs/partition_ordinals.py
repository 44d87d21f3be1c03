"""The ordinals the partition status index files partitions under, for every kind of
partitions definition, and the partitions that exist as ordered runs of ordinals.

An ordinal must never move once a row of the index holds it:

- static keys: the key's position in the list; time windows: the window's tick number
  (both ``PartitionsDefinition.partition_ordinal``);
- dynamic keys: the id of the key's row in the instance's dynamic partitions table (ids
  only grow and are never reused, so adding keys shifts nothing and a deleted key's
  ordinal simply stops existing);
- multi-dimensional keys: ``group * STRIDE + OFFSET + along``, where ``along`` is the
  ordinal of the key in the *along* dimension (the time-window one, else the second by
  name) and ``group`` its ordinal in the other. Stored runs are then runs along time for
  one value of the other dimension, and the number of windows growing with the clock
  moves nothing.

``segments`` lists the partitions that exist now: one segment per definition, or one per
group key of a multi-dimensional one, each a sorted sequence of ordinals and their keys.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from datetime import datetime
from typing import Any, NamedTuple

from trellis.core.errors import InvariantViolationError
from trellis.defs.dynamic_partitions import (
    DynamicPartitionsDefinition,
    using_dynamic_partitions_store,
)
from trellis.defs.multi_partitions import MultiPartitionKey, MultiPartitionsDefinition
from trellis.defs.partitions import PartitionKeyRange, PartitionsDefinition

STRIDE = 1 << 36  # ordinals of one group of a multi-dimensional definition
OFFSET = 1 << 35  # so that a negative tick number stays inside its group
_MAX_GROUP = 1 << 26  # STRIDE * _MAX_GROUP stays below 2**63 (BIGINT)


class Segment(NamedTuple):
    """Existing partitions in index order: ``ordinals`` (sorted; a ``range`` when they are
    consecutive), ``key_at(i)`` the key of ``ordinals[i]``; ``group``, for a
    multi-dimensional definition, the key of the grouping dimension they share."""

    ordinals: Sequence[int]
    key_at: Callable[[int], str]
    group: str | None = None


def is_indexable(pdef: PartitionsDefinition) -> bool:
    """Whether the index keeps this definition's status (every kind Trellis has)."""
    if isinstance(pdef, MultiPartitionsDefinition):
        return all(is_indexable(d.partitions_def) for d in pdef.partitions_defs)
    if isinstance(pdef, DynamicPartitionsDefinition):
        return True
    return type(pdef).partition_ordinal is not PartitionsDefinition.partition_ordinal


def multi_dimensions(pdef: MultiPartitionsDefinition) -> tuple[str, str]:
    """``(group dimension, along dimension)``: along is the time-window dimension, else
    the second dimension by name."""
    names = pdef.partition_dimension_names
    timed = pdef.time_window_dimension
    along = timed.name if timed is not None else names[1]
    group = names[0] if names[1] == along else names[1]
    return group, along


def partition_ordinal(pdef: PartitionsDefinition, key: str, store: Any) -> int | None:
    """The ordinal of ``key`` (None when it is not a partition the index can file:
    an unknown dynamic key, a malformed multi key). ``store`` (an instance) holds the
    dynamic keys."""
    if isinstance(pdef, DynamicPartitionsDefinition):
        found = _checked_store(pdef, store).get_dynamic_partition_ordinals(pdef.name, [key])
        return found[0][0] if found else None
    if isinstance(pdef, MultiPartitionsDefinition):
        parts = _parts(pdef, key)
        if parts is None:
            return None
        group_dim, along_dim = multi_dimensions(pdef)
        group = partition_ordinal(pdef.get_partitions_def_for_dimension(group_dim), parts[0], store)
        along = partition_ordinal(pdef.get_partitions_def_for_dimension(along_dim), parts[1], store)
        return _combine(group, along)
    return pdef.partition_ordinal(key)


def _parts(pdef: MultiPartitionsDefinition, key: str) -> tuple[str, str] | None:
    """``(group key, along key)`` of a multi key, or None when it is not one."""
    names = pdef.partition_dimension_names
    by_dim = getattr(key, "keys_by_dimension", None)
    if by_dim is None:
        split = key.split("|") if isinstance(key, str) else []
        if len(split) != len(names):
            return None
        by_dim = dict(zip(names, split, strict=True))
    group_dim, along_dim = multi_dimensions(pdef)
    return by_dim[group_dim], by_dim[along_dim]


def _combine(group: int | None, along: int | None) -> int | None:
    if group is None or along is None or not 0 <= group < _MAX_GROUP or abs(along) >= OFFSET:
        return None
    return group * STRIDE + OFFSET + along


def ordinal_spans(ordinals: Iterable[int | None]) -> list[tuple[int, int]]:
    """Ordinals (None ignored) as runs of consecutive ones, ``(first, last)`` each."""
    spans: list[tuple[int, int]] = []
    for n in sorted({n for n in ordinals if n is not None}):
        if spans and spans[-1][1] + 1 == n:
            spans[-1] = (spans[-1][0], n)
        else:
            spans.append((n, n))
    return spans


def range_ordinal_spans(
    pdef: PartitionsDefinition,
    start: str,
    end: str,
    store: Any,
    ordinal: Callable[[PartitionsDefinition, str, Any], int | None] = partition_ordinal,
) -> list[tuple[int, int]]:
    """The partitions ``start`` .. ``end`` of ``pdef`` (a run's range) as runs of
    consecutive ordinals; none when the range names no partitions of it."""
    if start == end:
        return ordinal_spans([ordinal(pdef, start, store)])
    first, last = pdef.partition_ordinal(start), pdef.partition_ordinal(end)
    if first is not None:  # consecutive ordinals: static keys, time windows
        return [] if last is None or last < first else [(first, last)]
    try:
        with using_dynamic_partitions_store(store):
            keys = pdef.get_partition_keys_in_range(PartitionKeyRange(start, end))
    except InvariantViolationError:  # a range the definition does not have
        return []
    return ordinal_spans(ordinal(pdef, k, store) for k in keys)


def segments(
    pdef: PartitionsDefinition, store: Any, current_time: datetime | None
) -> list[Segment]:
    """The partitions that exist at ``current_time``, as segments in index order (none
    when there are none yet)."""
    if isinstance(pdef, MultiPartitionsDefinition):
        return _multi_segments(pdef, store, current_time)
    return [s for s in [_single_segment(pdef, store, current_time)] if s is not None]


def _single_segment(pdef: PartitionsDefinition, store: Any, now: datetime | None) -> Segment | None:
    if isinstance(pdef, DynamicPartitionsDefinition):
        rows = _dynamic_rows(pdef, store)
        if not rows:
            return None
        ids, keys = _columns(pdef.name, rows)
        return Segment(ids, keys.__getitem__)
    bounds = pdef.ordinal_bounds(now)
    if bounds is None:
        return None
    lo, hi = bounds
    key_at = pdef.partition_key_at

    def key_of(i: int) -> str:
        return key_at(lo + i)

    return Segment(range(lo, hi + 1), key_of)


_COLUMNS: dict[str, tuple[Sequence[tuple[int, str]], list[int], list[str]]] = {}


def _columns(name: str, rows: Sequence[tuple[int, str]]) -> tuple[list[int], list[str]]:
    """The ids and keys of a dynamic definition's rows, made once per list of rows (the
    instance hands out the same list while the keys do not change)."""
    cached = _COLUMNS.get(name)
    if cached is not None and cached[0] is rows:
        return cached[1], cached[2]
    ids, keys = [r[0] for r in rows], [r[1] for r in rows]
    _COLUMNS[name] = (rows, ids, keys)
    return ids, keys


def _checked_store(pdef: DynamicPartitionsDefinition, store: Any) -> Any:
    if store is None:
        raise InvariantViolationError(
            f"{pdef!r} reads its keys from an instance, and none was given."
        )
    return store


def _dynamic_rows(pdef: DynamicPartitionsDefinition, store: Any) -> list[tuple[int, str]]:
    rows = _checked_store(pdef, store).get_dynamic_partition_ordinals(pdef.name)
    return rows  # type: ignore[no-any-return]


def _multi_segments(
    pdef: MultiPartitionsDefinition, store: Any, now: datetime | None
) -> list[Segment]:
    group_dim, along_dim = multi_dimensions(pdef)
    along = _single_segment(pdef.get_partitions_def_for_dimension(along_dim), store, now)
    groups = _single_segment(pdef.get_partitions_def_for_dimension(group_dim), store, now)
    if along is None or groups is None:
        return []
    along_keys = along.key_at
    out = []
    for g_index, g_ordinal in enumerate(groups.ordinals):
        g_key = groups.key_at(g_index)
        base = g_ordinal * STRIDE + OFFSET
        ordinals: Sequence[int]
        if isinstance(along.ordinals, range):
            ordinals = range(base + along.ordinals.start, base + along.ordinals.stop)
        else:
            ordinals = [base + n for n in along.ordinals]

        def key_at(i: int, g_key: str = g_key) -> str:
            return MultiPartitionKey({group_dim: g_key, along_dim: along_keys(i)})

        out.append(Segment(ordinals, key_at, g_key))
    return out
