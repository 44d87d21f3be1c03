"""Partition mappings: which partitions of an upstream asset a partition of a downstream
asset reads (``AssetIn(partition_mapping=...)``, ``AssetDep(partition_mapping=...)``).

A mapping answers both ways over lists of keys: ``upstream_partition_keys`` (what a run of
some downstream partitions reads) and ``downstream_partition_keys`` (what depends on some
upstream partitions). ``cannot_map`` says, at definition time, why a mapping does not
apply between two partitions definitions. ``default_partition_mapping`` is the mapping a
dependency gets when none is given, as in Dagster: time windows map by overlap (a monthly
asset reads the days of its month), anything else by equal keys.
The multi-dimensional mappings live in ``trellis.defs.multi_partition_mapping``.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Collection, Mapping, Sequence
from datetime import datetime
from typing import Any, NamedTuple

from trellis.core.errors import InvalidDefinitionError
from trellis.defs.partitions import PartitionsDefinition, StaticPartitionsDefinition


class UpstreamPartitions(NamedTuple):
    """The upstream keys a set of downstream partitions reads (``keys``, in upstream
    order), and the keys it would read that do not exist (``nonexistent``: before the
    first or after the last partition, or not keys at all)."""

    keys: list[str]
    nonexistent: list[str]


def _unique(keys: Sequence[str]) -> list[str]:
    return list(dict.fromkeys(keys))


def _split_existing(
    keys: Sequence[str], pdef: PartitionsDefinition, current_time: datetime | None
) -> UpstreamPartitions:
    existing: list[str] = []
    missing: list[str] = []
    for key in _unique(keys):
        (existing if pdef.has_partition_key(key, current_time) else missing).append(key)
    return UpstreamPartitions(existing, missing)


def _is_time(pdef: Any) -> bool:
    return hasattr(pdef, "ordinals_overlapping")


class PartitionMapping(ABC):
    """How the partitions of a downstream asset depend on those of an upstream asset.

    ``downstream_keys=None`` stands for an unpartitioned downstream asset (which reads
    whatever the mapping maps the whole asset to).
    """

    @abstractmethod
    def upstream_partition_keys(
        self,
        downstream_keys: Sequence[str] | None,
        downstream_partitions_def: PartitionsDefinition | None,
        upstream_partitions_def: PartitionsDefinition,
        current_time: datetime | None = None,
    ) -> UpstreamPartitions:
        """The upstream partitions that ``downstream_keys`` read."""

    @abstractmethod
    def downstream_partition_keys(
        self,
        upstream_keys: Sequence[str],
        upstream_partitions_def: PartitionsDefinition,
        downstream_partitions_def: PartitionsDefinition,
        current_time: datetime | None = None,
    ) -> list[str]:
        """The downstream partitions that read any of ``upstream_keys``."""

    def cannot_map(
        self,
        upstream_partitions_def: PartitionsDefinition | None,
        downstream_partitions_def: PartitionsDefinition | None,
    ) -> str | None:
        """Why this mapping cannot relate the two definitions, or None when it can."""
        return None

    def __eq__(self, other: object) -> bool:
        return type(other) is type(self) and vars(self) == vars(other)

    def __hash__(self) -> int:
        return hash(type(self).__name__)

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in vars(self).items())
        return f"{type(self).__name__}({args})"


class IdentityPartitionMapping(PartitionMapping):
    """Each downstream partition reads the upstream partition with the same key."""

    def upstream_partition_keys(
        self,
        downstream_keys: Sequence[str] | None,
        downstream_partitions_def: PartitionsDefinition | None,
        upstream_partitions_def: PartitionsDefinition,
        current_time: datetime | None = None,
    ) -> UpstreamPartitions:
        """The same keys (every upstream key for an unpartitioned downstream asset)."""
        if downstream_keys is None:
            return UpstreamPartitions(upstream_partitions_def.get_partition_keys(current_time), [])
        return _split_existing(downstream_keys, upstream_partitions_def, current_time)

    def downstream_partition_keys(
        self,
        upstream_keys: Sequence[str],
        upstream_partitions_def: PartitionsDefinition,
        downstream_partitions_def: PartitionsDefinition,
        current_time: datetime | None = None,
    ) -> list[str]:
        """The same keys, those the downstream definition has."""
        return _split_existing(upstream_keys, downstream_partitions_def, current_time).keys

    def cannot_map(
        self,
        upstream_partitions_def: PartitionsDefinition | None,
        downstream_partitions_def: PartitionsDefinition | None,
    ) -> str | None:
        """Two static definitions with no key in common cannot map key to key."""
        up, down = upstream_partitions_def, downstream_partitions_def
        if (
            isinstance(up, StaticPartitionsDefinition)
            and isinstance(down, StaticPartitionsDefinition)
            and not set(up.get_partition_keys()) & set(down.get_partition_keys())
        ):
            return "IdentityPartitionMapping maps equal keys, and the two share no key"
        return None


class AllPartitionMapping(PartitionMapping):
    """Every downstream partition reads every upstream partition."""

    def upstream_partition_keys(
        self,
        downstream_keys: Sequence[str] | None,
        downstream_partitions_def: PartitionsDefinition | None,
        upstream_partitions_def: PartitionsDefinition,
        current_time: datetime | None = None,
    ) -> UpstreamPartitions:
        """Every upstream key."""
        return UpstreamPartitions(upstream_partitions_def.get_partition_keys(current_time), [])

    def downstream_partition_keys(
        self,
        upstream_keys: Sequence[str],
        upstream_partitions_def: PartitionsDefinition,
        downstream_partitions_def: PartitionsDefinition,
        current_time: datetime | None = None,
    ) -> list[str]:
        """Every downstream key (none when no upstream key is given)."""
        if not upstream_keys:
            return []
        return downstream_partitions_def.get_partition_keys(current_time)


class LastPartitionMapping(PartitionMapping):
    """Every downstream partition reads the last upstream partition."""

    def upstream_partition_keys(
        self,
        downstream_keys: Sequence[str] | None,
        downstream_partitions_def: PartitionsDefinition | None,
        upstream_partitions_def: PartitionsDefinition,
        current_time: datetime | None = None,
    ) -> UpstreamPartitions:
        """The last upstream key (none when the upstream has no partitions yet)."""
        last = upstream_partitions_def.get_last_partition_key(current_time)
        return UpstreamPartitions([] if last is None else [last], [])

    def downstream_partition_keys(
        self,
        upstream_keys: Sequence[str],
        upstream_partitions_def: PartitionsDefinition,
        downstream_partitions_def: PartitionsDefinition,
        current_time: datetime | None = None,
    ) -> list[str]:
        """Every downstream key when the upstream's last key is among ``upstream_keys``."""
        last = upstream_partitions_def.get_last_partition_key(current_time)
        if last is None or last not in upstream_keys:
            return []
        return downstream_partitions_def.get_partition_keys(current_time)


class SpecificPartitionsPartitionMapping(PartitionMapping):
    """Every downstream partition reads the same fixed upstream partitions."""

    def __init__(self, partition_keys: Sequence[str]) -> None:
        if isinstance(partition_keys, str) or not all(isinstance(k, str) for k in partition_keys):
            raise InvalidDefinitionError(
                "SpecificPartitionsPartitionMapping takes a list of partition keys (strings), "
                f"got {partition_keys!r}."
            )
        self.partition_keys = list(partition_keys)

    def upstream_partition_keys(
        self,
        downstream_keys: Sequence[str] | None,
        downstream_partitions_def: PartitionsDefinition | None,
        upstream_partitions_def: PartitionsDefinition,
        current_time: datetime | None = None,
    ) -> UpstreamPartitions:
        """The given keys."""
        return _split_existing(self.partition_keys, upstream_partitions_def, current_time)

    def downstream_partition_keys(
        self,
        upstream_keys: Sequence[str],
        upstream_partitions_def: PartitionsDefinition,
        downstream_partitions_def: PartitionsDefinition,
        current_time: datetime | None = None,
    ) -> list[str]:
        """Every downstream key when one of the given keys is among ``upstream_keys``."""
        if not set(self.partition_keys) & set(upstream_keys):
            return []
        return downstream_partitions_def.get_partition_keys(current_time)

    def cannot_map(
        self,
        upstream_partitions_def: PartitionsDefinition | None,
        downstream_partitions_def: PartitionsDefinition | None,
    ) -> str | None:
        """Every given key must be a key of the upstream (static) definition."""
        if isinstance(upstream_partitions_def, StaticPartitionsDefinition):
            unknown = [
                k for k in self.partition_keys if not upstream_partitions_def.has_partition_key(k)
            ]
            if unknown:
                return f"SpecificPartitionsPartitionMapping names keys {unknown} the upstream lacks"
        return None


class StaticPartitionMapping(PartitionMapping):
    """Maps keys of a static upstream to keys of a static downstream by an explicit table:
    ``downstream_partition_keys_by_upstream_partition_key`` gives, for each upstream key,
    the downstream key (or keys) that read it."""

    def __init__(
        self,
        downstream_partition_keys_by_upstream_partition_key: Mapping[str, str | Collection[str]],
    ) -> None:
        table: dict[str, list[str]] = {}
        for up, downs in dict(downstream_partition_keys_by_upstream_partition_key).items():
            table[up] = [downs] if isinstance(downs, str) else list(downs)
        self.downstream_partition_keys_by_upstream_partition_key = table

    def _upstream_by_downstream(self) -> dict[str, list[str]]:
        inverse: dict[str, list[str]] = {}
        for up, downs in self.downstream_partition_keys_by_upstream_partition_key.items():
            for down in downs:
                inverse.setdefault(down, []).append(up)
        return inverse

    def upstream_partition_keys(
        self,
        downstream_keys: Sequence[str] | None,
        downstream_partitions_def: PartitionsDefinition | None,
        upstream_partitions_def: PartitionsDefinition,
        current_time: datetime | None = None,
    ) -> UpstreamPartitions:
        """The upstream keys the table maps to any of ``downstream_keys``."""
        table = self.downstream_partition_keys_by_upstream_partition_key
        wanted = set(downstream_keys) if downstream_keys is not None else None
        ups = [
            up for up, downs in table.items() if wanted is None or any(d in wanted for d in downs)
        ]
        order = {k: i for i, k in enumerate(upstream_partitions_def.get_partition_keys())}
        found = _split_existing(ups, upstream_partitions_def, current_time)
        return UpstreamPartitions(sorted(found.keys, key=order.__getitem__), found.nonexistent)

    def downstream_partition_keys(
        self,
        upstream_keys: Sequence[str],
        upstream_partitions_def: PartitionsDefinition,
        downstream_partitions_def: PartitionsDefinition,
        current_time: datetime | None = None,
    ) -> list[str]:
        """The downstream keys the table maps ``upstream_keys`` to."""
        table = self.downstream_partition_keys_by_upstream_partition_key
        downs = [d for up in upstream_keys for d in table.get(up, ())]
        return _split_existing(downs, downstream_partitions_def, current_time).keys

    def cannot_map(
        self,
        upstream_partitions_def: PartitionsDefinition | None,
        downstream_partitions_def: PartitionsDefinition | None,
    ) -> str | None:
        """Both sides must be static, and every key in the table a key of its side."""
        up, down = upstream_partitions_def, downstream_partitions_def
        if not isinstance(up, StaticPartitionsDefinition) or not isinstance(
            down, StaticPartitionsDefinition
        ):
            return "StaticPartitionMapping maps between two StaticPartitionsDefinitions"
        table = self.downstream_partition_keys_by_upstream_partition_key
        bad_up = [k for k in table if not up.has_partition_key(k)]
        if bad_up:
            return f"StaticPartitionMapping maps upstream keys {bad_up} the upstream lacks"
        bad_down = sorted({d for ds in table.values() for d in ds if not down.has_partition_key(d)})
        if bad_down:
            return f"StaticPartitionMapping maps to downstream keys {bad_down} the downstream lacks"
        return None


class TimeWindowPartitionMapping(PartitionMapping):
    """Between time-window partitions: a downstream partition reads the upstream
    partitions whose windows overlap its own window (a monthly asset reads the days of
    its month; a daily asset the month it falls in).

    ``start_offset`` and ``end_offset`` move the start and end of the downstream window by
    that many downstream windows first: ``start_offset=-1, end_offset=-1`` reads the
    previous window (what a self-dependent asset uses). Upstream partitions that would be
    read but do not exist (before the first, after the last) are an error when the run
    loads them, unless ``allow_nonexistent_upstream_partitions`` (then they are left out)
    or the asset depends on itself.
    """

    def __init__(
        self,
        start_offset: int = 0,
        end_offset: int = 0,
        allow_nonexistent_upstream_partitions: bool = False,
    ) -> None:
        for name, value in (("start_offset", start_offset), ("end_offset", end_offset)):
            if not isinstance(value, int) or isinstance(value, bool):
                raise InvalidDefinitionError(
                    f"TimeWindowPartitionMapping: {name} must be an int, got {value!r}."
                )
        self.start_offset = start_offset
        self.end_offset = end_offset
        self.allow_nonexistent_upstream_partitions = bool(allow_nonexistent_upstream_partitions)

    def upstream_partition_keys(
        self,
        downstream_keys: Sequence[str] | None,
        downstream_partitions_def: PartitionsDefinition | None,
        upstream_partitions_def: PartitionsDefinition,
        current_time: datetime | None = None,
    ) -> UpstreamPartitions:
        """The upstream keys overlapping the (shifted) windows of ``downstream_keys``."""
        up: Any = upstream_partitions_def
        down: Any = downstream_partitions_def
        if downstream_keys is None or down is None:
            return UpstreamPartitions(up.get_partition_keys(current_time), [])
        ordinals: set[int] = set()
        for key in downstream_keys:
            n = down.ordinal_of(key)
            lo, hi = n + self.start_offset, n + self.end_offset
            if hi < lo:
                continue
            window = down.window_of_ordinals(lo, hi)
            a, b = up.ordinals_overlapping(window.start, window.end)
            ordinals.update(range(a, b + 1))
        keys: list[str] = []
        missing: list[str] = []
        for run_lo, run_hi in _runs(sorted(ordinals)):
            found, lacking = up.keys_for_ordinals(run_lo, run_hi, current_time)
            keys.extend(found)
            missing.extend(lacking)
        if self.allow_nonexistent_upstream_partitions:
            missing = []
        return UpstreamPartitions(keys, missing)

    def downstream_partition_keys(
        self,
        upstream_keys: Sequence[str],
        upstream_partitions_def: PartitionsDefinition,
        downstream_partitions_def: PartitionsDefinition,
        current_time: datetime | None = None,
    ) -> list[str]:
        """The downstream keys whose (shifted) windows overlap any of ``upstream_keys``."""
        up: Any = upstream_partitions_def
        down: Any = downstream_partitions_def
        ordinals: set[int] = set()
        for key in upstream_keys:
            m = up.ordinal_of(key)
            window = up.window_of_ordinals(m, m)
            lo, hi = down.ordinals_overlapping(window.start, window.end)
            ordinals.update(range(lo - self.end_offset, hi - self.start_offset + 1))
        keys: list[str] = []
        for run_lo, run_hi in _runs(sorted(ordinals)):
            keys.extend(down.keys_for_ordinals(run_lo, run_hi, current_time)[0])
        return keys

    def cannot_map(
        self,
        upstream_partitions_def: PartitionsDefinition | None,
        downstream_partitions_def: PartitionsDefinition | None,
    ) -> str | None:
        """Both sides must be time-window partitioned (an unpartitioned downstream reads
        every upstream window)."""
        if not _is_time(upstream_partitions_def):
            return "TimeWindowPartitionMapping needs a time-window partitioned upstream"
        if downstream_partitions_def is not None and not _is_time(downstream_partitions_def):
            return "TimeWindowPartitionMapping needs a time-window partitioned downstream"
        return None


def _runs(ordinals: list[int]) -> list[tuple[int, int]]:
    """Consecutive runs ``(first, last)`` of sorted ordinals."""
    runs: list[tuple[int, int]] = []
    for n in ordinals:
        if runs and runs[-1][1] == n - 1:
            runs[-1] = (runs[-1][0], n)
        else:
            runs.append((n, n))
    return runs


def default_partition_mapping(
    upstream_partitions_def: PartitionsDefinition | None,
    downstream_partitions_def: PartitionsDefinition | None,
) -> PartitionMapping:
    """The mapping a dependency gets when it names none: by time-window overlap between
    time-window definitions, by the shared dimension between a multi-dimensional and a
    one-dimensional definition that is one of its dimensions, every partition for an
    unpartitioned downstream asset, else equal keys."""
    up, down = upstream_partitions_def, downstream_partitions_def
    if down is None:
        return AllPartitionMapping()
    if _is_time(up) and _is_time(down):
        return TimeWindowPartitionMapping()
    from trellis.defs.multi_partition_mapping import infer_multi_mapping

    return infer_multi_mapping(up, down) or IdentityPartitionMapping()
