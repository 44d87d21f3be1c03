"""``trellis defs validate``: every definition-time error at once.

``Definitions(...)`` stops at its first error. To report them all, the definitions file is
imported while ``Definitions`` is swapped for a subclass that records each call's
arguments; when a call fails, its parts are checked one by one (the asset graph, each
asset's resources, each job, each schedule and sensor), and every distinct error is
kept.
"""

from __future__ import annotations

import inspect
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from trellis.cli.errors import CliError
from trellis.cli.loader import CodeTarget, ImportFailure, find_definitions, import_target

_MISSING = object()
_TRELLIS_DIR = str(Path(__file__).resolve().parents[1])


@dataclass
class DefinitionsCall:
    """One ``Definitions(...)`` call made while the user's code was imported."""

    arguments: dict[str, Any]
    location: str
    error: BaseException | None = None


@dataclass
class ValidationReport:
    """What ``defs validate`` found: the definitions (when they load) or the errors."""

    definitions: Any = None
    errors: list[str] = field(default_factory=list)
    location: str | None = None


@contextmanager
def recording_definitions() -> Iterator[list[DefinitionsCall]]:
    """Within the block, ``trellis.Definitions`` records every call (arguments, caller
    file and line, error) in the yielded list."""
    import trellis
    from trellis.definitions import definitions as module

    original = module.Definitions
    signature = inspect.signature(original)
    calls: list[DefinitionsCall] = []

    class Definitions(original):  # type: ignore[misc, valid-type]
        __doc__ = original.__doc__

        def __init__(self, *args: Any, **kwargs: Any) -> None:
            caller = sys._getframe(1)
            try:
                arguments = dict(signature.bind(*args, **kwargs).arguments)
            except TypeError:
                arguments = {}
            call = DefinitionsCall(arguments, f"{caller.f_code.co_filename}:{caller.f_lineno}")
            calls.append(call)
            try:
                super().__init__(*args, **kwargs)
            except Exception as exc:
                call.error = exc
                raise

    Definitions.__module__ = original.__module__
    Definitions.__qualname__ = original.__qualname__
    saved = trellis.__dict__.get("Definitions", _MISSING)
    trellis.Definitions = Definitions  # type: ignore[attr-defined]
    module.Definitions = Definitions  # type: ignore[misc]
    try:
        yield calls
    finally:
        module.Definitions = original  # type: ignore[misc]
        if saved is _MISSING:
            del trellis.Definitions  # type: ignore[attr-defined]
        else:
            trellis.Definitions = saved  # type: ignore[attr-defined]


def _name_of(item: Any) -> str:
    name = getattr(item, "name", None) or getattr(item, "node_name", None)
    return str(name) if name else repr(item)


def _isolated_asset(item: Any) -> list[Any]:
    """An asset with its upstream keys stubbed as external specs, so that it can be
    checked on its own."""
    from trellis.definitions.asset import AssetsDefinition
    from trellis.definitions.asset_spec import AssetSpec

    if not isinstance(item, AssetsDefinition):
        return [item]
    return [item, *(AssetSpec(k) for k in sorted(item.dependency_keys))]


def _check_selection(job: Any, assets: list[Any], errors: dict[str, str]) -> None:
    """Check an asset job's selection against the asset keys alone (for when the asset
    graph itself does not build)."""
    from trellis.definitions.asset import AssetsDefinition
    from trellis.definitions.asset_graph import AssetGraph
    from trellis.definitions.asset_spec import AssetSpec

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
    from trellis.definitions.definitions import Definitions
    from trellis.definitions.job import JobDefinition

    assets = list(arguments.get("assets") or ())
    jobs = list(arguments.get("jobs") or ())
    schedules = list(arguments.get("schedules") or ())
    sensors = list(arguments.get("sensors") or ())
    base = {"resources": arguments.get("resources"), "executor": arguments.get("executor")}
    errors: dict[str, str] = {}

    def attempt(kind: str, name: str, record: bool = True, **parts: Any) -> Exception | None:
        try:
            Definitions(**base, **parts)
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


def validate_target(target: CodeTarget) -> ValidationReport:
    """Load the target and report every definition-time error found."""
    with recording_definitions() as calls:
        try:
            module = import_target(target)
            defs = find_definitions(module, target)
            defs.get_implicit_global_asset_job_def()
        except ImportFailure as failure:
            error: BaseException = failure.exception
            fallback = failure.format_message()
        except CliError as exc:
            return ValidationReport(errors=[exc.format_message()])
        except Exception as exc:
            error, fallback = exc, f"{type(exc).__name__}: {exc}"
        else:
            return ValidationReport(definitions=defs)
    failed = [c for c in calls if c.error is error]
    if not failed:
        return ValidationReport(errors=[fallback])
    location = failed[0].location
    if location.startswith(_TRELLIS_DIR):
        location = None  # built by the loader from loose definitions, not by the user
    return ValidationReport(
        errors=collect_errors(failed[0].arguments) or [fallback], location=location
    )
