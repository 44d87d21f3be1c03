"""Dynamic partitions: ``DynamicPartitionsDefinition(name=...)``, whose keys live in the
instance (added and deleted at runtime: ``instance.add_dynamic_partitions``, a sensor's
``SensorResult(dynamic_partitions_requests=[...])``, ``trellis partitions add``), and the
two requests a sensor returns to change them.

A definition reads its keys from the instance given as ``dynamic_partitions_store``, or
else from the one in use (``using_dynamic_partitions_store``: a run, a sensor tick and the
CLI set it).
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import datetime
from typing import Any, Protocol

from trellis.core.errors import InvalidDefinitionError, InvariantViolationError
from trellis.defs.partitions import PartitionsDefinition


class DynamicPartitionsStore(Protocol):
    """What a dynamic partitions definition reads its keys from (an ``Instance``)."""

    def get_dynamic_partitions(self, partitions_def_name: str) -> list[str]: ...

    def has_dynamic_partition(self, partitions_def_name: str, partition_key: str) -> bool: ...


_STORE: ContextVar[DynamicPartitionsStore | None] = ContextVar(
    "trellis_dynamic_partitions_store", default=None
)


def current_dynamic_partitions_store() -> DynamicPartitionsStore | None:
    """The store dynamic partitions definitions read from here, if one is set."""
    return _STORE.get()


@contextmanager
def using_dynamic_partitions_store(store: Any) -> Iterator[None]:
    """Within the block, dynamic partitions definitions read their keys from ``store``."""
    token = _STORE.set(store)
    try:
        yield
    finally:
        _STORE.reset(token)


def bad_dynamic_key_reason(key: object) -> str | None:
    """Why ``key`` cannot be a dynamic partition key, or None."""
    if not isinstance(key, str):
        return f"is a {type(key).__name__}, not a string"
    if not key:
        return "is empty"
    if "..." in key:
        return "contains '...', which separates the ends of a key range"
    for ch in key:
        if unicodedata.category(ch) == "Cc":
            return f"contains the control character {ch!r}"
    return None


class DynamicPartitionsDefinition(PartitionsDefinition):
    """Partitions whose keys are added and deleted while the project runs (one per file
    that lands, per customer that signs up), stored in the instance under ``name``."""

    __slots__ = ("_name",)

    def __init__(self, partition_fn: Any = None, name: str | None = None) -> None:
        if partition_fn is not None:
            raise InvalidDefinitionError(
                "DynamicPartitionsDefinition(partition_fn=...) is deprecated in Dagster and "
                "not supported by Trellis; give it a name and add keys to the instance."
            )
        if not isinstance(name, str) or not name.strip():
            raise InvalidDefinitionError(
                f"DynamicPartitionsDefinition needs a name (its keys are stored in the "
                f"instance under it), got {name!r}."
            )
        self._name = name

    @property
    def name(self) -> str:
        """The name the keys are stored under."""
        return self._name

    def _store(self, given: Any) -> DynamicPartitionsStore:
        store = given if given is not None else _STORE.get()
        if store is None:
            raise InvariantViolationError(
                f"DynamicPartitionsDefinition '{self._name}' reads its keys from an instance, "
                "and none is in use here: pass dynamic_partitions_store=instance."
            )
        return store

    def get_partition_keys(
        self, current_time: datetime | None = None, dynamic_partitions_store: Any = None
    ) -> list[str]:
        """The keys stored in the instance, in the order they were added."""
        return self._store(dynamic_partitions_store).get_dynamic_partitions(self._name)

    def has_partition_key(
        self,
        partition_key: str,
        current_time: datetime | None = None,
        dynamic_partitions_store: Any = None,
    ) -> bool:
        """Whether the instance holds ``partition_key`` under this definition's name."""
        store = self._store(dynamic_partitions_store)
        return store.has_dynamic_partition(self._name, partition_key)

    def _invalid_key_reason(self, partition_key: str, current_time: datetime | None) -> str | None:
        return (
            f"Add it first: instance.add_dynamic_partitions('{self._name}', [...]) or "
            f"trellis partitions add {self._name} KEY."
        )

    def build_add_request(self, partition_keys: Sequence[str]) -> AddDynamicPartitionsRequest:
        """A request (for ``SensorResult``) that adds ``partition_keys``."""
        return AddDynamicPartitionsRequest(self._name, partition_keys)

    def build_delete_request(self, partition_keys: Sequence[str]) -> DeleteDynamicPartitionsRequest:
        """A request (for ``SensorResult``) that deletes ``partition_keys``."""
        return DeleteDynamicPartitionsRequest(self._name, partition_keys)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, DynamicPartitionsDefinition) and other._name == self._name

    def __hash__(self) -> int:
        return hash(("DynamicPartitionsDefinition", self._name))

    def __repr__(self) -> str:
        return f"DynamicPartitionsDefinition(name={self._name!r})"


class _DynamicPartitionsRequest:
    __slots__ = ("partition_keys", "partitions_def_name")

    def __init__(self, partitions_def_name: str, partition_keys: Sequence[str]) -> None:
        owner = type(self).__name__
        if not isinstance(partitions_def_name, str) or not partitions_def_name:
            raise InvalidDefinitionError(
                f"{owner}: partitions_def_name must be a name, got {partitions_def_name!r}."
            )
        if isinstance(partition_keys, str):
            raise InvalidDefinitionError(
                f"{owner}: partition_keys takes a list of keys, got the string "
                f"{partition_keys!r}; write [{partition_keys!r}]."
            )
        self.partitions_def_name = partitions_def_name
        self.partition_keys = list(partition_keys)

    def __eq__(self, other: object) -> bool:
        return (
            type(other) is type(self)
            and other.partitions_def_name == self.partitions_def_name
            and other.partition_keys == self.partition_keys
        )

    def __hash__(self) -> int:
        return hash((type(self).__name__, self.partitions_def_name, tuple(self.partition_keys)))

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.partitions_def_name!r}, {self.partition_keys!r})"


class AddDynamicPartitionsRequest(_DynamicPartitionsRequest):
    """Adds keys to a dynamic partitions definition when the sensor tick that returned it
    (in ``SensorResult(dynamic_partitions_requests=[...])``) is processed."""

    __slots__ = ()


class DeleteDynamicPartitionsRequest(_DynamicPartitionsRequest):
    """Deletes keys of a dynamic partitions definition when the sensor tick that returned
    it is processed."""

    __slots__ = ()


def apply_dynamic_partitions_requests(instance: Any, requests: Sequence[Any]) -> None:
    """Apply a tick's requests to ``instance``, in order."""
    for request in requests:
        if isinstance(request, AddDynamicPartitionsRequest):
            instance.add_dynamic_partitions(request.partitions_def_name, request.partition_keys)
        else:
            for key in request.partition_keys:
                instance.delete_dynamic_partition(request.partitions_def_name, key)
