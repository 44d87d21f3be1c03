"""Which partitions definition an asset job gets from the assets it selects.

As in Dagster, one run materializes assets of at most one partitions definition (plus any
number of unpartitioned assets, which run with whichever one is there). The implicit
asset job of a code location may hold assets of several; it has no partitions definition
then, and each run of it picks the one of the assets it selects
(``asset_job.subset_asset_job``), or refuses a selection that mixes them.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from trellis.core.asset_key import AssetKey
from trellis.core.errors import InvalidDefinitionError

if TYPE_CHECKING:
    from trellis.defs.asset import AssetsDefinition
    from trellis.defs.partitions import PartitionsDefinition

_SHOWN_KEYS = 5  # per partitions definition in the error


class MixedPartitionsError(InvalidDefinitionError):
    """A selection of assets whose partitions definitions differ, so no single run can
    materialize them. ``keys_by_partitions_def`` lists the selected assets of each
    definition."""

    def __init__(
        self,
        subject: str,
        keys_by_partitions_def: dict[PartitionsDefinition, list[AssetKey]],
    ) -> None:
        self.subject = subject
        self.keys_by_partitions_def = keys_by_partitions_def
        super().__init__(self.describe(subject))

    def describe(self, subject: str) -> str:
        """The message, with ``subject`` saying what selected the assets (a job, the CLI's
        ``--select``)."""
        lines = [f"{subject} selects assets with different partitions definitions:"]
        named = [
            (sorted(k.to_user_string() for k in keys), partitions_def)
            for partitions_def, keys in self.keys_by_partitions_def.items()
        ]
        for names, partitions_def in sorted(named, key=lambda item: item[0]):
            shown = ", ".join(names[:_SHOWN_KEYS])
            if len(names) > _SHOWN_KEYS:
                shown += f" and {len(names) - _SHOWN_KEYS} more"
            lines.append(f"  {shown}: {partitions_def!r}")
        lines.append(
            "One run materializes one partitions definition: select assets that share one "
            "(unpartitioned assets can run with any of them)."
        )
        return "\n".join(lines)


def _subject(job_name: str) -> str:
    # The implicit and ephemeral jobs (``__ASSET_JOB``, materialize()'s) are not names a
    # user wrote: speak of their selection instead.
    return "The asset selection" if job_name.startswith("__") else f"Job '{job_name}'"


def common_partitions_def(
    job_name: str,
    assets_defs: Iterable[AssetsDefinition],
    required: PartitionsDefinition | None = None,
    allow_mixed: bool = False,
) -> PartitionsDefinition | None:
    """The partitions definition of a job over ``assets_defs`` (each subset to the keys
    the job selects): ``required`` when the job names one, else the one the partitioned
    assets share, else None.

    Raises ``MixedPartitionsError`` naming the assets of each definition when they differ
    (None instead with ``allow_mixed``, for the implicit asset job), and
    ``InvalidDefinitionError`` when an asset's definition differs from ``required``.
    """
    defs = list(assets_defs)
    seen = {a.partitions_def for a in defs if a.partitions_def is not None}
    if required is not None:
        for assets_def in defs:
            own = assets_def.partitions_def
            if own is not None and own != required:
                names = ", ".join(k.to_user_string() for k in assets_def.selected_keys)
                raise InvalidDefinitionError(
                    f"{_subject(job_name)} has partitions_def {required!r}, but asset "
                    f"'{names}' is partitioned by {own!r}."
                )
        return required
    if len(seen) <= 1:
        return next(iter(seen), None)
    if allow_mixed:
        return None
    grouped: dict[PartitionsDefinition, list[AssetKey]] = {}
    for assets_def in defs:
        if assets_def.partitions_def is not None:
            grouped.setdefault(assets_def.partitions_def, []).extend(assets_def.selected_keys)
    raise MixedPartitionsError(_subject(job_name), grouped)
