"""The types of the instance's query API (Dagster's names): the filters a query takes
(``RunsFilter``, ``EventRecordsFilter``, ``AssetRecordsFilter``,
``RunStatusChangeRecordsFilter``), the records it returns (``EventLogRecord``,
``RunRecord``, ``AssetRecord``) and its pages (``EventRecordsResult``,
``PaginatedResults``).

A filter is checked when it is built: a wrong event type, status, time or storage id
raises ``InvalidInvocationError`` naming the argument. Storage answers an ``EventQuery``
(a filter made uniform: plain storage ids, timestamps and stored values); the
``Instance`` methods that make one are in ``query_methods.py``.

Cursors are storage ids (the event log's row ids, increasing in the order events were
stored) written as decimal strings; they mean the same on every back end.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Generic, TypeVar

from trellis.core.asset_checks import AssetCheckEvaluation
from trellis.core.asset_key import AssetKey, CoercibleToAssetKey
from trellis.core.errors import InvalidInvocationError
from trellis.core.events import Event, EventType
from trellis.core.run import Run, RunStatus

T = TypeVar("T")

# The events that change a run's status (``fetch_run_status_changes`` takes these).
RUN_STATUS_EVENT_TYPES = (
    EventType.RUN_ENQUEUED,
    EventType.RUN_STARTING,
    EventType.RUN_START,
    EventType.RUN_SUCCESS,
    EventType.RUN_FAILURE,
    EventType.RUN_CANCELING,
    EventType.RUN_CANCELED,
)

# The columns ``get_run_records(order_by=...)`` sorts by (a run that has not started or
# ended sorts as the oldest by ``start_time`` / ``end_time``).
RUN_ORDER_COLUMNS = ("id", "create_timestamp", "update_timestamp", "start_time", "end_time")


# -- checking arguments ---------------------------------------------------------------------
def check_event_type(value: Any, where: str) -> EventType:
    """``value`` (an ``EventType`` or its name) as an ``EventType``."""
    if isinstance(value, EventType):
        return value
    if isinstance(value, str) and value in EventType.__members__:
        return EventType(value)
    raise InvalidInvocationError(
        f"{where}: event_type must be a DagsterEventType (e.g. "
        f"DagsterEventType.ASSET_MATERIALIZATION), got {value!r}."
    )


def check_storage_id(value: Any, argument: str, where: str) -> int | None:
    """A storage id argument: an int, or None."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidInvocationError(
            f"{where}: {argument} must be a storage id (an int), got {value!r}."
        )
    return value


def check_limit(limit: Any, where: str, required: bool = True) -> int | None:
    """A query's ``limit``: an int of at least 1 (None only when not ``required``)."""
    if limit is None and not required:
        return None
    if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
        raise InvalidInvocationError(f"{where}: limit must be an int of at least 1, got {limit!r}.")
    return limit


def parse_cursor(cursor: Any, where: str) -> int | None:
    """An event-records cursor (a storage id as a string, as ``EventRecordsResult.cursor``
    gives it) as the storage id; None stays None."""
    if cursor is None:
        return None
    if isinstance(cursor, str):
        text = cursor.strip()
        if text.lstrip("-").isdigit():
            return int(text)
    raise InvalidInvocationError(
        f"{where}: cursor must be the cursor of an earlier result (a storage id as a "
        f"string, e.g. '42'), got {cursor!r}."
    )


def to_timestamp(value: Any, argument: str, where: str) -> float | None:
    """A time argument (a ``datetime``, or seconds since the epoch) as a timestamp."""
    if value is None:
        return None
    if isinstance(value, datetime):
        return value.timestamp()
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    raise InvalidInvocationError(
        f"{where}: {argument} must be a datetime or a timestamp (seconds since the epoch), "
        f"got {value!r}."
    )


def _storage_ids(value: Any, where: str) -> tuple[int, ...] | None:
    if value is None:
        return None
    if isinstance(value, (str, bytes)) or not isinstance(value, Iterable):
        raise InvalidInvocationError(f"{where}: storage_ids must be a list of ints, got {value!r}.")
    found = tuple(check_storage_id(v, "storage_ids", where) for v in value)
    if None in found:
        raise InvalidInvocationError(f"{where}: storage_ids must be a list of ints, got {value!r}.")
    return tuple(v for v in found if v is not None)


def _strings(value: Any, argument: str, where: str) -> tuple[str, ...] | None:
    if value is None:
        return None
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, Iterable) or not all(isinstance(v, str) for v in items):
        raise InvalidInvocationError(
            f"{where}: {argument} must be a list of strings, got {value!r}."
        )
    return tuple(items)


def _no_tags(tags: Any, where: str) -> None:
    if tags:
        raise InvalidInvocationError(
            f"{where}: filtering asset events by tags is not supported by Trellis' storage; "
            "filter the returned records' event_log_entry.tags instead."
        )


# -- records --------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class EventLogRecord:
    """A stored event with its ``storage_id``: increasing in the order events were stored,
    unique in the instance; the cursor of the event queries. ``event`` is the stored
    ``EventLogEntry`` (``event_log_entry``)."""

    storage_id: int
    event: Event

    @property
    def event_log_entry(self) -> Event:
        """The stored event (Dagster's name for it)."""
        return self.event

    @property
    def run_id(self) -> str:
        """The run the event belongs to (``""``: reported outside any run)."""
        return self.event.run_id

    @property
    def timestamp(self) -> float:
        """When the event happened (seconds since the epoch)."""
        return self.event.timestamp

    @property
    def event_type(self) -> EventType:
        """The event's ``DagsterEventType``."""
        return self.event.event_type

    @property
    def asset_key(self) -> AssetKey | None:
        """The asset of an asset event, else None."""
        return self.event.asset_key

    @property
    def partition_key(self) -> str | None:
        """The partition of an asset event, else None."""
        return self.event.partition

    @property
    def asset_materialization(self) -> Any:
        """The ``AssetMaterialization`` of an ``ASSET_MATERIALIZATION`` record, else None."""
        return self.event.asset_materialization

    @property
    def asset_observation(self) -> Any:
        """The ``AssetObservation`` of an ``ASSET_OBSERVATION`` record, else None."""
        return self.event.asset_observation

    @property
    def asset_check_evaluation(self) -> AssetCheckEvaluation | None:
        """The ``AssetCheckEvaluation`` of an ``ASSET_CHECK_EVALUATION`` record."""
        return getattr(self.event.data, "evaluation", None)


@dataclass(frozen=True, slots=True)
class RunRecord:
    """A stored run with what storage keeps beside it: its ``storage_id`` (the runs
    table's row id), when it was created and last updated (UTC ``datetime``s), and when it
    started and ended (timestamps, None until then)."""

    storage_id: int
    dagster_run: Run
    create_timestamp: datetime
    update_timestamp: datetime
    start_time: float | None = None
    end_time: float | None = None

    @classmethod
    def from_stored(cls, storage_id: int, run: Run, created: float, updated: float) -> RunRecord:
        """A record from the stored values (times as timestamps)."""
        return cls(
            int(storage_id),
            run,
            datetime.fromtimestamp(created, UTC),
            datetime.fromtimestamp(updated, UTC),
            run.start_time,
            run.end_time,
        )


@dataclass(frozen=True, slots=True)
class PaginatedResults(Generic[T]):
    """One page of a query: ``results``, the ``cursor`` to pass for the next page and
    whether there are more (``has_more``)."""

    results: Sequence[T]
    cursor: str | None
    has_more: bool


@dataclass(frozen=True, slots=True)
class EventRecordsResult:
    """One page of event records (``fetch_materializations`` and the like): the
    ``records``, the ``cursor`` to pass for the next page (the last record's storage id;
    the given cursor when the page is empty) and whether more records follow
    (``has_more``: exact, one more record is read to know)."""

    records: Sequence[EventLogRecord]
    cursor: str | None
    has_more: bool


@dataclass(frozen=True, slots=True)
class RunShardedEventsCursor:
    """A cursor into the event log of runs updated after a time (Dagster's sharded SQLite
    storage needs both); Trellis' event log is one table, so queries use ``id``."""

    id: int
    run_updated_after: datetime


@dataclass(frozen=True, slots=True)
class AssetEntry:
    """What the instance keeps about an asset: its newest materialization and
    observation records, and the run of its newest materialization."""

    asset_key: AssetKey
    last_materialization_record: EventLogRecord | None = None
    last_run_id: str | None = None
    last_observation_record: EventLogRecord | None = None

    @property
    def last_materialization(self) -> Event | None:
        """The newest materialization's ``EventLogEntry``, or None."""
        record = self.last_materialization_record
        return record.event_log_entry if record is not None else None

    @property
    def last_materialization_storage_id(self) -> int | None:
        """The newest materialization's storage id, or None."""
        record = self.last_materialization_record
        return record.storage_id if record is not None else None

    @property
    def last_observation(self) -> Event | None:
        """The newest observation's ``EventLogEntry``, or None."""
        record = self.last_observation_record
        return record.event_log_entry if record is not None else None


@dataclass(frozen=True, slots=True)
class AssetRecord:
    """An asset the instance has a history for (``instance.get_asset_records``)."""

    asset_entry: AssetEntry


EventRecord = EventLogRecord  # the name Trellis' own code uses


# -- the query storage answers ------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class EventQuery:
    """Which events a query wants, made uniform for storage: every condition given must
    hold (ids and times compare strictly). ``asset_keys`` use the asset index (a wiped
    asset's events are no longer found by key); ``job_names`` are the runs' job names."""

    event_types: tuple[EventType, ...]
    asset_key: AssetKey | None = None
    partitions: tuple[str, ...] | None = None
    after_id: int | None = None
    before_id: int | None = None
    after_timestamp: float | None = None
    before_timestamp: float | None = None
    storage_ids: tuple[int, ...] | None = None
    job_names: tuple[str, ...] | None = None

    def matches(self, record: EventLogRecord) -> bool:
        """Whether ``record`` passes (what the SQL query does, in Python; the asset key is
        the caller's: the in-memory index)."""
        event, sid = record.event, record.storage_id
        return (
            event.event_type in self.event_types
            and (self.asset_key is None or event.asset_key == self.asset_key)
            and (self.partitions is None or event.partition in self.partitions)
            and (self.after_id is None or sid > self.after_id)
            and (self.before_id is None or sid < self.before_id)
            and (self.after_timestamp is None or event.timestamp > self.after_timestamp)
            and (self.before_timestamp is None or event.timestamp < self.before_timestamp)
            and (self.storage_ids is None or sid in self.storage_ids)
            and (self.job_names is None or event.job_name in self.job_names)
        )

    def with_cursor(self, cursor: int | None, ascending: bool) -> EventQuery:
        """The query past ``cursor`` in the reading direction (the tighter bound wins)."""
        if cursor is None:
            return self
        if ascending:
            after = cursor if self.after_id is None else max(cursor, self.after_id)
            return _replace(self, after_id=after)
        before = cursor if self.before_id is None else min(cursor, self.before_id)
        return _replace(self, before_id=before)


def _replace(query: EventQuery, **changes: Any) -> EventQuery:
    from dataclasses import replace

    return replace(query, **changes)


# -- the filters ----------------------------------------------------------------------------
class EventRecordsFilter:
    """Which events ``instance.get_event_records`` returns: those of ``event_type``, of
    ``asset_key`` (and its ``asset_partitions``) when given, with a storage id after
    ``after_cursor`` / before ``before_cursor`` (an int, or a ``RunShardedEventsCursor``),
    a time after ``after_timestamp`` / before ``before_timestamp``, or among
    ``storage_ids``."""

    def __init__(
        self,
        event_type: EventType | str,
        asset_key: CoercibleToAssetKey | None = None,
        asset_partitions: Sequence[str] | None = None,
        after_cursor: int | RunShardedEventsCursor | None = None,
        before_cursor: int | RunShardedEventsCursor | None = None,
        after_timestamp: float | datetime | None = None,
        before_timestamp: float | datetime | None = None,
        storage_ids: Sequence[int] | None = None,
        tags: Mapping[str, str | Sequence[str]] | None = None,
    ) -> None:
        where = "EventRecordsFilter"
        self.event_type = check_event_type(event_type, where)
        self.asset_key = AssetKey.from_coercible(asset_key) if asset_key is not None else None
        self.asset_partitions = _strings(asset_partitions, "asset_partitions", where)
        self.after_cursor = after_cursor
        self.before_cursor = before_cursor
        self._after_id = _cursor_id(after_cursor, "after_cursor", where)
        self._before_id = _cursor_id(before_cursor, "before_cursor", where)
        self.after_timestamp = to_timestamp(after_timestamp, "after_timestamp", where)
        self.before_timestamp = to_timestamp(before_timestamp, "before_timestamp", where)
        self.storage_ids = _storage_ids(storage_ids, where)
        _no_tags(tags, where)
        self.tags = tags

    def to_query(self) -> EventQuery:
        """The storage query of this filter."""
        return EventQuery(
            (self.event_type,),
            self.asset_key,
            self.asset_partitions,
            self._after_id,
            self._before_id,
            self.after_timestamp,
            self.before_timestamp,
            self.storage_ids,
        )

    def __repr__(self) -> str:
        return f"EventRecordsFilter({self.event_type.value}, asset_key={self.asset_key!r})"


def _cursor_id(value: Any, argument: str, where: str) -> int | None:
    if isinstance(value, RunShardedEventsCursor):
        return value.id
    return check_storage_id(value, argument, where)


class AssetRecordsFilter:
    """Which events of one asset ``fetch_materializations`` / ``fetch_observations``
    return: of ``asset_partitions`` when given, with a storage id after
    ``after_storage_id`` / before ``before_storage_id`` or among ``storage_ids``, and a
    time after ``after_timestamp`` / before ``before_timestamp``."""

    def __init__(
        self,
        asset_key: CoercibleToAssetKey,
        asset_partitions: Sequence[str] | None = None,
        after_timestamp: float | datetime | None = None,
        before_timestamp: float | datetime | None = None,
        after_storage_id: int | None = None,
        before_storage_id: int | None = None,
        storage_ids: Sequence[int] | None = None,
        tags: Mapping[str, str | Sequence[str]] | None = None,
    ) -> None:
        where = "AssetRecordsFilter"
        if asset_key is None:
            raise InvalidInvocationError(f"{where}: asset_key is required.")
        self.asset_key = AssetKey.from_coercible(asset_key)
        self.asset_partitions = _strings(asset_partitions, "asset_partitions", where)
        self.after_timestamp = to_timestamp(after_timestamp, "after_timestamp", where)
        self.before_timestamp = to_timestamp(before_timestamp, "before_timestamp", where)
        self.after_storage_id = check_storage_id(after_storage_id, "after_storage_id", where)
        self.before_storage_id = check_storage_id(before_storage_id, "before_storage_id", where)
        self.storage_ids = _storage_ids(storage_ids, where)
        _no_tags(tags, where)
        self.tags = tags

    def to_query(self, event_type: EventType) -> EventQuery:
        """The storage query of this filter for events of ``event_type``."""
        return EventQuery(
            (event_type,),
            self.asset_key,
            self.asset_partitions,
            self.after_storage_id,
            self.before_storage_id,
            self.after_timestamp,
            self.before_timestamp,
            self.storage_ids,
        )

    def __repr__(self) -> str:
        return f"AssetRecordsFilter(asset_key={self.asset_key!r})"


class RunStatusChangeRecordsFilter:
    """Which run status events ``fetch_run_status_changes`` returns: those of
    ``event_type`` (``RUN_SUCCESS``, ``RUN_FAILURE``, ...), of runs of ``job_names`` when
    given, with a storage id after ``after_storage_id`` / before ``before_storage_id`` or
    among ``storage_ids``, and a time after ``after_timestamp`` / before
    ``before_timestamp``."""

    def __init__(
        self,
        event_type: EventType | str,
        after_timestamp: float | datetime | None = None,
        before_timestamp: float | datetime | None = None,
        after_storage_id: int | None = None,
        before_storage_id: int | None = None,
        storage_ids: Sequence[int] | None = None,
        job_names: Sequence[str] | None = None,
    ) -> None:
        where = "RunStatusChangeRecordsFilter"
        self.event_type = check_run_status_event_type(event_type, where)
        self.after_timestamp = to_timestamp(after_timestamp, "after_timestamp", where)
        self.before_timestamp = to_timestamp(before_timestamp, "before_timestamp", where)
        self.after_storage_id = check_storage_id(after_storage_id, "after_storage_id", where)
        self.before_storage_id = check_storage_id(before_storage_id, "before_storage_id", where)
        self.storage_ids = _storage_ids(storage_ids, where)
        self.job_names = _strings(job_names, "job_names", where)

    def to_query(self) -> EventQuery:
        """The storage query of this filter."""
        return EventQuery(
            (self.event_type,),
            None,
            None,
            self.after_storage_id,
            self.before_storage_id,
            self.after_timestamp,
            self.before_timestamp,
            self.storage_ids,
            self.job_names,
        )

    def __repr__(self) -> str:
        return f"RunStatusChangeRecordsFilter({self.event_type.value})"


def check_run_status_event_type(value: Any, where: str) -> EventType:
    """``value`` as one of the run status event types."""
    event_type = check_event_type(value, where)
    if event_type not in RUN_STATUS_EVENT_TYPES:
        names = ", ".join(t.value for t in RUN_STATUS_EVENT_TYPES)
        raise InvalidInvocationError(
            f"{where}: event_type must be a run status event type ({names}), got "
            f"{event_type.value}."
        )
    return event_type


class RunsFilter:
    """Which runs a query wants (``instance.get_runs(filters=RunsFilter(...))``): every
    condition given must hold. ``tags`` maps a key to a value, or to a collection of
    accepted values. Times are ``datetime``s or timestamps and compare strictly with the
    run's creation time (``created_after`` / ``created_before``) or the time its stored
    row last changed (``updated_after`` / ``updated_before``)."""

    __slots__ = (
        "created_after",
        "created_before",
        "job_name",
        "run_ids",
        "snapshot_id",
        "statuses",
        "tags",
        "updated_after",
        "updated_before",
    )

    def __init__(
        self,
        run_ids: Sequence[str] | None = None,
        job_name: str | None = None,
        statuses: Sequence[RunStatus | str] | None = None,
        tags: Mapping[str, str | Collection[str]] | None = None,
        snapshot_id: str | None = None,
        updated_after: float | datetime | None = None,
        updated_before: float | datetime | None = None,
        created_after: float | datetime | None = None,
        created_before: float | datetime | None = None,
    ) -> None:
        where = "RunsFilter"
        if snapshot_id is not None:
            raise InvalidInvocationError(
                f"{where}: snapshot_id is not supported: Trellis keeps no job snapshots; "
                "filter by job_name instead."
            )
        if job_name is not None and not isinstance(job_name, str):
            raise InvalidInvocationError(f"{where}: job_name must be a string, got {job_name!r}.")
        self.run_ids = _strings(run_ids, "run_ids", where)
        self.job_name = job_name
        self.statuses = _run_statuses(statuses, where)
        self.tags = _run_tags(tags, where)
        self.snapshot_id = None
        self.updated_after = to_timestamp(updated_after, "updated_after", where)
        self.updated_before = to_timestamp(updated_before, "updated_before", where)
        self.created_after = to_timestamp(created_after, "created_after", where)
        self.created_before = to_timestamp(created_before, "created_before", where)

    def matches(self, run: Run, updated: float | None = None) -> bool:
        """Whether ``run`` (whose stored row last changed at ``updated``) passes the
        filter (what the SQL query does, in Python)."""
        if self.run_ids is not None and run.run_id not in self.run_ids:
            return False
        if self.statuses is not None and run.status not in self.statuses:
            return False
        if self.job_name is not None and run.job_name != self.job_name:
            return False
        if not _between(run.create_time, self.created_after, self.created_before):
            return False
        if (self.updated_after, self.updated_before) != (None, None) and (
            updated is None or not _between(updated, self.updated_after, self.updated_before)
        ):
            return False
        return all(run.tags.get(key) in accepted for key, accepted in (self.tags or {}).items())

    def _values(self) -> tuple[Any, ...]:
        return tuple(getattr(self, name) for name in self.__slots__)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, RunsFilter) and self._values() == other._values()

    def __hash__(self) -> int:
        return hash(
            tuple(v if not isinstance(v, dict) else tuple(v.items()) for v in self._values())
        )

    def __repr__(self) -> str:
        given = ", ".join(
            f"{name}={value!r}"
            for name, value in zip(self.__slots__, self._values(), strict=True)
            if value is not None
        )
        return f"RunsFilter({given})"


def _between(value: float, after: float | None, before: float | None) -> bool:
    return (after is None or value > after) and (before is None or value < before)


def _run_statuses(value: Any, where: str) -> tuple[RunStatus, ...] | None:
    if value is None:
        return None
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, Iterable):
        raise InvalidInvocationError(f"{where}: statuses must be a list of DagsterRunStatus.")
    found = []
    for item in items:
        try:
            found.append(RunStatus(item))
        except ValueError:
            names = ", ".join(s.value for s in RunStatus)
            raise InvalidInvocationError(
                f"{where}: {item!r} in statuses is not a run status ({names})."
            ) from None
    return tuple(found)


def _run_tags(value: Any, where: str) -> dict[str, tuple[str, ...]] | None:
    if not value:
        return None
    if not isinstance(value, Mapping):
        raise InvalidInvocationError(f"{where}: tags must be a dict, got {value!r}.")
    found: dict[str, tuple[str, ...]] = {}
    for key, wanted in value.items():
        accepted = _strings(wanted, f"tags[{key!r}]", where)
        if not isinstance(key, str) or accepted is None:
            raise InvalidInvocationError(
                f"{where}: tags must map strings to a string or a list of strings, got "
                f"{key!r}: {wanted!r}."
            )
        found[key] = accepted
    return found
