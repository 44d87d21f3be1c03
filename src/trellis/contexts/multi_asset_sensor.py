"""``MultiAssetSensorEvaluationContext``: what a ``@multi_asset_sensor`` function receives,
with a cursor per monitored asset (the storage id of the newest materialization it has
consumed; the sensor's cursor is their JSON)."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from trellis.contexts.sensor import SensorEvaluationContext
from trellis.core.asset_key import AssetKey, CoercibleToAssetKey
from trellis.core.errors import InvalidInvocationError

_SCANNED = 1000  # the newest materializations of an asset read per call


class MultiAssetSensorEvaluationContext(SensorEvaluationContext):
    """A sensor context over several assets: read each asset's materializations after its
    own cursor (``latest_materialization_records_by_key``,
    ``materialization_records_for_key``) and move the cursors past what was handled
    (``advance_cursor``, ``advance_all_cursors``)."""

    __slots__ = ("_asset_keys", "_fetched", "_positions")

    def __init__(
        self,
        monitored_assets: Sequence[CoercibleToAssetKey],
        instance: Any = None,
        cursor: str | None = None,
        repository_def: Any = None,
        sensor_name: str | None = None,
        resources: Mapping[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(
            instance=instance,
            cursor=cursor,
            repository_def=repository_def,
            sensor_name=sensor_name,
            resources=resources,
            **kwargs,
        )
        self._asset_keys = [AssetKey.from_coercible(k) for k in monitored_assets]
        self._positions: dict[AssetKey, int] = {}
        if cursor:
            try:
                stored = json.loads(cursor)
                self._positions = {AssetKey.from_user_string(k): int(v) for k, v in stored.items()}
            except (ValueError, AttributeError, TypeError):
                raise InvalidInvocationError(
                    f"The cursor {cursor!r} of multi-asset sensor '{sensor_name}' is not one it "
                    "wrote (a JSON object of asset key to storage id); reset it with trellis "
                    "sensor cursor NAME --delete."
                ) from None
        self._fetched: dict[AssetKey, Any] = {}

    @property
    def asset_keys(self) -> list[AssetKey]:
        """The monitored assets."""
        return list(self._asset_keys)

    def _check(self, key: CoercibleToAssetKey) -> AssetKey:
        asset_key = AssetKey.from_coercible(key)
        if asset_key not in self._asset_keys:
            shown = ", ".join(k.to_user_string() for k in self._asset_keys)
            raise InvalidInvocationError(
                f"Asset '{asset_key.to_user_string()}' is not monitored by this sensor "
                f"(it monitors {shown})."
            )
        return asset_key

    def materialization_records_for_key(
        self, asset_key: CoercibleToAssetKey, limit: int | None = None
    ) -> list[Any]:
        """The materializations of ``asset_key`` after its cursor, oldest first (the
        first ``limit`` of them)."""
        key = self._check(asset_key)
        after = self._positions.get(key, 0)
        records = self.instance.get_materialization_records(key, limit=_SCANNED)
        fresh = sorted((r for r in records if r.storage_id > after), key=lambda r: r.storage_id)
        return fresh[:limit] if limit is not None else fresh

    def latest_materialization_records_by_key(
        self, asset_keys: Iterable[CoercibleToAssetKey] | None = None
    ) -> dict[AssetKey, Any]:
        """For each asset (all monitored ones by default), its newest materialization after
        its cursor, or None."""
        keys = [self._check(k) for k in asset_keys] if asset_keys is not None else self._asset_keys
        found: dict[AssetKey, Any] = {}
        for key in keys:
            latest = self.instance.get_latest_materialization_record(key)
            after = self._positions.get(key, 0)
            found[key] = latest if latest is not None and latest.storage_id > after else None
            if found[key] is not None:
                self._fetched[key] = found[key]
        return found

    def advance_cursor(self, materialization_records_by_key: Mapping[Any, Any]) -> None:
        """Move each asset's cursor to the given record (None leaves it where it is)."""
        for key, record in materialization_records_by_key.items():
            if record is not None:
                asset_key = self._check(key)
                self._positions[asset_key] = max(
                    self._positions.get(asset_key, 0), int(record.storage_id)
                )
        self._store()

    def advance_all_cursors(self) -> None:
        """Move every asset's cursor past its newest materialization read by
        ``latest_materialization_records_by_key`` (or, unread, its newest one)."""
        for key in self._asset_keys:
            record = self._fetched.get(key) or self.instance.get_latest_materialization_record(key)
            if record is not None:
                self._positions[key] = max(self._positions.get(key, 0), int(record.storage_id))
        self._store()

    def _store(self) -> None:
        positions = {k.to_user_string(): v for k, v in sorted(self._positions.items())}
        self.update_cursor(json.dumps(positions, separators=(",", ":")))
