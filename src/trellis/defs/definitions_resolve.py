"""The ``resolve_*`` half of ``Definitions``' API (Dagster 1.11+'s names): jobs, schedules,
sensors and assets as the definitions resolved them, and ``validate_loadable``."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from trellis.core.asset_key import AssetKey, CoercibleToAssetKey
from trellis.core.errors import InvalidDefinitionError

if TYPE_CHECKING:
    from trellis.defs.asset import AssetsDefinition
    from trellis.defs.asset_graph import AssetGraph
    from trellis.defs.asset_spec import AssetSpec
    from trellis.defs.definitions import Definitions
    from trellis.defs.job import JobDefinition


class DefinitionsResolution:
    """``Definitions.resolve_job_def`` and its neighbours. Each raises the definitions'
    first problem, if they have one (``validate_loadable`` raises all of them)."""

    asset_graph: AssetGraph
    assets: list[AssetsDefinition]
    asset_specs: list[AssetSpec]
    schedules: list[Any]
    sensors: list[Any]
    _arguments: dict[str, Any]
    _deferred_error: InvalidDefinitionError | None

    if TYPE_CHECKING:  # provided by Definitions

        def _raise_deferred(self) -> None: ...
        def get_job_def(self, name: str) -> JobDefinition: ...
        def get_schedule_def(self, name: str) -> Any: ...
        def get_sensor_def(self, name: str) -> Any: ...
        def get_assets_def(self, key: CoercibleToAssetKey) -> AssetsDefinition: ...
        def get_implicit_global_asset_job_def(self) -> JobDefinition: ...
        @property
        def jobs(self) -> list[JobDefinition]: ...

    def resolve_job_def(self, name: str) -> JobDefinition:
        """The job called ``name``, resolved: an asset job bound to the asset graph, every
        job bound to the definitions' resources and executor. The error lists the jobs."""
        return self.get_job_def(name)

    def resolve_schedule_def(self, name: str) -> Any:
        """The schedule called ``name``."""
        return self.get_schedule_def(name)

    def resolve_sensor_def(self, name: str) -> Any:
        """The sensor called ``name``."""
        return self.get_sensor_def(name)

    def resolve_assets_def(self, key: CoercibleToAssetKey) -> AssetsDefinition:
        """The definition that materializes the asset ``key`` (an ``AssetKey``, ``"a/b"``
        or a list of parts)."""
        return self.get_assets_def(key)

    def resolve_implicit_global_asset_job_def(self) -> JobDefinition:
        """The job over every asset (``__ASSET_JOB``), which runs any asset selection."""
        return self.get_implicit_global_asset_job_def()

    def has_implicit_global_asset_job_def(self) -> bool:
        """Whether there are assets to materialize, and so an implicit asset job."""
        return bool(self.resolve_asset_graph().materializable_keys)

    def resolve_all_job_defs(self) -> list[JobDefinition]:
        """Every job, resolved, by name: those given, those that schedules and sensors
        target, and the implicit asset job (``__ASSET_JOB``) when there are assets."""
        jobs = list(self.jobs)
        if self.has_implicit_global_asset_job_def():
            jobs.append(self.resolve_implicit_global_asset_job_def())
        return sorted(jobs, key=lambda job: job.name)

    def resolve_asset_graph(self) -> AssetGraph:
        """The asset graph: every asset, its upstream and downstream assets."""
        self._raise_deferred()
        return self.asset_graph

    def resolve_all_asset_specs(self) -> list[AssetSpec]:
        """The ``AssetSpec`` of every asset, materializable or external, in key order."""
        self._raise_deferred()
        specs: dict[AssetKey, AssetSpec] = {s.key: s for s in self.asset_specs}
        for assets_def in self.assets:
            specs.update(assets_def.specs_by_key)
        return [specs[key] for key in sorted(specs)]

    def resolve_all_asset_keys(self) -> list[AssetKey]:
        """The key of every asset, materializable or external, in order."""
        return [spec.key for spec in self.resolve_all_asset_specs()]

    @staticmethod
    def validate_loadable(defs: Definitions) -> None:
        """Raise ``InvalidDefinitionError`` listing every problem of ``defs`` (duplicate
        keys and names, missing upstream assets, cycles, asset jobs that do not resolve,
        resources that are not provided); return None when they load. For tests:
        ``Definitions.validate_loadable(defs)``."""
        if defs._deferred_error is None:
            defs.get_implicit_global_asset_job_def()  # builds it: its own checks run
            return
        from trellis.defs.validation import collect_errors

        errors = collect_errors(defs._arguments) or [str(defs._deferred_error)]
        if len(errors) == 1:
            raise defs._deferred_error
        listed = "\n".join(f"  - {error}" for error in errors)
        raise InvalidDefinitionError(f"{len(errors)} problems in these Definitions:\n{listed}")
