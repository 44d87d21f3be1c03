"""Dynamic partition keys as every back end keeps them (table ``dynamic_partitions`` in
SQL: one row per definition name and key, in the order added), and the in-memory store of
``InMemoryStorage``."""

from __future__ import annotations

import threading
from collections.abc import Sequence


class DynamicPartitionsMixin:
    """In-memory keeping of dynamic partition keys, for ``InMemoryStorage``."""

    _dynamic_lock: threading.Lock
    _dynamic: dict[str, dict[str, None]]

    def _dynamic_init(self) -> None:
        self._dynamic_lock = threading.Lock()
        self._dynamic = {}

    def add_dynamic_partitions(self, partitions_def_name: str, keys: Sequence[str]) -> None:
        """Add keys (those already there are left where they are)."""
        with self._dynamic_lock:
            stored = self._dynamic.setdefault(partitions_def_name, {})
            for key in keys:
                stored.setdefault(key, None)

    def delete_dynamic_partition(self, partitions_def_name: str, key: str) -> None:
        """Delete one key (nothing happens when it is not there)."""
        with self._dynamic_lock:
            self._dynamic.get(partitions_def_name, {}).pop(key, None)

    def get_dynamic_partitions(self, partitions_def_name: str) -> list[str]:
        """The keys of a definition, in the order they were added."""
        with self._dynamic_lock:
            return list(self._dynamic.get(partitions_def_name, ()))

    def has_dynamic_partition(self, partitions_def_name: str, key: str) -> bool:
        """Whether the key is stored."""
        with self._dynamic_lock:
            return key in self._dynamic.get(partitions_def_name, ())
