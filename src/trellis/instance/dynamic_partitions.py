"""Dynamic partition keys as every back end keeps them (table ``dynamic_partitions`` in
SQL: one row per definition name and key, in the order added), and the in-memory store of
``InMemoryStorage``."""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from typing import Any


class OrdinalsCache:
    """The ``(id, key)`` rows of each dynamic partitions definition as last read, with
    the stamp they were read at: the number of keys and the highest id. Ids are never
    reused and a new key always gets a higher one, so any add or delete changes the
    stamp; the status of an asset over 100,000 keys then reads two numbers, not the
    keys, while they do not change."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._rows: dict[str, tuple[Any, list[tuple[int, str]]]] = {}

    def rows(
        self, name: str, stamp: Any, read: Callable[[], list[tuple[int, str]]]
    ) -> list[tuple[int, str]]:
        """The cached rows of ``name`` when read at ``stamp``, else ``read()`` (cached);
        callers must not change the list."""
        with self._lock:
            cached = self._rows.get(name)
        if cached is not None and cached[0] == stamp:
            return cached[1]
        found = list(read())
        with self._lock:
            self._rows[name] = (stamp, found)
        return found


def ordinals_cache(owner: Any) -> OrdinalsCache:
    """The ``OrdinalsCache`` of a storage object (made on first use)."""
    cache = owner.__dict__.get("_ordinals_cache")
    if cache is None:
        cache = owner.__dict__.setdefault("_ordinals_cache", OrdinalsCache())
    return cache  # type: ignore[no-any-return]


class DynamicPartitionsMixin:
    """In-memory keeping of dynamic partition keys, for ``InMemoryStorage``."""

    _dynamic_lock: threading.Lock
    _dynamic: dict[str, dict[str, int]]
    _dynamic_next_id: int

    def _dynamic_init(self) -> None:
        self._dynamic_lock = threading.Lock()
        self._dynamic = {}
        self._dynamic_next_id = 1

    def add_dynamic_partitions(self, partitions_def_name: str, keys: Sequence[str]) -> None:
        """Add keys (those already there are left where they are)."""
        with self._dynamic_lock:
            stored = self._dynamic.setdefault(partitions_def_name, {})
            for key in keys:
                if key not in stored:
                    stored[key] = self._dynamic_next_id
                    self._dynamic_next_id += 1

    def delete_dynamic_partition(self, partitions_def_name: str, key: str) -> None:
        """Delete one key (nothing happens when it is not there)."""
        with self._dynamic_lock:
            self._dynamic.get(partitions_def_name, {}).pop(key, None)

    def get_dynamic_partitions(self, partitions_def_name: str) -> list[str]:
        """The keys of a definition, in the order they were added."""
        with self._dynamic_lock:
            return list(self._dynamic.get(partitions_def_name, ()))

    def get_dynamic_partition_ordinals(
        self, partitions_def_name: str, keys: Sequence[str] | None = None
    ) -> list[tuple[int, str]]:
        """``(id, key)`` of the stored keys (of ``keys`` only, when given), by id."""
        with self._dynamic_lock:
            stored = self._dynamic.get(partitions_def_name, {})
            if keys is None:
                return [(n, k) for k, n in stored.items()]
            return sorted((stored[k], k) for k in set(keys) if k in stored)

    def has_dynamic_partition(self, partitions_def_name: str, key: str) -> bool:
        """Whether the key is stored."""
        with self._dynamic_lock:
            return key in self._dynamic.get(partitions_def_name, ())
