"""``partition_loading_context``: the time and the dynamic-partitions store partitions
definitions use within a block when a call does not pass its own (``current_time=``,
``dynamic_partitions_store=``). A time-window definition's last partition is the last
window completed by that time; a dynamic definition reads its keys from that store."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import datetime
from typing import Any, NamedTuple

from trellis.core.errors import InvalidInvocationError
from trellis.defs.dynamic_partitions import (
    current_dynamic_partitions_store,
    using_dynamic_partitions_store,
)

EFFECTIVE_TIME: ContextVar[datetime | None] = ContextVar("trellis_partitions_time", default=None)
"""The time time-window partitions definitions take as now (None: the clock)."""


class PartitionLoadingContext(NamedTuple):
    """What ``partition_loading_context`` set for its block."""

    effective_dt: datetime | None
    dynamic_partitions_store: Any


@contextmanager
def partition_loading_context(
    effective_dt: datetime | None = None, dynamic_partitions_store: Any = None
) -> Iterator[PartitionLoadingContext]:
    """Within the block, partitions definitions take ``effective_dt`` (a timezone-aware
    datetime) as the current time and read dynamic partition keys from
    ``dynamic_partitions_store`` (an ``Instance``); what is not given stays as the
    enclosing block set it."""
    if effective_dt is not None and (
        not isinstance(effective_dt, datetime) or effective_dt.tzinfo is None
    ):
        raise InvalidInvocationError(
            f"partition_loading_context: effective_dt must be a timezone-aware datetime, got "
            f"{effective_dt!r}."
        )
    time_token = EFFECTIVE_TIME.set(effective_dt) if effective_dt is not None else None
    try:
        if dynamic_partitions_store is None:
            yield PartitionLoadingContext(EFFECTIVE_TIME.get(), current_dynamic_partitions_store())
        else:
            with using_dynamic_partitions_store(dynamic_partitions_store):
                yield PartitionLoadingContext(EFFECTIVE_TIME.get(), dynamic_partitions_store)
    finally:
        if time_token is not None:
            EFFECTIVE_TIME.reset(time_token)
