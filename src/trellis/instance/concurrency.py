"""The concurrency-pool methods of ``Instance`` (``InstanceConcurrencyMixin``): pool
limits (``set_concurrency_limit`` and friends, ``trellis instance concurrency``) and the
slot claims the engine makes for steps of a pool (``claim_concurrency_slot``,
``free_concurrency_slots``).

A pool without a limit of its own takes ``concurrency: pools: default_limit`` of
``trellis.yaml`` (Dagster's shape); without one either, it is unlimited. A limit of 0
holds the pool's steps until a limit is set (Dagster's meaning as well).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from trellis.instance.pools import PoolLimit, PoolSlot, SlotClaim, check_limit, check_pool_name

if TYPE_CHECKING:
    from trellis.instance.config import InstanceSettings
    from trellis.instance.storage import InstanceStorage


class InstanceConcurrencyMixin:
    """Pool limits and slots, for ``Instance``."""

    storage: InstanceStorage
    settings: InstanceSettings

    if TYPE_CHECKING:

        def _maybe_check_dead_runs(self) -> None: ...  # Instance's

    @property
    def default_pool_limit(self) -> int | None:
        """The limit of pools that have none of their own (``concurrency: pools:
        default_limit`` in ``trellis.yaml``; None: unlimited)."""
        return self.settings.pool_default_limit

    def set_concurrency_limit(self, pool: str, limit: int) -> None:
        """Allow at most ``limit`` steps of ``pool`` to run at once across every run of
        the instance (``trellis instance concurrency set POOL N``); 0 holds them."""
        check_pool_name(pool)
        self.storage.set_pool_limit(pool, check_limit(limit, pool))

    def delete_concurrency_limit(self, pool: str) -> bool:
        """Remove the limit set for ``pool`` (it takes the default limit again); whether
        it had one."""
        return self.storage.delete_pool_limit(check_pool_name(pool))

    def _live(self, rows: list[PoolSlot]) -> list[PoolSlot]:
        """``rows`` without those of runs that have ended or are gone (a claim drops them;
        until one does, they count for nothing all the same)."""
        live: dict[str, bool] = {}
        for run_id in {row.run_id for row in rows}:
            run = self.storage.get_run(run_id)
            live[run_id] = run is not None and not run.status.is_finished
        return [row for row in rows if live[row.run_id]]

    def get_concurrency_limit(self, pool: str) -> PoolLimit:
        """The limit of ``pool`` (its own, else the default; None: unlimited), the slots
        its steps hold now and the steps waiting for one."""
        check_pool_name(pool)
        self._maybe_check_dead_runs()
        limits = self.storage.get_pool_limits()
        slots = tuple(self._live(self.storage.get_pool_slots(pool)))
        waiting = tuple(self._live(self.storage.get_pool_waiters(pool)))
        if pool in limits:
            return PoolLimit(pool, limits[pool], False, slots, waiting)
        return PoolLimit(pool, self.default_pool_limit, True, slots, waiting)

    def get_concurrency_limits(self) -> list[PoolLimit]:
        """Every pool with a limit set, a slot in use or a step waiting, by name."""
        self._maybe_check_dead_runs()
        limits = self.storage.get_pool_limits()
        slots = self._live(self.storage.get_pool_slots())
        waiting = self._live(self.storage.get_pool_waiters())
        names = sorted({*limits, *(row.pool for row in (*slots, *waiting))})
        return [
            PoolLimit(
                name,
                limits.get(name, self.default_pool_limit),
                name not in limits,
                tuple(slot for slot in slots if slot.pool == name),
                tuple(waiter for waiter in waiting if waiter.pool == name),
            )
            for name in names
        ]

    def claim_concurrency_slot(self, pool: str, run_id: str, step_key: str) -> SlotClaim:
        """Take a slot of ``pool`` for a step of a run if the pool has one free and no step
        that waited longer (and still asks) is in line for it (the engine calls this
        before launching the step, and again while it waits). Slots of runs that have
        ended are freed first; a refused claim looks for dead runs (at most once a
        second), so that the slots of a killed run come back."""
        claim = self.storage.claim_pool_slot(pool, run_id, step_key, self.default_pool_limit)
        if not claim.granted:
            self._maybe_check_dead_runs()
        return claim

    def free_concurrency_slots(self, run_id: str, step_key: str | None = None) -> int:
        """Free the slot a step of a run holds, or (without ``step_key``) every slot of
        the run; how many were freed."""
        return self.storage.free_pool_slots(run_id, step_key)
