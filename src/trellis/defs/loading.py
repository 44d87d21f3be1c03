"""Collecting definitions from Python modules, as Dagster projects do:
``load_assets_from_modules`` (and ``_current_module``, ``_package_module``,
``_package_name``), with ``group_name``, ``key_prefix`` and ``source_key_prefix``;
``load_asset_checks_from_modules`` (and friends) for the ``@asset_check`` definitions,
with ``asset_key_prefix``; and ``load_definitions_from_module(s)`` (and friends), which
gather every asset, asset check, job, schedule and sensor at module scope into one
``Definitions``.

What counts is what a module's namespace holds, imported names included, and lists of
such objects; the same object found twice (imported into several modules) counts once,
and two different objects with one asset key, job, schedule or sensor name are an error
naming the modules.
"""

from __future__ import annotations

import importlib
import pkgutil
import sys
from collections.abc import Iterable, Iterator, Mapping, Sequence
from types import ModuleType
from typing import TYPE_CHECKING, Any

from trellis.core.asset_key import AssetKey
from trellis.core.errors import InvalidDefinitionError
from trellis.defs.asset import AssetsDefinition
from trellis.defs.asset_checks_definition import AssetChecksDefinition
from trellis.defs.asset_job import UnresolvedAssetJobDefinition
from trellis.defs.asset_spec import AssetSpec
from trellis.defs.job import JobDefinition
from trellis.defs.schedule import ScheduleDefinition
from trellis.defs.sensor import SensorDefinition

if TYPE_CHECKING:
    from trellis.defs.definitions import Definitions

DEFAULT_GROUP = "default"
KeyPrefix = str | Sequence[str]

ASSET_TYPES: tuple[type, ...] = (AssetsDefinition, AssetSpec)
JOB_TYPES: tuple[type, ...] = (JobDefinition, UnresolvedAssetJobDefinition)
CHECK_TYPES: tuple[type, ...] = (AssetChecksDefinition,)
LOADABLE_TYPES: tuple[type, ...] = (
    *ASSET_TYPES,
    *CHECK_TYPES,
    *JOB_TYPES,
    ScheduleDefinition,
    SensorDefinition,
)


def objects_in_module(module: ModuleType, types: tuple[type, ...]) -> Iterator[Any]:
    """Every object of ``types`` in the module's namespace (imported names too), and the
    items of module-level lists made only of such objects, in name order."""
    for name in sorted(vars(module)):
        value = vars(module)[name]
        if isinstance(value, types):
            yield value
        elif isinstance(value, list) and value and all(isinstance(v, types) for v in value):
            yield from value


def modules_in_package(package: ModuleType) -> list[ModuleType]:
    """The package and every module below it, each imported."""
    path = getattr(package, "__path__", None)
    if path is None:
        raise InvalidDefinitionError(
            f"'{package.__name__}' is a module, not a package: pass it to "
            "load_assets_from_modules([...]) instead."
        )
    found = [package]
    for info in pkgutil.walk_packages(path, prefix=package.__name__ + "."):
        found.append(importlib.import_module(info.name))
    return found


def _name_of(obj: Any) -> str:
    return str(getattr(obj, "name", None) or repr(obj))


def _keys_of(obj: Any) -> list[AssetKey]:
    return list(obj.keys) if isinstance(obj, AssetsDefinition) else [obj.key]


def collect_objects(modules: Iterable[ModuleType], types: tuple[type, ...]) -> list[Any]:
    """The objects of ``types`` found in ``modules``, each object once; raises when two
    different objects claim one asset key or one job, schedule or sensor name."""
    seen: dict[int, Any] = {}
    module_of: dict[int, list[str]] = {}
    for module in modules:
        for obj in objects_in_module(module, types):
            seen.setdefault(id(obj), obj)
            module_of.setdefault(id(obj), []).append(module.__name__)
    objects = list(seen.values())
    claims: dict[tuple[str, str], list[Any]] = {}
    for obj in objects:
        if isinstance(obj, ASSET_TYPES):
            for key in _keys_of(obj):
                claims.setdefault(("Asset key", key.to_user_string()), []).append(obj)
        elif isinstance(obj, AssetChecksDefinition):
            for check_key in obj.check_specs_by_key:
                claims.setdefault(("Asset check", check_key.to_user_string()), []).append(obj)
        else:
            kind = (
                "Job"
                if isinstance(obj, JOB_TYPES)
                else "Schedule"
                if isinstance(obj, ScheduleDefinition)
                else "Sensor"
            )
            claims.setdefault((f"{kind} name", _name_of(obj)), []).append(obj)
    for (what, name), owners in claims.items():
        if len(owners) > 1:
            modules_named = sorted({m for o in owners for m in module_of[id(o)]})
            raise InvalidDefinitionError(
                f"{what} '{name}' is defined {len(owners)} times, by different objects. "
                f"Definitions found in modules: {', '.join(modules_named)}."
            )
    return objects


def _prefix(value: KeyPrefix | None) -> list[str] | None:
    if value is None:
        return None
    prefix = [value] if isinstance(value, str) else list(value)
    if not prefix or not all(isinstance(p, str) and p for p in prefix):
        raise InvalidDefinitionError(
            f"A key prefix must be a string or a list of strings, not {value!r}."
        )
    return prefix


def _check_group(spec: AssetSpec, group_name: str | None, loader: str) -> None:
    if group_name is None or spec.group_name in (None, DEFAULT_GROUP, group_name):
        return
    raise InvalidDefinitionError(
        f"Asset '{spec.key.to_user_string()}' has group name '{spec.group_name}', which "
        f"conflicts with group_name='{group_name}' given to {loader}."
    )


def with_loader_attributes(
    objects: Sequence[Any],
    *,
    group_name: str | None,
    key_prefix: KeyPrefix | None,
    source_key_prefix: KeyPrefix | None,
    loader: str = "load_assets_from_modules",
) -> list[Any]:
    """Copies of the loaded assets with ``key_prefix`` on the keys of the assets (and of
    the upstream keys that name them), ``source_key_prefix`` on the keys of the
    ``AssetSpec``s (and of the upstream keys that name them), and ``group_name`` set."""
    prefix, source_prefix = _prefix(key_prefix), _prefix(source_key_prefix)
    replacements: dict[AssetKey, AssetKey] = {}
    if prefix is not None:
        for obj in objects:
            if isinstance(obj, AssetsDefinition):
                replacements.update({k: k.with_prefix(prefix) for k in obj.keys})
    if source_prefix is not None:
        for obj in objects:
            if isinstance(obj, AssetSpec):
                replacements[obj.key] = obj.key.with_prefix(source_prefix)
    result: list[Any] = []
    for obj in objects:
        if isinstance(obj, AssetsDefinition):
            for spec in obj.specs_by_key.values():
                _check_group(spec, group_name, loader)
            if replacements or group_name is not None:
                obj = obj.with_attributes(
                    asset_key_replacements=replacements, group_name=group_name
                )
        elif isinstance(obj, AssetSpec):
            _check_group(obj, group_name, loader)
            changes: dict[str, Any] = {}
            if obj.key in replacements and source_prefix is not None:
                changes["key"] = replacements[obj.key]
            if any(d in replacements for d in obj.deps):
                changes["deps"] = [replacements.get(d, d) for d in obj.deps]
            if group_name is not None:
                changes["group_name"] = group_name
            if changes:
                obj = obj.replace_attributes(**changes)
        result.append(obj)
    return result


def load_assets_from_modules(
    modules: Iterable[ModuleType],
    group_name: str | None = None,
    key_prefix: KeyPrefix | None = None,
    *,
    source_key_prefix: KeyPrefix | None = None,
    include_specs: bool = False,
) -> list[AssetsDefinition | AssetSpec]:
    """Every asset defined (or imported) at the top level of ``modules``, as a list for
    ``Definitions(assets=...)``: ``group_name`` puts them in a group, ``key_prefix``
    prefixes their keys (and the upstream keys that refer to them), ``source_key_prefix``
    prefixes the keys of ``AssetSpec``s; ``include_specs=True`` returns the specs too."""
    types = ASSET_TYPES if include_specs or source_key_prefix is not None else (AssetsDefinition,)
    objects = with_loader_attributes(
        collect_objects(list(modules), types),
        group_name=group_name,
        key_prefix=key_prefix,
        source_key_prefix=source_key_prefix,
    )
    if not include_specs:
        objects = [o for o in objects if isinstance(o, AssetsDefinition)]
    return objects


def _caller_module(depth: int = 2) -> ModuleType:
    frame = sys._getframe(depth)
    name = frame.f_globals.get("__name__")
    module = sys.modules.get(name) if isinstance(name, str) else None
    if module is None:
        raise InvalidDefinitionError("Could not find the module that called this function.")
    return module


def load_assets_from_current_module(
    group_name: str | None = None,
    key_prefix: KeyPrefix | None = None,
    *,
    source_key_prefix: KeyPrefix | None = None,
    include_specs: bool = False,
) -> list[AssetsDefinition | AssetSpec]:
    """``load_assets_from_modules`` over the module that calls it (the assets defined
    above the call)."""
    return load_assets_from_modules(
        [_caller_module()],
        group_name,
        key_prefix,
        source_key_prefix=source_key_prefix,
        include_specs=include_specs,
    )


def load_assets_from_package_module(
    package_module: ModuleType,
    group_name: str | None = None,
    key_prefix: KeyPrefix | None = None,
    *,
    source_key_prefix: KeyPrefix | None = None,
    include_specs: bool = False,
) -> list[AssetsDefinition | AssetSpec]:
    """``load_assets_from_modules`` over a package and every module below it."""
    return load_assets_from_modules(
        modules_in_package(package_module),
        group_name,
        key_prefix,
        source_key_prefix=source_key_prefix,
        include_specs=include_specs,
    )


def load_assets_from_package_name(
    package_name: str,
    group_name: str | None = None,
    key_prefix: KeyPrefix | None = None,
    *,
    source_key_prefix: KeyPrefix | None = None,
    include_specs: bool = False,
) -> list[AssetsDefinition | AssetSpec]:
    """``load_assets_from_package_module`` of the package imported by name."""
    return load_assets_from_package_module(
        importlib.import_module(package_name),
        group_name,
        key_prefix,
        source_key_prefix=source_key_prefix,
        include_specs=include_specs,
    )


def definitions_arguments(objects: Iterable[Any]) -> dict[str, Any]:
    """``Definitions(...)`` keyword arguments for a list of loaded objects."""
    objects = list(objects)
    return {
        "assets": [o for o in objects if isinstance(o, ASSET_TYPES)],
        "asset_checks": [o for o in objects if isinstance(o, AssetChecksDefinition)],
        "jobs": [o for o in objects if isinstance(o, JOB_TYPES)],
        "schedules": [o for o in objects if isinstance(o, ScheduleDefinition)],
        "sensors": [o for o in objects if isinstance(o, SensorDefinition)],
    }


def load_asset_checks_from_modules(
    modules: Iterable[ModuleType], asset_key_prefix: KeyPrefix | None = None
) -> list[AssetChecksDefinition]:
    """Every ``@asset_check`` and ``@multi_asset_check`` defined (or imported) at the top
    level of ``modules``, for ``Definitions(asset_checks=...)``; ``asset_key_prefix``
    prefixes the keys of the assets they check and read (pass the ``key_prefix`` given to
    ``load_assets_from_modules`` for the same modules)."""
    checks = collect_objects(list(modules), CHECK_TYPES)
    prefix = _prefix(asset_key_prefix)
    if prefix is None:
        return checks
    result = []
    for checks_def in checks:
        keys = checks_def.dependency_keys
        replacements = {k: k.with_prefix(prefix) for k in keys}
        result.append(checks_def.with_attributes(asset_key_replacements=replacements))
    return result


def load_asset_checks_from_current_module(
    asset_key_prefix: KeyPrefix | None = None,
) -> list[AssetChecksDefinition]:
    """``load_asset_checks_from_modules`` over the module that calls it."""
    return load_asset_checks_from_modules([_caller_module()], asset_key_prefix)


def load_asset_checks_from_package_module(
    package_module: ModuleType, asset_key_prefix: KeyPrefix | None = None
) -> list[AssetChecksDefinition]:
    """``load_asset_checks_from_modules`` over a package and every module below it."""
    return load_asset_checks_from_modules(modules_in_package(package_module), asset_key_prefix)


def load_asset_checks_from_package_name(
    package_name: str, asset_key_prefix: KeyPrefix | None = None
) -> list[AssetChecksDefinition]:
    """``load_asset_checks_from_package_module`` of the package imported by name."""
    return load_asset_checks_from_package_module(
        importlib.import_module(package_name), asset_key_prefix
    )


def load_definitions_from_modules(
    modules: Iterable[ModuleType],
    resources: Mapping[str, Any] | None = None,
    loggers: Mapping[str, Any] | None = None,
    executor: Any = None,
) -> Definitions:
    """A ``Definitions`` of every asset, asset spec, asset check, job, schedule and sensor
    at the top level of ``modules``, with the given resources, loggers and executor."""
    from trellis.defs.definitions import Definitions

    arguments = definitions_arguments(collect_objects(list(modules), LOADABLE_TYPES))
    return Definitions(**arguments, resources=resources, loggers=loggers, executor=executor)


def load_definitions_from_module(
    module: ModuleType,
    resources: Mapping[str, Any] | None = None,
    loggers: Mapping[str, Any] | None = None,
    executor: Any = None,
) -> Definitions:
    """``load_definitions_from_modules`` over one module."""
    return load_definitions_from_modules([module], resources, loggers, executor)


def load_definitions_from_current_module(
    resources: Mapping[str, Any] | None = None,
    loggers: Mapping[str, Any] | None = None,
    executor: Any = None,
) -> Definitions:
    """``load_definitions_from_modules`` over the module that calls it."""
    return load_definitions_from_modules([_caller_module()], resources, loggers, executor)


def load_definitions_from_package_module(
    package_module: ModuleType,
    resources: Mapping[str, Any] | None = None,
    loggers: Mapping[str, Any] | None = None,
    executor: Any = None,
) -> Definitions:
    """``load_definitions_from_modules`` over a package and every module below it."""
    return load_definitions_from_modules(
        modules_in_package(package_module), resources, loggers, executor
    )


def load_definitions_from_package_name(
    package_name: str,
    resources: Mapping[str, Any] | None = None,
    loggers: Mapping[str, Any] | None = None,
    executor: Any = None,
) -> Definitions:
    """``load_definitions_from_package_module`` of the package imported by name."""
    return load_definitions_from_package_module(
        importlib.import_module(package_name), resources, loggers, executor
    )
