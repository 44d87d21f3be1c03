"""``RunPartitions``: which partition(s) a run covers, read from its tags once per run."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from trellis.core.errors import InvariantViolationError
from trellis.core.run import PARTITION_RANGE_END_TAG, PARTITION_RANGE_START_TAG, PARTITION_TAG


class RunPartitions:
    """The partition key, key range, keys and time window of a run.

    Each accessor raises ``InvariantViolationError`` with a clear message when the run
    has no partition (or covers a range where a single key was asked for).
    """

    __slots__ = ("end", "keys", "partitions_def", "start")

    def __init__(self, tags: Mapping[str, str], partitions_def: Any = None) -> None:
        self.partitions_def = partitions_def
        self.start: str | None
        self.end: str | None
        # Set when the partitions are a list rather than a range (what a partition
        # mapping gives an input: possibly empty, possibly not contiguous).
        self.keys: list[str] | None = None
        key = tags.get(PARTITION_TAG)
        if key is not None:
            self.start = self.end = key
        else:
            self.start = tags.get(PARTITION_RANGE_START_TAG)
            self.end = tags.get(PARTITION_RANGE_END_TAG)

    @classmethod
    def of_keys(cls, keys: Sequence[str], partitions_def: Any) -> RunPartitions:
        """The partitions ``keys`` of ``partitions_def`` (in its order), as a partition
        mapping gives them to an input."""
        made = cls({}, partitions_def)
        made.keys = list(keys)
        if made.keys:
            made.start, made.end = made.keys[0], made.keys[-1]
        return made

    def _key_object(self, key: str) -> str:
        make = getattr(self.partitions_def, "_key_object", None)
        return key if make is None else make(key)

    @property
    def has_partition_key(self) -> bool:
        """True when the run covers exactly one partition."""
        if self.keys is not None:
            return len(self.keys) == 1
        return self.start is not None and self.start == self.end

    @property
    def has_partition_key_range(self) -> bool:
        """True when the run covers a range of partitions (one key counts as a range)."""
        return self.start is not None

    @property
    def has_partitions(self) -> bool:
        """True when the run is partitioned at all."""
        return self.start is not None or self.keys is not None

    @property
    def partition_key(self) -> str:
        """The run's single partition key."""
        if self.start is None:
            raise InvariantViolationError(
                "Cannot read partition_key: this run is not partitioned. Materialize with "
                "partition_key=... (and give the asset or job a partitions_def)."
            )
        if not self.has_partition_key:
            raise InvariantViolationError(
                f"Cannot read partition_key: this run covers the range {self.start}..."
                f"{self.end}. Use partition_key_range or partition_keys."
            )
        return self._key_object(self.start)

    @property
    def partition_key_range(self) -> Any:
        """The range ``(start, end)`` the run covers."""
        from trellis.defs.partitions import PartitionKeyRange

        if self.start is None:
            raise InvariantViolationError(
                "Cannot read partition_key_range: this run is not partitioned."
            )
        return PartitionKeyRange(self.start, self.end if self.end is not None else self.start)

    @property
    def partition_keys(self) -> list[str]:
        """Every key the run covers."""
        if self.keys is not None:
            return [self._key_object(k) for k in self.keys]
        if self.start is None:
            raise InvariantViolationError(
                "Cannot read partition_keys: this run is not partitioned."
            )
        if self.start == self.end:
            return [self._key_object(self.start)]
        if self.partitions_def is None:
            raise InvariantViolationError(
                "Cannot list partition_keys of a range without a partitions definition."
            )
        keys: list[str] = self.partitions_def.get_partition_keys_in_range(self.partition_key_range)
        return [self._key_object(k) for k in keys]

    @property
    def partition_time_window(self) -> Any:
        """The time window ``(start, end)`` the run covers (time partitions only)."""
        window_for = getattr(self.partitions_def, "time_window_for_partition_key", None)
        if self.start is None or window_for is None:
            raise InvariantViolationError(
                "Cannot read partition_time_window: the run has no time-window partition."
            )
        from trellis.defs.time_partitions import TimeWindow

        first, last = window_for(self.start), window_for(self.end)
        return TimeWindow(first.start, last.end)
