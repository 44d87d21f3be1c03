"""``BackfillPolicy``: how many partitions of an asset one run may materialize."""

from __future__ import annotations

from trellis.core.errors import InvalidDefinitionError


class BackfillPolicy:
    """How a range of an asset's partitions is split into runs: ``single_run()`` (one
    run hands the asset the whole range: ``context.partition_key_range``) or
    ``multi_run(max_partitions_per_run)`` (runs of at most that many partitions)."""

    __slots__ = ("max_partitions_per_run",)

    def __init__(self, max_partitions_per_run: int | None = 1) -> None:
        if max_partitions_per_run is not None and (
            not isinstance(max_partitions_per_run, int)
            or isinstance(max_partitions_per_run, bool)
            or max_partitions_per_run < 1
        ):
            raise InvalidDefinitionError(
                "BackfillPolicy: max_partitions_per_run must be a positive int (or None for "
                f"a single run), got {max_partitions_per_run!r}."
            )
        self.max_partitions_per_run = max_partitions_per_run

    @staticmethod
    def single_run() -> BackfillPolicy:
        """One run materializes every partition of the range."""
        return BackfillPolicy(None)

    @staticmethod
    def multi_run(max_partitions_per_run: int = 1) -> BackfillPolicy:
        """Runs of at most ``max_partitions_per_run`` partitions each."""
        return BackfillPolicy(max_partitions_per_run)

    @property
    def policy_type(self) -> str:
        """``"SINGLE_RUN"`` or ``"MULTI_RUN"``, as Dagster names them."""
        return "SINGLE_RUN" if self.max_partitions_per_run is None else "MULTI_RUN"

    def split(self, keys: list[str]) -> list[list[str]]:
        """``keys`` cut into the runs this policy makes, in order."""
        size = self.max_partitions_per_run or max(len(keys), 1)
        return [keys[i : i + size] for i in range(0, len(keys), size)]

    def __eq__(self, other: object) -> bool:
        return (
            isinstance(other, BackfillPolicy)
            and other.max_partitions_per_run == self.max_partitions_per_run
        )

    def __hash__(self) -> int:
        return hash(("BackfillPolicy", self.max_partitions_per_run))

    def __repr__(self) -> str:
        if self.max_partitions_per_run is None:
            return "BackfillPolicy.single_run()"
        return f"BackfillPolicy.multi_run({self.max_partitions_per_run})"
