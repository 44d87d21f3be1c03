"""Concurrency pools as the instance stores them: the limit of each pool (table
``concurrency_limits``) and the slots steps hold (table ``concurrency_slots``, one row per
run and step), with the in-memory keeping of both for ``InMemoryStorage``.

A step of a pool may run only while it holds a slot of that pool. Claiming one is a
single transaction in every back end (count the pool's slots, compare with its limit,
insert), so two processes never both take the last slot. The same transaction first
drops the pool's slots whose run has ended or no longer exists: a run killed before it
could free its slots loses them as soon as the instance marks it failed.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import NamedTuple

from trellis.core.errors import InstanceError

MAX_POOL_NAME = 255


@dataclass(frozen=True)
class PoolSlot:
    """One slot in use: the pool, the run and step holding it, and since when (seconds
    since the epoch)."""

    pool: str
    run_id: str
    step_key: str
    claimed_at: float


@dataclass(frozen=True)
class PoolLimit:
    """What the instance knows of one pool: its ``limit`` (None: unlimited), whether that
    limit is the instance's default (``from_default``: no limit was set for this pool),
    and the slots in use (``slots``)."""

    pool: str
    limit: int | None
    from_default: bool
    slots: tuple[PoolSlot, ...] = field(default_factory=tuple)

    @property
    def in_use(self) -> int:
        """How many slots steps hold now."""
        return len(self.slots)

    @property
    def free(self) -> int | None:
        """How many more steps may start now (None: unlimited)."""
        return None if self.limit is None else max(0, self.limit - self.in_use)


class SlotClaim(NamedTuple):
    """The answer to a claim: whether the slot was ``granted``, the pool's ``limit`` (None:
    unlimited) and how many slots were in use (the new one included when granted)."""

    granted: bool
    limit: int | None
    in_use: int


def check_pool_name(pool: object, where: str = "pool") -> str:
    """A valid pool name (a non-empty string of at most 255 characters), or
    ``InstanceError`` saying what was wrong with it."""
    if not isinstance(pool, str) or not pool.strip():
        raise InstanceError(f"The {where} must be a non-empty string, got {pool!r}.")
    if len(pool) > MAX_POOL_NAME:
        raise InstanceError(
            f"The {where} {pool[:40]!r}... is {len(pool)} characters long; at most "
            f"{MAX_POOL_NAME} are allowed."
        )
    return pool


def check_limit(limit: object, pool: str) -> int:
    """A valid pool limit (an int >= 0), or ``InstanceError`` naming the pool."""
    if isinstance(limit, bool) or not isinstance(limit, int) or limit < 0:
        raise InstanceError(
            f"The limit of pool '{pool}' must be a whole number of slots >= 0, got {limit!r}."
        )
    return limit


def decide_claim(limit: int | None, default_limit: int | None, in_use: int) -> SlotClaim:
    """Whether one more slot fits: ``limit`` set for the pool, else ``default_limit``
    (None for both: unlimited)."""
    effective = limit if limit is not None else default_limit
    if effective is None or in_use < effective:
        return SlotClaim(True, effective, in_use + 1)
    return SlotClaim(False, effective, in_use)


class InMemoryPoolsMixin:
    """Pool limits and slots in dicts, for ``InMemoryStorage`` (one lock for both)."""

    _pools_lock: threading.Lock
    _pool_limits: dict[str, int]
    _pool_slots: dict[tuple[str, str], PoolSlot]
    # Whether a run id names a stored run that has not ended (set by the storage).
    _run_is_live: Callable[[str], bool]

    def _pools_init(self, run_is_live: Callable[[str], bool]) -> None:
        self._pools_lock = threading.Lock()
        self._pool_limits = {}
        self._pool_slots = {}
        self._run_is_live = run_is_live

    def set_pool_limit(self, pool: str, limit: int) -> None:
        """Set the limit of a pool."""
        with self._pools_lock:
            self._pool_limits[pool] = limit

    def delete_pool_limit(self, pool: str) -> bool:
        """Forget a pool's limit; whether it had one."""
        with self._pools_lock:
            return self._pool_limits.pop(pool, None) is not None

    def get_pool_limits(self) -> dict[str, int]:
        """Every pool with a limit set, and its limit."""
        with self._pools_lock:
            return dict(sorted(self._pool_limits.items()))

    def claim_pool_slot(
        self, pool: str, run_id: str, step_key: str, default_limit: int | None
    ) -> SlotClaim:
        """Take a slot of ``pool`` for the step if one is free (a step already holding
        one keeps it)."""
        with self._pools_lock:
            held = self._pool_slots.get((run_id, step_key))
            for key, slot in list(self._pool_slots.items()):
                if slot.pool == pool and not self._run_is_live(slot.run_id):
                    del self._pool_slots[key]
            in_use = sum(1 for slot in self._pool_slots.values() if slot.pool == pool)
            if held is not None and held.pool == pool:
                return SlotClaim(True, self._pool_limits.get(pool, default_limit), in_use)
            claim = decide_claim(self._pool_limits.get(pool), default_limit, in_use)
            if claim.granted:
                self._pool_slots[(run_id, step_key)] = PoolSlot(pool, run_id, step_key, time.time())
            return claim

    def free_pool_slots(self, run_id: str, step_key: str | None = None) -> int:
        """Free the slot of one step of a run, or every slot of the run; how many."""
        with self._pools_lock:
            keys = [
                key
                for key in self._pool_slots
                if key[0] == run_id and (step_key is None or key[1] == step_key)
            ]
            for key in keys:
                del self._pool_slots[key]
            return len(keys)

    def get_pool_slots(self, pool: str | None = None) -> list[PoolSlot]:
        """The slots in use (of one pool, when given), oldest claim first."""
        with self._pools_lock:
            slots = [s for s in self._pool_slots.values() if pool is None or s.pool == pool]
        return sorted(slots, key=lambda s: (s.claimed_at, s.run_id, s.step_key))
