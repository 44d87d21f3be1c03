"""``AssetCheckSpec``: the description of one asset check (its name, the asset it checks,
whether it blocks), declared by ``@asset(check_specs=[...])``, ``@multi_asset_check``
or made by ``@asset_check``."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from trellis.core.asset_checks import AssetCheckKey
from trellis.core.asset_key import AssetKey
from trellis.core.errors import InvalidDefinitionError
from trellis.defs.asset_spec import coerce_dep_keys


def coerce_target_key(asset: Any, owner: str) -> AssetKey:
    """The asset key a check targets: given as a key (or its string or list form), an
    ``AssetSpec`` or a single-asset definition."""
    if isinstance(asset, (AssetKey, str, list, tuple)):
        return AssetKey.from_coercible(asset)
    keys = getattr(asset, "keys", None)
    if keys is not None and hasattr(asset, "node_def"):  # an AssetsDefinition
        if len(asset.keys) != 1:
            names = [k.to_user_string() for k in asset.keys]
            raise InvalidDefinitionError(
                f"{owner}: asset= got a definition of {len(names)} assets {names}; pass the "
                "key of the one the check is for."
            )
        return AssetKey.from_coercible(asset.keys[0])
    key = getattr(asset, "key", None)
    if isinstance(key, AssetKey):  # an AssetSpec
        return key
    raise InvalidDefinitionError(
        f"{owner}: asset= got {asset!r}; pass an asset key, an AssetSpec or an asset definition."
    )


def refuse_unsupported(owner: str, automation_condition: Any, partitions_def: Any) -> None:
    """Checks with an automation condition or partitions are not supported: say so."""
    if automation_condition is not None:
        raise InvalidDefinitionError(
            f"{owner}: automation_condition= is not supported: Trellis has no declarative "
            "automation (see README 'Dagster names')."
        )
    if partitions_def is not None:
        raise InvalidDefinitionError(
            f"{owner}: partitions_def= is not supported: Trellis runs an asset check once per "
            "run, against the asset's latest materialization."
        )


class AssetCheckSpec:
    """One asset check as a definition: ``AssetCheckSpec("has_rows", asset="orders")``.

    ``blocking=True`` makes a failed check (severity ``ERROR``) stop the assets downstream
    of ``asset``; ``additional_deps`` are other assets the check reads (it runs after them).
    """

    def __init__(
        self,
        name: str,
        *,
        asset: Any,
        description: str | None = None,
        additional_deps: Iterable[Any] | None = None,
        blocking: bool = False,
        metadata: Mapping[str, Any] | None = None,
        automation_condition: Any = None,
        partitions_def: Any = None,
    ) -> None:
        owner = f"AssetCheckSpec({name!r})"
        if not isinstance(name, str) or not name:
            raise InvalidDefinitionError(f"{owner}: the name must be a non-empty string.")
        refuse_unsupported(owner, automation_condition, partitions_def)
        self.name = name
        self.asset_key = coerce_target_key(asset, owner)
        self.description = description
        self.additional_deps = coerce_dep_keys(additional_deps)
        if self.asset_key in self.additional_deps:
            raise InvalidDefinitionError(
                f"{owner}: asset '{self.asset_key.to_user_string()}' is both the asset checked "
                "and one of additional_deps; pass it once, as asset=."
            )
        self.blocking = bool(blocking)
        self.metadata = dict(metadata or {})
        self.automation_condition = None
        self.partitions_def = None

    @property
    def key(self) -> AssetCheckKey:
        """The check's key: its asset and name."""
        return AssetCheckKey(self.asset_key, self.name)

    def get_python_identifier(self) -> str:
        """The check's name as an op or output name: ``<asset>_<name>``."""
        return self.asset_key.to_python_identifier(self.name)

    def replace_key(self, key: AssetCheckKey) -> AssetCheckSpec:
        """A copy that checks ``key.asset_key`` under ``key.name``."""
        return self._copy(name=key.name, asset=key.asset_key)

    def with_metadata(self, metadata: Mapping[str, Any]) -> AssetCheckSpec:
        """A copy with ``metadata`` instead of its own."""
        return self._copy(metadata=metadata)

    def _copy(self, **changes: Any) -> AssetCheckSpec:
        values: dict[str, Any] = {
            "name": self.name,
            "asset": self.asset_key,
            "description": self.description,
            "additional_deps": self.additional_deps,
            "blocking": self.blocking,
            "metadata": self.metadata,
        }
        values.update(changes)
        name = values.pop("name")
        return AssetCheckSpec(name, **values)

    def with_asset_key_replacements(self, replacements: Mapping[AssetKey, AssetKey]) -> Any:
        """A copy whose asset and additional deps are renamed by ``replacements``."""
        if not replacements:
            return self
        return self._copy(
            asset=replacements.get(self.asset_key, self.asset_key),
            additional_deps=[replacements.get(k, k) for k in self.additional_deps],
        )

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, AssetCheckSpec):
            return NotImplemented
        return (
            self.key == other.key
            and self.description == other.description
            and self.additional_deps == other.additional_deps
            and self.blocking == other.blocking
            and self.metadata == other.metadata
        )

    def __hash__(self) -> int:
        return hash(("AssetCheckSpec", self.key))

    def __repr__(self) -> str:
        return (
            f"AssetCheckSpec(name={self.name!r}, asset={self.asset_key.to_user_string()!r}, "
            f"blocking={self.blocking})"
        )


def index_check_specs(
    specs: Iterable[AssetCheckSpec] | None, asset_keys: Iterable[AssetKey], owner: str
) -> dict[AssetCheckKey, AssetCheckSpec]:
    """``check_specs=`` of an asset definition by key; each must check one of its assets
    ``asset_keys``, and no key may appear twice."""
    known = set(asset_keys)
    indexed: dict[AssetCheckKey, AssetCheckSpec] = {}
    for spec in specs or ():
        if not isinstance(spec, AssetCheckSpec):
            raise InvalidDefinitionError(
                f"{owner}: check_specs= takes AssetCheckSpec objects, got {spec!r}."
            )
        if spec.asset_key not in known:
            names = sorted(k.to_user_string() for k in known)
            raise InvalidDefinitionError(
                f"{owner}: check spec '{spec.name}' is for asset "
                f"'{spec.asset_key.to_user_string()}', which this definition does not make "
                f"(it makes {names})."
            )
        if spec.key in indexed:
            raise InvalidDefinitionError(
                f"{owner}: two check specs are named '{spec.name}' on asset "
                f"'{spec.asset_key.to_user_string()}'."
            )
        indexed[spec.key] = spec
    return indexed
