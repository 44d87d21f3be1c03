"""Finding the user's ``Definitions``: from ``-f FILE`` or ``-m MODULE`` (optionally
``-a ATTR``), or from ``./pyproject.toml`` (``cli/project_config.py``: ``[tool.trellis]``,
``[tool.dagster]`` or ``[tool.dg]``).

A file is imported the way ``python FILE`` would see its neighbours (its directory goes
first on ``sys.path``); a module the way ``python -m`` would (the working directory goes
first), or from the working directory's ``src/`` folder when the package lives there and
is not installed. When the import fails, the error shows the user's traceback and names
the file. The definitions found carry a ``CodePointer`` to the same target, so that
workers in other processes load exactly what this process loaded.
"""

from __future__ import annotations

import importlib
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

from trellis.cli.code_target import CodeTarget
from trellis.cli.errors import CliError
from trellis.cli.project_config import target_from_pyproject
from trellis.cli.suggest import did_you_mean
from trellis.cli.user_traceback import format_user_stack, format_user_traceback
from trellis.core.errors import InvalidInvocationError
from trellis.execution.remote.code_pointer import CodePointer, import_file

__all__ = ["CodeTarget", "ImportFailure", "find_definitions", "import_target", "load_definitions"]


def resolve_target(
    file: str | None, module: str | None, attribute: str | None, cwd: Path | None = None
) -> CodeTarget:
    """The target from the ``-f/-m/-a`` options, or from the working directory's
    ``pyproject.toml`` when neither ``-f`` nor ``-m`` is given."""
    if file and module:
        raise CliError("Pass either -f/--file or -m/--module, not both.")
    if file:
        return CodeTarget(file=Path(file), attribute=attribute)
    if module:
        return CodeTarget(module=module, attribute=attribute)
    return target_from_pyproject((cwd or Path.cwd()) / "pyproject.toml", attribute)


def import_target(target: CodeTarget) -> ModuleType:
    """Import the target's module; a failure raises ``CliError`` with the user's
    traceback."""
    if target.file is not None:
        return _import_file(target.file)
    assert target.module is not None
    return _import_module(target.module, target.working_directory)


def _import_file(path: Path) -> ModuleType:
    if not path.is_file():
        raise CliError(f"No such file: {path}" if not path.exists() else f"Not a file: {path}")
    try:
        return import_file(path)
    except InvalidInvocationError as exc:
        raise CliError(str(exc)) from None
    except Exception as exc:
        raise ImportFailure(str(path.resolve()), exc) from exc


def module_search_path(name: str, working_directory: str | None = None) -> str:
    """The folder a module target is imported from: the working directory, or its
    ``src/`` folder when the module's top-level package is there (and not installed)."""
    base = Path(working_directory) if working_directory else Path.cwd()
    top = name.split(".")[0]
    src = base / "src"
    in_base = (base / top).exists() or (base / f"{top}.py").exists()
    if not in_base and ((src / top).is_dir() or (src / f"{top}.py").is_file()):
        return str(src)
    return str(base)


def _import_module(name: str, working_directory: str | None) -> ModuleType:
    folder = module_search_path(name, working_directory)
    if folder not in sys.path and not (folder == str(Path.cwd()) and "" in sys.path):
        sys.path.insert(0, folder)
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
    ``@definitions`` function or ``Definitions`` in it, else one built from the module's
    assets, jobs, schedules and sensors (``trellis.defs.module_definitions``); a defs
    folder target is loaded as a whole. The result carries its ``code_pointer``."""
    from trellis.defs.defs_folder import load_defs_package
    from trellis.defs.module_definitions import definitions_from_value, find_module_definitions

    attribute = target.attribute
    if target.defs_folder:
        defs = load_defs_package(module, stop_at_keyword_files=True)
    elif attribute:
        if not hasattr(module, attribute):
            names = [n for n in vars(module) if not n.startswith("_")]
            raise CliError(
                f"{target.description} has no attribute '{attribute}'."
                f"{did_you_mean(attribute, names)}"
            )
        defs = definitions_from_value(
            getattr(module, attribute), f"{target.description}: attribute '{attribute}'"
        )
    else:
        defs, attribute = find_module_definitions(module, target.description)
    defs.code_pointer = _pointer(target, attribute)
    if getattr(defs, "_deferred_error", None) is None:  # else reported by load_definitions
        for job in defs.jobs:
            job.code_pointer = defs.code_pointer
    return defs


def _pointer(target: CodeTarget, attribute: str | None) -> CodePointer:
    if target.file is not None:
        return CodePointer(file=str(target.file.resolve()), attribute=attribute)
    assert target.module is not None
    return CodePointer(
        module=target.module,
        attribute=attribute,
        working_directory=module_search_path(target.module, target.working_directory),
        defs_folder=target.defs_folder,
    )


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
