"""``Definitions``: everything a code location offers (assets, jobs, resources,
schedules, sensors), validated together."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from functools import cached_property
from typing import Any

from trellis.core.asset_key import AssetKey, CoercibleToAssetKey
from trellis.core.errors import DuplicateKeyError, InvalidDefinitionError
from trellis.definitions.asset import AssetsDefinition
from trellis.definitions.asset_graph import AssetGraph
from trellis.definitions.asset_job import (
    IMPLICIT_ASSET_JOB_NAME,
    UnresolvedAssetJobDefinition,
    build_asset_job,
)
from trellis.definitions.asset_spec import AssetSpec
from trellis.definitions.executor import ExecutorDefinition
from trellis.definitions.job import JobDefinition
from trellis.definitions.resource import ResourceDefinition, coerce_resources


class Definitions:
    """The assets, jobs, resources, schedules and sensors of one code location.

    Building it checks the whole set at once: duplicate keys and names, missing upstream
    assets, cycles, and resource keys that a job needs but nothing binds.
    """

    def __init__(
        self,
        assets: Iterable[AssetsDefinition | AssetSpec] | None = None,
        jobs: Iterable[JobDefinition | UnresolvedAssetJobDefinition] | None = None,
        resources: Mapping[str, Any] | None = None,
        schedules: Iterable[Any] | None = None,
        sensors: Iterable[Any] | None = None,
        executor: ExecutorDefinition | None = None,
        loggers: Mapping[str, Any] | None = None,
        metadata: Mapping[str, Any] | None = None,
    ) -> None:
        assets_defs: list[AssetsDefinition] = []
        specs: list[AssetSpec] = []
        for item in assets or ():
            if isinstance(item, AssetsDefinition):
                assets_defs.append(item)
            elif isinstance(item, AssetSpec):
                specs.append(item)
            else:
                raise InvalidDefinitionError(
                    f"Definitions(assets=...) got {item!r}; expected @asset, @multi_asset or "
                    "AssetSpec objects."
                )
        self.assets = assets_defs
        self.asset_specs = specs
        self.asset_graph = AssetGraph(assets_defs, specs)
        self.resources: dict[str, ResourceDefinition] = coerce_resources(resources)
        self.executor = executor
        self.loggers = dict(loggers or {})
        self.metadata = dict(metadata or {})
        self.schedules = list(schedules or ())
        self.sensors = list(sensors or ())
        self._jobs: dict[str, JobDefinition] = {}
        for job_like in [*(jobs or ()), *self._jobs_of_instigators()]:
            job_def = self._resolve_job(job_like)
            existing = self._jobs.get(job_def.name)
            if existing is not None and existing is not job_like:
                if not _same_job(existing, job_def):
                    raise DuplicateKeyError(f"Two jobs are named '{job_def.name}'.")
                continue
            self._jobs[job_def.name] = job_def
        self._check_unique_names(self.schedules, "schedule")
        self._check_unique_names(self.sensors, "sensor")
        for job_def in self._jobs.values():
            job_def.check_resources()

    # -- construction helpers ----------------------------------------------------------
    def _jobs_of_instigators(self) -> list[Any]:
        found: list[Any] = []
        for instigator in [*self.schedules, *self.sensors]:
            for attr in ("job", "target"):
                target = getattr(instigator, attr, None)
                if isinstance(target, (JobDefinition, UnresolvedAssetJobDefinition)):
                    found.append(target)
            for target in getattr(instigator, "jobs", None) or ():
                if isinstance(target, (JobDefinition, UnresolvedAssetJobDefinition)):
                    found.append(target)
        return found

    def _resolve_job(self, job_like: Any) -> JobDefinition:
        if isinstance(job_like, UnresolvedAssetJobDefinition):
            return job_like.resolve(self.asset_graph, self.resources, self.executor)
        if isinstance(job_like, JobDefinition):
            resolved = job_like.with_resources(self.resources)
            if resolved.executor_def is None:
                resolved.executor_def = self.executor
            return resolved
        raise InvalidDefinitionError(
            f"Definitions(jobs=...) got {job_like!r}; expected @job or define_asset_job(...)."
        )

    @staticmethod
    def _check_unique_names(items: list[Any], kind: str) -> None:
        seen: set[str] = set()
        for item in items:
            name = getattr(item, "name", None)
            if name in seen:
                raise DuplicateKeyError(f"Two {kind}s are named '{name}'.")
            seen.add(name)

    # -- lookups -----------------------------------------------------------------------
    @property
    def jobs(self) -> list[JobDefinition]:
        """Every job, resolved (asset jobs bound to the asset graph and resources)."""
        return list(self._jobs.values())

    def get_job_def(self, name: str) -> JobDefinition:
        """The job called ``name``; the error lists the jobs that exist."""
        if name == IMPLICIT_ASSET_JOB_NAME:
            return self.get_implicit_global_asset_job_def()
        try:
            return self._jobs[name]
        except KeyError:
            raise InvalidDefinitionError(
                f"No job named '{name}'. Jobs: {sorted(self._jobs)}."
            ) from None

    @cached_property
    def _implicit_job(self) -> JobDefinition:
        return build_asset_job(
            IMPLICIT_ASSET_JOB_NAME,
            self.asset_graph,
            self.asset_graph.materializable_keys,
            resource_defs=self.resources,
            executor_def=self.executor,
        )

    def get_implicit_global_asset_job_def(self) -> JobDefinition:
        """A job over every asset (how ``trellis asset materialize`` runs a selection)."""
        return self._implicit_job

    def get_assets_def(self, key: CoercibleToAssetKey) -> AssetsDefinition:
        """The definition that materializes ``key``."""
        asset_key = AssetKey.from_coercible(key)
        try:
            return self.asset_graph.producer[asset_key]
        except KeyError:
            raise InvalidDefinitionError(
                f"No asset '{asset_key.to_user_string()}' is materialized here."
            ) from None

    def get_schedule_def(self, name: str) -> Any:
        """The schedule called ``name``."""
        return _by_name(self.schedules, name, "schedule")

    def get_sensor_def(self, name: str) -> Any:
        """The sensor called ``name``."""
        return _by_name(self.sensors, name, "sensor")

    def load_asset_value(
        self,
        key: CoercibleToAssetKey,
        *,
        instance: Any = None,
        partition_key: str | None = None,
    ) -> Any:
        """Load an asset's stored value through its IO manager, outside any run."""
        from trellis.execution.asset_value import load_asset_value

        return load_asset_value(self, AssetKey.from_coercible(key), instance, partition_key)


def _by_name(items: list[Any], name: str, kind: str) -> Any:
    for item in items:
        if getattr(item, "name", None) == name:
            return item
    names = sorted(getattr(i, "name", "?") for i in items)
    raise InvalidDefinitionError(f"No {kind} named '{name}'. {kind.capitalize()}s: {names}.")


def _same_job(a: JobDefinition, b: JobDefinition) -> bool:
    return a.graph_def is b.graph_def and a.flat_nodes is b.flat_nodes
