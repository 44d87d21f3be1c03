"""Multi-dimensional partitions: ``MultiPartitionsDefinition`` (two named dimensions, each
a partitions definition) and ``MultiPartitionKey`` (one key per dimension).

A multi-partition key is a string too: the dimension keys joined by ``|`` in the order of
the dimension names, so stored keys, tags and file names stay plain strings.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from trellis.core.errors import InvalidDefinitionError
from trellis.defs.partitions import PartitionsDefinition

SEPARATOR = "|"


class MultiPartitionKey(str):
    """A key of a ``MultiPartitionsDefinition``: a string (``"2024-01-01|eu"``) that also
    knows its key in each dimension (``keys_by_dimension``)."""

    keys_by_dimension: dict[str, str]

    def __new__(cls, keys_by_dimension: Mapping[str, str]) -> MultiPartitionKey:
        names = sorted(keys_by_dimension)
        for name in names:
            value = keys_by_dimension[name]
            if not isinstance(value, str) or SEPARATOR in value:
                raise InvalidDefinitionError(
                    f"MultiPartitionKey: the key of dimension '{name}' must be a string "
                    f"without '{SEPARATOR}', got {value!r}."
                )
        obj = super().__new__(cls, SEPARATOR.join(keys_by_dimension[n] for n in names))
        obj.keys_by_dimension = {n: keys_by_dimension[n] for n in names}
        return obj

    def __getnewargs__(self) -> tuple[Any, ...]:  # pickles as itself
        return (self.keys_by_dimension,)


class PartitionDimensionDefinition:
    """One dimension of a ``MultiPartitionsDefinition``: its name and partitions."""

    __slots__ = ("name", "partitions_def")

    def __init__(self, name: str, partitions_def: PartitionsDefinition) -> None:
        self.name = name
        self.partitions_def = partitions_def

    def __repr__(self) -> str:
        return f"PartitionDimensionDefinition({self.name!r}, {self.partitions_def!r})"


class MultiPartitionsDefinition(PartitionsDefinition):
    """Partitions along two named dimensions (say a date and a region): each key is one
    key of each dimension, and the partitions are every combination.

    At most one dimension may be a time-window definition; no dimension key may contain
    ``|``. ``context.partition_key`` of a run is a ``MultiPartitionKey``.
    """

    __slots__ = ("_defs",)

    def __init__(self, partitions_defs: Mapping[str, PartitionsDefinition]) -> None:
        if not isinstance(partitions_defs, Mapping) or len(partitions_defs) != 2:
            raise InvalidDefinitionError(
                "MultiPartitionsDefinition takes a dict of exactly two dimensions "
                f"(name -> partitions definition), got {partitions_defs!r}."
            )
        for name, pdef in partitions_defs.items():
            if not isinstance(name, str) or not name or SEPARATOR in name:
                raise InvalidDefinitionError(
                    f"MultiPartitionsDefinition: dimension name {name!r} must be a non-empty "
                    f"string without '{SEPARATOR}'."
                )
            if not isinstance(pdef, PartitionsDefinition) or isinstance(
                pdef, MultiPartitionsDefinition
            ):
                raise InvalidDefinitionError(
                    f"MultiPartitionsDefinition: dimension '{name}' must be a single-dimension "
                    f"partitions definition, got {pdef!r}."
                )
        timed = [n for n, d in partitions_defs.items() if hasattr(d, "cron_schedule")]
        if len(timed) > 1:
            raise InvalidDefinitionError(
                f"MultiPartitionsDefinition: at most one dimension may be time-window "
                f"partitioned; {timed} both are."
            )
        self._defs = {n: partitions_defs[n] for n in sorted(partitions_defs)}

    @property
    def partitions_defs(self) -> list[PartitionDimensionDefinition]:
        """The dimensions, ordered by name."""
        return [PartitionDimensionDefinition(n, d) for n, d in self._defs.items()]

    @property
    def partition_dimension_names(self) -> list[str]:
        """The dimension names, sorted."""
        return list(self._defs)

    def get_partitions_def_for_dimension(self, dimension_name: str) -> PartitionsDefinition:
        """The partitions definition of one dimension."""
        try:
            return self._defs[dimension_name]
        except KeyError:
            raise InvalidDefinitionError(
                f"{self!r} has no dimension '{dimension_name}'; its dimensions are "
                f"{list(self._defs)}."
            ) from None

    @property
    def time_window_dimension(self) -> PartitionDimensionDefinition | None:
        """The time-window dimension, if there is one."""
        for name, pdef in self._defs.items():
            if hasattr(pdef, "cron_schedule"):
                return PartitionDimensionDefinition(name, pdef)
        return None

    def get_partition_keys(self, current_time: datetime | None = None) -> list[str]:
        """Every combination of the dimensions' keys (the first dimension by name varies
        slowest), as ``MultiPartitionKey``s."""
        names = list(self._defs)
        per_dim = [self._defs[n].get_partition_keys(current_time) for n in names]
        return [
            MultiPartitionKey(dict(zip(names, combo, strict=True)))
            for combo in itertools.product(*per_dim)
        ]

    def get_num_partitions(self, current_time: datetime | None = None) -> int:
        """The product of the dimensions' sizes."""
        total = 1
        for pdef in self._defs.values():
            total *= pdef.get_num_partitions(current_time)
        return total

    def has_partition_key(self, partition_key: str, current_time: datetime | None = None) -> bool:
        """Whether each part of ``partition_key`` is a key of its dimension."""
        if not isinstance(partition_key, str):
            return False
        parts = partition_key.split(SEPARATOR)
        if len(parts) != len(self._defs):
            return False
        return all(
            pdef.has_partition_key(part, current_time)
            for pdef, part in zip(self._defs.values(), parts, strict=True)
        )

    def _invalid_key_reason(self, partition_key: str, current_time: datetime | None) -> str | None:
        parts = partition_key.split(SEPARATOR)
        if len(parts) != len(self._defs):
            return (
                f"A key of this definition has one part per dimension "
                f"({', '.join(self._defs)}), joined by '{SEPARATOR}'."
            )
        for (name, pdef), part in zip(self._defs.items(), parts, strict=True):
            if not pdef.has_partition_key(part, current_time):
                return f"'{part}' is not a key of dimension '{name}' ({pdef!r})."
        return None

    def get_partition_key_from_str(self, partition_key_str: str) -> MultiPartitionKey:
        """The ``MultiPartitionKey`` a ``a|b`` string names (validated)."""
        self.validate_partition_key(partition_key_str)
        parts = partition_key_str.split(SEPARATOR)
        return MultiPartitionKey(dict(zip(self._defs, parts, strict=True)))

    def _key_object(self, partition_key: str) -> str:
        if isinstance(partition_key, MultiPartitionKey):
            return partition_key
        parts = partition_key.split(SEPARATOR)
        if len(parts) != len(self._defs):
            return partition_key
        return MultiPartitionKey(dict(zip(self._defs, parts, strict=True)))

    def __eq__(self, other: object) -> bool:
        return isinstance(other, MultiPartitionsDefinition) and self._defs == other._defs

    def __hash__(self) -> int:
        return hash(("MultiPartitionsDefinition", tuple(self._defs.items())))

    def __repr__(self) -> str:
        inner = ", ".join(f"{n!r}: {d!r}" for n, d in self._defs.items())
        return f"MultiPartitionsDefinition({{{inner}}})"
