"""Values that user code returns or yields from an op or asset body."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from trellis.core.asset_key import AssetKey, CoercibleToAssetKey
from trellis.core.data_version import DATA_VERSION_TAG, DataVersion, coerce_data_version
from trellis.core.metadata import MetadataValue, normalize_metadata


class Output:
    """One output of an op or asset: ``yield Output(value, "name", metadata={...})``.

    Return or yield one per output; an op with a single output may also just return
    the value. ``data_version`` is the version of an asset output's data (else Trellis
    derives one); ``tags`` are added to its materialization's tags.
    """

    __slots__ = ("data_version", "metadata", "output_name", "tags", "value")

    def __init__(
        self,
        value: Any,
        output_name: str = "result",
        metadata: Mapping[str, Any] | None = None,
        data_version: DataVersion | None = None,
        *,
        tags: Mapping[str, str] | None = None,
    ) -> None:
        self.value = value
        self.output_name = output_name
        self.metadata: dict[str, MetadataValue] = normalize_metadata(metadata)
        self.data_version = (
            None if data_version is None else coerce_data_version(data_version, "Output")
        )
        self.tags = None if tags is None else _tags(tags, "Output")

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Output):
            return NotImplemented
        return _same_fields(self, other)

    __hash__ = None  # type: ignore[assignment]  # holds any value

    def __repr__(self) -> str:
        return f"Output(output_name={self.output_name!r}, value={self.value!r})"


def _tags(tags: Mapping[str, str] | None, owner: str) -> dict[str, str] | None:
    """Event tags, checked: string keys and values (None when there are none)."""
    if not tags:
        return None
    for key, value in tags.items():
        if not isinstance(key, str) or not isinstance(value, str):
            raise TypeError(f"{owner} tags must map strings to strings, got {key!r}: {value!r}")
    return dict(tags)


def _set_result_fields(
    result: Any,
    asset_key: CoercibleToAssetKey | None,
    metadata: Mapping[str, Any] | None,
    check_results: Sequence[Any] | None,
    data_version: DataVersion | None,
    tags: Mapping[str, str] | None,
) -> None:
    """The fields a ``MaterializeResult`` and an ``ObserveResult`` share, checked."""
    owner = type(result).__name__
    result.asset_key = AssetKey.from_coercible(asset_key) if asset_key is not None else None
    result.metadata = normalize_metadata(metadata)
    result.check_results = list(check_results or ())
    result.data_version = None if data_version is None else coerce_data_version(data_version, owner)
    result.tags = _tags(tags, owner)


def _same_fields(a: Any, b: Any) -> bool:
    """Value equality of two objects of one ``__slots__`` class, field by field."""
    return type(a) is type(b) and all(getattr(a, f) == getattr(b, f) for f in a.__slots__)


class MaterializeResult:
    """Returned by an asset that stores its data itself: metadata only, no IO manager call.

    ``check_results`` carries the ``AssetCheckResult``s of the checks the asset declares
    in ``check_specs=``, recorded with the materialization; ``data_version`` is the
    version of the data written (else Trellis derives one); ``tags`` are added to the
    materialization's tags."""

    __slots__ = ("asset_key", "check_results", "data_version", "metadata", "tags", "value")
    asset_key: AssetKey | None
    metadata: dict[str, MetadataValue]
    check_results: list[Any]
    data_version: DataVersion | None
    tags: dict[str, str] | None

    def __init__(
        self,
        *,
        asset_key: CoercibleToAssetKey | None = None,
        metadata: Mapping[str, Any] | None = None,
        check_results: Sequence[Any] | None = None,
        data_version: DataVersion | None = None,
        tags: Mapping[str, str] | None = None,
        value: Any = None,
    ) -> None:
        _set_result_fields(self, asset_key, metadata, check_results, data_version, tags)
        self.value = value

    def check_result_named(self, check_name: str) -> Any:
        """The ``AssetCheckResult`` of the check called ``check_name``."""
        for result in self.check_results:
            if result.check_name == check_name:
                return result
        names = [r.check_name for r in self.check_results]
        raise KeyError(f"No check result named {check_name!r}; check results: {names}")

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, MaterializeResult):
            return NotImplemented
        return _same_fields(self, other)

    __hash__ = None  # type: ignore[assignment]  # holds any value

    def __repr__(self) -> str:
        key = self.asset_key.to_user_string() if self.asset_key is not None else None
        return f"MaterializeResult(asset_key={key!r}, metadata={self.metadata!r})"


class AssetMaterialization:
    """A record that an asset was materialized; the engine emits one per asset output,
    and user code may log its own with ``context.log_event``. ``tags`` hold its data
    version and provenance (``trellis.core.data_version``) and any tags the output gave."""

    __slots__ = ("asset_key", "description", "metadata", "partition", "tags")

    def __init__(
        self,
        asset_key: CoercibleToAssetKey,
        description: str | None = None,
        metadata: Mapping[str, Any] | None = None,
        partition: str | None = None,
        tags: Mapping[str, str] | None = None,
    ) -> None:
        self.asset_key = AssetKey.from_coercible(asset_key)
        self.description = description
        self.metadata = normalize_metadata(metadata)
        self.partition = partition
        self.tags = _tags(tags, "AssetMaterialization")

    @classmethod
    def of_output(
        cls,
        asset_key: AssetKey,
        metadata: dict[str, MetadataValue],
        partition: str | None,
        tags: dict[str, str] | None = None,
    ) -> AssetMaterialization:
        """The materialization the engine records for an asset output (the key and the
        metadata are already normalized, so nothing is converted again)."""
        materialization = cls.__new__(cls)
        materialization.asset_key = asset_key
        materialization.description = None
        materialization.metadata = metadata
        materialization.partition = partition
        materialization.tags = tags
        return materialization

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, AssetMaterialization):
            return NotImplemented
        return _same_fields(self, other)

    __hash__ = None  # type: ignore[assignment]  # holds dicts

    def __repr__(self) -> str:
        return f"AssetMaterialization({self.asset_key!r}, partition={self.partition!r})"


class AssetObservation:
    """A record that an asset was observed (not changed): what an observable source
    asset's observation records (its data version under ``dagster/data_version`` in
    ``tags``), or logged by user code with ``context.log_event``."""

    __slots__ = ("asset_key", "description", "metadata", "partition", "tags")

    def __init__(
        self,
        asset_key: CoercibleToAssetKey,
        description: str | None = None,
        metadata: Mapping[str, Any] | None = None,
        partition: str | None = None,
        tags: Mapping[str, str] | None = None,
    ) -> None:
        self.asset_key = AssetKey.from_coercible(asset_key)
        self.description = description
        self.metadata = normalize_metadata(metadata)
        self.partition = partition
        self.tags = _tags(tags, "AssetObservation")

    @property
    def data_version(self) -> str | None:
        """The data version the observation recorded, if any."""
        return (self.tags or {}).get(DATA_VERSION_TAG)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, AssetObservation):
            return NotImplemented
        return _same_fields(self, other)

    __hash__ = None  # type: ignore[assignment]  # holds dicts

    def __repr__(self) -> str:
        return f"AssetObservation({self.asset_key!r}, partition={self.partition!r})"


class ObserveResult:
    """What an observe function (``@observable_source_asset``, an observing
    ``@multi_observable_source_asset``) returns to report one asset's observation: its
    ``data_version``, ``metadata`` and ``tags``."""

    __slots__ = ("asset_key", "check_results", "data_version", "metadata", "tags")
    asset_key: AssetKey | None
    metadata: dict[str, MetadataValue]
    check_results: list[Any]
    data_version: DataVersion | None
    tags: dict[str, str] | None

    def __init__(
        self,
        *,
        asset_key: CoercibleToAssetKey | None = None,
        metadata: Mapping[str, Any] | None = None,
        check_results: Sequence[Any] | None = None,
        data_version: DataVersion | None = None,
        tags: Mapping[str, str] | None = None,
    ) -> None:
        _set_result_fields(self, asset_key, metadata, check_results, data_version, tags)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, ObserveResult):
            return NotImplemented
        return _same_fields(self, other)

    __hash__ = None  # type: ignore[assignment]  # holds dicts

    def __repr__(self) -> str:
        key = self.asset_key.to_user_string() if self.asset_key is not None else None
        return f"ObserveResult(asset_key={key!r}, data_version={self.data_version!r})"
