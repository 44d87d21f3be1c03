"""Concurrency pools as the instance stores them: the limit of each pool (table
``concurrency_limits``), the slots steps hold (table ``concurrency_slots``, one row per
run and step) and the steps waiting for one (table ``concurrency_waiters``), with the
in-memory keeping of all three for ``InMemoryStorage``.

A step of a pool may run only while it holds a slot of that pool. Claiming one is a
single transaction in every back end (count the pool's slots, compare with its limit,
insert), so two processes never both take the last slot. The same transaction first
drops the pool's slots and waiters whose run has ended or no longer exists: a run killed
before it could free its slots loses them as soon as the instance marks it failed.

Waiting steps are served first come, first served across runs: a refused claim leaves a
waiter row, and a free slot goes to a step only if fewer steps wait ahead of it than
there are free slots, so a run that ends one step and asks for the next cannot keep a
slot from another run's step that was waiting. Only waiters that asked within
``WAITER_TTL`` seconds count: a run busy elsewhere (the in-process executor running
another step) does not hold the line; when it asks again it is first in line again.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import NamedTuple

from trellis.core.errors import InstanceError

MAX_POOL_NAME = 255
# A waiting step that has not asked for this long is passed over (engines ask every half
# second at most while a step waits, unless their only thread is running another step).
WAITER_TTL = 5.0


@dataclass(frozen=True, order=True)
class PoolSlot:
    """One slot in use, or one step waiting for a slot: the pool, the run and step, and
    since when (seconds since the epoch). Ordered by that time first."""

    claimed_at: float
    run_id: str
    step_key: str
    pool: str


@dataclass(frozen=True)
class PoolLimit:
    """What the instance knows of one pool: its ``limit`` (None: unlimited), whether that
    limit is the instance's default (``from_default``: no limit was set for this pool),
    the slots in use (``slots``) and the steps waiting for one (``waiting``, longest
    first)."""

    pool: str
    limit: int | None
    from_default: bool
    slots: tuple[PoolSlot, ...] = field(default_factory=tuple)
    waiting: tuple[PoolSlot, ...] = field(default_factory=tuple)

    @property
    def in_use(self) -> int:
        """How many slots steps hold now."""
        return len(self.slots)

    @property
    def free(self) -> int | None:
        """How many more steps may start now (None: unlimited)."""
        return None if self.limit is None else max(0, self.limit - self.in_use)


def slot_row(pool: str, run_id: str, step_key: str, since: float) -> PoolSlot:
    """A ``PoolSlot`` from the columns as the tables hold them."""
    return PoolSlot(claimed_at=since, run_id=run_id, step_key=step_key, pool=pool)


class SlotClaim(NamedTuple):
    """The answer to a claim: whether the slot was ``granted``, the pool's ``limit`` (None:
    unlimited), how many slots were in use (the new one included when granted) and, when
    refused, how many steps wait ahead of this one."""

    granted: bool
    limit: int | None
    in_use: int
    ahead: int = 0


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


def decide_claim(
    limit: int | None, default_limit: int | None, in_use: int, ahead: int = 0
) -> SlotClaim:
    """Whether the step gets a slot: the pool's ``limit``, else ``default_limit`` (None for
    both: unlimited), leaves more free slots than the ``ahead`` steps that have waited
    longer."""
    effective = limit if limit is not None else default_limit
    if effective is None or ahead < effective - in_use:
        return SlotClaim(True, effective, in_use + 1)
    return SlotClaim(False, effective, in_use, ahead)


def waiting_ahead(
    waiters: list[tuple[str, str, float]], run_id: str, step_key: str, now: float
) -> tuple[int, bool]:
    """How many of the pool's ``waiters`` (run, step and when it last asked; longest
    waiting first) that asked within ``WAITER_TTL`` wait ahead of this step, and
    whether this step is one of the waiters."""
    ahead = 0
    for run, step, seen in waiters:
        if run == run_id and step == step_key:
            return ahead, True
        if seen >= now - WAITER_TTL:
            ahead += 1
    return ahead, False


class InMemoryPoolsMixin:
    """Pool limits, slots and waiters in dicts, for ``InMemoryStorage`` (one lock for
    all)."""

    _pools_lock: threading.Lock
    _pool_limits: dict[str, int]
    _pool_slots: dict[tuple[str, str], PoolSlot]
    _pool_waiters: dict[tuple[str, str], PoolSlot]
    _pool_seen: dict[tuple[str, str], float]
    # Whether a run id names a stored run that has not ended (set by the storage).
    _run_is_live: Callable[[str], bool]

    def _pools_init(self, run_is_live: Callable[[str], bool]) -> None:
        self._pools_lock = threading.Lock()
        self._pool_limits = {}
        self._pool_slots = {}
        self._pool_waiters = {}
        self._pool_seen = {}
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
        """Take a slot of ``pool`` for the step if one is free and no step waits ahead of
        it (a step already holding one keeps it); else note that the step waits."""
        key = (run_id, step_key)
        with self._pools_lock:
            for rows in (self._pool_slots, self._pool_waiters):
                for row_key, row in list(rows.items()):
                    if row.pool == pool and not self._run_is_live(row.run_id):
                        del rows[row_key]
                        if rows is self._pool_waiters:
                            self._pool_seen.pop(row_key, None)
            held = self._pool_slots.get(key)
            in_use = sum(1 for slot in self._pool_slots.values() if slot.pool == pool)
            if held is not None and held.pool == pool:
                return SlotClaim(True, self._pool_limits.get(pool, default_limit), in_use)
            now = time.time()
            waiters = sorted(w for w in self._pool_waiters.values() if w.pool == pool)
            queue = [(w.run_id, w.step_key, self._pool_seen[w.run_id, w.step_key]) for w in waiters]
            ahead, waiting = waiting_ahead(queue, run_id, step_key, now)
            claim = decide_claim(self._pool_limits.get(pool), default_limit, in_use, ahead)
            if claim.granted:
                self._pool_waiters.pop(key, None)
                self._pool_seen.pop(key, None)
                self._pool_slots[key] = slot_row(pool, run_id, step_key, now)
            else:
                if not waiting:
                    self._pool_waiters[key] = slot_row(pool, run_id, step_key, now)
                self._pool_seen[key] = now
            return claim

    def free_pool_slots(self, run_id: str, step_key: str | None = None) -> int:
        """Free the slot of one step of a run, or every slot of the run, and forget that
        they waited; how many slots were freed."""
        with self._pools_lock:
            freed = 0
            for rows in (self._pool_slots, self._pool_waiters):
                keys = [
                    key
                    for key in rows
                    if key[0] == run_id and (step_key is None or key[1] == step_key)
                ]
                for key in keys:
                    del rows[key]
                if rows is self._pool_slots:
                    freed = len(keys)
                else:
                    for key in keys:
                        self._pool_seen.pop(key, None)
            return freed

    def get_pool_waiters(self, pool: str | None = None) -> list[PoolSlot]:
        """The steps waiting for a slot (of one pool, when given), longest first."""
        with self._pools_lock:
            rows = [w for w in self._pool_waiters.values() if pool is None or w.pool == pool]
        return sorted(rows)

    def get_pool_slots(self, pool: str | None = None) -> list[PoolSlot]:
        """The slots in use (of one pool, when given), oldest claim first."""
        with self._pools_lock:
            slots = [s for s in self._pool_slots.values() if pool is None or s.pool == pool]
        return sorted(slots)
