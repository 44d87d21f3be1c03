"""``@asset_sensor`` and ``AssetSensorDefinition``: a sensor whose function is called
with the newest materialization of one asset, when there is one it has not seen.

Its evaluation function is Trellis's: at each tick it reads the asset's latest
materialization through ``context.instance``; when its storage id is above the cursor
it stores the storage id as the cursor (``context.cursor`` is already that id when the
function runs, as in Dagster) and calls the user's function with ``(context,
asset_event)`` (``asset_event``: the ``ASSET_MATERIALIZATION`` event, with ``run_id``,
``asset_key``, ``partition``, ``timestamp`` and the materialization's metadata in
``data``). Like Dagster's, it reports the newest materialization only: two that
happen between ticks call the function once.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import Any

from trellis.core.asset_key import AssetKey, CoercibleToAssetKey
from trellis.core.errors import SensorExecutionError
from trellis.defs.evaluation_fn import _hints
from trellis.defs.run_request import SkipReason, call_user_fn, result_with_cursor
from trellis.defs.sensor import DefaultSensorStatus, SensorDefinition
from trellis.defs.signature import _is_resource_annotation


def _asset_fn_caller(fn: Callable[..., Any]) -> Callable[[Any, Any], Any]:
    """How a tick calls the user's function, as in Dagster: its first two parameters that
    are not resources get the context and the materialization event (a function may
    take either, both or neither); resource-typed parameters get the context's resource
    of their name."""
    hints = _hints(fn)
    params = [
        p
        for p in inspect.signature(fn).parameters.values()
        if p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)
    ]
    resource_args = [
        p.name for p in params if _is_resource_annotation(hints.get(p.name, p.annotation))
    ]
    plain = [p.name for p in params if p.name not in resource_args][:2]

    def call(context: Any, event: Any) -> Any:
        resources = getattr(context, "resources", None)
        kwargs = {name: getattr(resources, name) for name in resource_args}
        kwargs.update(zip(plain, (context, event), strict=False))
        return fn(**kwargs)

    return call


class AssetSensorDefinition(SensorDefinition):
    """Calls ``asset_materialization_fn(context, asset_event)`` for each new newest
    materialization of ``asset_key`` (see the module docstring)."""

    def __init__(
        self,
        name: str,
        asset_key: CoercibleToAssetKey,
        job_name: str | None = None,
        asset_materialization_fn: Callable[..., Any] | None = None,
        minimum_interval_seconds: int | None = None,
        description: str | None = None,
        job: Any = None,
        jobs: Sequence[Any] | None = None,
        default_status: DefaultSensorStatus = DefaultSensorStatus.STOPPED,
        required_resource_keys: Iterable[str] | None = None,
        tags: Mapping[str, str] | None = None,
        metadata: Mapping[str, Any] | None = None,
    ) -> None:
        self._asset_key = AssetKey.from_coercible(asset_key)
        if asset_materialization_fn is None:
            from trellis.core.errors import InvalidDefinitionError

            raise InvalidDefinitionError(
                f"AssetSensorDefinition '{name}' needs an asset_materialization_fn."
            )
        self._asset_fn = asset_materialization_fn
        self._call_asset_fn = _asset_fn_caller(asset_materialization_fn)
        super().__init__(
            name,
            evaluation_fn=self._evaluate,
            job_name=job_name,
            minimum_interval_seconds=minimum_interval_seconds,
            description=description,
            job=job,
            jobs=jobs,
            default_status=default_status,
            required_resource_keys=required_resource_keys,
            tags=tags,
            metadata=metadata,
        )

    @property
    def asset_key(self) -> AssetKey:
        """The asset whose materializations the sensor watches."""
        return self._asset_key

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        """Call the sensor directly (tests). With ``(context, asset_event)``: the user's
        function. With the context alone, as Dagster's tests do
        (``list(my_sensor(build_sensor_context(instance)))``): a tick's evaluation, as a
        list: ``[SkipReason]`` when the asset has no materialization after the context's
        cursor, else what the function returned for the newest one, with the context's
        cursor moved to it."""
        given = [*args, *kwargs.values()]
        if len(given) == 1 and hasattr(given[0], "update_cursor"):
            context = given[0]
            found = self._newest_unseen(context)
            if isinstance(found, SkipReason):
                return [found]
            context.update_cursor(str(found.storage_id))
            result = self._call_asset_fn(context, found.event)
            if result is None:
                return []
            if isinstance(result, Iterator):
                return list(result)
            return result if isinstance(result, list) else [result]
        return self._asset_fn(*args, **kwargs)

    def _newest_unseen(self, context: Any) -> Any:
        """The asset's newest materialization record after the context's cursor, or the
        ``SkipReason`` saying there is none."""
        record = context.instance.get_latest_materialization_record(self._asset_key)
        seen = int(context.cursor) if context.cursor and context.cursor.isdigit() else None
        if record is None or (seen is not None and record.storage_id <= seen):
            what = self._asset_key.to_user_string()
            return SkipReason(f"No new materialization of '{what}'.")
        return record

    def _evaluate(self, context: Any) -> Any:
        found = self._newest_unseen(context)
        if isinstance(found, SkipReason):
            return found
        owner = f"sensor '{self.name}'"
        # The cursor moves before the function runs, as in Dagster: context.cursor is the
        # materialization's storage id there (a natural run_key).
        context.update_cursor(str(found.storage_id))
        event = found.event
        result = call_user_fn(
            lambda ctx: self._call_asset_fn(ctx, event), True, context, SensorExecutionError, owner
        )
        return result_with_cursor(result, owner, None)


def asset_sensor(
    asset_key: CoercibleToAssetKey,
    *,
    job_name: str | None = None,
    name: str | None = None,
    minimum_interval_seconds: int | None = None,
    description: str | None = None,
    job: Any = None,
    jobs: Sequence[Any] | None = None,
    default_status: DefaultSensorStatus = DefaultSensorStatus.STOPPED,
    required_resource_keys: Iterable[str] | None = None,
    tags: Mapping[str, str] | None = None,
    metadata: Mapping[str, Any] | None = None,
) -> Callable[[Callable[..., Any]], AssetSensorDefinition]:
    """Turn ``fn(context, asset_event)`` into a sensor called with each new newest
    materialization of ``asset_key``; it returns what a sensor returns."""

    def decorate(fn: Callable[..., Any]) -> AssetSensorDefinition:
        return AssetSensorDefinition(
            name=name or fn.__name__,
            asset_key=asset_key,
            job_name=job_name,
            asset_materialization_fn=fn,
            minimum_interval_seconds=minimum_interval_seconds,
            description=description,
            job=job,
            jobs=jobs,
            default_status=default_status,
            required_resource_keys=required_resource_keys,
            tags=tags,
            metadata=metadata,
        )

    return decorate
