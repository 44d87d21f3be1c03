"""``AssetSpec``: the description of an asset without the code that makes it."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from trellis.core.asset_key import AssetKey, CoercibleToAssetKey
from trellis.core.errors import InvalidDefinitionError
from trellis.defs.freshness_policy import (
    FreshnessPolicy,
    LegacyFreshnessPolicy,
    split_freshness_policies,
)

IO_MANAGER_KEY_METADATA = "trellis/io_manager_key"
# Dagster's system metadata that marks an asset observed, not materialized, by its function
# (an observable source asset).
ASSET_EXECUTION_TYPE_METADATA = "dagster/asset_execution_type"
OBSERVATION = "OBSERVATION"


def is_observation_spec(spec: Any) -> bool:
    """Whether ``spec`` is the spec of an observable source asset."""
    return bool(spec.metadata) and spec.metadata.get(ASSET_EXECUTION_TYPE_METADATA) == OBSERVATION


def is_automation_condition(value: Any) -> bool:
    """Whether ``value`` is an ``AutomationCondition`` (the class lives in a later layer,
    ``trellis.automation``, so the check is by shape)."""
    return callable(getattr(value, "evaluate", None)) and callable(getattr(value, "since", None))


def check_automation_condition(value: Any, owner: str) -> Any:
    """``value`` if it is None or an ``AutomationCondition``, else a definition error
    naming ``owner``."""
    if value is None or is_automation_condition(value):
        return value
    raise InvalidDefinitionError(
        f"{owner}: automation_condition must be an AutomationCondition (for example "
        f"AutomationCondition.eager()), got {value!r}."
    )


def resolve_automation(automation_condition: Any, auto_materialize_policy: Any, owner: str) -> Any:
    """The automation condition of an asset given ``automation_condition=`` or
    ``auto_materialize_policy=`` (an ``AutoMaterializePolicy``, converted with its
    ``to_automation_condition()``, as Dagster does); both only when they agree."""
    condition = check_automation_condition(automation_condition, owner)
    if auto_materialize_policy is None:
        return condition
    convert = getattr(auto_materialize_policy, "to_automation_condition", None)
    if not callable(convert) or not hasattr(auto_materialize_policy, "rules"):
        raise InvalidDefinitionError(
            f"{owner}: auto_materialize_policy must be an AutoMaterializePolicy (for example "
            f"AutoMaterializePolicy.eager()), got {auto_materialize_policy!r}."
        )
    try:
        converted = convert()
    except InvalidDefinitionError as exc:
        raise InvalidDefinitionError(f"{owner}: {exc}") from None
    if condition is not None and condition != converted:
        raise InvalidDefinitionError(
            f"{owner}: pass automation_condition= or auto_materialize_policy=, not both."
        )
    return converted


def coerce_dep_keys(deps: Iterable[Any] | None) -> list[AssetKey]:
    """Asset keys for what users pass as ``deps``: keys, strings, specs, asset definitions."""
    keys: list[AssetKey] = []
    for dep in deps or ():
        if isinstance(dep, (AssetKey, str, list, tuple)):
            keys.append(AssetKey.from_coercible(dep))
        elif isinstance(dep, (AssetSpec, AssetDep)):
            keys.append(dep.asset_key if isinstance(dep, AssetDep) else dep.key)
        elif hasattr(dep, "keys") and hasattr(dep, "node_def"):  # an AssetsDefinition
            keys.extend(dep.keys)
        else:
            raise TypeError(f"Cannot use {dep!r} as an asset dependency")
    return keys


def dep_partition_mappings(deps: Iterable[Any] | None) -> dict[AssetKey, Any]:
    """The partition mappings given in ``deps`` (``AssetDep(..., partition_mapping=)``)."""
    return {
        d.asset_key: d.partition_mapping
        for d in deps or ()
        if isinstance(d, AssetDep) and d.partition_mapping is not None
    }


class AssetSpec:
    """An asset's key and properties: for assets that this code does not materialize
    (upstream, external), and for the outputs of a ``@multi_asset``.
    ``automation_condition`` says when declarative automation requests the asset
    (``auto_materialize_policy``, the older way, is converted to one);
    ``freshness_policy`` / ``legacy_freshness_policy`` say how recent it should be.

    ``with_io_manager_key(key)`` names the IO manager that loads it for downstream assets.
    """

    def __init__(
        self,
        key: CoercibleToAssetKey,
        *,
        deps: Iterable[Any] | None = None,
        description: str | None = None,
        metadata: Mapping[str, Any] | None = None,
        group_name: str | None = None,
        skippable: bool = False,
        code_version: str | None = None,
        owners: Sequence[str] | None = None,
        tags: Mapping[str, str] | None = None,
        kinds: set[str] | None = None,
        partitions_def: Any = None,
        automation_condition: Any = None,
        auto_materialize_policy: Any = None,
        freshness_policy: FreshnessPolicy | LegacyFreshnessPolicy | None = None,
        legacy_freshness_policy: LegacyFreshnessPolicy | None = None,
    ) -> None:
        self.key = AssetKey.from_coercible(key)
        owner = f"AssetSpec('{self.key.to_user_string()}')"
        deps = list(deps or ())
        self.deps = coerce_dep_keys(deps)
        # The partition mappings of the deps given as ``AssetDep(..., partition_mapping=)``.
        self.partition_mappings: dict[AssetKey, Any] = dep_partition_mappings(deps)
        self.description = description
        self.metadata = dict(metadata or {})
        self.group_name = group_name
        self.skippable = skippable
        self.code_version = code_version
        self.owners = list(owners or [])
        self.tags = dict(tags or {})
        self.kinds = set(kinds or ())
        self.partitions_def = partitions_def
        self.automation_condition = resolve_automation(
            automation_condition, auto_materialize_policy, owner
        )
        # The policy given, kept as Dagster keeps it (its condition is automation_condition).
        self.auto_materialize_policy = auto_materialize_policy
        self.freshness_policy, self.legacy_freshness_policy = split_freshness_policies(
            freshness_policy, legacy_freshness_policy, owner
        )

    def dep_objects(self, rename: Any = None) -> list[Any]:
        """The deps as given: keys, or ``AssetDep``s for those with a partition mapping
        (each key passed through ``rename`` first, when given)."""
        new = rename or (lambda key: key)
        mappings = self.partition_mappings
        return [
            AssetDep(new(k), partition_mapping=mappings[k]) if k in mappings else new(k)
            for k in self.deps
        ]

    @property
    def io_manager_key(self) -> str:
        """The IO manager that loads this asset for its consumers."""
        key: str = self.metadata.get(IO_MANAGER_KEY_METADATA, "io_manager")
        return key

    def with_io_manager_key(self, io_manager_key: str) -> AssetSpec:
        """A copy whose value is loaded through the IO manager ``io_manager_key``."""
        return self.replace_attributes(
            metadata={**self.metadata, IO_MANAGER_KEY_METADATA: io_manager_key}
        )

    def replace_attributes(self, **changes: Any) -> AssetSpec:
        """A copy with some attributes replaced."""
        values = {
            "deps": self.dep_objects(),
            "description": self.description,
            "metadata": self.metadata,
            "group_name": self.group_name,
            "skippable": self.skippable,
            "code_version": self.code_version,
            "owners": self.owners,
            "tags": self.tags,
            "kinds": self.kinds,
            "partitions_def": self.partitions_def,
            "automation_condition": self.automation_condition,
            "auto_materialize_policy": self.auto_materialize_policy,
            "freshness_policy": self.freshness_policy,
            "legacy_freshness_policy": self.legacy_freshness_policy,
        }
        key = changes.pop("key", self.key)
        if "automation_condition" in changes and "auto_materialize_policy" not in changes:
            values["auto_materialize_policy"] = None  # a new condition replaces the policy
        if "auto_materialize_policy" in changes and "automation_condition" not in changes:
            values["automation_condition"] = None  # and a new policy the condition
        values.update(changes)
        return AssetSpec(key, **values)

    def __repr__(self) -> str:
        return f"AssetSpec({self.key.to_user_string()!r})"


class AssetDep:
    """A dependency of an asset on another, given in ``deps=[AssetDep("upstream")]``: the
    upstream asset as a key, a key string, an ``AssetSpec`` or an asset definition, and
    optionally the ``partition_mapping`` that says which upstream partitions each
    partition depends on (by default the one ``default_partition_mapping`` infers)."""

    def __init__(self, asset: Any, *, partition_mapping: Any = None) -> None:
        if partition_mapping is not None and not hasattr(
            partition_mapping, "upstream_partition_keys"
        ):
            raise InvalidDefinitionError(
                f"AssetDep({asset!r}, partition_mapping=...) needs a PartitionMapping "
                f"(such as TimeWindowPartitionMapping()), got {partition_mapping!r}."
            )
        is_definition = hasattr(asset, "keys") and hasattr(asset, "node_def")  # an AssetsDefinition
        if isinstance(asset, AssetSpec) or is_definition:
            key = asset.key
        else:
            key = AssetKey.from_coercible(asset)
        self.asset_key: AssetKey = key
        self.partition_mapping = partition_mapping

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, AssetDep):
            return NotImplemented
        return (
            self.asset_key == other.asset_key and self.partition_mapping == other.partition_mapping
        )

    def __hash__(self) -> int:
        return hash(("AssetDep", self.asset_key))

    def __repr__(self) -> str:
        return f"AssetDep({self.asset_key.to_user_string()!r})"
