"""The ``Instance`` methods of the query API (Dagster's names and semantics): runs by
``RunsFilter`` (``get_runs``, ``get_run_records``, ``get_runs_count``), event records by
filter (``fetch_materializations``, ``fetch_observations``, ``fetch_run_status_changes``,
``get_event_records``) and the asset index (``get_asset_records``,
``get_latest_materialization_events``).

The ``fetch_*`` methods return one page (``EventRecordsResult``): newest first unless
``ascending``; its ``cursor`` (the last record's storage id, as a string) passed back
continues in the same direction; ``has_more`` is exact (one more record is read).
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from trellis.core.asset_key import AssetKey, CoercibleToAssetKey
from trellis.core.errors import InvalidInvocationError
from trellis.core.events import Event, EventType
from trellis.core.run import Run, RunStatus
from trellis.instance.queries import (
    AssetRecord,
    AssetRecordsFilter,
    EventQuery,
    EventRecord,
    EventRecordsFilter,
    EventRecordsResult,
    RunRecord,
    RunsFilter,
    RunStatusChangeRecordsFilter,
    check_limit,
    check_run_status_event_type,
    parse_cursor,
)

if TYPE_CHECKING:
    from trellis.instance.storage import InstanceStorage


def _asset_query(records_filter: Any, event_type: EventType, where: str) -> EventQuery:
    if isinstance(records_filter, AssetRecordsFilter):
        return records_filter.to_query(event_type)
    if isinstance(records_filter, AssetKey):
        return EventQuery((event_type,), records_filter)
    raise InvalidInvocationError(
        f"{where}: records_filter must be an AssetKey or an AssetRecordsFilter, got "
        f"{records_filter!r}."
    )


def _runs_filter(filters: Any, where: str) -> RunsFilter:
    if filters is None:
        return RunsFilter()
    if not isinstance(filters, RunsFilter):
        raise InvalidInvocationError(f"{where}: filters must be a RunsFilter, got {filters!r}.")
    return filters


def _run_cursor(cursor: Any, where: str) -> str | None:
    if cursor is not None and not isinstance(cursor, str):
        raise InvalidInvocationError(
            f"{where}: cursor must be a run id (the last run of the previous page), got {cursor!r}."
        )
    return cursor


class InstanceQueriesMixin:
    """The query API of an ``Instance``."""

    storage: InstanceStorage

    def _maybe_check_dead_runs(self) -> None:  # the Instance's
        raise NotImplementedError

    # -- runs ------------------------------------------------------------------------
    def get_runs(
        self,
        filters: RunsFilter | None = None,
        cursor: str | None = None,
        limit: int | None = None,
        ascending: bool = False,
        *,
        statuses: RunStatus | str | Iterable[RunStatus | str] | None = None,
        job_name: str | None = None,
        tags: Mapping[str, str | Collection[str]] | None = None,
        created_after: float | datetime | None = None,
        created_before: float | datetime | None = None,
    ) -> list[Run]:
        """Runs passing ``filters`` (a ``RunsFilter``; or the keyword filters: status, job
        name, tags, creation time), newest first unless ``ascending``; with ``cursor`` (a
        run id) those after that run; at most ``limit``."""
        self._maybe_check_dead_runs()
        shortcuts = (statuses, job_name, tags, created_after, created_before)
        if any(value is not None for value in shortcuts):
            if filters is not None:
                raise InvalidInvocationError(
                    "get_runs: pass either filters=RunsFilter(...) or the keyword filters "
                    "(statuses, job_name, tags, created_after, created_before), not both."
                )
            filters = RunsFilter(
                statuses=statuses,  # type: ignore[arg-type]
                job_name=job_name,
                tags=tags,
                created_after=created_after,
                created_before=created_before,
            )
        runs_filter = _runs_filter(filters, "get_runs")
        limit = check_limit(limit, "get_runs", required=False)
        if cursor is None and not ascending:
            return self.storage.get_runs(runs_filter, limit)
        records = self.storage.get_run_records(
            runs_filter, limit, _run_cursor(cursor, "get_runs"), None, ascending
        )
        return [record.dagster_run for record in records]

    def get_run_ids(
        self, filters: RunsFilter | None = None, cursor: str | None = None, limit: int | None = None
    ) -> list[str]:
        """The ids of the runs ``get_runs`` returns."""
        return [run.run_id for run in self.get_runs(filters, cursor, limit)]

    def get_runs_count(self, filters: RunsFilter | None = None) -> int:
        """How many runs pass ``filters`` (every run when None)."""
        self._maybe_check_dead_runs()
        return int(self.storage.count_runs(_runs_filter(filters, "get_runs_count")))

    def get_run_records(
        self,
        filters: RunsFilter | None = None,
        limit: int | None = None,
        order_by: str | None = None,
        ascending: bool = False,
        cursor: str | None = None,
    ) -> list[RunRecord]:
        """``RunRecord``s (the run with its storage id, creation and update times, start
        and end) of the runs passing ``filters``, sorted by ``order_by`` (``"id"``,
        ``"create_timestamp"``, ``"update_timestamp"``, ``"start_time"``, ``"end_time"``;
        default: creation time) newest first unless ``ascending``; with ``cursor`` (a run
        id) those after that run."""
        self._maybe_check_dead_runs()
        where = "get_run_records"
        return list(
            self.storage.get_run_records(
                _runs_filter(filters, where),
                check_limit(limit, where, required=False),
                _run_cursor(cursor, where),
                order_by,
                bool(ascending),
            )
        )

    def get_run_record_by_id(self, run_id: str) -> RunRecord | None:
        """The ``RunRecord`` of one run, or None."""
        records = self.get_run_records(RunsFilter(run_ids=[run_id]), limit=1)
        return records[0] if records else None

    # -- event records -----------------------------------------------------------------
    def _page(
        self, query: EventQuery, limit: Any, cursor: Any, ascending: bool, where: str
    ) -> EventRecordsResult:
        size = check_limit(limit, where)
        assert size is not None
        position = parse_cursor(cursor, where)
        records = self.storage.query_event_records(
            query.with_cursor(position, bool(ascending)), size + 1, bool(ascending)
        )
        page = records[:size]
        next_cursor = str(page[-1].storage_id) if page else cursor
        return EventRecordsResult(page, next_cursor, len(records) > size)

    def fetch_materializations(
        self,
        records_filter: AssetKey | AssetRecordsFilter,
        limit: int,
        cursor: str | None = None,
        ascending: bool = False,
    ) -> EventRecordsResult:
        """One page of an asset's materializations (``records_filter``: its key, or an
        ``AssetRecordsFilter`` for partitions, times and storage ids), newest first
        unless ``ascending``; pass the result's ``cursor`` back for the next page."""
        where = "fetch_materializations"
        query = _asset_query(records_filter, EventType.ASSET_MATERIALIZATION, where)
        return self._page(query, limit, cursor, ascending, where)

    def fetch_observations(
        self,
        records_filter: AssetKey | AssetRecordsFilter,
        limit: int,
        cursor: str | None = None,
        ascending: bool = False,
    ) -> EventRecordsResult:
        """One page of an asset's observations, as ``fetch_materializations``."""
        where = "fetch_observations"
        query = _asset_query(records_filter, EventType.ASSET_OBSERVATION, where)
        return self._page(query, limit, cursor, ascending, where)

    def fetch_run_status_changes(
        self,
        records_filter: EventType | str | RunStatusChangeRecordsFilter,
        limit: int,
        cursor: str | None = None,
        ascending: bool = False,
    ) -> EventRecordsResult:
        """One page of the run status events of one type (``RUN_SUCCESS``,
        ``RUN_FAILURE``, ...; or a ``RunStatusChangeRecordsFilter`` for job names, times
        and storage ids) across runs, newest first unless ``ascending``."""
        where = "fetch_run_status_changes"
        if isinstance(records_filter, RunStatusChangeRecordsFilter):
            query = records_filter.to_query()
        else:
            query = EventQuery((check_run_status_event_type(records_filter, where),))
        return self._page(query, limit, cursor, ascending, where)

    def get_event_records(
        self,
        event_records_filter: EventRecordsFilter,
        limit: int | None = None,
        ascending: bool = False,
    ) -> list[EventRecord]:
        """The events passing ``event_records_filter`` across runs (``EventLogRecord``s),
        newest first unless ``ascending``; at most ``limit`` (Dagster deprecates this for
        the ``fetch_*`` methods; it keeps working here)."""
        where = "get_event_records"
        if not isinstance(event_records_filter, EventRecordsFilter):
            raise InvalidInvocationError(
                f"{where}: event_records_filter must be an EventRecordsFilter, got "
                f"{event_records_filter!r}."
            )
        size = check_limit(limit, where, required=False)
        return list(
            self.storage.query_event_records(event_records_filter.to_query(), size, bool(ascending))
        )

    # -- the asset index ---------------------------------------------------------------
    def get_asset_records(
        self, asset_keys: Sequence[CoercibleToAssetKey] | None = None
    ) -> list[AssetRecord]:
        """An ``AssetRecord`` for each of ``asset_keys`` (every asset when None) with a
        history: ``record.asset_entry.last_materialization`` (an ``EventLogEntry``),
        ``last_materialization_record``, ``last_run_id``, ``last_observation_record``.
        Assets never materialized nor observed are left out."""
        keys = None if asset_keys is None else [AssetKey.from_coercible(k) for k in asset_keys]
        return list(self.storage.get_asset_records(keys))

    def get_latest_materialization_events(
        self, asset_keys: Iterable[CoercibleToAssetKey]
    ) -> dict[AssetKey, Event | None]:
        """The newest materialization (``EventLogEntry``) of each of ``asset_keys``; None
        for one never materialized."""
        found: dict[AssetKey, Event | None] = {}
        for coercible in asset_keys:
            key = AssetKey.from_coercible(coercible)
            record = self.storage.get_latest_materialization_record(key)
            found[key] = record.event if record is not None else None
        return found
