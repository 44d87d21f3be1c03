"""Finding the user's ``Definitions``: from ``-f FILE`` or ``-m MODULE`` (optionally
``-a ATTR``), or from the ``[tool.trellis]`` table of ``./pyproject.toml``.

A file is imported the way ``python FILE`` would see its neighbours (its directory goes
first on ``sys.path``); a module the way ``python -m`` would (the working directory goes
first). When the import fails, the error shows the user's traceback and names the file.
"""

from __future__ import annotations

import importlib
import importlib.util
import inspect
import sys
import tomllib
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

from trellis.cli.errors import CliError
from trellis.cli.suggest import did_you_mean
from trellis.cli.user_traceback import format_user_stack, format_user_traceback
from trellis.core.errors import InvalidInvocationError
from trellis.execution.remote.code_pointer import import_file

DEFAULT_ATTRIBUTE = "defs"


@dataclass(frozen=True)
class CodeTarget:
    """Where definitions live: a Python file or an importable module, and an attribute."""

    file: Path | None = None
    module: str | None = None
    attribute: str | None = None

    @property
    def description(self) -> str:
        """How messages name the target: the file path or ``module <name>``."""
        return str(self.file) if self.file is not None else f"module '{self.module}'"


def resolve_target(
    file: str | None, module: str | None, attribute: str | None, cwd: Path | None = None
) -> CodeTarget:
    """The target from the ``-f/-m/-a`` options, or from ``[tool.trellis]`` in the
    working directory's ``pyproject.toml`` when neither ``-f`` nor ``-m`` is given."""
    if file and module:
        raise CliError("Pass either -f/--file or -m/--module, not both.")
    if file:
        return CodeTarget(file=Path(file), attribute=attribute)
    if module:
        return CodeTarget(module=module, attribute=attribute)
    return _target_from_pyproject((cwd or Path.cwd()) / "pyproject.toml", attribute)


def _target_from_pyproject(path: Path, attribute: str | None) -> CodeTarget:
    hint = "Pass -f FILE or -m MODULE"
    if not path.is_file():
        raise CliError(f"No code to load. {hint}, or add a [tool.trellis] table to pyproject.toml.")
    try:
        data = tomllib.loads(path.read_text())
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise CliError(f"Cannot read {path}: {exc}") from None
    table = data.get("tool", {}).get("trellis")
    if not isinstance(table, dict):
        raise CliError(f"No code to load. {hint}, or add a [tool.trellis] table to {path}.")
    unknown = sorted(set(table) - {"module", "file", "attribute"})
    if unknown:
        raise CliError(
            f"{path}: [tool.trellis] has unknown key '{unknown[0]}'."
            f"{did_you_mean(unknown[0], ['module', 'file', 'attribute'])}"
        )
    module, file = table.get("module"), table.get("file")
    if bool(module) == bool(file):
        raise CliError(f"{path}: [tool.trellis] needs exactly one of 'module' or 'file'.")
    attr = attribute or table.get("attribute")
    if file:
        return CodeTarget(file=path.parent / str(file), attribute=attr)
    return CodeTarget(module=str(module), attribute=attr)


def import_target(target: CodeTarget) -> ModuleType:
    """Import the target's module; a failure raises ``CliError`` with the user's
    traceback."""
    if target.file is not None:
        return _import_file(target.file)
    assert target.module is not None
    return _import_module(target.module)


def _import_file(path: Path) -> ModuleType:
    if not path.is_file():
        raise CliError(f"No such file: {path}" if not path.exists() else f"Not a file: {path}")
    try:
        return import_file(path)
    except InvalidInvocationError as exc:
        raise CliError(str(exc)) from None
    except Exception as exc:
        raise ImportFailure(str(path.resolve()), exc) from exc


def _import_module(name: str) -> ModuleType:
    cwd = str(Path.cwd())
    if cwd not in sys.path and "" not in sys.path:
        sys.path.insert(0, cwd)
    try:
        return importlib.import_module(name)
    except ModuleNotFoundError as exc:
        if exc.name is not None and (name == exc.name or name.startswith(exc.name + ".")):
            raise CliError(f"No module named '{exc.name}' (looked for module '{name}').") from None
        raise ImportFailure(f"module '{name}'", exc) from exc
    except Exception as exc:
        raise ImportFailure(f"module '{name}'", exc) from exc


class ImportFailure(CliError):
    """The user's code raised while it was imported; the message carries their traceback."""

    def __init__(self, where: str, exc: Exception) -> None:
        self.where = where
        self.exception = exc
        super().__init__(
            f"Could not load definitions from {where}: the import raised "
            f"{type(exc).__name__}.\n\n{format_user_traceback(exc)}"
        )


def find_definitions(module: ModuleType, target: CodeTarget) -> Any:
    """The ``Definitions`` of a module: the attribute given, else ``defs``, else the only
    ``Definitions`` in it, else one built from the module's jobs, assets, schedules and
    sensors."""
    from trellis.definitions.definitions import Definitions

    if target.attribute:
        if not hasattr(module, target.attribute):
            names = [n for n in vars(module) if not n.startswith("_")]
            raise CliError(
                f"{target.description} has no attribute '{target.attribute}'."
                f"{did_you_mean(target.attribute, names)}"
            )
        return _as_definitions(getattr(module, target.attribute), target)
    found = {n: v for n, v in vars(module).items() if isinstance(v, Definitions)}
    if isinstance(found.get(DEFAULT_ATTRIBUTE), Definitions):
        return found[DEFAULT_ATTRIBUTE]
    if len(found) == 1:
        return next(iter(found.values()))
    if len(found) > 1:
        raise CliError(
            f"{target.description} has several Definitions ({', '.join(sorted(found))}); "
            "choose one with -a/--attribute."
        )
    return _definitions_from_loose_objects(module, target)


def _as_definitions(value: Any, target: CodeTarget) -> Any:
    from trellis.definitions.definitions import Definitions

    if isinstance(value, Definitions):
        return value
    if inspect.isfunction(value):
        value = value()
        if isinstance(value, Definitions):
            return value
    if _is_definition_object(value):
        return _build_definitions([value])
    raise CliError(
        f"{target.description}: attribute '{target.attribute}' is a {type(value).__name__}, "
        "not a Definitions object."
    )


def _is_definition_object(value: Any) -> bool:
    from trellis.definitions.asset import AssetsDefinition
    from trellis.definitions.asset_job import UnresolvedAssetJobDefinition
    from trellis.definitions.asset_spec import AssetSpec
    from trellis.definitions.job import JobDefinition
    from trellis.definitions.schedule import ScheduleDefinition
    from trellis.definitions.sensor import SensorDefinition

    kinds = (
        AssetsDefinition,
        AssetSpec,
        JobDefinition,
        UnresolvedAssetJobDefinition,
        ScheduleDefinition,
        SensorDefinition,
    )
    return isinstance(value, kinds)


def _definitions_from_loose_objects(module: ModuleType, target: CodeTarget) -> Any:
    found = [v for n, v in vars(module).items() if not n.startswith("_")]
    objects = [v for v in found if _is_definition_object(v)]
    if not objects:
        raise CliError(
            f"{target.description} defines no Definitions object (looked for '{DEFAULT_ATTRIBUTE}' "
            "and any Definitions), and no jobs or assets to build one from."
        )
    return _build_definitions(objects)


def _build_definitions(objects: list[Any]) -> Any:
    from trellis.definitions.asset import AssetsDefinition
    from trellis.definitions.asset_spec import AssetSpec
    from trellis.definitions.definitions import Definitions
    from trellis.definitions.schedule import ScheduleDefinition
    from trellis.definitions.sensor import SensorDefinition

    assets = [o for o in objects if isinstance(o, (AssetsDefinition, AssetSpec))]
    schedules = [o for o in objects if isinstance(o, ScheduleDefinition)]
    sensors = [o for o in objects if isinstance(o, SensorDefinition)]
    jobs = [o for o in objects if o not in assets and o not in schedules and o not in sensors]
    return Definitions(assets=assets, jobs=jobs, schedules=schedules, sensors=sensors)


def load_definitions(target: CodeTarget) -> Any:
    """Import the target and return its ``Definitions``; ``CliError`` (exit 2) on any
    problem, naming the file or module at fault."""
    from trellis.core.errors import TrellisError

    module = import_target(target)
    try:
        defs = find_definitions(module, target)
    except TrellisError as exc:
        raise CliError(f"Invalid definitions in {target.description}: {exc}") from exc
    deferred = getattr(defs, "_deferred_error", None)
    if deferred is not None:  # found when they were built; Definitions raises it on use
        where = format_user_stack(defs.built_at, deferred)
        raise CliError(
            f"Could not load definitions from {target.description}: they are invalid "
            f"({type(deferred).__name__}).\n\n{where}"
        ) from deferred
    return defs
