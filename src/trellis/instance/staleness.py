"""Whether an asset is up to date, from the events stored in the instance: never
materialized (``MISSING``), ``FRESH``, or ``STALE`` with its causes.

An asset materialized with data provenance (``trellis.core.data_version``) is stale when

- its ``code_version`` is not the one its latest materialization recorded
  (``CODE``: "has a new code version");
- an upstream asset now has another data version than the one it used (``DATA``: "has a
  new dependency data version", or "... materialization" when the upstream's versions
  are not meaningful: no code version and none given by the user);
- it depends on an asset it did not use, or no longer on one it used (``DEPENDENCIES``);
- an upstream asset is stale itself, transitively (``DATA``: "has a stale dependency",
  whose ``children`` are the upstream's causes).

Materializations stored without provenance fall back to comparing times with the newest
materialization of each upstream. External assets (``AssetSpec``, observable source
assets) are never stale: their version is that of their newest observation or
materialization (``INITIAL`` when there is none).

``StalenessResolver`` answers for one asset graph and one instance, reading each asset's
newest event once (it is meant for one request: a CLI command, a page, an automation
tick). The CLI's ``trellis asset list``, the web UI and automation's conditions use it.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator, Sequence
from enum import Enum
from typing import TYPE_CHECKING, Any, NamedTuple

from trellis.core.asset_key import AssetKey
from trellis.core.data_version import (
    DEFAULT_DATA_VERSION,
    NULL_DATA_VERSION,
    DataProvenance,
    DataVersion,
    data_version_of_tags,
    event_tags,
)

if TYPE_CHECKING:
    from trellis.defs.asset_graph import AssetGraph
    from trellis.instance.instance import Instance
    from trellis.instance.storage import EventRecord


class StaleStatus(Enum):
    """An asset's status: never materialized, up to date, or stale."""

    MISSING = "MISSING"
    STALE = "STALE"
    FRESH = "FRESH"


class StaleCauseCategory(Enum):
    """What kind of change made an asset stale."""

    CODE = "CODE"
    DATA = "DATA"
    DEPENDENCIES = "DEPENDENCIES"


class StaleCause(NamedTuple):
    """One reason an asset (a partition of it when ``partition_key``) is stale: its
    ``category``, the ``reason`` in words, the upstream asset involved
    (``dependency``) and the causes behind this one (``children``: an upstream's own
    change)."""

    key: AssetKey
    category: StaleCauseCategory
    reason: str
    dependency: AssetKey | None = None
    children: tuple[StaleCause, ...] | None = None
    partition_key: str | None = None
    dependency_partition_key: str | None = None

    @property
    def asset_key(self) -> AssetKey:
        """The asset that is stale (Dagster's name)."""
        return self.key

    @property
    def dependency_asset_key(self) -> AssetKey | None:
        """The upstream asset involved, if any (Dagster's name)."""
        return self.dependency

    def __str__(self) -> str:
        where = self.key.to_user_string()
        if self.partition_key is not None:
            where += f"[{self.partition_key}]"
        text = f"{where} {self.reason}"
        if self.dependency is not None:
            text += f" ({self.dependency.to_user_string()})"
        return text


class AssetStaleness(NamedTuple):
    """An asset's status with its causes (all of them, and the root causes: those
    that no other cause explains), and its current data version."""

    status: StaleStatus
    causes: tuple[StaleCause, ...]
    root_causes: tuple[StaleCause, ...]
    data_version: DataVersion


_Key = tuple[AssetKey, str | None]


class StalenessResolver:
    """Answers status, causes and data versions for the assets of ``asset_graph`` from
    the events in ``instance``; remembers what it read, so build one per request."""

    def __init__(self, instance: Instance, asset_graph: AssetGraph) -> None:
        self.instance = instance
        self.asset_graph = asset_graph

    # -- the API -----------------------------------------------------------------------
    def get_status(self, key: AssetKey, partition_key: str | None = None) -> StaleStatus:
        """``MISSING``, ``FRESH`` or ``STALE``. A partitioned asset asked about without a
        partition is ``MISSING`` when no partition was materialized, ``STALE`` when some
        materialized partition is, else ``FRESH``."""
        key = AssetKey.from_coercible(key)
        if partition_key is None and self._is_partitioned(key) and not self._is_external(key):
            partitions = self._materialized_partitions(key)
            if not partitions:
                return StaleStatus.MISSING
            if any(self._status((key, p)) is StaleStatus.STALE for p in partitions):
                return StaleStatus.STALE
            return StaleStatus.FRESH
        return self._status((key, partition_key))

    def get_stale_causes(self, key: AssetKey, partition_key: str | None = None) -> list[StaleCause]:
        """Why the asset (or one partition of it) is stale; empty when it is not. For a
        partitioned asset without a partition: the causes of each stale partition."""
        key = AssetKey.from_coercible(key)
        if partition_key is None and self._is_partitioned(key) and not self._is_external(key):
            return [c for p in self._materialized_partitions(key) for c in self._causes((key, p))]
        return list(self._causes((key, partition_key)))

    def get_stale_root_causes(
        self, key: AssetKey, partition_key: str | None = None
    ) -> list[StaleCause]:
        """The causes at the bottom of the chains (an upstream's own change rather than
        the change of data it passed on), each once."""
        pending = self.get_stale_causes(key, partition_key)
        seen: set[tuple[Any, ...]] = set()
        roots: list[StaleCause] = []
        while pending:
            following: list[StaleCause] = []
            for cause in pending:
                identity = (cause.key, cause.partition_key, cause.reason, cause.dependency)
                if identity in seen:
                    continue
                seen.add(identity)
                if cause.children:
                    following.extend(cause.children)
                else:
                    roots.append(cause)
            pending = following
        return roots

    def get_current_data_version(
        self, key: AssetKey, partition_key: str | None = None
    ) -> DataVersion:
        """The asset's data version now: that of its newest materialization (or, for an
        external asset, observation); ``NULL`` if it was never materialized, ``INITIAL``
        for an external asset never observed or an event without a version."""
        return self._current_version((AssetKey.from_coercible(key), partition_key))

    def get_provenance(
        self, key: AssetKey, partition_key: str | None = None
    ) -> DataProvenance | None:
        """The provenance of the asset's newest materialization, if it recorded one."""
        return self._provenance((AssetKey.from_coercible(key), partition_key))

    def code_version_changed(self, key: AssetKey, partition_key: str | None = None) -> bool:
        """Whether the asset's code version differs from the one its newest
        materialization recorded (False when it has no code version or no provenance)."""
        key = AssetKey.from_coercible(key)
        code_version = self._code_version(key)
        provenance = self._provenance((key, partition_key))
        return bool(code_version and provenance and provenance.code_version != code_version)

    def staleness(self, key: AssetKey, partition_key: str | None = None) -> AssetStaleness:
        """Status, causes, root causes and data version together."""
        key = AssetKey.from_coercible(key)
        return AssetStaleness(
            self.get_status(key, partition_key),
            tuple(self.get_stale_causes(key, partition_key)),
            tuple(self.get_stale_root_causes(key, partition_key)),
            self.get_current_data_version(key, partition_key),
        )

    # -- the graph -----------------------------------------------------------------------
    def _is_external(self, key: AssetKey) -> bool:
        return self.asset_graph.is_external(key)

    def _is_partitioned(self, key: AssetKey) -> bool:
        return self.asset_graph.partitions_def_for(key) is not None

    def _code_version(self, key: AssetKey) -> str | None:
        producer = self.asset_graph.producer.get(key)
        if producer is None:
            return None
        return producer.specs_by_key[key].code_version

    def _deps(self, key: _Key) -> list[_Key]:
        asset_key, partition = key
        own = self.asset_graph.partitions_def_for(asset_key)
        deps: list[_Key] = []
        for dep in sorted(self.asset_graph.upstream.get(asset_key, ())):
            same = partition is not None and self.asset_graph.partitions_def_for(dep) == own
            deps.append((dep, partition if same else None))
        return deps

    # -- the instance --------------------------------------------------------------------
    @functools.cache  # noqa: B019 - one resolver per request
    def _record(self, key: _Key) -> EventRecord | None:
        asset_key, partition = key
        return self.instance.get_latest_data_version_record(
            asset_key, self._is_external(asset_key), partition
        )

    @functools.cache  # noqa: B019
    def _materialized_partitions(self, key: AssetKey) -> list[str]:
        latest = self.instance.get_latest_materializations_by_partition(key)
        return sorted(p for p in latest if p is not None)

    @functools.cache  # noqa: B019
    def _current_version(self, key: _Key) -> DataVersion:
        record = self._record(key)
        if record is None:
            return DEFAULT_DATA_VERSION if self._is_external(key[0]) else NULL_DATA_VERSION
        return data_version_of_tags(event_tags(record.event)) or DEFAULT_DATA_VERSION

    @functools.cache  # noqa: B019
    def _provenance(self, key: _Key) -> DataProvenance | None:
        record = self._record(key)
        return DataProvenance.from_tags(event_tags(record.event)) if record else None

    def _user_provided(self, key: _Key) -> bool:
        if self._is_external(key[0]):
            return True
        provenance = self._provenance(key)
        return provenance is not None and provenance.is_user_provided

    # -- the rules -----------------------------------------------------------------------
    @functools.cache  # noqa: B019
    def _status(self, key: _Key) -> StaleStatus:
        if self._current_version(key) == NULL_DATA_VERSION:
            return StaleStatus.MISSING
        if self._is_external(key[0]):
            return StaleStatus.FRESH
        return StaleStatus.STALE if self._causes(key) else StaleStatus.FRESH

    @functools.cache  # noqa: B019
    def _causes(self, key: _Key) -> tuple[StaleCause, ...]:
        if self._is_external(key[0]) or self._current_version(key) == NULL_DATA_VERSION:
            return ()
        causes = sorted(self._find_causes(key), key=lambda c: str(c))
        return tuple(causes)

    def _find_causes(self, key: _Key) -> Iterator[StaleCause]:
        asset_key = key[0]
        provenance = self._provenance(key)
        deps = self._deps(key)
        if provenance is not None:
            code_version = self._code_version(asset_key)
            if code_version and code_version != provenance.code_version:
                yield self._cause(key, StaleCauseCategory.CODE, "has a new code version")
            current = {dep for dep, _ in deps}
            for removed in sorted(set(provenance.input_data_versions) - current):
                yield self._cause(
                    key,
                    StaleCauseCategory.DEPENDENCIES,
                    "removed a dependency",
                    (removed, None),
                )
        for dep in deps:
            dep_key = dep[0]
            if provenance is not None:
                if not provenance.has_input_asset(dep_key):
                    yield self._cause(
                        key, StaleCauseCategory.DEPENDENCIES, "has a new dependency", dep
                    )
                    continue
                if self._differs(provenance.input_data_versions[dep_key], dep):
                    yield self._data_changed(key, dep)
                    continue
            elif not self._is_external(dep_key):
                newer = self._newer_without_provenance(key, dep)
                if newer is not None:
                    yield newer
                    continue
            if self._status(dep) is StaleStatus.STALE:
                yield self._cause(
                    key,
                    StaleCauseCategory.DATA,
                    "has a stale dependency",
                    dep,
                    self._causes(dep),
                )

    def _differs(self, used: DataVersion, dep: _Key) -> bool:
        current = self._current_version(dep)
        # A dependency recorded as INITIAL (assumed to exist) that has no event now was
        # never changed (Dagster's rule for an asset external in one place only).
        if used == DEFAULT_DATA_VERSION and current == NULL_DATA_VERSION:
            return False
        return used != current

    def _data_changed(self, key: _Key, dep: _Key) -> StaleCause:
        meaningful = self._code_version(dep[0]) is not None or self._user_provided(dep)
        what, own = (
            ("has a new dependency data version", "has a new data version")
            if meaningful
            else ("has a new dependency materialization", "has a new materialization")
        )
        child = self._cause(dep, StaleCauseCategory.DATA, own)
        return self._cause(key, StaleCauseCategory.DATA, what, dep, (child,))

    def _newer_without_provenance(self, key: _Key, dep: _Key) -> StaleCause | None:
        own = self._record(key)
        upstream = self._record(dep)
        if own is None:
            return None
        if upstream is None:
            return self._cause(key, StaleCauseCategory.DATA, "has a new input", dep)
        if upstream.storage_id > own.storage_id:
            child = self._cause(dep, StaleCauseCategory.DATA, "has a new materialization")
            return self._cause(
                key, StaleCauseCategory.DATA, "has a new dependency materialization", dep, (child,)
            )
        return None

    @staticmethod
    def _cause(
        key: _Key,
        category: StaleCauseCategory,
        reason: str,
        dependency: _Key | None = None,
        children: Sequence[StaleCause] | None = None,
    ) -> StaleCause:
        return StaleCause(
            key[0],
            category,
            reason,
            dependency[0] if dependency is not None else None,
            tuple(children) if children is not None else None,
            key[1],
            dependency[1] if dependency is not None else None,
        )
