"""``AssetSubset``: the partitions of one asset for which something holds, and the compact
JSON form of partition sets (runs of consecutive keys) that cursors and evaluation records
use.

An unpartitioned asset's subset is a boolean; a partitioned asset's is a frozenset of
partition keys, so set operations stay C-level set operations and no object is made per
partition.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from trellis.core.asset_key import AssetKey
from trellis.core.errors import InvariantViolationError

EncodedKeys = list[Any]
"""A set of partition keys as JSON: a list of single keys (strings) and runs of keys that
are consecutive in the partitions definition's order (``[first, last]``)."""


class AssetSubset:
    """The partitions of the asset ``key`` that a condition is true for (Dagster's
    ``EntitySubset``): ``True``/``False`` for an unpartitioned asset, else a frozenset of
    partition keys. Combine subsets of one asset with ``compute_union`` (``|``),
    ``compute_intersection`` (``&``) and ``compute_difference`` (``-``)."""

    __slots__ = ("_value", "key")

    def __init__(self, key: AssetKey, value: bool | frozenset[str]) -> None:
        self.key = key
        self._value = value

    # -- what it holds ------------------------------------------------------------------
    @property
    def is_partitioned(self) -> bool:
        """Whether the asset is partitioned (the subset is a set of keys)."""
        return not isinstance(self._value, bool)

    @property
    def is_empty(self) -> bool:
        """Whether it holds for no partition (or not at all, unpartitioned)."""
        return not self._value

    @property
    def size(self) -> int:
        """How many partitions it holds (0 or 1 for an unpartitioned asset)."""
        value = self._value
        return int(value) if isinstance(value, bool) else len(value)

    @property
    def partition_keys(self) -> frozenset[str]:
        """The partition keys it holds (empty for an unpartitioned asset)."""
        value = self._value
        return frozenset() if isinstance(value, bool) else value

    @property
    def value(self) -> bool | frozenset[str]:
        """The raw value: a bool (unpartitioned) or a frozenset of partition keys."""
        return self._value

    def expensively_compute_partition_keys(self) -> set[str]:
        """The partition keys as a new set (Dagster's name; not expensive here)."""
        return set(self.partition_keys)

    # -- set operations -----------------------------------------------------------------
    def _other(self, other: AssetSubset) -> bool | frozenset[str]:
        if other.key != self.key or other.is_partitioned != self.is_partitioned:
            raise InvariantViolationError(
                f"Cannot combine a subset of {self.key.to_user_string()} with one of "
                f"{other.key.to_user_string()}."
            )
        return other._value

    def compute_union(self, other: AssetSubset) -> AssetSubset:
        """Partitions in either subset."""
        theirs = self._other(other)
        if isinstance(self._value, bool):
            return AssetSubset(self.key, self._value or bool(theirs))
        return AssetSubset(self.key, self._value | theirs)  # type: ignore[operator]

    def compute_intersection(self, other: AssetSubset) -> AssetSubset:
        """Partitions in both subsets."""
        theirs = self._other(other)
        if isinstance(self._value, bool):
            return AssetSubset(self.key, self._value and bool(theirs))
        return AssetSubset(self.key, self._value & theirs)  # type: ignore[operator]

    def compute_difference(self, other: AssetSubset) -> AssetSubset:
        """Partitions in this subset and not in ``other``."""
        theirs = self._other(other)
        if isinstance(self._value, bool):
            return AssetSubset(self.key, self._value and not theirs)
        return AssetSubset(self.key, self._value - theirs)  # type: ignore[operator]

    __or__ = compute_union
    __and__ = compute_intersection
    __sub__ = compute_difference

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, AssetSubset):
            return NotImplemented
        return self.key == other.key and self._value == other._value

    def __hash__(self) -> int:
        return hash((self.key, self._value))

    def __repr__(self) -> str:
        value = self._value
        if isinstance(value, bool):
            shown = str(value)
        else:
            keys = sorted(value)
            shown = "{" + ", ".join(keys[:5]) + (", ..." if len(keys) > 5 else "") + "}"
        return f"AssetSubset({self.key.to_user_string()}, {shown})"


class PartitionSpace:
    """The partition keys one asset has at an evaluation's time, in order: what "every
    partition" means, and the order that the compact JSON form uses."""

    __slots__ = ("all", "index", "keys")

    def __init__(self, keys: Sequence[str]) -> None:
        self.keys = tuple(keys)
        self.index = {key: i for i, key in enumerate(self.keys)}
        self.all = frozenset(self.keys)

    def encode(self, keys: Iterable[str]) -> EncodedKeys:
        """``keys`` as single keys and ``[first, last]`` runs of consecutive keys; keys
        that are not (or no longer) partitions are kept as single keys."""
        return encode_keys(keys, self.index, self.keys)

    def decode(self, encoded: Any) -> frozenset[str]:
        """The keys of ``encode``'s output that are partitions now (a run whose ends are
        no longer both partitions is dropped)."""
        return decode_keys(encoded, self.index, self.keys) & self.all


def encode_keys(keys: Iterable[str], index: Mapping[str, int], order: Sequence[str]) -> EncodedKeys:
    """Partition keys as JSON: runs of at least two keys consecutive in ``order`` become
    ``[first, last]``, the rest single strings; sorted by position (unknown keys last)."""
    known = sorted(index[k] for k in keys if k in index)
    unknown = sorted(k for k in keys if k not in index)
    encoded: EncodedKeys = []
    i = 0
    while i < len(known):
        j = i
        while j + 1 < len(known) and known[j + 1] == known[j] + 1:
            j += 1
        if j > i:
            encoded.append([order[known[i]], order[known[j]]])
        else:
            encoded.append(order[known[i]])
        i = j + 1
    encoded.extend(unknown)
    return encoded


def decode_keys(encoded: Any, index: Mapping[str, int], order: Sequence[str]) -> frozenset[str]:
    """The inverse of ``encode_keys`` for the keys that ``order`` has."""
    keys: set[str] = set()
    for item in encoded or ():
        if isinstance(item, str):
            keys.add(item)
        elif isinstance(item, list) and len(item) == 2:
            start, end = index.get(item[0]), index.get(item[1])
            if start is not None and end is not None and start <= end:
                keys.update(order[start : end + 1])
    return frozenset(keys)


def count_encoded(encoded: Any) -> int | None:
    """How many keys an encoded set holds, when that is known without the partitions
    definition (single keys only); None when it holds runs."""
    if isinstance(encoded, bool):
        return int(encoded)
    items = list(encoded or ())
    return len(items) if all(isinstance(i, str) for i in items) else None
