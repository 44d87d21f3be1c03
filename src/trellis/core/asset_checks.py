"""The values of asset checks: ``AssetCheckKey`` (which check), ``AssetCheckSeverity``,
``AssetCheckResult`` (what a check function returns or yields) and
``AssetCheckEvaluation`` (what a run records for it, the payload of an
``ASSET_CHECK_EVALUATION`` event).

The definitions (``@asset_check``, ``AssetCheckSpec``, ``check_specs=``) are in
``trellis.defs``; these are plain values, like ``Output`` and ``AssetMaterialization``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from enum import StrEnum
from typing import Any, NamedTuple

from trellis.core.asset_key import AssetKey, CoercibleToAssetKey
from trellis.core.errors import TrellisError
from trellis.core.metadata import MetadataValue, normalize_metadata


class AssetCheckSeverity(StrEnum):
    """How bad a failed check is: ``WARN`` is reported and never blocks anything;
    ``ERROR`` (the default) stops the assets downstream when the check is blocking."""

    WARN = "WARN"
    ERROR = "ERROR"

    def __str__(self) -> str:
        return self.value


class AssetCheckKey:
    """The key of one asset check: the asset it checks and the check's name.

    ``to_user_string()`` is ``"asset/key:check_name"`` (``from_user_string`` reads it).
    Hashable, ordered by asset key then name."""

    __slots__ = ("asset_key", "name")

    asset_key: AssetKey
    name: str

    def __init__(self, asset_key: CoercibleToAssetKey, name: str) -> None:
        if not isinstance(name, str) or not name:
            raise ValueError(f"An asset check's name must be a non-empty string, got {name!r}")
        object.__setattr__(self, "asset_key", AssetKey.from_coercible(asset_key))
        object.__setattr__(self, "name", name)

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError("AssetCheckKey is immutable")

    @classmethod
    def from_user_string(cls, text: str) -> AssetCheckKey:
        """Parse ``"a/b:check"`` (the asset key, a colon, the check's name)."""
        asset, sep, name = text.rpartition(":")
        if not sep or not asset or not name:
            raise ValueError(
                f"{text!r} is not an asset check key: write it as 'asset/key:check_name'."
            )
        return cls(AssetKey.from_user_string(asset), name)

    def to_user_string(self) -> str:
        """``"asset/key:check_name"``."""
        return f"{self.asset_key.to_user_string()}:{self.name}"

    def with_asset_key_prefix(self, prefix: str | Sequence[str]) -> AssetCheckKey:
        """The same check on the asset key with ``prefix`` in front."""
        return AssetCheckKey(self.asset_key.with_prefix(prefix), self.name)

    def replace_asset_key(self, asset_key: CoercibleToAssetKey) -> AssetCheckKey:
        """The same check name on another asset."""
        return AssetCheckKey(asset_key, self.name)

    def _tuple(self) -> tuple[tuple[str, ...], str]:
        return (self.asset_key.parts, self.name)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, AssetCheckKey):
            return NotImplemented
        return self.asset_key == other.asset_key and self.name == other.name

    def __hash__(self) -> int:
        return hash((self.asset_key, self.name))

    def __lt__(self, other: AssetCheckKey) -> bool:
        return self._tuple() < other._tuple()

    def __repr__(self) -> str:
        return f"AssetCheckKey(asset_key={self.asset_key!r}, name={self.name!r})"

    def __str__(self) -> str:
        return self.to_user_string()

    def __reduce__(self) -> tuple[Any, ...]:
        return (AssetCheckKey, (self.asset_key, self.name))


def _severity(value: AssetCheckSeverity | str) -> AssetCheckSeverity:
    try:
        return AssetCheckSeverity(value)
    except ValueError:
        raise ValueError(
            f"severity must be AssetCheckSeverity.WARN or AssetCheckSeverity.ERROR, not {value!r}"
        ) from None


class AssetCheckResult:
    """What a check returns or yields: ``AssetCheckResult(passed=rows > 0,
    metadata={"rows": rows})``.

    ``asset_key`` and ``check_name`` say which check it answers; they may be left out
    when the step runs one check (or one check of that asset, or one of that name).
    ``severity`` (default ``ERROR``) says how bad a failure is."""

    __slots__ = ("asset_key", "check_name", "description", "metadata", "passed", "severity")

    def __init__(
        self,
        *,
        passed: bool,
        asset_key: CoercibleToAssetKey | None = None,
        check_name: str | None = None,
        metadata: Mapping[str, Any] | None = None,
        severity: AssetCheckSeverity | str = AssetCheckSeverity.ERROR,
        description: str | None = None,
    ) -> None:
        if not isinstance(passed, bool):
            raise TypeError(f"AssetCheckResult(passed=...) takes a bool, got {passed!r}")
        self.passed = passed
        self.asset_key = AssetKey.from_coercible(asset_key) if asset_key is not None else None
        self.check_name = check_name
        self.metadata: dict[str, MetadataValue] = normalize_metadata(metadata)
        self.severity = _severity(severity)
        self.description = description

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, AssetCheckResult):
            return NotImplemented
        return all(getattr(self, f) == getattr(other, f) for f in self.__slots__)

    __hash__ = None  # type: ignore[assignment]  # holds dicts

    def __repr__(self) -> str:
        key = self.asset_key.to_user_string() if self.asset_key is not None else None
        return (
            f"AssetCheckResult(passed={self.passed!r}, asset_key={key!r}, "
            f"check_name={self.check_name!r}, severity={self.severity.value})"
        )


class AssetCheckEvaluationTargetMaterializationData(NamedTuple):
    """The materialization a check evaluated: its event's storage id, run and time.

    ``storage_id`` and ``timestamp`` are None when the materialization was not stored yet
    where the check ran (the check ran in the step that made it, or in a worker process
    that cannot read the run's in-memory instance); ``run_id`` is then this run's."""

    storage_id: int | None
    run_id: str
    timestamp: float | None


class AssetCheckEvaluation:
    """The recorded outcome of one check in one run: which check (``asset_key``,
    ``check_name``), whether it ``passed``, its ``severity``, ``metadata`` and
    ``description``, whether it was ``blocking``, and the materialization it looked at
    (``target_materialization_data``; None when the asset was never materialized)."""

    __slots__ = (
        "asset_key",
        "blocking",
        "check_name",
        "description",
        "metadata",
        "partition",
        "passed",
        "severity",
        "target_materialization_data",
    )

    def __init__(
        self,
        asset_key: AssetKey,
        check_name: str,
        passed: bool,
        metadata: Mapping[str, Any] | None = None,
        target_materialization_data: AssetCheckEvaluationTargetMaterializationData | None = None,
        severity: AssetCheckSeverity | str = AssetCheckSeverity.ERROR,
        description: str | None = None,
        blocking: bool | None = None,
        partition: str | None = None,
    ) -> None:
        self.asset_key = AssetKey.from_coercible(asset_key)
        self.check_name = check_name
        self.passed = bool(passed)
        self.metadata: dict[str, MetadataValue] = normalize_metadata(metadata)
        self.target_materialization_data = target_materialization_data
        self.severity = _severity(severity)
        self.description = description
        self.blocking = blocking
        self.partition = partition

    @property
    def asset_check_key(self) -> AssetCheckKey:
        """The key of the check evaluated."""
        return AssetCheckKey(self.asset_key, self.check_name)

    @property
    def status(self) -> str:
        """``"passed"``, ``"failed"`` (an ``ERROR`` check that did not pass) or
        ``"warned"`` (a ``WARN`` check that did not pass)."""
        if self.passed:
            return "passed"
        return "warned" if self.severity is AssetCheckSeverity.WARN else "failed"

    def with_metadata(self, metadata: Mapping[str, Any]) -> AssetCheckEvaluation:
        """A copy with ``metadata`` instead of its own."""
        return AssetCheckEvaluation(
            self.asset_key,
            self.check_name,
            self.passed,
            metadata,
            self.target_materialization_data,
            self.severity,
            self.description,
            self.blocking,
            self.partition,
        )

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, AssetCheckEvaluation):
            return NotImplemented
        return all(getattr(self, f) == getattr(other, f) for f in self.__slots__)

    __hash__ = None  # type: ignore[assignment]  # holds dicts

    def __repr__(self) -> str:
        return (
            f"AssetCheckEvaluation(asset_key={self.asset_key!r}, "
            f"check_name={self.check_name!r}, passed={self.passed!r}, "
            f"severity={self.severity.value})"
        )


class AssetCheckFailedError(TrellisError):
    """A blocking check did not pass (severity ``ERROR``): the step that ran it fails
    after recording its evaluation, and the assets downstream of the checked asset are
    skipped. ``check_keys`` are the checks that blocked."""

    def __init__(self, check_keys: Iterable[AssetCheckKey]) -> None:
        self.check_keys = sorted(check_keys)
        names = ", ".join(k.to_user_string() for k in self.check_keys)
        count = len(self.check_keys)
        super().__init__(
            f"{count} blocking asset check{'' if count == 1 else 's'} failed with ERROR "
            f"severity: {names}"
        )

    def __reduce__(self) -> tuple[Any, ...]:
        return (AssetCheckFailedError, (self.check_keys,))


AssetOrCheckKey = AssetKey | AssetCheckKey
"""An asset key or an asset check key (Dagster's name for the union)."""
