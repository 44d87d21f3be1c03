"""The checks a run over a range of partitions passes before it starts: both ends are
keys of the job's partitions definition, in order, and no asset's backfill policy allows
fewer partitions per run than the range holds."""

from __future__ import annotations

from collections.abc import Mapping

from trellis.core.errors import InvalidInvocationError
from trellis.core.run import PARTITION_RANGE_END_TAG, PARTITION_RANGE_START_TAG
from trellis.defs.job import JobDefinition
from trellis.defs.partitions import PartitionKeyRange


def check_partition_range(job: JobDefinition, tags: Mapping[str, str]) -> None:
    """Refuse a range run (its start and end tags) that cannot run as asked: unknown keys
    (with the closest key), an end before its start, a job without partitions, or an
    asset whose ``BackfillPolicy.multi_run(n)`` caps a run below the range's size."""
    start, end = tags.get(PARTITION_RANGE_START_TAG), tags.get(PARTITION_RANGE_END_TAG)
    if start is None and end is None:
        return
    if start is None or end is None:
        given = PARTITION_RANGE_START_TAG if start is not None else PARTITION_RANGE_END_TAG
        raise InvalidInvocationError(
            f"A partition range needs both {PARTITION_RANGE_START_TAG} and "
            f"{PARTITION_RANGE_END_TAG}; only {given} was given."
        )
    partitions_def = job.partitions_def
    if partitions_def is None:
        raise InvalidInvocationError(
            f"A partition range {start}...{end} was given, but job '{job.name}' has no "
            "partitions_def (select assets that share one)."
        )
    keys = partitions_def.get_partition_keys_in_range(PartitionKeyRange(start, end))
    for node in job.flat_nodes:
        assets_def = node.assets_def
        if assets_def is None or assets_def.backfill_policy is None:
            continue
        policy = assets_def.backfill_policy
        cap = policy.max_partitions_per_run
        if cap is not None and len(keys) > cap:
            names = ", ".join(k.to_user_string() for k in assets_def.keys)
            raise InvalidInvocationError(
                f"Asset '{names}' has {policy!r}: a run may materialize at most {cap} of its "
                f"partitions, and the range {start}...{end} holds {len(keys)}. Run a smaller "
                "range, or give it BackfillPolicy.single_run()."
            )
