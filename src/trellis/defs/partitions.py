"""Partitions: the named slices of an asset or job (``PartitionsDefinition`` and the static
family). The time-window family lives in ``trellis.defs.time_partitions``.

A partitions definition is a pure description: building one runs no user code. A run knows
its partition through run tags only; this module just answers "which keys exist?".
"""

from __future__ import annotations

import unicodedata
from abc import ABC, abstractmethod
from collections.abc import Sequence
from datetime import datetime
from typing import NamedTuple

from trellis.core.errors import (
    InvalidDefinitionError,
    InvariantViolationError,
    UnknownPartitionError,
)

# A suggestion costs a fuzzy match per key; past this many keys the error skips it.
_MAX_KEYS_FOR_SUGGESTION = 10_000


class PartitionKeyRange(NamedTuple):
    """An inclusive range of partition keys, ``start`` to ``end``, in the order of the
    partitions definition (used by range runs and backfills)."""

    start: str
    end: str


class PartitionsDefinition(ABC):
    """The set of partitions an asset or job is split into; subclasses say which keys exist.

    Every method that can depend on the clock takes ``current_time`` (an aware datetime;
    None means now). Keys are plain strings, ordered as the definition orders them.
    """

    __slots__ = ()

    @abstractmethod
    def get_partition_keys(self, current_time: datetime | None = None) -> list[str]:
        """All the partition keys that exist at ``current_time``, in order."""

    def has_partition_key(self, partition_key: str, current_time: datetime | None = None) -> bool:
        """Whether ``partition_key`` is one of the keys at ``current_time``."""
        return partition_key in self.get_partition_keys(current_time)

    def get_num_partitions(self, current_time: datetime | None = None) -> int:
        """How many partitions exist at ``current_time``."""
        return len(self.get_partition_keys(current_time))

    def get_first_partition_key(self, current_time: datetime | None = None) -> str | None:
        """The first key, or None when there are no partitions (yet)."""
        keys = self.get_partition_keys(current_time)
        return keys[0] if keys else None

    def get_last_partition_key(self, current_time: datetime | None = None) -> str | None:
        """The last key, or None when there are no partitions (yet)."""
        keys = self.get_partition_keys(current_time)
        return keys[-1] if keys else None

    def get_partition_keys_in_range(
        self, partition_key_range: PartitionKeyRange, current_time: datetime | None = None
    ) -> list[str]:
        """The keys from ``partition_key_range.start`` to ``.end``, both included.

        Raises ``InvariantViolationError`` when either end is not a key, or when the start
        comes after the end.
        """
        start, end = partition_key_range
        self.validate_partition_key(start, current_time)
        self.validate_partition_key(end, current_time)
        keys = self.get_partition_keys(current_time)
        i, j = keys.index(start), keys.index(end)
        _check_range_order(start, end, i, j)
        return keys[i : j + 1]

    def validate_partition_key(
        self, partition_key: str, current_time: datetime | None = None
    ) -> None:
        """Raise ``UnknownPartitionError`` (an ``InvariantViolationError``) unless
        ``partition_key`` exists at ``current_time``.

        The message names the key and the definition, says why when it can, suggests the
        closest key, and shows a few valid keys.
        """
        if isinstance(partition_key, str) and self.has_partition_key(partition_key, current_time):
            return
        raise UnknownPartitionError(self._invalid_key_message(partition_key, current_time))

    # -- the partition status index (``trellis.instance.partition_status``) ---------------
    def partition_ordinal(self, partition_key: str) -> int | None:
        """The position the status index files ``partition_key`` under, or None when this
        definition's keys are not indexed (their positions could move)."""
        return None

    def partition_key_at(self, ordinal: int) -> str:
        """The key at position ``ordinal`` (the inverse of ``partition_ordinal``)."""
        raise InvariantViolationError(f"{self!r} does not number its partitions.")

    def ordinal_bounds(self, current_time: datetime | None = None) -> tuple[int, int] | None:
        """The positions of the first and last partition at ``current_time`` (None when
        the keys are not indexed)."""
        return None

    def _key_object(self, partition_key: str) -> str:
        """The object a context hands out for ``partition_key`` (a ``MultiPartitionKey``
        for multi-dimensional partitions; the string itself otherwise)."""
        return partition_key

    def _invalid_key_reason(self, partition_key: str, current_time: datetime | None) -> str | None:
        """A subclass's explanation of why a key is not valid, or None."""
        return None

    def _invalid_key_message(self, partition_key: object, current_time: datetime | None) -> str:
        if not isinstance(partition_key, str):
            return (
                f"Partition key {partition_key!r} is not a string; partition keys of "
                f"{self!r} are strings."
            )
        keys = self.get_partition_keys(current_time)
        parts = [f"Partition key '{partition_key}' is not a partition of {self!r}."]
        reason = self._invalid_key_reason(partition_key, current_time)
        if reason:
            parts.append(reason)
        if keys and len(keys) <= _MAX_KEYS_FOR_SUGGESTION:
            import difflib  # lazily: only this path needs it

            close = difflib.get_close_matches(partition_key, keys, n=1, cutoff=0.6)
            if close:
                parts.append(f"Did you mean '{close[0]}'?")
        parts.append(_describe_keys(keys))
        return " ".join(parts)


def _check_range_order(start: str, end: str, i: int, j: int) -> None:
    if i > j:
        raise InvariantViolationError(
            f"Partition key range start '{start}' comes after its end '{end}'."
        )


def _describe_keys(keys: Sequence[str]) -> str:
    if not keys:
        return "It has no partitions (yet)."
    if len(keys) <= 4:
        shown = ", ".join(f"'{k}'" for k in keys)
    else:
        shown = ", ".join(f"'{k}'" for k in keys[:3]) + f", ..., '{keys[-1]}'"
    return f"Valid keys ({len(keys)}): {shown}."


def _bad_static_key_reason(key: object) -> str | None:
    if not isinstance(key, str):
        return f"is a {type(key).__name__}, not a string"
    if "..." in key:
        return "contains '...', which separates the ends of a key range"
    for ch in key:
        if unicodedata.category(ch) == "Cc":
            return f"contains the control character {ch!r}"
    return None


class StaticPartitionsDefinition(PartitionsDefinition):
    """A fixed list of partition keys, such as regions or customers, kept in the given order.

    Keys must be unique strings without ``...`` or control characters.
    """

    __slots__ = ("_index", "_keys")

    def __init__(self, partition_keys: Sequence[str]) -> None:
        if isinstance(partition_keys, str):
            raise InvalidDefinitionError(
                f"StaticPartitionsDefinition takes a list of keys, got the string "
                f"{partition_keys!r}; write [{partition_keys!r}] for a single key."
            )
        keys = list(partition_keys)
        index: dict[str, int] = {}
        for i, key in enumerate(keys):
            reason = _bad_static_key_reason(key)
            if reason:
                raise InvalidDefinitionError(
                    f"Invalid partition key {key!r} in StaticPartitionsDefinition: it {reason}."
                )
            if key in index:
                raise InvalidDefinitionError(
                    f"Duplicate partition key '{key}' in StaticPartitionsDefinition "
                    f"(positions {index[key]} and {i}); keys must be unique."
                )
            index[key] = i
        self._keys = keys
        self._index = index

    def get_partition_keys(self, current_time: datetime | None = None) -> list[str]:
        """The keys, in the order they were given (``current_time`` is ignored)."""
        return list(self._keys)

    def has_partition_key(self, partition_key: str, current_time: datetime | None = None) -> bool:
        """Whether ``partition_key`` is one of the keys (a dict lookup)."""
        return partition_key in self._index

    def get_num_partitions(self, current_time: datetime | None = None) -> int:
        """How many keys there are."""
        return len(self._keys)

    def partition_ordinal(self, partition_key: str) -> int | None:
        """The key's position in the list."""
        return self._index.get(partition_key)

    def partition_key_at(self, ordinal: int) -> str:
        """The key at ``ordinal`` in the list."""
        return self._keys[ordinal]

    def ordinal_bounds(self, current_time: datetime | None = None) -> tuple[int, int] | None:
        """``(0, number of keys - 1)``."""
        return (0, len(self._keys) - 1) if self._keys else None

    def get_partition_keys_in_range(
        self, partition_key_range: PartitionKeyRange, current_time: datetime | None = None
    ) -> list[str]:
        """The keys from ``start`` to ``end`` inclusive, in definition order."""
        start, end = partition_key_range
        self.validate_partition_key(start)
        self.validate_partition_key(end)
        i, j = self._index[start], self._index[end]
        _check_range_order(start, end, i, j)
        return self._keys[i : j + 1]

    def __eq__(self, other: object) -> bool:
        return isinstance(other, StaticPartitionsDefinition) and self._keys == other._keys

    def __hash__(self) -> int:
        return hash(("StaticPartitionsDefinition", tuple(self._keys)))

    def __repr__(self) -> str:
        shown = self._keys if len(self._keys) <= 5 else [*self._keys[:4], "..."]
        return f"StaticPartitionsDefinition({shown!r})"
