"""``Definitions``: everything a code location offers (assets, jobs, resources,
schedules, sensors), validated together."""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING, Any

from trellis.core.asset_key import AssetKey, CoercibleToAssetKey
from trellis.core.collector import collector_paused
from trellis.core.errors import DuplicateKeyError, InvalidDefinitionError
from trellis.defs.asset import AssetsDefinition
from trellis.defs.asset_checks_definition import AssetChecksDefinition
from trellis.defs.asset_graph import AssetGraph
from trellis.defs.asset_job import (
    IMPLICIT_ASSET_JOB_NAME,
    UnresolvedAssetJobDefinition,
    build_asset_job,
)
from trellis.defs.asset_spec import AssetSpec
from trellis.defs.bound_resources import combine_resources, resources_bound_to
from trellis.defs.definitions_resolve import DefinitionsResolution
from trellis.defs.executor import ExecutorDefinition
from trellis.defs.job import JobDefinition
from trellis.defs.logger import coerce_loggers
from trellis.defs.op import OpDefinition
from trellis.defs.partitioned_schedule import UnresolvedPartitionedAssetScheduleDefinition
from trellis.defs.resource import ResourceDefinition, coerce_resources

if TYPE_CHECKING:
    from trellis.defs.schedule import ScheduleDefinition
    from trellis.defs.sensor import SensorDefinition


@dataclass
class DefinitionsCall:
    """One ``Definitions(...)`` call made while ``recording_definitions()`` was active
    (``trellis.defs.validation``): its arguments, where it was made, its error."""

    arguments: dict[str, Any]
    location: str
    error: BaseException | None = None


# The lists of the active ``recording_definitions()`` blocks; empty outside them.
CALL_RECORDERS: list[list[DefinitionsCall]] = []
_SKIPPED_FILES = frozenset({__file__, contextlib.__file__})  # this module, the gc wrapper


def _record_call(arguments: dict[str, Any]) -> DefinitionsCall:
    frame = sys._getframe(1)
    while frame.f_back is not None and frame.f_code.co_filename in _SKIPPED_FILES:
        frame = frame.f_back  # the user's call, not this module or the collector wrapper
    call = DefinitionsCall(arguments, f"{frame.f_code.co_filename}:{frame.f_lineno}")
    for calls in CALL_RECORDERS:
        calls.append(call)
    return call


class Definitions(DefinitionsResolution):
    """The assets, jobs, resources, schedules and sensors of one code location.

    Everything is checked together, and every problem is found: duplicate keys and names,
    missing upstream assets, cycles, resource keys that a job needs but nothing binds. As
    in Dagster, the constructor raises only for arguments of the wrong kind; a problem in
    the definitions themselves is raised when they are first used (a job resolved, a run,
    ``Definitions.validate_loadable(defs)``, ``trellis defs validate``), so that a test
    module can build them and fail only the tests that use them.
    """

    # Where these definitions were loaded from (a ``CodePointer``, set by the ``trellis``
    # command's loader); the implicit asset job carries it to other processes.
    code_pointer: Any = None

    @collector_paused()
    def __init__(
        self,
        assets: Iterable[AssetsDefinition | AssetSpec] | None = None,
        jobs: Iterable[JobDefinition | UnresolvedAssetJobDefinition] | None = None,
        resources: Mapping[str, Any] | None = None,
        schedules: Iterable[ScheduleDefinition | UnresolvedPartitionedAssetScheduleDefinition]
        | None = None,
        sensors: Iterable[SensorDefinition] | None = None,
        executor: ExecutorDefinition | None = None,
        loggers: Mapping[str, Any] | None = None,
        asset_checks: Iterable[AssetChecksDefinition] | None = None,
        metadata: Mapping[str, Any] | None = None,
    ) -> None:
        given = {
            "assets": assets,
            "jobs": jobs,
            "resources": resources,
            "schedules": schedules,
            "sensors": sensors,
            "executor": executor,
            "loggers": loggers,
            "asset_checks": asset_checks,
            "metadata": metadata,
        }
        self._arguments = {k: v for k, v in given.items() if v is not None}
        self._given_resources = dict(resources or {})  # as given, for merge()
        call = _record_call(self._arguments) if CALL_RECORDERS else None
        self._deferred_error: InvalidDefinitionError | None = None
        try:
            self._accept(
                assets, jobs, schedules, sensors, executor, loggers, metadata, asset_checks
            )
        except Exception as exc:  # arguments of the wrong kind: raised now, as in Dagster
            if call is not None:
                call.error = exc
            raise
        try:
            self._build(resources)
        except InvalidDefinitionError as exc:  # raised again on first use
            import traceback

            for partial in ("asset_graph", "resources", "_jobs"):
                self.__dict__.pop(partial, None)
            self._deferred_error = exc
            # Where the user built them, for the CLI's message (only on this error path).
            self.built_at = traceback.extract_stack(sys._getframe(1))
            if call is not None:
                call.error = exc

    def _accept(
        self,
        assets: Iterable[AssetsDefinition | AssetSpec] | None,
        jobs: Iterable[JobDefinition | UnresolvedAssetJobDefinition] | None,
        schedules: Iterable[Any] | None,
        sensors: Iterable[Any] | None,
        executor: ExecutorDefinition | None,
        loggers: Mapping[str, Any] | None,
        metadata: Mapping[str, Any] | None,
        asset_checks: Iterable[AssetChecksDefinition] | None = None,
    ) -> None:
        """Keep the arguments, checking that each is of a kind ``Definitions`` takes."""
        assets_defs: list[AssetsDefinition] = []
        specs: list[AssetSpec] = []
        checks: list[AssetChecksDefinition] = []
        for item in _unique(assets):
            if isinstance(item, AssetsDefinition):
                assets_defs.append(item)
            elif isinstance(item, AssetSpec):
                specs.append(item)
            elif isinstance(item, AssetChecksDefinition):  # Dagster accepts checks here too
                checks.append(item)
            else:
                raise InvalidDefinitionError(
                    f"Definitions(assets=...) got {item!r}; expected @asset, @multi_asset, "
                    "AssetSpec or @asset_check objects."
                )
        for item in _unique(asset_checks):
            if not isinstance(item, AssetChecksDefinition):
                raise InvalidDefinitionError(
                    f"Definitions(asset_checks=...) got {item!r}; expected @asset_check or "
                    "@multi_asset_check definitions."
                )
            if all(item is not c for c in checks):
                checks.append(item)
        self._given_jobs = _unique(jobs)
        for job_like in self._given_jobs:
            if not isinstance(job_like, (JobDefinition, UnresolvedAssetJobDefinition)):
                raise InvalidDefinitionError(
                    f"Definitions(jobs=...) got {job_like!r}; expected @job or "
                    "define_asset_job(...)."
                )
        self.assets = assets_defs
        self.asset_specs = specs
        self.asset_checks = checks
        self.executor = executor
        self.loggers = coerce_loggers(loggers, "Definitions(loggers=...)")
        self.metadata = dict(metadata or {})
        self.schedules = _unique(schedules)
        self.sensors = _unique(sensors)

    def _build(self, resources: Mapping[str, Any] | None) -> None:
        """Resolve everything: the asset graph, every job, and the checks across them."""
        self.asset_graph = AssetGraph(self.assets, self.asset_specs, self.asset_checks)
        self.resources: dict[str, ResourceDefinition] = coerce_resources(
            combine_resources(resources_bound_to([*self.assets, *self.asset_checks]), resources)
        )
        self._jobs: dict[str, JobDefinition] = {}
        sources: dict[str, Any] = {}  # job name -> the object it was resolved from
        for job_like in [*self._given_jobs, *self._jobs_of_instigators()]:
            if any(source is job_like for source in sources.values()):
                continue  # the same job, listed again (e.g. as a schedule's target)
            job_def = self._resolve_job(job_like)
            existing = self._jobs.get(job_def.name)
            if existing is not None:
                if not _same_job(existing, job_def):
                    raise DuplicateKeyError(
                        f"Two different jobs are named '{job_def.name}': "
                        f"{sources[job_def.name]!r} and {job_like!r}."
                    )
                continue
            self._jobs[job_def.name] = job_def
            sources[job_def.name] = job_like
        self.schedules = [self._resolve_schedule(s) for s in self.schedules]
        self._check_unique_names(self.schedules, "schedule")
        self._check_unique_names(self.sensors, "sensor")
        self._check_asset_resources()
        for job_def in self._jobs.values():
            job_def.check_resources()

    def __getattr__(self, name: str) -> Any:
        # Only reached for attributes that are not set: those that a failed build left out.
        deferred = self.__dict__.get("_deferred_error")
        if deferred is not None and name in ("asset_graph", "resources", "_jobs"):
            raise deferred
        raise AttributeError(f"'Definitions' object has no attribute {name!r}")

    def _raise_deferred(self) -> None:
        """Raise the definition error found when these definitions were built, if any."""
        if self._deferred_error is not None:
            raise self._deferred_error

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

    def _resolve_schedule(self, schedule: Any) -> Any:
        """``schedule``, or the one an unresolved partitioned schedule makes once its job
        (and so the job's partitions) is resolved."""
        if isinstance(schedule, UnresolvedPartitionedAssetScheduleDefinition):
            return schedule.resolve(self._jobs[schedule.job.name].partitions_def)
        return schedule

    def _resolve_job(self, job_like: Any) -> JobDefinition:
        if isinstance(job_like, UnresolvedAssetJobDefinition):
            return job_like.resolve(
                self.asset_graph, self.resources, self.executor, logger_defs=self.loggers
            )
        if isinstance(job_like, JobDefinition):
            resolved = job_like.with_resources(self.resources)
            if resolved.executor_def is None:
                resolved.executor_def = self.executor
            if not resolved.has_specified_loggers and self.loggers:
                resolved.logger_defs = dict(self.loggers)  # as in Dagster: the job's own win
            return resolved
        raise InvalidDefinitionError(
            f"Definitions(jobs=...) got {job_like!r}; expected @job or define_asset_job(...)."
        )

    def _check_asset_resources(self) -> None:
        """Raise when an asset needs a resource key (declared, typed parameter, IO manager
        or input manager) that nothing binds, naming the asset and the available keys."""
        bound = set(self.resources) | {"io_manager"}
        graph = self.asset_graph
        owners: list[AssetsDefinition | AssetChecksDefinition] = [*self.assets, *self.asset_checks]
        for assets_def in owners:
            needed: set[str] = set()
            own: set[str] = set()
            for op_def in assets_def.op_defs:
                own.update(op_def.resource_keys)
                needed.update(out.io_manager_key for out in op_def.outs.values())
                needed.update(
                    i.input_manager_key for i in op_def.ins.values() if i.input_manager_key
                )
            needed |= own
            for hook in assets_def.hook_defs:
                needed.update(hook.required_resource_keys)
            node_def = assets_def.node_def
            node_ins = node_def.ins if isinstance(node_def, OpDefinition) else {}
            for input_name, upstream in assets_def.keys_by_input_name.items():
                in_def = node_ins.get(input_name)
                manager = in_def.input_manager_key if in_def is not None else None
                needed.add(manager or graph.io_manager_key_for(upstream))
            missing = sorted(needed - bound)
            if missing:
                what = "Asset"
                if isinstance(assets_def, AssetChecksDefinition):
                    keys = ", ".join(k.to_user_string() for k in assets_def.check_specs_by_key)
                    what = "Asset check"
                else:
                    keys = ", ".join(k.to_user_string() for k in assets_def.keys)
                needer = f"{what} '{keys}' (op '{assets_def.node_name}')"
                hooks = [h for h in assets_def.hook_defs if missing[0] in h.required_resource_keys]
                if hooks and missing[0] not in own:
                    needer = f"Hook '{hooks[0].name}' of asset '{keys}'"
                raise InvalidDefinitionError(
                    f"{needer} requires resource "
                    f"'{missing[0]}', which is not provided. Available resource keys: "
                    f"{sorted(bound)}."
                )

    @staticmethod
    def _check_unique_names(items: list[Any], kind: str) -> None:
        seen: set[str | None] = set()
        for item in items:
            name = getattr(item, "name", None)
            if name in seen:
                raise DuplicateKeyError(f"Two {kind}s are named '{name}'.")
            seen.add(name)

    # -- merging -----------------------------------------------------------------------
    @staticmethod
    def merge(*def_sets: Definitions) -> Definitions:
        """One ``Definitions`` holding everything in ``def_sets``: the same asset, job,
        schedule, sensor or resource object listed by several counts once; two different
        resources (or loggers) under one key, or two different executors, are an error."""
        labels = [f"Definitions object {i}" for i in range(len(def_sets))]
        return merge_definitions(def_sets, labels)

    def merge_arguments(self) -> dict[str, Any]:
        """The arguments this ``Definitions`` was built from (jobs as given, before they
        were resolved), as ``Definitions(**arguments)`` takes them."""
        return {
            "assets": [*self.assets, *self.asset_specs],
            "asset_checks": list(self.asset_checks),
            "jobs": list(self._given_jobs),
            "resources": dict(self._given_resources),
            "schedules": list(self.schedules),
            "sensors": list(self.sensors),
            "executor": self.executor,
            "loggers": dict(self.loggers),
            "metadata": dict(self.metadata),
        }

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
        job = build_asset_job(
            IMPLICIT_ASSET_JOB_NAME,
            self.asset_graph,
            self.asset_graph.materializable_keys,
            resource_defs=self.resources,
            executor_def=self.executor,
            allow_mixed_partitions=True,
            logger_defs=self.loggers or None,
            selected_check_keys=self.asset_graph.check_specs,  # every check, as in Dagster
        )
        job.code_pointer = self.code_pointer
        return job

    def get_implicit_global_asset_job_def(self) -> JobDefinition:
        """A job over every asset (how ``trellis asset materialize`` runs a selection).

        As in Dagster, it may hold assets of several partitions definitions: it then has
        none, and a run of it selects assets of one (``asset_selection=``)."""
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
        self._raise_deferred()
        return _by_name(self.schedules, name, "schedule")

    def get_sensor_def(self, name: str) -> Any:
        """The sensor called ``name``."""
        self._raise_deferred()
        return _by_name(self.sensors, name, "sensor")

    def load_asset_value(
        self,
        key: CoercibleToAssetKey,
        *,
        instance: Any = None,
        partition_key: str | None = None,
    ) -> Any:
        """Load an asset's stored value through its IO manager, outside any run."""
        from trellis.api.asset_value import load_asset_value

        return load_asset_value(self, AssetKey.from_coercible(key), instance, partition_key)

    def get_asset_value_loader(self, instance: Any = None) -> Any:
        """An ``AssetValueLoader`` over these definitions (a context manager: ``with
        defs.get_asset_value_loader(instance) as loader: loader.load_asset_value(key)``);
        it keeps the IO managers it builds until it closes."""
        from trellis.api.asset_value import AssetValueLoader

        return AssetValueLoader(self, instance)


def _unique(items: Iterable[Any] | None) -> list[Any]:
    """``items`` with repeats of the same object dropped (order kept)."""
    seen: set[int] = set()
    result = []
    for item in items or ():
        if id(item) not in seen:
            seen.add(id(item))
            result.append(item)
    return result


def merge_definitions(def_sets: Sequence[Definitions], labels: Sequence[str]) -> Definitions:
    """``Definitions.merge`` with each part named by ``labels`` in errors (the index, or
    the module a part came from)."""
    merged = merge_arguments([d.merge_arguments() for d in def_sets], labels)
    return Definitions(**merged)


def merge_arguments(parts: Sequence[Mapping[str, Any]], labels: Sequence[str]) -> dict[str, Any]:
    """Several sets of ``Definitions(...)`` arguments as one; conflicting resources,
    loggers or executors raise an error naming the two parts."""
    merged: dict[str, Any] = {
        k: [] for k in ("assets", "asset_checks", "jobs", "schedules", "sensors")
    }
    keyed: dict[str, dict[str, Any]] = {"resources": {}, "loggers": {}}
    owner: dict[tuple[str, str], str] = {}
    metadata: dict[str, Any] = {}
    executor: Any = None
    executor_owner = ""
    for part, label in zip(parts, labels, strict=True):
        for field in merged:
            merged[field].extend(part.get(field) or ())
        for field, values in keyed.items():
            for key, value in (part.get(field) or {}).items():
                if key in values and values[key] is not value:
                    kind = field[:-1]
                    raise InvalidDefinitionError(
                        f"{owner[field, key]} and {label} have different {kind}s under the "
                        f"same key '{key}'."
                    )
                values[key] = value
                owner[field, key] = label
        if part.get("executor") is not None:
            if executor is not None and executor is not part["executor"]:
                raise InvalidDefinitionError(
                    f"{executor_owner} and {label} both have an executor; keep one."
                )
            executor, executor_owner = part["executor"], label
        metadata.update(part.get("metadata") or {})
    return {**merged, **keyed, "executor": executor, "metadata": metadata}


def _by_name(items: list[Any], name: str, kind: str) -> Any:
    for item in items:
        if getattr(item, "name", None) == name:
            return item
    names = sorted(getattr(i, "name", "?") for i in items)
    raise InvalidDefinitionError(f"No {kind} named '{name}'. {kind.capitalize()}s: {names}.")


def _same_job(a: JobDefinition, b: JobDefinition) -> bool:
    return a.graph_def is b.graph_def and a.flat_nodes is b.flat_nodes
