"""Values that user code returns or yields from an op or asset body."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from trellis.core.asset_key import AssetKey, CoercibleToAssetKey
from trellis.core.metadata import MetadataValue, normalize_metadata


class Output:
    """One output of an op or asset: ``yield Output(value, "name", metadata={...})``.

    Return or yield one per output; an op with a single output may also just return
    the value.
    """

    __slots__ = ("metadata", "output_name", "value")

    def __init__(
        self,
        value: Any,
        output_name: str = "result",
        metadata: Mapping[str, Any] | None = None,
    ) -> None:
        self.value = value
        self.output_name = output_name
        self.metadata: dict[str, MetadataValue] = normalize_metadata(metadata)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Output):
            return NotImplemented
        return _same_fields(self, other)

    __hash__ = None  # type: ignore[assignment]  # holds any value

    def __repr__(self) -> str:
        return f"Output(output_name={self.output_name!r}, value={self.value!r})"


def _same_fields(a: Any, b: Any) -> bool:
    """Value equality of two objects of one ``__slots__`` class, field by field."""
    return type(a) is type(b) and all(getattr(a, f) == getattr(b, f) for f in a.__slots__)


class MaterializeResult:
    """Returned by an asset that stores its data itself: metadata only, no IO manager call.

    ``check_results`` carries the ``AssetCheckResult``s of the checks the asset declares
    in ``check_specs=``, recorded with the materialization."""

    __slots__ = ("asset_key", "check_results", "metadata", "value")

    def __init__(
        self,
        *,
        asset_key: CoercibleToAssetKey | None = None,
        metadata: Mapping[str, Any] | None = None,
        check_results: Sequence[Any] | None = None,
        value: Any = None,
    ) -> None:
        self.asset_key = AssetKey.from_coercible(asset_key) if asset_key is not None else None
        self.metadata = normalize_metadata(metadata)
        self.check_results = list(check_results or ())
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
    and user code may log its own with ``context.log_event``."""

    __slots__ = ("asset_key", "description", "metadata", "partition")

    def __init__(
        self,
        asset_key: CoercibleToAssetKey,
        description: str | None = None,
        metadata: Mapping[str, Any] | None = None,
        partition: str | None = None,
    ) -> None:
        self.asset_key = AssetKey.from_coercible(asset_key)
        self.description = description
        self.metadata = normalize_metadata(metadata)
        self.partition = partition

    @classmethod
    def of_output(
        cls, asset_key: AssetKey, metadata: dict[str, MetadataValue], partition: str | None
    ) -> AssetMaterialization:
        """The materialization the engine records for an asset output (the key and the
        metadata are already normalized, so nothing is converted again)."""
        materialization = cls.__new__(cls)
        materialization.asset_key = asset_key
        materialization.description = None
        materialization.metadata = metadata
        materialization.partition = partition
        return materialization

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, AssetMaterialization):
            return NotImplemented
        return _same_fields(self, other)

    __hash__ = None  # type: ignore[assignment]  # holds dicts

    def __repr__(self) -> str:
        return f"AssetMaterialization({self.asset_key!r}, partition={self.partition!r})"


class AssetObservation:
    """A record that an asset was observed (not changed), logged with ``context.log_event``."""

    __slots__ = ("asset_key", "description", "metadata", "partition")

    def __init__(
        self,
        asset_key: CoercibleToAssetKey,
        description: str | None = None,
        metadata: Mapping[str, Any] | None = None,
        partition: str | None = None,
    ) -> None:
        self.asset_key = AssetKey.from_coercible(asset_key)
        self.description = description
        self.metadata = normalize_metadata(metadata)
        self.partition = partition

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, AssetObservation):
            return NotImplemented
        return _same_fields(self, other)

    __hash__ = None  # type: ignore[assignment]  # holds dicts

    def __repr__(self) -> str:
        return f"AssetObservation({self.asset_key!r}, partition={self.partition!r})"
