"""Partition mappings that involve multi-dimensional partitions:
``MultiToSingleDimensionPartitionMapping`` (between a multi-dimensional definition and one
of its dimensions) and ``MultiPartitionMapping`` (dimension by dimension, each with a
``DimensionPartitionMapping``)."""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from trellis.core.errors import InvalidDefinitionError
from trellis.defs.multi_partitions import SEPARATOR, MultiPartitionKey, MultiPartitionsDefinition
from trellis.defs.partition_mapping import (
    AllPartitionMapping,
    PartitionMapping,
    UpstreamPartitions,
    _split_existing,
    _unique,
)
from trellis.defs.partitions import PartitionsDefinition


def _dimension_matching(multi: MultiPartitionsDefinition, single: Any) -> list[str]:
    return [d.name for d in multi.partitions_defs if d.partitions_def == single]


class MultiToSingleDimensionPartitionMapping(PartitionMapping):
    """Between a multi-dimensional definition and a one-dimensional one equal to its
    dimension ``partition_dimension_name``: a key reads every key of the other side that
    shares its key in that dimension. The name may be left out when exactly one dimension
    equals the one-dimensional definition."""

    def __init__(self, partition_dimension_name: str | None = None) -> None:
        self.partition_dimension_name = partition_dimension_name

    def _dimension(self, multi: MultiPartitionsDefinition, single: Any) -> str:
        if self.partition_dimension_name is not None:
            return self.partition_dimension_name
        matching = _dimension_matching(multi, single)
        if len(matching) != 1:
            raise InvalidDefinitionError(self._no_dimension(multi, single, matching))
        return matching[0]

    def _no_dimension(self, multi: Any, single: Any, matching: list[str]) -> str:
        if matching:
            return (
                f"MultiToSingleDimensionPartitionMapping: dimensions {matching} of {multi!r} "
                "both equal the other side; give partition_dimension_name"
            )
        return (
            f"MultiToSingleDimensionPartitionMapping: no dimension of {multi!r} equals {single!r}"
        )

    def upstream_partition_keys(
        self,
        downstream_keys: Sequence[str] | None,
        downstream_partitions_def: PartitionsDefinition | None,
        upstream_partitions_def: PartitionsDefinition,
        current_time: datetime | None = None,
    ) -> UpstreamPartitions:
        """The upstream keys sharing the dimension key of each downstream key."""
        up, down = upstream_partitions_def, downstream_partitions_def
        if downstream_keys is None or down is None:
            return UpstreamPartitions(up.get_partition_keys(current_time), [])
        if isinstance(up, MultiPartitionsDefinition):
            dim = self._dimension(up, down)
            wanted = set(downstream_keys)
            return UpstreamPartitions(
                [k for k in up.get_partition_keys(current_time) if _part(up, k, dim) in wanted],
                [],
            )
        assert isinstance(down, MultiPartitionsDefinition)
        dim = self._dimension(down, up)
        parts = [_part(down, k, dim) for k in downstream_keys]
        return _split_existing(parts, up, current_time)

    def downstream_partition_keys(
        self,
        upstream_keys: Sequence[str],
        upstream_partitions_def: PartitionsDefinition,
        downstream_partitions_def: PartitionsDefinition,
        current_time: datetime | None = None,
    ) -> list[str]:
        """The downstream keys sharing the dimension key of any upstream key."""
        up, down = upstream_partitions_def, downstream_partitions_def
        if isinstance(down, MultiPartitionsDefinition):
            dim = self._dimension(down, up)
            wanted = set(upstream_keys)
            return [
                k for k in down.get_partition_keys(current_time) if _part(down, k, dim) in wanted
            ]
        assert isinstance(up, MultiPartitionsDefinition)
        dim = self._dimension(up, down)
        return _split_existing([_part(up, k, dim) for k in upstream_keys], down, current_time).keys

    def cannot_map(
        self,
        upstream_partitions_def: PartitionsDefinition | None,
        downstream_partitions_def: PartitionsDefinition | None,
    ) -> str | None:
        """Exactly one side must be multi-dimensional, with a dimension equal to the
        other side."""
        up, down = upstream_partitions_def, downstream_partitions_def
        if down is None:
            return None
        multis = [d for d in (up, down) if isinstance(d, MultiPartitionsDefinition)]
        if len(multis) != 1:
            return (
                "MultiToSingleDimensionPartitionMapping maps between one multi-dimensional "
                "and one single-dimensional partitions definition"
            )
        multi = multis[0]
        single = down if multi is up else up
        if self.partition_dimension_name is not None:
            names = multi.partition_dimension_names
            if self.partition_dimension_name not in names:
                return (
                    f"MultiToSingleDimensionPartitionMapping names dimension "
                    f"'{self.partition_dimension_name}', which is not one of {names}"
                )
            return None
        matching = _dimension_matching(multi, single)
        return None if len(matching) == 1 else self._no_dimension(multi, single, matching)


def _part(pdef: MultiPartitionsDefinition, key: str, dimension: str) -> str:
    keys = key.keys_by_dimension if isinstance(key, MultiPartitionKey) else None
    if keys is None:
        keys = dict(zip(pdef.partition_dimension_names, key.split(SEPARATOR), strict=False))
    return keys[dimension]


class DimensionPartitionMapping:
    """In a ``MultiPartitionMapping``: the downstream dimension an upstream dimension
    maps to, and the mapping between the two."""

    __slots__ = ("dimension_name", "partition_mapping")

    def __init__(self, dimension_name: str, partition_mapping: PartitionMapping) -> None:
        if not isinstance(partition_mapping, PartitionMapping):
            raise InvalidDefinitionError(
                f"DimensionPartitionMapping('{dimension_name}', ...) needs a partition mapping, "
                f"got {partition_mapping!r}."
            )
        self.dimension_name = dimension_name
        self.partition_mapping = partition_mapping

    def __eq__(self, other: object) -> bool:
        return (
            isinstance(other, DimensionPartitionMapping)
            and self.dimension_name == other.dimension_name
            and self.partition_mapping == other.partition_mapping
        )

    def __hash__(self) -> int:
        return hash(self.dimension_name)

    def __repr__(self) -> str:
        return f"DimensionPartitionMapping({self.dimension_name!r}, {self.partition_mapping!r})"


class MultiPartitionMapping(PartitionMapping):
    """Between two multi-dimensional definitions, dimension by dimension:
    ``downstream_mappings_by_upstream_dimension`` gives, per upstream dimension, the
    downstream dimension and mapping. An upstream dimension it leaves out is read whole
    (every key of that dimension)."""

    def __init__(
        self, downstream_mappings_by_upstream_dimension: Mapping[str, DimensionPartitionMapping]
    ) -> None:
        for name, dim in dict(downstream_mappings_by_upstream_dimension).items():
            if not isinstance(dim, DimensionPartitionMapping):
                raise InvalidDefinitionError(
                    f"MultiPartitionMapping: upstream dimension '{name}' must map to a "
                    f"DimensionPartitionMapping, got {dim!r}."
                )
        self.downstream_mappings_by_upstream_dimension = dict(
            downstream_mappings_by_upstream_dimension
        )

    def _mapping_for(self, up_dim: str) -> tuple[str | None, PartitionMapping]:
        dim = self.downstream_mappings_by_upstream_dimension.get(up_dim)
        if dim is None:
            return None, AllPartitionMapping()
        return dim.dimension_name, dim.partition_mapping

    def upstream_partition_keys(
        self,
        downstream_keys: Sequence[str] | None,
        downstream_partitions_def: PartitionsDefinition | None,
        upstream_partitions_def: PartitionsDefinition,
        current_time: datetime | None = None,
    ) -> UpstreamPartitions:
        """Per downstream key, the product of what each dimension mapping reads."""
        up, down = upstream_partitions_def, downstream_partitions_def
        if downstream_keys is None or not isinstance(down, MultiPartitionsDefinition):
            return UpstreamPartitions(up.get_partition_keys(current_time), [])
        assert isinstance(up, MultiPartitionsDefinition)
        keys: list[str] = []
        missing: list[str] = []
        for key in downstream_keys:
            per_dim: list[list[str]] = []
            for dim in up.partitions_defs:
                down_dim, mapping = self._mapping_for(dim.name)
                down_def = down.get_partitions_def_for_dimension(down_dim) if down_dim else None
                part = [_part(down, key, down_dim)] if down_dim else None
                result = mapping.upstream_partition_keys(
                    part, down_def, dim.partitions_def, current_time
                )
                per_dim.append(result.keys)
                missing.extend(result.nonexistent)
            names = up.partition_dimension_names
            keys.extend(
                MultiPartitionKey(dict(zip(names, combo, strict=True)))
                for combo in itertools.product(*per_dim)
            )
        return UpstreamPartitions(_unique(keys), _unique(missing))

    def downstream_partition_keys(
        self,
        upstream_keys: Sequence[str],
        upstream_partitions_def: PartitionsDefinition,
        downstream_partitions_def: PartitionsDefinition,
        current_time: datetime | None = None,
    ) -> list[str]:
        """The downstream keys whose every mapped dimension reads the upstream key's."""
        up, down = upstream_partitions_def, downstream_partitions_def
        assert isinstance(up, MultiPartitionsDefinition)
        assert isinstance(down, MultiPartitionsDefinition)
        wanted = set(upstream_keys)
        return [
            k
            for k in down.get_partition_keys(current_time)
            if wanted & set(self.upstream_partition_keys([k], down, up, current_time).keys)
        ]

    def cannot_map(
        self,
        upstream_partitions_def: PartitionsDefinition | None,
        downstream_partitions_def: PartitionsDefinition | None,
    ) -> str | None:
        """Both sides must be multi-dimensional, every named dimension must exist, and
        each dimension mapping must fit its dimensions."""
        up, down = upstream_partitions_def, downstream_partitions_def
        if not isinstance(up, MultiPartitionsDefinition) or not isinstance(
            down, MultiPartitionsDefinition
        ):
            return "MultiPartitionMapping maps between two MultiPartitionsDefinitions"
        for up_dim, dim in self.downstream_mappings_by_upstream_dimension.items():
            if up_dim not in up.partition_dimension_names:
                return f"MultiPartitionMapping names upstream dimension '{up_dim}', which it lacks"
            if dim.dimension_name not in down.partition_dimension_names:
                return (
                    f"MultiPartitionMapping names downstream dimension '{dim.dimension_name}', "
                    "which it lacks"
                )
            reason = dim.partition_mapping.cannot_map(
                up.get_partitions_def_for_dimension(up_dim),
                down.get_partitions_def_for_dimension(dim.dimension_name),
            )
            if reason:
                return f"dimension '{up_dim}' -> '{dim.dimension_name}': {reason}"
        return None


def infer_multi_mapping(up: Any, down: Any) -> PartitionMapping | None:
    """The default mapping between a multi-dimensional and a one-dimensional definition
    equal to one of its dimensions (None otherwise)."""
    up_multi = isinstance(up, MultiPartitionsDefinition)
    down_multi = isinstance(down, MultiPartitionsDefinition)
    if up_multi == down_multi:
        return None
    multi, single = (up, down) if up_multi else (down, up)
    if len(_dimension_matching(multi, single)) == 1:
        return MultiToSingleDimensionPartitionMapping()
    return None
