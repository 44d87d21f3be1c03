"""``SourceAsset``: Dagster's deprecated way to declare an asset that this code does not
materialize; an ``AssetSpec`` here, accepted with a ``DeprecationWarning``."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from trellis.core.asset_key import CoercibleToAssetKey
from trellis.core.deprecation import warn_deprecated
from trellis.core.errors import InvalidDefinitionError
from trellis.defs.asset_spec import IO_MANAGER_KEY_METADATA, AssetSpec


class SourceAsset(AssetSpec):
    """An asset read (through its IO manager) but not materialized by this code.

        Deprecated in Dagster in favour of ``AssetSpec``: ``SourceAsset(key, io_manager_key=k)``
        is ``AssetSpec(key).with_io_manager_key(k)``, and that is what this builds (with a
        ``DeprecationWarning``). An observable source asset is ``@observable_source_asset``
    (``observe_fn=`` here is refused with that advice).
    """

    def __init__(
        self,
        key: CoercibleToAssetKey,
        metadata: Mapping[str, Any] | None = None,
        io_manager_key: str | None = None,
        io_manager_def: Any = None,
        description: str | None = None,
        partitions_def: Any = None,
        group_name: str | None = None,
        resource_defs: Mapping[str, Any] | None = None,
        observe_fn: Any = None,
        *,
        owners: Sequence[str] | None = None,
        tags: Mapping[str, str] | None = None,
        **_ignored: Any,
    ) -> None:
        warn_deprecated("SourceAsset", "AssetSpec(key, ...).with_io_manager_key(...)")
        owner = f"SourceAsset({key!r})"
        if observe_fn is not None:
            raise InvalidDefinitionError(
                f"{owner}: observe_fn is not taken here; declare an observable source asset "
                "with @observable_source_asset on the observe function instead."
            )
        if io_manager_def is not None or resource_defs:
            raise InvalidDefinitionError(
                f"{owner}: bind its IO manager and resources in Definitions(resources=...) and "
                "name the IO manager with io_manager_key=."
            )
        full_metadata = dict(metadata or {})
        if io_manager_key is not None:
            full_metadata[IO_MANAGER_KEY_METADATA] = io_manager_key
        super().__init__(
            key,
            description=description,
            metadata=full_metadata,
            group_name=group_name,
            owners=owners,
            tags=tags,
            partitions_def=partitions_def,
        )
