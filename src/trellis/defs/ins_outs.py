"""``In``, ``Out``, ``AssetIn``, ``AssetOut``: how a definition's inputs and outputs are
declared."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from trellis.core.asset_key import AssetKey, CoercibleToAssetKey
from trellis.core.errors import InvalidDefinitionError

if TYPE_CHECKING:
    from trellis.defs.freshness_policy import FreshnessPolicy, LegacyFreshnessPolicy


class _NoValue:
    """Sentinel: no default value was given."""

    def __repr__(self) -> str:
        return "NO_VALUE"

    def __bool__(self) -> bool:
        return False


NO_VALUE: Any = _NoValue()


class Nothing:
    """The type of an input or output that carries no value, only ordering:
    ``In(Nothing)`` waits for an upstream step; an op annotated ``-> None`` outputs
    Nothing, and its IO manager is not called."""


class In:
    """Declares an op input: its type, default, metadata and the manager that loads it."""

    __slots__ = (
        "asset_key",
        "dagster_type",
        "default_value",
        "description",
        "input_manager_key",
        "metadata",
    )

    def __init__(
        self,
        dagster_type: Any = None,
        description: str | None = None,
        default_value: Any = NO_VALUE,
        metadata: Mapping[str, Any] | None = None,
        input_manager_key: str | None = None,
        asset_key: CoercibleToAssetKey | None = None,
    ) -> None:
        self.dagster_type = dagster_type
        self.description = description
        self.default_value = default_value
        self.metadata = dict(metadata or {})
        self.input_manager_key = input_manager_key
        self.asset_key = AssetKey.from_coercible(asset_key) if asset_key is not None else None

    @property
    def has_default(self) -> bool:
        """Whether the input falls back to a default value when unconnected."""
        return self.default_value is not NO_VALUE


class Out:
    """Declares an op output: its type, whether it is required, metadata, IO manager key."""

    __slots__ = (
        "code_version",
        "dagster_type",
        "description",
        "io_manager_key",
        "is_required",
        "metadata",
    )

    is_dynamic = False
    """Whether the output yields any number of ``DynamicOutput``s (``DynamicOut``)."""

    def __init__(
        self,
        dagster_type: Any = None,
        description: str | None = None,
        is_required: bool = True,
        io_manager_key: str | None = None,
        metadata: Mapping[str, Any] | None = None,
        code_version: str | None = None,
    ) -> None:
        self.dagster_type = dagster_type
        self.description = description
        self.is_required = is_required
        self.io_manager_key = io_manager_key or "io_manager"
        self.metadata = dict(metadata or {})
        self.code_version = code_version


class AssetIn:
    """Declares an asset input: which upstream asset it reads, and how
    (``partition_mapping``: which of its partitions each partition reads)."""

    __slots__ = (
        "dagster_type",
        "input_manager_key",
        "key",
        "key_prefix",
        "metadata",
        "partition_mapping",
    )

    def __init__(
        self,
        key: CoercibleToAssetKey | None = None,
        metadata: Mapping[str, Any] | None = None,
        key_prefix: str | Sequence[str] | None = None,
        input_manager_key: str | None = None,
        dagster_type: Any = None,
        partition_mapping: Any = None,
    ) -> None:
        if partition_mapping is not None and not hasattr(
            partition_mapping, "upstream_partition_keys"
        ):
            raise InvalidDefinitionError(
                f"AssetIn(partition_mapping=...) needs a PartitionMapping (such as "
                f"TimeWindowPartitionMapping()), got {partition_mapping!r}."
            )
        self.partition_mapping = partition_mapping
        self.key = AssetKey.from_coercible(key) if key is not None else None
        self.metadata = dict(metadata or {})
        self.key_prefix = [key_prefix] if isinstance(key_prefix, str) else key_prefix
        self.input_manager_key = input_manager_key
        self.dagster_type = dagster_type


class AssetOut:
    """Declares one asset of a ``@multi_asset``: its key and asset-level properties."""

    __slots__ = (
        "auto_materialize_policy",
        "automation_condition",
        "code_version",
        "dagster_type",
        "description",
        "freshness_policy",
        "group_name",
        "io_manager_key",
        "is_required",
        "key",
        "key_prefix",
        "kinds",
        "metadata",
        "owners",
        "tags",
    )

    def __init__(
        self,
        key_prefix: str | Sequence[str] | None = None,
        key: CoercibleToAssetKey | None = None,
        dagster_type: Any = None,
        description: str | None = None,
        is_required: bool = True,
        io_manager_key: str | None = None,
        metadata: Mapping[str, Any] | None = None,
        group_name: str | None = None,
        code_version: str | None = None,
        owners: Sequence[str] | None = None,
        tags: Mapping[str, str] | None = None,
        kinds: set[str] | None = None,
        automation_condition: Any = None,
        auto_materialize_policy: Any = None,
        freshness_policy: FreshnessPolicy | LegacyFreshnessPolicy | None = None,
    ) -> None:
        self.key_prefix = [key_prefix] if isinstance(key_prefix, str) else key_prefix
        self.key = AssetKey.from_coercible(key) if key is not None else None
        self.dagster_type = dagster_type
        self.description = description
        self.is_required = is_required
        self.io_manager_key = io_manager_key
        self.metadata = dict(metadata or {})
        self.group_name = group_name
        self.code_version = code_version
        self.owners = list(owners or [])
        self.tags = dict(tags or {})
        self.kinds = set(kinds or ())
        self.automation_condition = automation_condition
        self.auto_materialize_policy = auto_materialize_policy
        self.freshness_policy = freshness_policy  # a FreshnessPolicy or LegacyFreshnessPolicy
