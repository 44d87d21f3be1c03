"""``@multi_asset_sensor`` and ``MultiAssetSensorDefinition``: a sensor over several
assets, whose function gets a ``MultiAssetSensorEvaluationContext`` with a cursor per
asset (it reads each asset's new materializations and advances the cursors itself).

Its evaluation function is Trellis's: it builds that context from the tick's context
(the same instance, resources, cursor), calls the user's function, and hands the
advanced cursor back as the tick's cursor. As in Dagster, the function may not set the
cursor itself (``SensorResult(cursor=...)``), and a tick that requests runs must advance
it (else the next tick would request them again).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import Any

from trellis.core.asset_key import AssetKey
from trellis.core.deprecation import warn_deprecated
from trellis.core.errors import (
    InvalidDefinitionError,
    InvariantViolationError,
    SensorExecutionError,
)
from trellis.defs.run_request import call_user_fn, normalize_result, result_with_cursor
from trellis.defs.sensor import DefaultSensorStatus, SensorDefinition


def _monitored_keys(owner: str, monitored_assets: Any) -> list[AssetKey] | None:
    """The asset keys of ``monitored_assets`` (keys, key lists, assets definitions), or
    None for an ``AssetSelection`` (resolved against the code location at each tick)."""
    from trellis.defs.asset import AssetsDefinition
    from trellis.defs.asset_selection import AssetSelection

    if isinstance(monitored_assets, AssetSelection):
        return None
    if monitored_assets is None or isinstance(monitored_assets, (str, AssetKey)):
        raise InvalidDefinitionError(
            f"{owner}: monitored_assets must be a list of asset keys or an AssetSelection, "
            f"got {monitored_assets!r}."
        )
    keys: list[AssetKey] = []
    for item in monitored_assets:
        if isinstance(item, AssetsDefinition):
            keys.extend(item.keys)
        else:
            keys.append(AssetKey.from_coercible(item))
    if not keys:
        raise InvalidDefinitionError(f"{owner}: monitored_assets is empty.")
    return keys


class MultiAssetSensorDefinition(SensorDefinition):
    """Calls ``asset_materialization_fn(context)`` with a
    ``MultiAssetSensorEvaluationContext`` over ``monitored_assets`` at each tick."""

    def __init__(
        self,
        name: str,
        monitored_assets: Sequence[Any] | Any,
        job_name: str | None = None,
        asset_materialization_fn: Callable[..., Any] | None = None,
        minimum_interval_seconds: int | None = None,
        description: str | None = None,
        job: Any = None,
        jobs: Sequence[Any] | None = None,
        default_status: DefaultSensorStatus = DefaultSensorStatus.STOPPED,
        request_assets: Any = None,
        required_resource_keys: Iterable[str] | None = None,
        tags: Mapping[str, str] | None = None,
        metadata: Mapping[str, Any] | None = None,
    ) -> None:
        owner = f"multi-asset sensor '{name}'"
        if asset_materialization_fn is None:
            raise InvalidDefinitionError(f"{owner} needs an asset_materialization_fn.")
        self._selection: Any = monitored_assets
        self._monitored = _monitored_keys(owner, monitored_assets)
        self._multi_fn = asset_materialization_fn
        from trellis.defs.run_request import takes_context

        self._multi_takes_context = takes_context(asset_materialization_fn, owner)
        super().__init__(
            name,
            evaluation_fn=self._evaluate,
            job_name=job_name,
            minimum_interval_seconds=minimum_interval_seconds,
            description=description,
            job=job,
            jobs=jobs,
            default_status=default_status,
            asset_selection=request_assets,
            required_resource_keys=required_resource_keys,
            tags=tags,
            metadata=metadata,
        )

    def monitored_asset_keys(self, definitions: Any = None) -> list[AssetKey]:
        """The assets the sensor watches (an ``AssetSelection`` is resolved against
        ``definitions``)."""
        if self._monitored is not None:
            return list(self._monitored)
        graph = getattr(definitions, "asset_graph", None)
        if graph is None:
            raise InvalidDefinitionError(
                f"sensor '{self.name}' monitors an AssetSelection, which needs the code "
                "location's definitions to resolve."
            )
        return sorted(self._selection.resolve(graph))

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        """Call the user's function directly (tests), with a context from
        ``build_multi_asset_sensor_context``; the records it consumed then move the
        context's cursor (``context.cursor``), as at the end of a tick. A generator
        function's items come back as a list (drained before the cursor moves)."""
        result = self._multi_fn(*args, **kwargs)
        if isinstance(result, Iterator):
            result = list(result)
        context = args[0] if args else kwargs.get("context")
        update = getattr(context, "update_cursor_after_evaluation", None)
        if update is not None:
            update()
        return result

    def _evaluate(self, context: Any) -> Any:
        from trellis.contexts.multi_asset_sensor import MultiAssetSensorEvaluationContext

        owner = f"sensor '{self.name}'"
        multi = MultiAssetSensorEvaluationContext(
            self.monitored_asset_keys(context.repository_def),
            instance=context.instance,
            cursor=context.cursor,
            repository_def=context.repository_def,
            sensor_name=self.name,
            resources=context.resources,
            last_tick_completion_time=getattr(context, "last_tick_completion_time", None),
            last_run_key=getattr(context, "last_run_key", None),
            last_sensor_start_time=getattr(context, "last_sensor_start_time", None),
        )
        result = call_user_fn(
            self._multi_fn, self._multi_takes_context, multi, SensorExecutionError, owner
        )
        requests = normalize_result(result, owner, allow_sensor_result=True, legacy_tags=None)[0]
        if requests and not multi.cursor_updated:
            raise InvariantViolationError(
                f"{owner} requested {len(requests)} run(s) without advancing its cursor, so "
                "the next tick would handle the same materializations again: call "
                "context.advance_cursor({key: record}) or context.advance_all_cursors()."
            )
        checked = result_with_cursor(result, owner, None)  # refuses a cursor of its own
        multi.update_cursor_after_evaluation()
        checked.cursor = multi.cursor if multi.cursor_updated else None
        return checked


def multi_asset_sensor(
    monitored_assets: Sequence[Any] | Any = None,
    *,
    job_name: str | None = None,
    name: str | None = None,
    minimum_interval_seconds: int | None = None,
    description: str | None = None,
    job: Any = None,
    jobs: Sequence[Any] | None = None,
    default_status: DefaultSensorStatus = DefaultSensorStatus.STOPPED,
    request_assets: Any = None,
    required_resource_keys: Iterable[str] | None = None,
    tags: Mapping[str, str] | None = None,
    metadata: Mapping[str, Any] | None = None,
    asset_keys: Sequence[AssetKey] | None = None,
) -> Callable[[Callable[..., Any]], MultiAssetSensorDefinition]:
    """Turn ``fn(context)`` into a sensor over ``monitored_assets``; ``context`` is a
    ``MultiAssetSensorEvaluationContext``. Return what a sensor returns; advance the
    cursors for what was handled. ``asset_keys=`` is Dagster's deprecated spelling of
    ``monitored_assets`` (accepted with a ``DeprecationWarning``)."""
    if asset_keys is not None:
        if monitored_assets is not None:
            raise InvalidDefinitionError(
                "@multi_asset_sensor: give monitored_assets= or the deprecated asset_keys=, "
                "not both."
            )
        warn_deprecated("@multi_asset_sensor(asset_keys=...)", "monitored_assets=")
        monitored_assets = asset_keys
    if monitored_assets is None:
        raise InvalidDefinitionError(
            "@multi_asset_sensor needs monitored_assets= (asset keys, assets definitions or "
            "an AssetSelection)."
        )

    def decorate(fn: Callable[..., Any]) -> MultiAssetSensorDefinition:
        return MultiAssetSensorDefinition(
            name=name or fn.__name__,
            monitored_assets=monitored_assets,
            job_name=job_name,
            asset_materialization_fn=fn,
            minimum_interval_seconds=minimum_interval_seconds,
            description=description,
            job=job,
            jobs=jobs,
            default_status=default_status,
            request_assets=request_assets,
            required_resource_keys=required_resource_keys,
            tags=tags,
            metadata=metadata,
        )

    return decorate
