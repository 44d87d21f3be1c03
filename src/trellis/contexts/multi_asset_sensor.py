"""``MultiAssetSensorEvaluationContext``: what a ``@multi_asset_sensor`` function receives,
with a cursor per monitored asset (``multi_asset_cursor.py`` describes it).

Reads see the materializations after each asset's cursor as it was when the tick began;
``advance_cursor`` / ``advance_all_cursors`` mark records consumed, and
``update_cursor_after_evaluation`` (called by the sensor after its function returns)
turns them into the next tick's cursor.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from functools import partial
from typing import Any

from trellis.contexts.multi_asset_cursor import (
    AssetCursor,
    CursorAdvances,
    dump_cursor,
    parse_cursor,
    records_between,
    records_with_ids,
)
from trellis.contexts.sensor import SensorEvaluationContext
from trellis.core.asset_key import AssetKey, CoercibleToAssetKey
from trellis.core.errors import InvalidInvocationError, InvariantViolationError


def _key_list(keys: Iterable[AssetKey]) -> str:
    return ", ".join(k.to_user_string() for k in keys)


class MultiAssetSensorEvaluationContext(SensorEvaluationContext):
    """A sensor context over several assets, with a cursor per asset.

    Read each asset's materializations after its cursor
    (``latest_materialization_records_by_key``, ``materialization_records_for_key``), by
    partition (``latest_materialization_records_by_partition``,
    ``latest_materialization_records_by_partition_and_asset``), and mark what was handled
    consumed (``advance_cursor``, ``advance_all_cursors``): consuming a partition's record
    consumes its older ones too, and records passed over stay visible on later ticks
    (``get_trailing_unconsumed_events``). ``all_partitions_materialized`` and
    ``get_downstream_partition_keys`` answer partition questions through the
    definitions' partitions and partition mappings.
    """

    __slots__ = ("_advances", "_asset_keys", "_start", "_trailing_cache")

    def __init__(
        self,
        monitored_assets: Sequence[CoercibleToAssetKey] | Any,
        instance: Any = None,
        cursor: str | None = None,
        repository_def: Any = None,
        sensor_name: str | None = None,
        resources: Mapping[str, Any] | None = None,
        definitions: Any = None,
        **kwargs: Any,
    ) -> None:
        repository = repository_def if repository_def is not None else definitions
        super().__init__(
            instance=instance,
            cursor=cursor,
            repository_def=repository,
            sensor_name=sensor_name,
            resources=resources,
            **kwargs,
        )
        self._asset_keys = resolve_monitored(monitored_assets, repository)
        self._start: dict[AssetKey, AssetCursor] = parse_cursor(cursor, sensor_name)
        self._advances = CursorAdvances()
        self._trailing_cache: dict[AssetKey, list[Any]] = {}

    # -- what is monitored ---------------------------------------------------------------

    @property
    def asset_keys(self) -> list[AssetKey]:
        """The monitored assets."""
        return list(self._asset_keys)

    @property
    def assets_defs_by_key(self) -> dict[AssetKey, Any]:
        """Each monitored asset's ``AssetsDefinition`` (None for an external asset, or
        when the context has no definitions)."""
        graph = self._graph_if_any()
        producers = graph.producer if graph is not None else {}
        return {key: producers.get(key) for key in self._asset_keys}

    def _check(self, key: CoercibleToAssetKey) -> AssetKey:
        asset_key = AssetKey.from_coercible(key)
        if asset_key not in self._asset_keys:
            raise InvalidInvocationError(
                f"Asset '{asset_key.to_user_string()}' is not monitored by this sensor "
                f"(it monitors {_key_list(self._asset_keys)})."
            )
        return asset_key

    def _graph_if_any(self) -> Any:
        return getattr(self._repository_def, "asset_graph", None)

    def _graph(self, what: str) -> Any:
        graph = self._graph_if_any()
        if graph is None:
            raise InvalidInvocationError(
                f"{what} needs the sensor's definitions (to know the assets' partitions): "
                "build the context with definitions=... ."
            )
        return graph

    def _partitions_def(self, key: AssetKey, what: str) -> Any:
        graph = self._graph(what)
        if key not in graph.all_keys:
            raise InvalidInvocationError(
                f"{what}: asset '{key.to_user_string()}' is not in the sensor's definitions."
            )
        partitions_def = graph.partitions_def_for(key)
        if partitions_def is None:
            raise InvariantViolationError(
                f"{what}: asset '{key.to_user_string()}' is not partitioned."
            )
        return partitions_def

    def _partition_keys(self, partitions_def: Any) -> list[str]:
        from trellis.defs.dynamic_partitions import using_dynamic_partitions_store

        with using_dynamic_partitions_store(self._instance):
            return list(partitions_def.get_partition_keys())

    # -- the cursor as the tick began -----------------------------------------------------

    def _entry(self, key: AssetKey) -> AssetCursor:
        return self._start.get(key) or AssetCursor()

    def _trailing(self, key: AssetKey) -> list[Any]:
        if key not in self._trailing_cache:
            ids = self._entry(key).trailing.values()
            self._trailing_cache[key] = records_with_ids(self.instance, key, ids)
        return self._trailing_cache[key]

    def get_cursor_partition(self, asset_key: CoercibleToAssetKey | None = None) -> str | None:
        """The partition of the newest materialization consumed of ``asset_key`` (which
        may be left out when the sensor monitors one asset)."""
        if asset_key is None:
            if len(self._asset_keys) != 1:
                raise InvalidInvocationError(
                    "get_cursor_partition needs an asset key when the sensor monitors "
                    f"several assets ({_key_list(self._asset_keys)})."
                )
            key = self._asset_keys[0]
        else:
            key = self._check(asset_key)
        return self._entry(key).partition

    def get_trailing_unconsumed_events(self, asset_key: CoercibleToAssetKey) -> list[Any]:
        """The materializations of ``asset_key`` older than its cursor that were passed
        over (the newest of each partition), oldest first; ``advance_cursor`` consumes
        them."""
        return list(self._trailing(self._check(asset_key)))

    # -- reading materializations ---------------------------------------------------------

    def materialization_records_for_key(
        self, asset_key: CoercibleToAssetKey, limit: int | None = None
    ) -> list[Any]:
        """The materializations of ``asset_key`` after its cursor, oldest first (the
        first ``limit`` of them)."""
        key = self._check(asset_key)
        fresh = records_between(self.instance, key, self._entry(key).after)
        return fresh[:limit] if limit is not None else fresh

    def latest_materialization_records_by_key(
        self, asset_keys: Iterable[CoercibleToAssetKey] | None = None
    ) -> dict[AssetKey, Any]:
        """For each asset (all monitored ones by default), its newest materialization if
        it is after the asset's cursor, else None."""
        keys = [self._check(k) for k in asset_keys] if asset_keys is not None else self._asset_keys
        found: dict[AssetKey, Any] = {}
        for key in keys:
            latest = self.instance.get_latest_materialization_record(key)
            fresh = latest is not None and latest.storage_id > self._entry(key).after
            found[key] = latest if fresh else None
        return found

    def latest_materialization_records_by_partition(
        self, asset_key: CoercibleToAssetKey, after_cursor_partition: bool = False
    ) -> dict[str, Any]:
        """The newest unconsumed materialization of each partition of ``asset_key``, in
        the order they happened (the passed-over ones first). With
        ``after_cursor_partition``, only partitions after the cursor's partition (in the
        partitions definition's order)."""
        key = self._check(asset_key)
        partitions_def = self._partitions_def(key, "latest_materialization_records_by_partition")
        keys = self._partition_keys(partitions_def)
        cursor_partition = self._entry(key).partition
        if after_cursor_partition and cursor_partition is not None and cursor_partition in keys:
            keys = keys[keys.index(cursor_partition) + 1 :]
        wanted = set(keys)
        by_partition: dict[str, Any] = {}
        fresh = records_between(self.instance, key, self._entry(key).after)
        for record in [*self._trailing(key), *fresh]:
            partition = record.event.partition
            if partition in wanted:
                by_partition.pop(partition, None)  # keep the order of the newest ones
                by_partition[partition] = record
        return by_partition

    def latest_materialization_records_by_partition_and_asset(
        self,
    ) -> dict[str, dict[AssetKey, Any]]:
        """For each partition, the newest unconsumed materialization of each monitored
        asset that has one: ``{partition: {asset_key: record}}``. Every monitored asset
        must have the same partitions definition."""
        what = "latest_materialization_records_by_partition_and_asset"
        defs = [self._partitions_def(k, what) for k in self._asset_keys]
        if not defs or any(d != defs[0] for d in defs[1:]):
            raise InvalidInvocationError(
                f"{what} needs every monitored asset partitioned the same way; the sensor "
                f"monitors {_key_list(self._asset_keys)}."
            )
        found: dict[str, dict[AssetKey, Any]] = {}
        for key in self._asset_keys:
            for partition, record in self.latest_materialization_records_by_partition(key).items():
                found.setdefault(partition, {})[key] = record
        return found

    def all_partitions_materialized(
        self, asset_key: CoercibleToAssetKey, partitions: Sequence[str] | None = None
    ) -> bool:
        """Whether each of ``partitions`` of ``asset_key`` (all of its partitions by
        default) has been materialized at least once, whatever the cursor says."""
        key = AssetKey.from_coercible(asset_key)
        if partitions is not None:
            if isinstance(partitions, str) or not all(isinstance(p, str) for p in partitions):
                raise InvalidInvocationError(
                    f"all_partitions_materialized: partitions must be a list of partition "
                    f"keys, got {partitions!r}."
                )
            if not partitions:
                raise InvalidInvocationError(
                    "all_partitions_materialized: partitions is empty; pass at least one "
                    "partition key (or None for all of them)."
                )
            wanted = list(partitions)
        else:
            key = self._check(key)
            wanted = self._partition_keys(self._partitions_def(key, "all_partitions_materialized"))
        materialized = self.instance.get_latest_materializations_by_partition(key)
        return all(p in materialized for p in wanted)

    def get_downstream_partition_keys(
        self,
        partition_key: str,
        from_asset_key: CoercibleToAssetKey,
        to_asset_key: CoercibleToAssetKey,
    ) -> list[str]:
        """The partitions of ``to_asset_key`` that ``partition_key`` of
        ``from_asset_key`` maps to: through the partition mapping ``to_asset_key``
        declares for its dependency on ``from_asset_key``, else the default mapping
        between the two partitions definitions (so it also maps back up, from a
        downstream asset to its upstream)."""
        from trellis.defs.dynamic_partitions import using_dynamic_partitions_store
        from trellis.defs.partition_deps import mapping_for
        from trellis.defs.partition_mapping import default_partition_mapping

        what = "get_downstream_partition_keys"
        if not isinstance(partition_key, str):
            raise InvalidInvocationError(
                f"{what}: partition_key must be a string, got {partition_key!r}."
            )
        source = AssetKey.from_coercible(from_asset_key)
        target = AssetKey.from_coercible(to_asset_key)
        source_def = self._partitions_def(source, what)
        target_def = self._partitions_def(target, what)
        producer = self._graph(what).producer.get(target)
        mapping = (
            mapping_for(producer, source, source_def)
            if producer is not None
            else default_partition_mapping(source_def, target_def)
        )
        with using_dynamic_partitions_store(self._instance):
            if not source_def.has_partition_key(partition_key):
                raise InvalidInvocationError(
                    f"{what}: '{partition_key}' is not a partition of asset "
                    f"'{source.to_user_string()}'."
                )
            return list(mapping.downstream_partition_keys([partition_key], source_def, target_def))

    # -- consuming ------------------------------------------------------------------------

    def advance_cursor(self, materialization_records_by_key: Mapping[Any, Any]) -> None:
        """Mark each given record consumed (None leaves its asset alone): the next tick
        reads after it, and after the older records of its partition. The cursor moves
        when the tick ends (``update_cursor_after_evaluation``)."""
        for key, record in materialization_records_by_key.items():
            if record is not None:
                self._advances.add(self._check(key), record)
        self._cursor_updated = True

    def advance_all_cursors(self) -> None:
        """Consume every monitored asset's materializations up to its newest, the
        passed-over ones included."""
        for key, record in self.latest_materialization_records_by_key().items():
            if record is not None:
                self._advances.add(key, record)
        self._advances.all_advanced = True
        self._cursor_updated = True

    def update_cursor_after_evaluation(self) -> None:
        """Turn the records consumed so far into the cursor (``context.cursor``), and
        start reading from it. The sensor calls this once its function has returned."""
        keys = set(self._advances.consumed)
        if self._advances.all_advanced:
            keys.update(k for k in self._asset_keys if self._entry(k).trailing)
        if not keys:
            return
        entries = dict(self._start)
        for key in keys:
            entries[key] = self._advances.next_entry(
                key, self._entry(key), partial(self._trailing, key), self.instance
            )
        self._cursor = dump_cursor(entries)
        self._start = entries
        self._advances = CursorAdvances()
        self._trailing_cache = {}

    def __repr__(self) -> str:
        return (
            f"<MultiAssetSensorEvaluationContext {self._sensor_name or '?'} "
            f"assets={_key_list(self._asset_keys)} cursor={self._cursor!r}>"
        )


def resolve_monitored(monitored_assets: Any, repository: Any) -> list[AssetKey]:
    """The keys of ``monitored_assets``: keys, or an ``AssetSelection`` resolved against
    the definitions."""
    from trellis.defs.asset_selection import AssetSelection

    if isinstance(monitored_assets, AssetSelection):
        graph = getattr(repository, "asset_graph", None)
        if graph is None:
            raise InvalidInvocationError(
                "monitored_assets is an AssetSelection, which needs the sensor's definitions "
                "to resolve: pass definitions=... ."
            )
        return sorted(monitored_assets.resolve(graph))
    if isinstance(monitored_assets, (str, AssetKey)):
        raise InvalidInvocationError(
            f"monitored_assets must be a list of asset keys or an AssetSelection, got "
            f"{monitored_assets!r}."
        )
    return [AssetKey.from_coercible(k) for k in monitored_assets]
