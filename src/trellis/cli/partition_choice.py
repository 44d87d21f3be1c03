"""``--partition KEY`` and ``--partition-range START...END`` (Dagster's separator): which
partitions a run covers, checked before the run starts. A partitioned job or selection
without either flag is refused up front (exit 2), naming the flag and a few valid keys,
instead of failing inside a step."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import click

from trellis.cli.errors import CliError

RANGE_SEPARATOR = "..."


@dataclass(frozen=True)
class PartitionChoice:
    """What to pass to the run: one partition key, or range tags (or neither)."""

    partition_key: str | None = None
    tags: dict[str, str] = field(default_factory=dict)


def _few_keys(partitions_def: Any) -> str:
    keys = partitions_def.get_partition_keys()
    if not keys:
        return "It has no partitions yet."
    shown = keys if len(keys) <= 5 else [*keys[:3], "...", keys[-1]]
    return f"Valid keys ({len(keys)}): {', '.join(shown)}."


def choose_partitions(
    partitions_def: Any, what: str, partition_key: str | None, partition_range: str | None
) -> PartitionChoice:
    """Check ``--partition`` / ``--partition-range`` against ``partitions_def`` (None when
    ``what``, e.g. "job 'x'", is not partitioned). Dynamic partitions are checked against
    the keys in the instance."""
    if _reads_instance(partitions_def):
        from trellis.cli.instance_access import open_instance

        with open_instance():
            return _choose(partitions_def, what, partition_key, partition_range)
    return _choose(partitions_def, what, partition_key, partition_range)


def _reads_instance(partitions_def: Any) -> bool:
    from trellis.defs.dynamic_partitions import DynamicPartitionsDefinition

    dims = getattr(partitions_def, "partitions_defs", None)
    parts = [d.partitions_def for d in dims] if dims else [partitions_def]
    return any(isinstance(p, DynamicPartitionsDefinition) for p in parts)


def _choose(
    partitions_def: Any, what: str, partition_key: str | None, partition_range: str | None
) -> PartitionChoice:
    from trellis.core.run import PARTITION_RANGE_END_TAG, PARTITION_RANGE_START_TAG
    from trellis.defs.partitions import PartitionKeyRange

    if partition_key is not None and partition_range is not None:
        raise click.UsageError("Pass --partition or --partition-range, not both.")
    if partitions_def is None:
        if partition_key is not None or partition_range is not None:
            flag = "--partition" if partition_key is not None else "--partition-range"
            raise CliError(f"{what} is not partitioned; drop {flag}.")
        return PartitionChoice()
    if partition_key is None and partition_range is None:
        raise CliError(
            f"{what} is partitioned ({partitions_def!r}): choose a partition with "
            f"--partition KEY, or several with --partition-range START...END. "
            f"{_few_keys(partitions_def)}"
        )
    if partition_key is not None:
        partitions_def.validate_partition_key(partition_key)
        return PartitionChoice(partition_key=partition_key)
    assert partition_range is not None
    start, separator, end = partition_range.partition(RANGE_SEPARATOR)
    if not separator or not start or not end or RANGE_SEPARATOR in end:
        first = partitions_def.get_first_partition_key() or "a"
        last = partitions_def.get_last_partition_key() or "b"
        raise click.BadParameter(
            f"'{partition_range}' is not a range; write START...END, e.g. {first}...{last}.",
            param_hint="'--partition-range'",
        )
    partitions_def.get_partition_keys_in_range(PartitionKeyRange(start, end))  # checks both
    return PartitionChoice(tags={PARTITION_RANGE_START_TAG: start, PARTITION_RANGE_END_TAG: end})


def selection_partitions_def(graph: Any, keys: set[Any]) -> Any:
    """The partitions definition shared by the selected assets that have one (None when
    none has); several different ones are left for the asset job to report."""
    found = []
    for key in sorted(keys):
        partitions_def = graph.producer[key].partitions_def
        if partitions_def is not None and partitions_def not in found:
            found.append(partitions_def)
    return found[0] if found else None
