"""Every definition-time error of a code location at once (``trellis defs validate``,
``Definitions.validate_loadable``).

Resolving ``Definitions(...)`` stops at its first error. ``recording_definitions()`` records every
``Definitions`` call made inside it (its arguments, the caller's file and line, the error
it raised); ``collect_errors`` then checks a failed call's parts one by one (the asset
graph, each asset's resources, each job, each schedule and sensor) and keeps every
distinct error.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from trellis.defs import definitions as _definitions
from trellis.defs.asset import AssetsDefinition
from trellis.defs.asset_checks_definition import AssetChecksDefinition
from trellis.defs.asset_graph import AssetGraph
from trellis.defs.asset_spec import AssetSpec
from trellis.defs.definitions import Definitions, DefinitionsCall
from trellis.defs.job import JobDefinition

__all__ = ["DefinitionsCall", "collect_errors", "recording_definitions"]


@contextmanager
def recording_definitions() -> Iterator[list[DefinitionsCall]]:
    """Within the block, every ``Definitions(...)`` call is recorded (arguments, caller
    file and line, error) in the yielded list."""
    calls: list[DefinitionsCall] = []
    _definitions.CALL_RECORDERS.append(calls)
    try:
        yield calls
    finally:
        _definitions.CALL_RECORDERS.remove(calls)


def _name_of(item: Any) -> str:
    name = getattr(item, "name", None) or getattr(item, "node_name", None)
    return str(name) if name else repr(item)


def _isolated_asset(item: Any) -> list[Any]:
    """An asset with its upstream keys stubbed as external specs, so that it can be
    checked on its own."""

    if isinstance(item, AssetChecksDefinition):  # its assets stubbed, to check it alone
        return [item, *(AssetSpec(k) for k in sorted(item.dependency_keys))]
    if not isinstance(item, AssetsDefinition):
        return [item]
    return [item, *(AssetSpec(k) for k in sorted(item.dependency_keys))]


def _check_selection(job: Any, assets: list[Any], errors: dict[str, str]) -> None:
    """Check an asset job's selection against the asset keys alone (for when the asset
    graph itself does not build)."""

    stubs: dict[Any, AssetSpec] = {}
    for item in assets:
        if isinstance(item, AssetsDefinition):
            for key, spec in item.specs_by_key.items():
                stubs.setdefault(key, AssetSpec(key, group_name=spec.group_name))
        elif isinstance(item, AssetSpec):
            stubs.setdefault(item.key, AssetSpec(item.key, group_name=item.group_name))
    selection = getattr(job, "selection", None)
    if selection is None:
        return
    try:
        selection.resolve(AssetGraph([], list(stubs.values())))
    except Exception as exc:
        message = f"Asset job '{_name_of(job)}': {exc}"
        errors.setdefault(message, message)


def collect_errors(arguments: dict[str, Any]) -> list[str]:
    """Every distinct error in the parts of a failed ``Definitions(...)`` call, each
    prefixed with the part at fault unless the message already names it."""

    assets = list(arguments.get("assets") or ()) + list(arguments.get("asset_checks") or ())
    jobs = list(arguments.get("jobs") or ())
    schedules = list(arguments.get("schedules") or ())
    sensors = list(arguments.get("sensors") or ())
    base = {"resources": arguments.get("resources"), "executor": arguments.get("executor")}
    errors: dict[str, str] = {}

    def attempt(kind: str, name: str, record: bool = True, **parts: Any) -> Exception | None:
        try:
            Definitions(**base, **parts)._raise_deferred()  # resolved: every check runs
        except Exception as exc:
            message = str(exc) or type(exc).__name__
            if record:
                named = not name or f"'{name}'" in message
                label = "" if named else f"{kind} '{name}': "
                errors.setdefault(message, f"{label}{message}")
            return exc
        return None

    graph_error = attempt("assets", "", record=False, assets=assets)
    if graph_error is not None:
        for item in assets:
            attempt("asset", _name_of(item), assets=_isolated_asset(item))
        message = str(graph_error) or type(graph_error).__name__
        errors.setdefault(message, message)
    for job in jobs:
        if graph_error is not None and not isinstance(job, JobDefinition):
            _check_selection(job, assets, errors)  # the graph is broken: check what we can
            continue
        # op jobs are checked without the assets, so that asset errors do not hide theirs
        job_assets = [] if isinstance(job, JobDefinition) else assets
        attempt("job", _name_of(job), assets=job_assets, jobs=[job])
    for schedule in schedules:
        attempt("schedule", _name_of(schedule), assets=assets, jobs=jobs, schedules=[schedule])
    for sensor in sensors:
        attempt("sensor", _name_of(sensor), assets=assets, jobs=jobs, sensors=[sensor])
    if schedules or sensors:
        attempt("", "", assets=assets, jobs=jobs, schedules=schedules, sensors=sensors)
    return list(errors.values())
